"""The embedded store's file system failing: full, too small, not writable.

A full disk is simulated with RLIMIT_FSIZE in a child process (writes past
the limit fail with EFBIG, for root and any user alike); a store that cannot
be written, with a directory or a database the process may not change.
Every case must give a status and a message, leave the store intact, and
never hang: each child runs under a timeout.
"""

import json
import os
import sqlite3
import stat
import sys

import pytest
from conftest import run_python

import chronolog_ctypes as cl

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs Linux rlimits")

# Run in a child: makes the file system "full" once some events are
# flushed, keeps logging until the library refuses, and reports what it
# saw as one JSON line.
FILL_UNTIL_FULL = """
import json, os, resource, signal
import chronolog_ctypes as cl

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
store = %(store)r
client = cl.Client.embedded(store).connect()
client.create_chronicle("c")
story = client.acquire_story("c", "s")
flushed = 0
for i in range(10):
    story.log(b"event %%d " %% i + b"." * 1000)
client.flush()
flushed = 10

sizes = [os.path.getsize(os.path.join(store, name))
         for name in os.listdir(store)]
resource.setrlimit(resource.RLIMIT_FSIZE,
                   (max(sizes) + 65536, resource.RLIM_INFINITY))
logged = flushed
failure = None
while failure is None and logged < 2000:
    try:
        story.log(b"event %%d " %% logged + b"." * 1000)
        logged += 1
        if logged %% 10 == 0:
            client.flush()
            flushed = logged
    except cl.ChronologError as error:
        failure = error
report = {"flushed": flushed, "logged": logged,
          "status": failure and failure.status,
          "message": failure and failure.message,
          "log_event": story.log_event(b"more"),
          "Flush": None, "ReleaseStory": client.ReleaseStory("c", "s"),
          "Disconnect": client.Disconnect()}
try:
    client.flush()
except cl.ChronologError as error:
    report["Flush"] = error.status
%(after)s
print(json.dumps(report))
"""

CLOSE_WHILE_FULL = """
try:
    client.close()
    report["close"] = None
except cl.ChronologError as error:
    report["close"] = [error.status, error.message]
"""

DESTROY_IN_THE_SAME_PROCESS = CLOSE_WHILE_FULL + """
resource.setrlimit(resource.RLIMIT_FSIZE,
                   (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
with cl.Client.embedded(store) as other:
    report["DestroyStory"] = other.DestroyStory("c", "s")
    report["stories"] = other.stories("c")
"""

RESUME_AFTER_SPACE_COMES_BACK = """
resource.setrlimit(resource.RLIMIT_FSIZE,
                   (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
client.flush()
report["after"] = [story.log(b"after %d" % i) > 0 for i in range(3)]
story.release()
client.close()
"""


def _events(count):
    return [b"event %d " % i + b"." * 1000 for i in range(count)]


def _report(code):
    return json.loads(run_python(code, timeout=120).stdout.decode()
                      .strip().splitlines()[-1])


def _integrity(store):
    database = sqlite3.connect(os.path.join(store, "chronolog.db"))
    try:
        return database.execute("PRAGMA integrity_check").fetchall()
    finally:
        database.close()


def _replayed(store, chronicle="c", story="s"):
    with cl.Client.embedded(store) as client:
        client.acquire_story(chronicle, story)
        return [event.record for event in client.replay(chronicle, story)]


def test_a_full_file_system_gives_store_io_and_loses_nothing_flushed(store):
    report = _report(FILL_UNTIL_FULL % {"store": store,
                                        "after": CLOSE_WHILE_FULL})

    assert report["status"] == cl.CLC_ERR_STORE_IO
    assert store in report["message"]
    assert "chronolog.db" in report["message"]
    assert 10 <= report["flushed"] < 2000
    # Once refused, everything that needs the store keeps refusing.
    assert report["log_event"] == 0
    assert report["Flush"] == cl.CLC_ERR_STORE_IO
    assert report["ReleaseStory"] == cl.CLC_ERR_STORE_IO
    assert report["Disconnect"] == cl.CL_ERR_ACQUIRED
    # close() gives the events up, and says why.
    status, message = report["close"]
    assert status == cl.CLC_ERR_STORE_IO
    assert store in message and "chronolog.db" in message

    assert _integrity(store) == [("ok",)]
    records = _replayed(store)
    assert len(records) >= report["flushed"]
    assert records == _events(len(records))


def test_a_client_closed_on_a_full_store_leaves_no_story_stuck(store):
    report = _report(FILL_UNTIL_FULL % {
        "store": store, "after": DESTROY_IN_THE_SAME_PROCESS})
    assert report["close"][0] == cl.CLC_ERR_STORE_IO
    # Its process still runs, yet the closed client holds nothing.
    assert report["DestroyStory"] == cl.CL_SUCCESS
    assert report["stories"] == []

    with cl.Client.embedded(store) as client:
        client.destroy_chronicle("c")
        assert client.chronicles() == []


def test_buffered_events_are_written_when_space_comes_back(store):
    report = _report(FILL_UNTIL_FULL % {
        "store": store, "after": RESUME_AFTER_SPACE_COMES_BACK})

    assert report["status"] == cl.CLC_ERR_STORE_IO
    assert report["after"] == [True, True, True]
    records = _replayed(store)
    # Every log call that returned a timestamp is in the store, in order.
    assert records[:report["logged"]] == _events(report["logged"])
    assert records[report["logged"]:] == [b"after 0", b"after 1",
                                          b"after 2"]
    assert _integrity(store) == [("ok",)]


CONNECT_WITH_LIMITS = """
import json, resource, signal
import chronolog_ctypes as cl

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
results = []
for limit, store in %(cases)r:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    client = cl.Client.embedded(store)
    status = client.Connect()
    message = ""
    if status:
        try:
            client.connect()
        except cl.ChronologError as error:
            message = error.message
    results.append([status, message, client.CreateChronicle("c")])
    client.close()
    resource.setrlimit(resource.RLIMIT_FSIZE,
                       (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
print(json.dumps(results))
"""


def test_connect_on_a_full_file_system_fails_cleanly(tmp_path):
    limits = [0, 512, 4096, 5000, 20000]
    cases = [(limit, str(tmp_path / ("store%d" % limit)))
             for limit in limits]
    results = _report(CONNECT_WITH_LIMITS % {"cases": cases})

    refused = 0
    for (limit, store), (status, message, create) in zip(cases, results):
        assert status in (cl.CL_SUCCESS, cl.CLC_ERR_STORE_IO), limit
        if status == cl.CLC_ERR_STORE_IO:
            refused += 1
            assert store in message, message
            assert create == cl.CL_ERR_NO_CONNECTION
        else:
            assert create in (cl.CL_SUCCESS, cl.CLC_ERR_STORE_IO)
    assert refused >= 2  # 0 and 512 bytes cannot hold a database

    # Whatever was left behind is a store that works.
    for limit, store in cases:
        with cl.Client.embedded(store) as client:
            if "c" not in client.chronicles():
                client.create_chronicle("c")
            client.acquire_story("c", "s").log(b"works %d" % limit)
        assert _replayed(store) == [b"works %d" % limit]
        assert _integrity(store) == [("ok",)]


def _refused_connection(store):
    """The message of a store that cannot be opened, after checking that
    both faces refuse it with CLC_ERR_STORE_IO and that the client stays
    usable (and unconnected)."""
    client = cl.Client.embedded(store)
    try:
        assert client.Connect() == cl.CLC_ERR_STORE_IO
        assert client.CreateChronicle("c") == cl.CL_ERR_NO_CONNECTION
        with pytest.raises(cl.StoreIOError) as caught:
            client.connect()
        assert not client.is_connected
        return caught.value.message
    finally:
        client.close()


def test_a_store_under_a_regular_file_gives_store_io(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"a file, not a directory")
    message = _refused_connection(str(blocker / "store"))
    assert str(blocker) in message
    assert "Not a directory" in message
    assert blocker.read_bytes() == b"a file, not a directory"


def test_a_database_file_that_is_not_sqlite_gives_store_io(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    garbage = bytes(range(256)) * 64
    (store / "chronolog.db").write_bytes(garbage)
    message = _refused_connection(str(store))
    assert "chronolog.db" in message
    assert "not a database" in message
    # The file is the user's: it is left exactly as it was.
    assert (store / "chronolog.db").read_bytes() == garbage


def test_a_database_of_another_program_is_refused_and_left_alone(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    path = str(store / "chronolog.db")
    database = sqlite3.connect(path)
    database.executescript("CREATE TABLE clients(x);"
                           "CREATE TABLE events(a, b);"
                           "INSERT INTO events VALUES (1, 2);")
    database.close()
    with open(path, "rb") as stream:
        before = stream.read()

    message = _refused_connection(str(store))
    assert path in message
    assert "another program" in message
    with open(path, "rb") as stream:
        assert stream.read() == before  # not even switched to WAL
    assert sorted(os.listdir(str(store))) == ["chronolog.db"]
    database = sqlite3.connect(path)
    try:
        tables = database.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        assert sorted(tables) == [("clients",), ("events",)]
        assert database.execute("SELECT * FROM events").fetchall() == [
            (1, 2)]
    finally:
        database.close()


def test_a_store_of_a_newer_schema_is_refused_and_left_alone(store):
    with cl.Client.embedded(store) as client:
        client.create_chronicle("c")
        client.acquire_story("c", "s").log(b"kept")
    database = sqlite3.connect(os.path.join(store, "chronolog.db"))
    database.execute("UPDATE meta SET value = '99' WHERE key = "
                     "'schema_version'")
    database.commit()
    database.close()

    client = cl.Client.embedded(store)
    try:
        with pytest.raises(cl.StoreIOError) as caught:
            client.connect()
        assert "schema version 99" in caught.value.message
        assert client.CreateChronicle("d") == cl.CL_ERR_NO_CONNECTION
    finally:
        client.close()
    database = sqlite3.connect(os.path.join(store, "chronolog.db"))
    try:
        assert database.execute("SELECT count(*) FROM clients").fetchall() \
            == [(1,)]
        assert database.execute("SELECT record FROM events").fetchall() == [
            (b"kept",)]
    finally:
        database.close()


def test_a_database_path_that_is_a_directory_gives_store_io(tmp_path):
    store = tmp_path / "store"
    (store / "chronolog.db").mkdir(parents=True)
    client = cl.Client.embedded(str(store))
    try:
        with pytest.raises(cl.StoreIOError) as caught:
            client.connect()
        assert "chronolog.db" in caught.value.message
    finally:
        client.close()


def test_a_truncated_database_is_refused_or_repaired_never_crashes(tmp_path):
    store = str(tmp_path / "store")
    with cl.Client.embedded(store) as client:
        client.create_chronicle("c")
        story = client.acquire_story("c", "s")
        story.log_many(b"%d" % i * 100 for i in range(2000))
    path = os.path.join(store, "chronolog.db")
    size = os.path.getsize(path)
    assert size > 8192
    with open(path, "r+b") as stream:
        stream.truncate(size // 2)

    client = cl.Client.embedded(store)
    try:
        status = client.Connect()
        assert status in (cl.CL_SUCCESS, cl.CLC_ERR_STORE_IO)
        if status == cl.CL_SUCCESS:
            client.acquire_story("c", "s")
            try:
                client.replay("c", "s")
            except cl.ChronologError as error:
                assert error.status == cl.CLC_ERR_STORE_IO
                assert "chronolog.db" in error.message
    finally:
        try:
            client.close()
        except cl.ChronologError as error:
            assert error.status == cl.CLC_ERR_STORE_IO


@pytest.mark.parametrize("spelling", ["store", "store/", "store//",
                                      "store/.", "./store", "a/../store"])
@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_the_store_directory_is_created_owner_only(tmp_path, monkeypatch,
                                                   spelling, umask):
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path)
    previous = os.umask(umask)
    try:
        cl.Client.embedded(spelling).connect().close()
    finally:
        os.umask(previous)
    mode = stat.S_IMODE(os.stat(tmp_path / "store").st_mode)
    assert mode == 0o700


def test_missing_parents_are_made_and_the_store_is_owner_only(tmp_path):
    store = tmp_path / "x" / "y" / "store"
    with cl.Client.embedded(str(store) + "/") as client:
        client.create_chronicle("c")
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o700
    assert (tmp_path / "x" / "y").is_dir()


@pytest.mark.parametrize("store", [
    "/proc/self/task",            # a directory where no file can be made
    "/proc/self/task/store",      # a directory that cannot be made
    "/sys/chronolog-store",
])
def test_a_file_system_that_cannot_be_written_gives_store_io(store):
    # Permission bits do not stop root; these file systems stop everyone.
    assert store in _refused_connection(store)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permissions")
def test_a_store_without_write_permission_gives_store_io(tmp_path):
    existing = str(tmp_path / "existing")
    with cl.Client.embedded(existing) as client:
        client.create_chronicle("kept")
    os.chmod(os.path.join(existing, "chronolog.db"), 0o444)
    readonly = tmp_path / "readonly"
    readonly.mkdir(mode=0o555)
    try:
        for store in (existing, str(readonly / "store")):
            client = cl.Client.embedded(store)
            try:
                with pytest.raises(cl.StoreIOError) as caught:
                    client.connect()
                assert store in caught.value.message
                assert "Permission denied" in caught.value.message
            finally:
                client.close()
        # No companion file was made read-only along with the database...
        assert os.listdir(existing) == ["chronolog.db"]
    finally:
        os.chmod(os.path.join(existing, "chronolog.db"), 0o644)
        readonly.chmod(0o755)
    # ... so the store works again as soon as its permissions are fixed.
    with cl.Client.embedded(existing) as client:
        assert client.chronicles() == ["kept"]
        client.create_chronicle("new")


@pytest.mark.skipif(
    "asan" in os.environ.get("LD_PRELOAD", ""),
    reason="the sanitizers need file descriptors of their own to check "
           "memory, and report every object as invalid without them")
def test_running_out_of_file_descriptors_gives_store_io(store):
    report = _report("""
        import json, resource
        import chronolog_ctypes as cl
        store = %r
        cl.Client.embedded(store).connect().close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))
        clients, statuses, message = [], [], ""
        for _ in range(48):
            client = cl.Client.embedded(store)
            clients.append(client)
            statuses.append(client.Connect())
            if statuses[-1]:
                try:
                    client.connect()
                except cl.ChronologError as error:
                    message = error.message
                break
        for client in clients:
            client.close()
        with cl.Client.embedded(store) as client:
            client.create_chronicle("after")
            names = client.chronicles()
        print(json.dumps([statuses, message, names]))
    """ % store)
    statuses, message, names = report
    assert statuses[:-1] == [cl.CL_SUCCESS] * (len(statuses) - 1)
    assert statuses[-1] == cl.CLC_ERR_STORE_IO
    assert len(statuses) > 2
    assert store in message
    assert names == ["after"]
    assert _integrity(store) == [("ok",)]


def _next_page(library, cursor, max_events):
    """(status, first four bytes of each record) of the cursor's next page."""
    import ctypes

    from chronolog_ctypes import _native

    events = _native.EventsHandle()
    status = library.clc_cursor_next(cursor, max_events, ctypes.byref(events))
    if status != cl.CL_SUCCESS:
        return status, []
    count, size = ctypes.c_size_t(), ctypes.c_size_t()
    assert library.clc_events_size(events, ctypes.byref(count),
                                   ctypes.byref(size)) == cl.CL_SUCCESS
    offsets = (ctypes.c_uint64 * (count.value + 1))()
    records = ctypes.create_string_buffer(max(size.value, 1))
    assert library.clc_events_export(events, None, None, None, offsets,
                                     records, size.value) == cl.CL_SUCCESS
    assert library.clc_events_free(events) == cl.CL_SUCCESS
    return status, [records.raw[offsets[i]:offsets[i] + 4]
                    for i in range(count.value)]


def test_a_page_that_fails_midway_is_read_again_whole(library, store):
    import ctypes

    from chronolog_ctypes import _native

    client = cl.Client.embedded(store).connect()
    client.create_chronicle("c")
    story = client.acquire_story("c", "s")
    # More than a cursor reads into memory at once (4 MiB of records), so
    # that the pages come from the reader connection.
    story.log_many([b"%04d" % i + b"." * 2000 for i in range(2400)])
    client.flush()
    database = sqlite3.connect(os.path.join(store, "chronolog.db"))
    database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    path = os.path.join(store, "chronolog.db")
    cursor = _native.CursorHandle()
    assert library.clc_replay_open(client._handle, b"c", b"s", 0, 2 ** 64 - 1,
                                   ctypes.byref(cursor)) == cl.CL_SUCCESS
    try:
        assert _next_page(library, cursor, 1) == (cl.CL_SUCCESS, [b"0000"])
        # The second half of the file reads as zeros for a while: the page
        # fails after some of its events were read.
        half = os.path.getsize(path) // 2
        with open(path, "r+b") as stream:
            stream.seek(half)
            kept = stream.read()
            stream.seek(half)
            stream.write(bytes(len(kept)))
        assert _next_page(library, cursor, 2400) == (cl.CLC_ERR_STORE_IO, [])
        with open(path, "r+b") as stream:
            stream.seek(half)
            stream.write(kept)
        # None of the failed page's events is lost.
        status, records = _next_page(library, cursor, 2400)
        assert status == cl.CL_SUCCESS
        assert records == [b"%04d" % i for i in range(1, 2400)]
        assert _next_page(library, cursor, 2400) == (cl.CL_SUCCESS, [])
        # The cursor says that its pages came from two snapshots.
        count = ctypes.c_uint64()
        assert library.clc_cursor_snapshots(cursor, ctypes.byref(count)) == \
            cl.CL_SUCCESS
        assert count.value == 2
    finally:
        assert library.clc_cursor_free(cursor) == cl.CL_SUCCESS
        client.close()
