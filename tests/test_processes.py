"""Several processes on one store, and fork()."""

import os
import select
import threading

import pytest

import chronolog_ctypes as cl
from chronolog_ctypes import _native
from chronolog_ctypes import client as client_module

from conftest import run_python

CHILD_WRITER = """
import sys
import chronolog_ctypes as cl
client = cl.Client.embedded(sys.argv[1] if len(sys.argv) > 1 else %r,
                            reader=False).connect()
try:
    client.create_chronicle("shared")
except cl.ChronicleExistsError:
    pass
story = client.acquire_story("shared", "s")
for i in range(%d):
    record = b"%s-%%d-" %% i + bytes([i %% 256]) * (i %% 7)
    if i %% 2:
        story.log(record)
    else:
        story.log_many([record])
story.release()
client.close()
"""


def _expected(tag, count):
    return [b"%s-%d-" % (tag, i) + bytes([i % 256]) * (i % 7)
            for i in range(count)]


def test_events_written_by_another_process_replay_exactly(store, reader):
    run_python(CHILD_WRITER % (store, 500, "child"))
    reader.acquire_story("shared", "s")
    events = reader.replay("shared", "s")
    assert [e.record for e in events] == _expected(b"child", 500)
    assert len({e.client_id() for e in events}) == 1
    assert events[0].client_id() != reader.client_id


def test_two_processes_write_one_story_at_once(store, reader):
    results = []

    def child(tag):
        results.append(run_python(CHILD_WRITER % (store, 300, tag)))

    threads = [threading.Thread(target=child, args=(tag,))
               for tag in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2

    reader.acquire_story("shared", "s")
    events = reader.replay("shared", "s")
    assert len(events) == 600
    assert events == sorted(events)
    by_client = {}
    for event in events:
        by_client.setdefault(event.client_id(), []).append(event.record)
    assert sorted(by_client.values()) == sorted(
        [_expected(b"one", 300), _expected(b"two", 300)])


def _in_child(body):
    """Run body() in a forked child; return what it wrote, or fail."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read_end)
            os.write(write_end, repr(body()).encode())
            code = 0
        except BaseException as error:
            os.write(write_end, ("error " + repr(error)).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    ready, _, _ = select.select([read_end], [], [], 60)
    assert ready, "the forked child hung"
    chunks = []
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    output = b"".join(chunks).decode()
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, output
    return output


# The library runs a flush thread; forking with it is what is tested here.
FORK_WITH_THREADS = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning")


@FORK_WITH_THREADS
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_inherited_handles_answer_forked_in_the_child(store, reader, story):
    def child():
        seen = [reader.Connect(), reader.CreateChronicle("x", {}, 0),
                story.log_event(b"from child")]
        try:
            story.log(b"x")
        except cl.ForkedError as error:
            seen.append(error.status)
        reader.close()  # quiet: the child's copy is just dropped
        with cl.Client.embedded(store) as fresh:
            fresh.acquire_story("chron", "child story").log(b"fresh")
        return seen

    output = _in_child(child)
    forked = cl.CLC_ERR_FORKED
    assert output == repr([forked, forked, 0, forked])

    # The parent's client is untouched.
    assert story.log(b"parent") > 0
    assert [e.record for e in reader.replay("chron", "story")] == [b"parent"]
    reader.acquire_story("chron", "child story")
    assert [e.record for e in reader.replay("chron", "child story")] == [
        b"fresh"]


@FORK_WITH_THREADS
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_python_locks_held_at_fork_are_free_in_the_child(reader):
    with client_module._registry_lock, _native._load_lock:
        output = _in_child(lambda: (
            client_module._registry_lock.acquire(False),
            _native._load_lock.acquire(False)))
    assert output == repr((True, True))


def test_a_process_that_died_holding_a_story_is_cleaned_up(store, caplog):
    import logging
    run_python("""
        import os
        import chronolog_ctypes as cl
        client = cl.Client.embedded(%r).connect()
        client.create_chronicle("c")
        client.acquire_story("c", "s").log(b"before death")
        client.flush()
        os._exit(0)  # no release, no close, no finalizer
    """ % store)
    with caplog.at_level(logging.WARNING, logger="chronolog_ctypes"):
        with cl.Client.embedded(store) as client:
            client.destroy_story("c", "s")
            assert client.stories("c") == []
    messages = [r.getMessage() for r in caplog.records]
    assert any("released 1 stories" in m and "no longer runs" in m
               for m in messages), messages
