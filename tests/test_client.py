"""Making clients: embedded, from the environment, ChronoLog; connecting."""

import os
import stat

import pytest

import chronolog_ctypes as cl


def test_embedded_client_properties(store):
    client = cl.Client.embedded(store)
    try:
        assert client.backend == "embedded"
        assert client.is_reader
        assert not client.is_connected
        assert not client.closed
        with pytest.raises(cl.NoConnectionError):
            _ = client.client_id
        assert client.connect() is client
        assert client.is_connected
        assert client.client_id > 0
    finally:
        client.close()


def test_writer_only_embedded_client(store):
    with cl.Client.embedded(store, reader=False) as client:
        assert not client.is_reader
        assert client.is_connected


def test_connect_twice_and_disconnect_twice(store):
    client = cl.Client.embedded(store)
    try:
        assert client.Connect() == cl.CL_SUCCESS
        assert client.Connect() == cl.CL_SUCCESS
        assert client.Disconnect() == cl.CL_SUCCESS
        assert client.Disconnect() == cl.CL_SUCCESS
        assert not client.is_connected
        client.connect()
        assert client.is_connected
    finally:
        client.close()


def test_disconnect_before_connect_is_success(store):
    client = cl.Client.embedded(store)
    assert client.Disconnect() == cl.CL_SUCCESS
    client.close()


def test_clients_get_distinct_ids(store, reader, writer):
    assert reader.client_id != writer.client_id


def test_the_store_directory_is_created_owner_only(store):
    with cl.Client.embedded(store):
        pass
    assert os.path.isdir(store)
    assert stat.S_IMODE(os.stat(store).st_mode) & 0o077 == 0


def test_path_like_store(tmp_path):
    with cl.Client.embedded(tmp_path / "s") as client:
        client.create_chronicle("c")
    assert (tmp_path / "s").is_dir()


def test_a_store_that_is_a_file_gives_store_io(tmp_path):
    path = tmp_path / "file"
    path.write_text("not a directory")
    client = cl.Client.embedded(str(path))
    try:
        assert client.Connect() == cl.CLC_ERR_STORE_IO
        with pytest.raises(cl.StoreIOError) as caught:
            client.connect()
        assert caught.value.status == cl.CLC_ERR_STORE_IO
        assert not client.is_connected
    finally:
        client.close()


def test_bad_store_arguments(tmp_path):
    with pytest.raises(TypeError, match="store_dir"):
        cl.Client.embedded(5)
    with pytest.raises(cl.InvalidArgumentError, match="store_dir"):
        cl.Client.embedded(str(tmp_path) + "\0x")
    with pytest.raises(cl.InvalidArgumentError):
        cl.Client.embedded("")


def test_store_variable_makes_client_embedded(monkeypatch, store):
    monkeypatch.setenv(cl.STORE_ENV, store)
    writer = cl.Client(cl.ClientPortalServiceConf())
    reader = cl.Client(cl.ClientPortalServiceConf(),
                       cl.ClientQueryServiceConf())
    try:
        assert writer.backend == reader.backend == "embedded"
        assert not writer.is_reader
        assert reader.is_reader
        assert writer.Connect() == reader.Connect() == cl.CL_SUCCESS
        assert writer.CreateChronicle("c", {}, 0) == cl.CL_SUCCESS
        assert reader.ShowChronicles() == ["c"]
    finally:
        writer.close()
        reader.close()
    assert os.path.isdir(store)


def test_without_store_variable_the_chronolog_backend_is_asked(library):
    if library.clc_backends() & 2:
        client = cl.Client(cl.ClientPortalServiceConf())
        assert client.backend == "chronolog"
        client.close()
        return
    with pytest.raises(cl.BackendUnavailableError) as caught:
        cl.Client(cl.ClientPortalServiceConf())
    message = str(caught.value)
    assert caught.value.status == cl.CLC_ERR_BACKEND_UNAVAILABLE
    assert "CHRONOLOG_CTYPES_STORE=<dir>" in message
    assert "CHRONOLOG_ROOT=" in message and "pip install ." in message


def test_deployment_ignores_the_store_variable(library, store, monkeypatch):
    monkeypatch.setenv(cl.STORE_ENV, store)
    if library.clc_backends() & 2:
        client = cl.Client.deployment(cl.ClientPortalServiceConf())
        assert client.backend == "chronolog"
        client.close()
        return
    with pytest.raises(cl.BackendUnavailableError):
        cl.Client.deployment(cl.ClientPortalServiceConf(),
                             cl.ClientQueryServiceConf())
    with pytest.raises(TypeError):
        cl.Client.deployment("portal")
    assert not os.path.exists(store)


@pytest.mark.parametrize("arguments", [
    (), ("portal",), (cl.ClientQueryServiceConf(),),
    (cl.ClientPortalServiceConf(), cl.ClientPortalServiceConf()),
    (cl.ClientPortalServiceConf(), "query"),
])
def test_client_with_wrong_settings_raises_type_error(arguments, store,
                                                      monkeypatch):
    monkeypatch.setenv(cl.STORE_ENV, store)
    with pytest.raises(TypeError):
        cl.Client(*arguments)


def test_repr_says_what_and_where(store):
    client = cl.Client.embedded(store, reader=False)
    assert repr(client) == (
        "<chronolog_ctypes.Client: writer-only client of the embedded store"
        " %r, open>" % store)
    client.close()
    assert repr(client).endswith(", closed>")


def test_flush(reader, story):
    story.log(b"x")
    reader.flush()
    assert [e.record for e in reader.replay("chron", "story")] == [b"x"]


def test_a_client_that_failed_to_open_still_has_a_repr(monkeypatch):
    client = cl.Client.__new__(cl.Client)
    assert repr(client) == "<chronolog_ctypes.Client: writer-only client," \
        " closed>"
    assert client.closed
