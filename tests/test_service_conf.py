"""ClientPortalServiceConf and ClientQueryServiceConf."""

import pytest

from chronolog_ctypes import (ClientPortalServiceConf, ClientQueryServiceConf,
                              InvalidArgumentError)


def test_defaults_are_chronologs():
    portal = ClientPortalServiceConf()
    query = ClientQueryServiceConf()
    assert (portal.proto, portal.ip, portal.port, portal.provider_id) == \
        ("ofi+sockets", "127.0.0.1", 5555, 55)
    assert (query.proto, query.ip, query.port, query.provider_id) == \
        ("ofi+sockets", "127.0.0.1", 5557, 57)


def test_positional_arguments_as_in_py_chronolog_client():
    conf = ClientPortalServiceConf("ofi+tcp", "127.0.0.2", 6000, 7)
    assert (conf.proto, conf.ip, conf.port, conf.provider_id) == \
        ("ofi+tcp", "127.0.0.2", 6000, 7)
    assert repr(conf) == \
        "ClientPortalServiceConf('ofi+tcp', '127.0.0.2', 6000, 7)"


def test_equality_and_hash_by_kind_and_fields():
    assert ClientPortalServiceConf() == ClientPortalServiceConf()
    assert hash(ClientPortalServiceConf()) == hash(ClientPortalServiceConf())
    assert ClientPortalServiceConf("p", "i", 1, 2) != \
        ClientQueryServiceConf("p", "i", 1, 2)
    assert ClientPortalServiceConf(port=1) != ClientPortalServiceConf(port=2)


def test_limits_of_port_and_provider_id_are_accepted():
    conf = ClientQueryServiceConf("p", "i", 0, 65535)
    assert (conf.port, conf.provider_id) == (0, 65535)


@pytest.mark.parametrize("arguments,error,argument", [
    (("p", "i", 65536, 1), InvalidArgumentError, "port"),
    (("p", "i", -1, 1), InvalidArgumentError, "port"),
    (("p", "i", 1, 65536), InvalidArgumentError, "provider_id"),
    (("p", "i", "5555", 1), TypeError, "port"),
    (("p", "i", 5555.0, 1), TypeError, "port"),
    (("p", "i", 1, None), TypeError, "provider_id"),
    ((1, "i", 1, 1), TypeError, "proto"),
    (("p", b"i", 1, 1), TypeError, "ip"),
    (("", "i", 1, 1), InvalidArgumentError, "proto"),
    (("p", "", 1, 1), InvalidArgumentError, "ip"),
    (("p", "1.2.3.4\0", 1, 1), InvalidArgumentError, "ip"),
])
@pytest.mark.parametrize("kind", [ClientPortalServiceConf,
                                  ClientQueryServiceConf])
def test_bad_settings_raise_naming_the_argument(kind, arguments, error,
                                                argument):
    with pytest.raises(error) as caught:
        kind(*arguments)
    assert argument in str(caught.value)


def test_settings_are_read_only():
    conf = ClientPortalServiceConf()
    with pytest.raises(AttributeError):
        conf.port = 1
    assert conf.port == 5555
