"""Misuse of the lifecycle: calls after close, Disconnect or ReleaseStory,
double closes, the garbage collector, several clients, racing threads, and
handles inherited across fork().

Each misuse must give a clear error (an exception or a status), leave every
other object working, and lose no event that was reported logged.
"""

import gc
import json
import os
import threading
import time
import weakref

import pytest
from conftest import run_python

import chronolog_ctypes as cl
from chronolog_ctypes import _native

UINT64_MAX = 2 ** 64 - 1
STALE = cl.CLC_ERR_STALE_HANDLE


def _records(store, chronicle="chron", story="story"):
    with cl.Client.embedded(store) as client:
        client.acquire_story(chronicle, story)
        return [event.record for event in client.replay(chronicle, story)]


def _join(threads, timeout=60):
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"


# ---------------------------------------------------------------------------
# After Disconnect, ReleaseStory and close
# ---------------------------------------------------------------------------


def test_every_call_after_disconnect_says_not_connected(reader, story):
    story.log(b"before")
    story.release()
    first_id = reader.client_id
    assert reader.Disconnect() == cl.CL_SUCCESS
    assert reader.Disconnect() == cl.CL_SUCCESS

    no_connection = cl.CL_ERR_NO_CONNECTION
    assert reader.CreateChronicle("c2", {}, 0) == no_connection
    assert reader.DestroyChronicle("chron") == no_connection
    assert reader.AcquireStory("chron", "story", {}, 0) == (no_connection,
                                                             None)
    assert reader.DestroyStory("chron", "story") == no_connection
    assert reader.GetChronicleAttr("chron", "k") == (no_connection, "")
    assert reader.EditChronicleAttr("chron", "k", "v") == no_connection
    # As ChronoLog: release and replay look for the acquisition first.
    assert reader.ReplayStory("chron", "story", 0, 9, []) == \
        cl.CL_ERR_NOT_ACQUIRED
    assert reader.ReleaseStory("chron", "story") == cl.CL_ERR_NOT_ACQUIRED
    assert reader.ShowChronicles() == []
    assert reader.ShowStories("chron") == []
    assert story.log_event(b"after") == 0
    for call in (lambda: reader.client_id, reader.flush, reader.chronicles,
                 lambda: reader.acquire_story("chron", "story")):
        with pytest.raises(cl.NoConnectionError) as caught:
            call()
        assert "not connected" in caught.value.message
    with pytest.raises(cl.NotAcquiredError):
        reader.replay("chron", "story")
    assert not reader.is_connected

    # Connecting again works, with a new id; nothing was lost or added.
    reader.connect()
    assert reader.client_id > first_id
    reader.acquire_story("chron", "story")
    assert [e.record for e in reader.replay("chron", "story")] == [b"before"]


def test_a_released_story_refuses_everything_and_stays_released(reader,
                                                                story):
    story.log(b"kept")
    pages = reader.iter_replay("chron", "story", page_size=1)
    assert reader.ReleaseStory("chron", "story") == cl.CL_SUCCESS

    assert story.released
    assert story.log_event(b"x") == 0
    assert story.log_event(b"") == 0
    for call in (lambda: story.log(b"x"), lambda: story.log_many([b"x"]),
                 lambda: next(pages)):
        with pytest.raises(cl.StaleHandleError) as caught:
            call()
        assert caught.value.status == STALE
        assert "released" in caught.value.message
    story.release()  # idempotent
    assert reader.ReleaseStory("chron", "story") == cl.CL_ERR_NOT_ACQUIRED
    assert reader.ReplayStory("chron", "story", 0, UINT64_MAX,
                              []) == cl.CL_ERR_NOT_ACQUIRED
    assert reader.Disconnect() == cl.CL_SUCCESS
    assert reader.Connect() == cl.CL_SUCCESS

    again = reader.acquire_story("chron", "story")
    assert again is not story
    assert story.released and not again.released
    assert story.log_event(b"x") == 0
    again.log(b"new")
    assert [e.record for e in reader.replay("chron", "story")] == [
        b"kept", b"new"]


def test_a_stale_story_handle_never_reaches_a_newer_story(library, reader,
                                                         chronicle):
    # A released handle's slot is reused by the next acquisition; the
    # generation in the token tells them apart.
    old = reader.acquire_story(chronicle, "first")
    stale_ref = _native.StoryHandleRef(old._token)
    old.release()
    newer = [reader.acquire_story(chronicle, "s%d" % i) for i in range(20)]
    for _ in range(3):
        assert library.clc_story_log(stale_ref, b"x", 1, None) == STALE
    for story in newer:
        story.release()
    for i in range(20):
        reader.acquire_story(chronicle, "s%d" % i)
        assert reader.replay(chronicle, "s%d" % i) == []


def test_closing_twice_from_two_threads_and_then_everything(store):
    client = cl.Client.embedded(store).connect()
    client.create_chronicle("c")
    story = client.acquire_story("c", "s")
    story.log(b"durable")
    barrier = threading.Barrier(4)
    errors = []

    def close():
        barrier.wait()
        try:
            client.close()
            client.close()
        except cl.ChronologError as error:  # pragma: no cover - failure
            errors.append(error)

    threads = [threading.Thread(target=close) for _ in range(4)]
    for thread in threads:
        thread.start()
    _join(threads)
    assert errors == []
    assert client.closed and story.released
    assert client.Connect() == STALE
    assert story.log_event(b"x") == 0
    with pytest.raises(cl.StaleHandleError, match="closed"):
        story.log(b"x")
    with pytest.raises(cl.StaleHandleError), client:
        pass
    story.release()
    client.close()
    assert _records(store, "c", "s") == [b"durable"]


# ---------------------------------------------------------------------------
# The garbage collector
# ---------------------------------------------------------------------------


def _story_only(store):
    client = cl.Client.embedded(store).connect()
    client.create_chronicle("chron")
    return client.acquire_story("chron", "story"), weakref.ref(client)


def test_a_story_in_use_keeps_its_collected_client_working(store):
    story, client_ref = _story_only(store)
    counts = [200] * 4
    stop = threading.Event()

    def log(thread):
        for i in range(counts[thread]):
            story.log(b"%d-%d" % (thread, i))

    def collect():
        for _ in range(200):
            if stop.is_set():
                break
            gc.collect()

    collector = threading.Thread(target=collect)
    collector.start()
    threads = [threading.Thread(target=log, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    _join(threads)
    stop.set()
    _join([collector])

    assert client_ref() is story.client
    records = [e.record for e in story.client.replay("chron", "story")]
    assert sorted(records) == sorted(b"%d-%d" % (t, i) for t in range(4)
                                     for i in range(200))

    # Dropping the last story lets the client go, and its events stay.
    story = None
    gc.collect()
    assert client_ref() is None
    assert len(_records(store)) == 800


def test_close_racing_loggers_loses_no_event_it_accepted(store):
    client = cl.Client.embedded(store).connect()
    client.create_chronicle("chron")
    story = client.acquire_story("chron", "story")
    accepted = [[] for _ in range(4)]
    refused = []
    started = threading.Barrier(5)

    def log(thread):
        started.wait()
        for i in range(20000):
            record = b"%d-%d" % (thread, i)
            try:
                if i % 3:
                    story.log(record)
                else:
                    story.log_many([record])
            except cl.StaleHandleError as error:
                refused.append(error.status)
                return
            accepted[thread].append(record)

    threads = [threading.Thread(target=log, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    started.wait()
    while sum(map(len, accepted)) < 400:
        threading.Event().wait(0.001)
    client.close()
    _join(threads)

    assert refused == [STALE] * len(refused)
    stored = _records(store)
    assert len(stored) == len(set(stored))
    assert sorted(stored) == sorted(r for rs in accepted for r in rs)


def test_calls_racing_close_get_a_status_never_a_crash(store):
    client = cl.Client.embedded(store).connect()
    client.create_chronicle("chron", {"k": "0"})
    statuses = set()
    started = threading.Barrier(4)

    def work(thread):
        started.wait()
        for i in range(300):
            status, story = client.AcquireStory("chron", "s%d" % thread,
                                                {}, 0)
            statuses.add(status)
            statuses.add(client.EditChronicleAttr("chron", "k", "%d" % i))
            client.ShowStories("chron")
            if story is not None:
                statuses.add(client.ReplayStory("chron", "s%d" % thread, 0,
                                                UINT64_MAX, []))
                statuses.add(client.ReleaseStory("chron", "s%d" % thread))
            if STALE in statuses:
                return

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    started.wait()
    threading.Event().wait(0.02)
    client.close()
    _join(threads)
    assert statuses <= {cl.CL_SUCCESS, STALE, cl.CL_ERR_NOT_ACQUIRED}
    assert STALE in statuses
    with cl.Client.embedded(store) as fresh:
        # Nothing stayed acquired by the closed client.
        for thread in range(3):
            if "s%d" % thread in fresh.stories("chron"):
                fresh.destroy_story("chron", "s%d" % thread)
        fresh.destroy_chronicle("chron")


# ---------------------------------------------------------------------------
# Several clients in one process
# ---------------------------------------------------------------------------


def test_releasing_or_closing_one_client_leaves_another_working(store):
    one = cl.Client.embedded(store).connect()
    two = cl.Client.embedded(store).connect()
    assert one.client_id != two.client_id
    one.create_chronicle("chron")
    story_one = one.acquire_story("chron", "story")
    story_two = two.acquire_story("chron", "story")
    assert story_one is not story_two
    story_one.log(b"one-1")
    story_two.log(b"two-1")

    assert one.ReleaseStory("chron", "story") == cl.CL_SUCCESS
    assert story_one.log_event(b"x") == 0
    story_two.log(b"two-2")
    assert two.DestroyStory("chron", "story") == cl.CL_ERR_ACQUIRED
    one.close()
    story_two.log(b"two-3")
    assert one.ShowChronicles() == []
    assert two.ShowChronicles() == ["chron"]
    records = [e.record for e in two.replay("chron", "story")]
    assert sorted(records) == [b"one-1", b"two-1", b"two-2", b"two-3"]
    assert [r for r in records if r.startswith(b"two")] == [
        b"two-1", b"two-2", b"two-3"]
    two.close()
    with cl.Client.embedded(store) as three:
        three.destroy_story("chron", "story")


def test_two_clients_of_two_stores_in_one_process_stay_apart(tmp_path):
    with cl.Client.embedded(str(tmp_path / "a")) as a, \
            cl.Client.embedded(str(tmp_path / "b"), reader=False) as b:
        a.create_chronicle("chron")
        b.create_chronicle("chron")
        a.acquire_story("chron", "story").log(b"in a")
        b.acquire_story("chron", "story").log(b"in b")
        assert b.ReplayStory("chron", "story", 0, 9,
                             []) == cl.CL_ERR_NOT_READER_MODE
        b.close()
        assert [e.record for e in a.replay("chron", "story")] == [b"in a"]
    assert _records(str(tmp_path / "b")) == [b"in b"]


def test_many_clients_come_and_go_while_one_keeps_logging(store, reader,
                                                          story):
    stop = threading.Event()
    logged = []

    def log():
        for i in range(100000):
            if stop.is_set():
                return
            story.log(b"%d" % i)
            logged.append(i)

    thread = threading.Thread(target=log)
    thread.start()
    try:
        for _ in range(15):
            other = cl.Client.embedded(store).connect()
            other.acquire_story("chron", "story").log(b"other")
            other.close()
    finally:
        stop.set()
        _join([thread])
    records = [e.record for e in reader.replay("chron", "story")]
    assert [r for r in records if r != b"other"] == [
        b"%d" % i for i in logged]
    assert records.count(b"other") == 15


# ---------------------------------------------------------------------------
# Replay racing ReleaseStory
# ---------------------------------------------------------------------------


def test_replay_racing_release_in_another_thread(reader, story):
    story.log_many(b"%d" % i for i in range(300))
    expected = [b"%d" % i for i in range(300)]
    results = []
    errors = []
    done = threading.Event()

    def replay():
        for _ in range(2000):
            if results.count(cl.CL_SUCCESS) >= 30:
                break
            events = cl.EventList()
            status = reader.ReplayStory("chron", "story", 0, UINT64_MAX,
                                        events)
            results.append(status)
            if status == cl.CL_SUCCESS and \
                    [e.record for e in events] != expected:
                errors.append(len(events))
            try:
                pages = reader.iter_replay("chron", "story", page_size=64)
                records = [e.record for e in pages]
                if records != expected:
                    errors.append(len(records))
            except (cl.NotAcquiredError, cl.StaleHandleError):
                pass
        done.set()

    def release():
        while not done.is_set():
            assert reader.ReleaseStory("chron", "story") in (
                cl.CL_SUCCESS, cl.CL_ERR_NOT_ACQUIRED)
            assert reader.AcquireStory("chron", "story", {},
                                       0)[0] == cl.CL_SUCCESS
            time.sleep(0.0002)  # let replays in while it is held

    threads = [threading.Thread(target=replay),
               threading.Thread(target=release)]
    for thread in threads:
        thread.start()
    _join(threads)
    assert errors == []
    assert set(results) <= {cl.CL_SUCCESS, cl.CL_ERR_NOT_ACQUIRED}
    assert cl.CL_SUCCESS in results
    reader.acquire_story("chron", "story")
    assert [e.record for e in reader.replay("chron", "story")] == expected


# ---------------------------------------------------------------------------
# Process exit and fork()
# ---------------------------------------------------------------------------


def test_exit_while_a_thread_still_logs_keeps_what_was_logged(store):
    result = run_python("""
        import threading
        import chronolog_ctypes as cl
        client = cl.Client.embedded(%r).connect()
        client.create_chronicle("chron")
        story = client.acquire_story("chron", "story")
        logged = []

        def log():
            for i in range(10 ** 7):
                try:
                    story.log(b"%%d" %% i)
                except cl.ChronologError:
                    return
                logged.append(i)

        threading.Thread(target=log, daemon=True).start()
        while len(logged) < 2000:
            threading.Event().wait(0.001)
        print(len(logged))
        # No close: the interpreter exits with the thread still logging.
    """ % store, timeout=60)
    reported = int(result.stdout.decode().split()[-1])
    records = _records(store)
    assert len(records) >= reported
    assert records == [b"%d" % i for i in range(len(records))]


FORKING_PARENT = """
import json, os, sys, threading, time
import chronolog_ctypes as cl

store = %(store)r
client = cl.Client.embedded(store).connect()
client.create_chronicle("chron")
story = client.acquire_story("chron", "story")
story.log_many(b"p%%d" %% i for i in range(100))
pages = client.iter_replay("chron", "story", page_size=10)
next(pages)
stop = threading.Event()
logged = [100, 0, 0, 0]

def log(thread):
    # Threads log and flush while the process forks under them.
    i = 0
    while not stop.is_set():
        story.log(b"t%%d-%%d" %% (thread, i))
        i += 1
        if i %% 50 == 0:
            client.flush()
    logged[thread + 1] = i

threads = [threading.Thread(target=log, args=(n,)) for n in range(3)]
for thread in threads:
    thread.start()
children = []
for round in range(%(rounds)d):
    time.sleep(0.01)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        seen = {
            "Connect": client.Connect(),
            "CreateChronicle": client.CreateChronicle("x", {}, 0),
            "AcquireStory": client.AcquireStory("chron", "story", {}, 0)[0],
            "ReleaseStory": client.ReleaseStory("chron", "story"),
            "ReplayStory": client.ReplayStory("chron", "story", 0, 9, []),
            "ShowChronicles": client.ShowChronicles(),
            "log_event": story.log_event(b"from the child"),
        }
        for name, call in (("log", lambda: story.log(b"x")),
                           ("log_many", lambda: story.log_many([b"x"])),
                           ("flush", client.flush),
                           # Past the page already copied out.
                           ("next", lambda: [next(pages) for _ in range(20)]),
                           ("release", story.release)):
            try:
                call()
                seen[name] = "no error"
            except cl.ChronologError as error:
                seen[name] = [error.status, error.message]
        client.close()
        with cl.Client.embedded(store) as own:
            own.acquire_story("chron", "child %%d" %% round).log(b"own")
        os.write(write_end, json.dumps(seen).encode())
        os.close(write_end)
        # A normal exit: atexit, finalizers and the library's destructors
        # all run in the child, on the inherited objects too.
        sys.exit(0)
    os.close(write_end)
    children.append((pid, read_end))

reports = []
for pid, read_end in children:
    for _ in range(600):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        status = "hung"
    with os.fdopen(read_end, "rb") as stream:
        reports.append([status, json.loads(stream.read() or b"null")])
stop.set()
for thread in threads:
    thread.join()
story.log(b"parent after")
print(json.dumps({"reports": reports, "logged": logged,
                  "records": [e.record.decode()
                              for e in client.replay("chron", "story")]}))
client.close()
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_children_get_forked_errors_and_exit_promptly(store):
    rounds = 4
    result = run_python(FORKING_PARENT % {"store": store, "rounds": rounds},
                        timeout=120)
    out = json.loads(result.stdout.decode().splitlines()[-1])

    forked = cl.CLC_ERR_FORKED
    assert len(out["reports"]) == rounds
    for status, seen in out["reports"]:
        assert status == 0, status  # exited by itself, with status 0
        assert seen["Connect"] == forked
        assert seen["CreateChronicle"] == forked
        assert seen["AcquireStory"] == forked
        assert seen["ReleaseStory"] == forked
        assert seen["ReplayStory"] == forked
        assert seen["ShowChronicles"] == []
        assert seen["log_event"] == 0
        for name in ("log", "log_many", "flush", "next", "release"):
            assert seen[name][0] == forked, (name, seen[name])
            assert "fork" in seen[name][1]

    # The parent went on unharmed: every event of its threads, once.
    records = out["records"]
    assert len(records) == len(set(records))
    assert records[:100] == ["p%d" % i for i in range(100)]
    assert records[-1] == "parent after"
    for thread, count in enumerate(out["logged"][1:]):
        mine = [r for r in records if r.startswith("t%d-" % thread)]
        assert mine == ["t%d-%d" % (thread, i) for i in range(count)]
    assert len(records) == sum(out["logged"]) + 1
    assert "from the child" not in records
    with cl.Client.embedded(store) as client:
        assert client.stories("chron") == sorted(
            ["story"] + ["child %d" % n for n in range(rounds)])
        for n in range(rounds):
            client.acquire_story("chron", "child %d" % n)
            assert [e.record for e in client.replay(
                "chron", "child %d" % n)] == [b"own"]


def test_releasing_a_story_while_another_thread_closes_is_quiet(store):
    from chronolog_ctypes import client as client_module
    client = cl.Client.embedded(store).connect()
    client.create_chronicle("chron")
    story = client.acquire_story("chron", "story")
    story.log(b"kept")

    # Hold close() between marking the client closed and marking its
    # stories released: that is where a release from another thread lands.
    with client_module._registry_lock:
        closing = threading.Thread(target=client.close)
        closing.start()
        for _ in range(1000):
            if client.closed:
                break
            threading.Event().wait(0.001)
        assert client.closed and not story.released
        story.release()  # the client is closing: nothing to do, no error
        with story:
            pass
    _join([closing])
    assert story.released
    assert _records(store) == [b"kept"]
