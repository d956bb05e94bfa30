"""The embedded store keeps the promises of docs/embedded-store.md.

Timestamps are nanoseconds since the epoch, client ids are unique across
processes, the background writer makes events visible to other processes
on its own, a disconnected client has left everything in the store, and
the database is a plain SQLite file.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import chronolog_ctypes as cl

from conftest import child_env, run_child

# At most this many replays, 25 ms apart, while waiting for the writer
# thread of another process.
POLLS = 400


def test_log_returns_nanoseconds_since_the_epoch(story):
    before = time.time_ns()
    stamp = story.log(b"now")
    after = time.time_ns()

    assert before <= stamp <= after


def test_log_many_and_log_event_take_the_same_clock(reader, story):
    before = time.time_ns()
    stamps = story.log_many([b"one", b"two"])
    compatible = story.log_event("three")
    after = time.time_ns()

    assert before <= stamps[0] < stamps[1] < compatible <= after
    replayed = reader.replay("chron", "story")
    assert [event.time() for event in replayed] == [
        stamps[0], stamps[1], compatible]


_CONNECT_AND_REPORT = """
import json, sys
import chronolog_ctypes as cl

clients = [cl.Client.embedded(sys.argv[1], reader=False).connect()
           for _ in range(2)]
print(json.dumps([client.client_id for client in clients]), flush=True)
sys.stdin.read()  # stay connected until the test has every id
"""


def test_client_ids_are_unique_across_processes(store, reader):
    children = [subprocess.Popen(
        [sys.executable, "-c", _CONNECT_AND_REPORT, store], env=child_env(),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)]
    try:
        reported = [json.loads(child.stdout.readline()) for child in children]
    finally:
        for child in children:
            child.communicate(b"", timeout=60)

    ids = [reader.client_id] + [each for pair in reported for each in pair]
    assert [child.returncode for child in children] == [0, 0, 0]
    assert len(ids) == 7
    assert len(set(ids)) == 7


_POLL_READER = """
import json, sys, time
import chronolog_ctypes as cl

store, count, polls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with cl.Client.embedded(store) as client:
    with client.acquire_story("chron", "story"):
        for _ in range(polls):
            records = [e.log_record() for e in client.replay("chron", "story")]
            if len(records) >= count:
                break
            time.sleep(0.025)
print(json.dumps(records))
"""


def test_the_writer_thread_makes_events_visible_to_another_process(
        store, writer):
    # No flush, release, replay or close here: only the client's own
    # background thread can write these events while the reader waits.
    writer.create_chronicle("chron")
    story = writer.acquire_story("chron", "story")
    records = ["event %d" % number for number in range(100)]
    for record in records[:50]:
        story.log(record)
    story.log_many(records[50:])

    result = subprocess.run(
        [sys.executable, "-c", _POLL_READER, store, "100", str(POLLS)],
        env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        timeout=60)

    assert (result.returncode, result.stderr) == (0, b"")
    assert json.loads(result.stdout) == records
    assert not story.released


def test_once_disconnect_returns_the_events_are_in_the_store(store, reader):
    # The writer is killed right after Disconnect: no exit hook, finalizer
    # or writer thread can write anything afterwards.
    result = run_child("""
        import os, signal, sys
        import chronolog_ctypes as cl

        client = cl.Client.embedded(os.environ["STORE"], reader=False)
        assert client.Connect() == cl.CL_SUCCESS
        client.CreateChronicle("chron", {}, 0)
        status, story = client.AcquireStory("chron", "story", {}, 0)
        story.log_many([b"record %d" % number for number in range(1000)])
        assert client.Disconnect() == cl.CL_ERR_ACQUIRED  # held: refused
        assert client.ReleaseStory("chron", "story") == cl.CL_SUCCESS
        assert client.Disconnect() == cl.CL_SUCCESS
        os.kill(os.getpid(), signal.SIGKILL)
    """, {"STORE": store})

    assert result.returncode == -signal.SIGKILL, result.stderr
    reader.acquire_story("chron", "story")
    assert [event.record for event in reader.replay("chron", "story")] == [
        b"record %d" % number for number in range(1000)]


# -- the database, read with the sqlite3 command-line tool -------------------

needs_sqlite3 = pytest.mark.skipif(
    shutil.which("sqlite3") is None,
    reason="needs the sqlite3 command-line tool (apt-get install sqlite3)")


def sqlite3(store, query):
    """Rows of a query run by the sqlite3 tool on the store's database."""
    database = os.path.join(store, "chronolog.db")
    result = subprocess.run(
        ["sqlite3", "-batch", "-separator", "|", database, query],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert (result.returncode, result.stderr) == (0, b""), query
    return [row.split("|") for row in result.stdout.decode().splitlines()]


@needs_sqlite3
def test_the_sqlite3_tool_reads_the_documented_tables(store, reader):
    reader.create_chronicle("sim", {"owner": "me"})
    with reader.acquire_story("sim", "rank0") as story:
        stamps = story.log_many([b"a", b"bb", b"\x00\xff"])
    writer = cl.Client.embedded(store, reader=False).connect()
    writer_id = writer.client_id
    writer.close()

    # Read while the reader stays connected, as the page allows.
    assert sqlite3(store, "PRAGMA application_id") == [["1129074503"]]
    assert sqlite3(store, "PRAGMA journal_mode") == [["wal"]]
    assert sqlite3(store, "SELECT value FROM meta "
                          "WHERE key = 'schema_version'") == [["1"]]
    assert sqlite3(store, "SELECT name, flags FROM chronicles") == [
        ["sim", "0"]]
    assert sqlite3(store, "SELECT c.name, k.key, k.value FROM chronicle_attrs k "
                          "JOIN chronicles c ON c.id = k.chronicle_id") == [
        ["sim", "owner", "me"]]
    assert sqlite3(store, "SELECT c.name, s.name FROM stories s "
                          "JOIN chronicles c ON c.id = s.chronicle_id") == [
        ["sim", "rank0"]]
    assert sqlite3(store, "SELECT count(*) FROM events") == [["3"]]
    assert sqlite3(store, "SELECT time, client_id, idx, hex(record) "
                          "FROM events ORDER BY time") == [
        [str(stamps[0]), str(reader.client_id), "0", "61"],
        [str(stamps[1]), str(reader.client_id), "1", "6262"],
        [str(stamps[2]), str(reader.client_id), "2", "00FF"],
    ]
    assert sqlite3(store, "SELECT count(*) FROM acquisitions") == [["0"]]

    assert sqlite3(store, "SELECT id, pid, mode, disconnected_ns IS NULL "
                          "FROM clients ORDER BY id") == [
        [str(reader.client_id), str(os.getpid()), "1", "1"],
        [str(writer_id), str(os.getpid()), "0", "0"],
    ]
