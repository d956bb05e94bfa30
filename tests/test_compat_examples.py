"""Scripts written for py_chronolog_client run unchanged on the store.

The two scripts below follow ChronoLog's Python writer and reader examples
step by step, as a user of py_chronolog_client writes them; only the import
line names this package.
"""

import json

import pytest

import chronolog_ctypes

from conftest import run_python

WRITER = """
import json
import chronolog_ctypes as py_chronolog_client

portal = py_chronolog_client.ClientPortalServiceConf(
    "ofi+sockets", "127.0.0.1", 5555, 55)
client = py_chronolog_client.Client(portal)
seen = {}
seen["acquire_before_connect"] = list(
    client.AcquireStory("py_chronicle", "my_story", dict(), 1))
seen["connect"] = client.Connect()
seen["create"] = client.CreateChronicle("py_chronicle", dict(), 1)
result = client.AcquireStory("py_chronicle", "my_story", dict(), 1)
seen["acquire"] = result[0]
if result[0] == 0:
    handle = result[1]
    seen["times"] = [handle.log_event("py_event"),
                     handle.log_event("py_event.2"),
                     handle.log_event("py_event.3"),
                     handle.log_event("py_event.4")]
seen["release"] = client.ReleaseStory("py_chronicle", "my_story")
seen["disconnect"] = client.Disconnect()
print(json.dumps(seen))
"""

READER = """
import json
import chronolog_ctypes as py_chronolog_client

portal = py_chronolog_client.ClientPortalServiceConf(
    "ofi+sockets", "127.0.0.1", 5555, 55)
query = py_chronolog_client.ClientQueryServiceConf(
    "ofi+sockets", "127.0.0.1", 5557, 57)
reader = py_chronolog_client.Client(portal, query)
seen = {"connect": reader.Connect()}
result = reader.AcquireStory("py_chronicle", "my_story", dict(), 1)
seen["acquire"] = result[0]
series = py_chronolog_client.EventList()
seen["replay"] = reader.ReplayStory("py_chronicle", "my_story", 1,
                                    2000000000000000000, series)
seen["events"] = [[e.time(), e.client_id(), e.index(), e.log_record()]
                  for e in series]
seen["release"] = reader.ReleaseStory("py_chronicle", "my_story")
seen["disconnect"] = reader.Disconnect()
print(json.dumps(seen))
"""


def _check_writer(seen):
    assert seen["acquire_before_connect"] == [
        chronolog_ctypes.CL_ERR_NO_CONNECTION, None]
    assert (seen["connect"], seen["create"], seen["acquire"],
            seen["release"], seen["disconnect"]) == (0, 0, 0, 0, 0)
    assert len(seen["times"]) == 4 and all(seen["times"])
    return seen["times"]


def _check_reader(seen, times):
    assert (seen["connect"], seen["acquire"], seen["replay"],
            seen["release"], seen["disconnect"]) == (0, 0, 0, 0, 0)
    assert [e[3] for e in seen["events"]] == [
        "py_event", "py_event.2", "py_event.3", "py_event.4"]
    assert [e[0] for e in seen["events"]] == times
    assert len({e[1] for e in seen["events"]}) == 1
    assert [e[2] for e in seen["events"]] == sorted(
        e[2] for e in seen["events"])


def test_writer_then_reader_in_two_processes(store):
    env = {chronolog_ctypes.STORE_ENV: store}
    written = json.loads(run_python(WRITER, env).stdout)
    times = _check_writer(written)
    read = json.loads(run_python(READER, env).stdout)
    _check_reader(read, times)


def test_writer_then_reader_in_this_process(store, monkeypatch, capsys):
    monkeypatch.setenv(chronolog_ctypes.STORE_ENV, store)
    exec(compile(WRITER, "writer", "exec"), {})
    times = _check_writer(json.loads(capsys.readouterr().out))
    exec(compile(READER, "reader", "exec"), {})
    _check_reader(json.loads(capsys.readouterr().out), times)


def test_the_reader_needs_the_chronicle_the_writer_made(store, monkeypatch,
                                                         capsys):
    monkeypatch.setenv(chronolog_ctypes.STORE_ENV, store)
    exec(compile(READER, "reader", "exec"), {})
    seen = json.loads(capsys.readouterr().out)
    assert seen["acquire"] == chronolog_ctypes.CL_ERR_NOT_EXIST
    assert seen["replay"] == chronolog_ctypes.CL_ERR_NOT_ACQUIRED
    assert seen["events"] == []
    assert seen["release"] == chronolog_ctypes.CL_ERR_NOT_ACQUIRED
    assert seen["disconnect"] == 0


@pytest.mark.parametrize("name", [
    "ClientPortalServiceConf", "ClientQueryServiceConf", "Client",
    "StoryHandle", "Event", "EventList"])
def test_the_module_has_py_chronolog_clients_classes(name):
    assert isinstance(getattr(chronolog_ctypes, name), type)
