"""Reading ChronoLog's client JSON configuration file."""

import json

import pytest

import chronolog_ctypes
from chronolog_ctypes import (ClientPortalServiceConf, ClientQueryServiceConf,
                              ConfigError, load_client_config)

FULL = {
    "chrono_client": {
        "VisorClientPortalService": {"rpc": {
            "protocol_conf": "ofi+tcp", "service_ip": "127.0.0.9",
            "service_base_port": 6555, "service_provider_id": 65}},
        "ClientQueryService": {"rpc": {
            "protocol_conf": "ofi+verbs", "service_ip": "127.0.0.8",
            "service_base_port": 6557, "service_provider_id": 67}},
        "Monitoring": {"monitor": {
            "type": "console", "file": "x.log", "level": "info",
            "name": "Me", "filesize": 10, "filenum": 2,
            "flushlevel": "error"}},
    }
}


def _write(tmp_path, document):
    path = tmp_path / "client.json"
    path.write_text(document if isinstance(document, str)
                    else json.dumps(document))
    return str(path)


def test_every_key_is_read(tmp_path):
    config = load_client_config(_write(tmp_path, FULL))
    assert config.portal == ClientPortalServiceConf("ofi+tcp", "127.0.0.9",
                                                    6555, 65)
    assert config.query == ClientQueryServiceConf("ofi+verbs", "127.0.0.8",
                                                  6557, 67)
    assert config.monitoring == {
        "type": "console", "file": "x.log", "level": "info", "name": "Me",
        "filesize": 10, "filenum": 2, "flushlevel": "error"}
    assert config.path == str(tmp_path / "client.json")


def test_missing_sections_and_keys_keep_chronologs_defaults(tmp_path):
    document = {"chrono_client": {"VisorClientPortalService": {"rpc": {
        "service_base_port": 7000}}}}
    config = load_client_config(_write(tmp_path, document))
    assert config.portal == ClientPortalServiceConf("ofi+sockets",
                                                    "127.0.0.1", 7000, 55)
    assert config.query == ClientQueryServiceConf()
    assert config.monitoring == chronolog_ctypes.config.DEFAULT_MONITORING


def test_path_like_is_accepted(tmp_path):
    _write(tmp_path, FULL)
    assert load_client_config(tmp_path / "client.json").portal.port == 6555


@pytest.mark.parametrize("edit,key,problem", [
    (lambda d: d["chrono_client"]["VisorClientPortalService"]["rpc"].update(
        service_base_port="5555"),
     "chrono_client.VisorClientPortalService.rpc.service_base_port",
     "must be an integer"),
    (lambda d: d["chrono_client"]["ClientQueryService"]["rpc"].update(
        service_provider_id=70000),
     "chrono_client.ClientQueryService.rpc.service_provider_id",
     "0..65535"),
    (lambda d: d["chrono_client"]["ClientQueryService"]["rpc"].update(
        service_ip=""),
     "chrono_client.ClientQueryService.rpc.service_ip", "non-empty string"),
    (lambda d: d["chrono_client"]["VisorClientPortalService"]["rpc"].update(
        protocol_conf=5),
     "chrono_client.VisorClientPortalService.rpc.protocol_conf",
     "non-empty string"),
    (lambda d: d["chrono_client"]["VisorClientPortalService"]["rpc"].update(
        service_base_port=True),
     "chrono_client.VisorClientPortalService.rpc.service_base_port",
     "a boolean"),
    (lambda d: d["chrono_client"].update(ClientQueryService=[]),
     "chrono_client.ClientQueryService", "JSON object"),
    (lambda d: d["chrono_client"]["Monitoring"].update(monitor="x"),
     "chrono_client.Monitoring.monitor", "JSON object"),
    (lambda d: d["chrono_client"]["Monitoring"]["monitor"].update(
        level="loud"), "chrono_client.Monitoring.monitor.level", "loud"),
    (lambda d: d["chrono_client"]["Monitoring"]["monitor"].update(
        filenum=-1), "chrono_client.Monitoring.monitor.filenum", "within"),
    (lambda d: d.pop("chrono_client"), "chrono_client", "missing"),
])
def test_errors_name_the_file_and_the_key(tmp_path, edit, key, problem):
    document = json.loads(json.dumps(FULL))
    edit(document)
    path = _write(tmp_path, document)
    with pytest.raises(ConfigError) as caught:
        load_client_config(path)
    assert caught.value.path == path
    assert caught.value.key == key
    assert str(caught.value).startswith("CL_ERR_INVALID_ARG: %s: %s: "
                                        % (path, key))
    assert problem in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_invalid_json_names_the_file(tmp_path):
    path = _write(tmp_path, '{"chrono_client": ')
    with pytest.raises(ConfigError) as caught:
        load_client_config(path)
    assert caught.value.path == path and caught.value.key == ""
    assert "not valid JSON" in str(caught.value)


def test_top_level_must_be_an_object(tmp_path):
    with pytest.raises(ConfigError, match="JSON object"):
        load_client_config(_write(tmp_path, "[1, 2]"))


def test_missing_file_raises_os_error_naming_it(tmp_path):
    path = str(tmp_path / "absent.json")
    with pytest.raises(FileNotFoundError) as caught:
        load_client_config(path)
    assert caught.value.filename == path


def test_client_from_config_uses_the_store_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(chronolog_ctypes.STORE_ENV, str(tmp_path / "store"))
    path = _write(tmp_path, FULL)
    with chronolog_ctypes.Client.from_config(path) as client:
        assert client.backend == "embedded" and client.is_reader
    with chronolog_ctypes.Client.from_config(path, reader=False) as client:
        assert not client.is_reader


def test_client_from_config_reports_a_bad_file(tmp_path):
    path = _write(tmp_path, {"chrono_client": {"ClientQueryService": 3}})
    with pytest.raises(ConfigError) as caught:
        chronolog_ctypes.Client.from_config(path)
    assert caught.value.key == "chrono_client.ClientQueryService"
