"""Replay: ranges, order, both faces, the paged iterator."""

import os
import sqlite3

import pytest

import chronolog_ctypes as cl

UINT64_MAX = 2 ** 64 - 1


@pytest.fixture
def times(story):
    """Timestamps of five events logged on chron/story."""
    return [story.log(b"e%d" % i) for i in range(5)]


@pytest.fixture
def large(story):
    """Timestamps of 5,000 events logged on chron/story: more than a paged
    replay reads into memory at once, so its pages come from a reader
    connection of its own."""
    return list(story.log_many([b"%05d" % i for i in range(5000)]))


def _records(events):
    return [e.record for e in events]


def test_replay_returns_every_event_in_order(reader, times):
    events = reader.replay("chron", "story")
    assert [e.time() for e in events] == times
    assert _records(events) == [b"e0", b"e1", b"e2", b"e3", b"e4"]
    assert all(isinstance(e, cl.Event) for e in events)


def test_end_is_excluded_start_included(reader, times):
    events = reader.replay("chron", "story", times[1], times[3])
    assert [e.time() for e in events] == times[1:3]


def test_an_event_exactly_at_end_is_not_returned(reader, times):
    events = reader.replay("chron", "story", 0, times[-1])
    assert [e.time() for e in events] == times[:-1]


def test_start_zero_and_end_max(reader, times):
    assert len(reader.replay("chron", "story", 0, UINT64_MAX)) == 5
    assert len(reader.replay("chron", "story", times[-1], times[-1] + 1)) == 1


def test_an_empty_range_is_success_and_nothing(reader, times):
    events = cl.EventList()
    assert reader.ReplayStory("chron", "story", times[2], times[2],
                              events) == cl.CL_SUCCESS
    assert events == []
    assert reader.replay("chron", "story", times[2], times[2]) == []


def test_start_after_end_gives_invalid_arg(reader, times):
    events = cl.EventList()
    assert reader.ReplayStory("chron", "story", times[3], times[2],
                              events) == cl.CL_ERR_INVALID_ARG
    assert events == []
    with pytest.raises(cl.InvalidArgumentError):
        reader.replay("chron", "story", 2, 1)


def test_replay_story_appends_to_an_event_list(reader, times):
    events = cl.EventList([cl.Event(1, 2, 3, "old")])
    status = reader.ReplayStory("chron", "story", 1, 2000000000000000000,
                                events)
    assert status == cl.CL_SUCCESS
    assert len(events) == 6
    assert events[0].log_record() == "old"
    assert [e.log_record() for e in events[1:]] == [
        "e0", "e1", "e2", "e3", "e4"]


def test_replay_story_accepts_a_list_or_anything_with_append(reader, times):
    plain = []
    assert reader.ReplayStory("chron", "story", 0, UINT64_MAX,
                              plain) == cl.CL_SUCCESS
    assert len(plain) == 5

    class Sink:
        def __init__(self):
            self.got = []

        def append(self, item):
            self.got.append(item)

    sink = Sink()
    assert reader.ReplayStory("chron", "story", 0, UINT64_MAX,
                              sink) == cl.CL_SUCCESS
    assert _records(sink.got) == _records(plain)
    assert reader.ReplayStory("chron", "story", 0, UINT64_MAX,
                              None) == cl.CL_ERR_INVALID_ARG


@pytest.mark.parametrize("start,end", [
    (-1, 5), (0, 2 ** 64), ("0", 5), (0, 1.5), (None, 5)])
def test_bounds_outside_uint64_give_invalid_arg(reader, times, start, end):
    events = cl.EventList()
    assert reader.ReplayStory("chron", "story", start, end,
                              events) == cl.CL_ERR_INVALID_ARG
    assert events == []
    with pytest.raises((TypeError, ValueError)):
        reader.replay("chron", "story", start, end)


def test_replay_by_a_writer_only_client_gives_not_reader_mode(
        writer, reader, chronicle):
    writer.acquire_story(chronicle, "w")
    events = cl.EventList()
    assert writer.ReplayStory(chronicle, "w", 0, UINT64_MAX,
                              events) == cl.CL_ERR_NOT_READER_MODE
    with pytest.raises(cl.NotReaderModeError):
        writer.replay(chronicle, "w")
    with pytest.raises(cl.NotReaderModeError):
        writer.iter_replay(chronicle, "w")


def test_replay_of_a_story_not_held_gives_not_acquired(reader, chronicle):
    events = cl.EventList()
    assert reader.ReplayStory(chronicle, "free", 0, UINT64_MAX,
                              events) == cl.CL_ERR_NOT_ACQUIRED
    with pytest.raises(cl.NotAcquiredError):
        reader.replay(chronicle, "free")


def test_replay_before_connect_gives_not_acquired(store):
    # As ChronoLog: a client that is not connected holds no story.
    client = cl.Client.embedded(store)
    try:
        assert client.ReplayStory("c", "s", 0, 1, []) == \
            cl.CL_ERR_NOT_ACQUIRED
    finally:
        client.close()


def test_replay_sees_events_of_other_clients_in_time_order(
        reader, writer, chronicle):
    mine = reader.acquire_story(chronicle, "shared")
    theirs = writer.acquire_story(chronicle, "shared")
    expected = []
    for i in range(4):
        expected.append(mine.log(b"r%d" % i))
        expected.append(theirs.log(b"w%d" % i))
    theirs.release()  # flushes the writer's buffered events
    events = reader.replay(chronicle, "shared")
    assert sorted(e.time() for e in events) == sorted(expected)
    assert events == sorted(events)
    assert {e.client_id() for e in events} == {reader.client_id,
                                               writer.client_id}


def test_iter_replay_yields_the_same_events_in_pages(reader, times):
    iterator = reader.iter_replay("chron", "story", page_size=2)
    events = list(iterator)
    assert events == reader.replay("chron", "story")
    assert _records(events) == [b"e0", b"e1", b"e2", b"e3", b"e4"]
    assert list(iterator) == []


def test_iter_replay_respects_the_range(reader, times):
    events = list(reader.iter_replay("chron", "story", times[1], times[4],
                                     page_size=1))
    assert [e.time() for e in events] == times[1:4]
    assert list(reader.iter_replay("chron", "story", times[0],
                                   times[0])) == []


def test_iter_replay_checks_at_once(reader, chronicle):
    with pytest.raises(cl.NotAcquiredError):
        reader.iter_replay(chronicle, "free")
    with pytest.raises(cl.InvalidArgumentError):
        reader.iter_replay(chronicle, "free", page_size=0)


def test_iter_replay_can_be_closed_early(reader, times):
    iterator = reader.iter_replay("chron", "story", page_size=2)
    assert next(iterator).record == b"e0"
    iterator.close()
    assert list(iterator) == []


def test_iter_replay_after_client_close_raises_stale(reader, times):
    iterator = reader.iter_replay("chron", "story", page_size=1)
    assert next(iterator).record == b"e0"
    reader.close()
    with pytest.raises(cl.StaleHandleError):
        next(iterator)


def test_iter_replay_reads_the_snapshot_taken_when_it_starts(
        reader, writer, story, times):
    theirs = writer.acquire_story("chron", "story")
    iterator = reader.iter_replay("chron", "story", page_size=1)
    first = next(iterator)
    # Committed while the iteration goes on: after its position in time,
    # so a reader paging without a snapshot would show them.
    later = [theirs.log(b"w%d" % i) for i in range(3)]
    writer.flush()
    later.append(story.log(b"mine"))
    rest = list(iterator)
    assert _records([first] + rest) == [b"e0", b"e1", b"e2", b"e3", b"e4"]
    now = reader.replay("chron", "story")
    assert [e.time() for e in now] == times + later
    assert _records(now)[5:] == [b"w0", b"w1", b"w2", b"mine"]


def test_replay_is_one_snapshot_across_its_pages(reader, writer, story,
                                                 monkeypatch):
    expected = [story.log(b"e%d" % i) for i in range(7)]
    theirs = writer.acquire_story("chron", "story")
    pages = []
    real_next = cl.client._ReplayPages.next_page

    def next_page(self):
        # Another client commits between every two pages of the replay.
        pages.append(real_next(self))
        theirs.log(b"meanwhile")
        writer.flush()
        return pages[-1]

    monkeypatch.setattr(cl.client, "REPLAY_PAGE_EVENTS", 2)
    monkeypatch.setattr(cl.client._ReplayPages, "next_page", next_page)
    events = reader.replay("chron", "story")
    assert [len(page) for page in pages] == [2, 2, 2, 1, 0]
    assert [e.time() for e in events] == expected
    monkeypatch.undo()
    assert _records(reader.replay("chron", "story")).count(b"meanwhile") \
        == 5


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_iter_replay_goes_on_after_a_fork(reader, large):
    iterator = reader.iter_replay("chron", "story", page_size=1000)
    head = [next(iterator) for _ in range(1500)]
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    rest = list(iterator)
    assert [e.time() for e in head + rest] == large


def test_a_large_iter_replay_is_one_snapshot_too(reader, writer, large):
    theirs = writer.acquire_story("chron", "story")
    iterator = reader.iter_replay("chron", "story", page_size=100)
    first = next(iterator)
    theirs.log_many([b"meanwhile"] * 10)
    writer.flush()
    rest = list(iterator)
    assert [e.time() for e in [first] + rest] == large
    assert len(reader.replay("chron", "story")) == len(large) + 10


def test_replay_includes_events_not_yet_flushed(reader, story):
    # Replay flushes the client's buffered events first.
    time = story.log(b"just now")
    assert [e.time() for e in reader.replay("chron", "story")] == [time]


def test_export_into_a_buffer_too_small_gives_buffer_too_small(
        reader, story, library):
    import ctypes
    story.log(b"twelve bytes")
    events = cl._native.EventsHandle()
    assert library.clc_replay(reader._handle, b"chron", b"story", 0,
                              UINT64_MAX, ctypes.byref(events)) == 0
    try:
        small = ctypes.create_string_buffer(4)
        status = library.clc_events_export(events, None, None, None, None,
                                           small, 4)
        assert status == cl.CLC_ERR_BUFFER_TOO_SMALL
        assert type(cl._status.error_for_status(status)) is \
            cl.BufferTooSmallError
        assert library.last_error()
    finally:
        assert library.clc_events_free(events) == 0



def _fork_with_python():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return os.waitpid(pid, 0)[1]


def _fork_with_libc():
    # A fork Python's own hooks never see, as subprocess makes on some
    # versions: straight through the C library, with the GIL held.
    import ctypes

    if hasattr(ctypes, "PyDLL"):
        libc = ctypes.PyDLL(None)
        fork, exit_ = libc.fork, libc._exit
    else:  # PyPy, which has no PyDLL, calls C through its cffi
        import cffi

        ffi = cffi.FFI()
        ffi.cdef("int fork(void); void _exit(int);")
        libc = ffi.dlopen(None)
        fork, exit_ = libc.fork, libc._exit
    pid = fork()
    if pid == 0:
        exit_(0)
    return os.waitpid(pid, 0)[1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
@pytest.mark.parametrize("fork", [_fork_with_python, _fork_with_libc])
def test_replay_stays_one_snapshot_when_another_thread_forks(
        reader, large, store, monkeypatch, fork):
    real_next = cl.client._ReplayPages.next_page
    forks = []

    def late_commit():
        # Another process's flush, held up until now, commits two events
        # logged a while ago: one sorts before the replay's position, one
        # after it.
        database = sqlite3.connect(os.path.join(store, "chronolog.db"))
        with database:
            (story_id,) = database.execute(
                "SELECT id FROM stories WHERE name = 'story'").fetchone()
            database.executemany(
                "INSERT INTO events VALUES (?, ?, 999, 0, ?)",
                [(story_id, large[0], b"late"),
                 (story_id, large[-1], b"late")])
        database.close()

    def next_page(self):
        page = real_next(self)
        if not forks:
            # As if another thread forked between two pages.
            forks.append(fork())
            late_commit()
        return page

    monkeypatch.setattr(cl.client, "REPLAY_PAGE_EVENTS", 1000)
    monkeypatch.setattr(cl.client._ReplayPages, "next_page", next_page)
    events = reader.replay("chron", "story")
    assert forks == [0]
    # The story as it was before the late commit was ended by the fork, so
    # the range was read again, all of it after the late commit; never
    # half of what one commit made.
    assert _records(events).count(b"late") == 2
    assert len(events) == len(large) + 2


def test_replay_reads_at_most_three_times_while_forks_go_on(
        reader, times, monkeypatch):
    real_read = cl.Client._read_all_pages
    reads = []

    def read_while_forking(self, *args):
        # As if another thread forked during every read.
        events, snapshots = real_read(self, *args)
        assert snapshots == 1
        reads.append(events)
        return events, 2

    monkeypatch.setattr(cl.Client, "_read_all_pages", read_while_forking)
    events = reader.replay("chron", "story")
    assert len(reads) == 3
    assert events is reads[-1]
    assert [e.time() for e in events] == times
