"""Logging events: log, log_event, log_many, exact records, threads."""

import array
import os
import threading

import pytest

import chronolog_ctypes as cl
from chronolog_ctypes import client as client_module


def _records(reader, story):
    return [event.record for event in reader.replay("chron", story.story)]


def test_log_returns_increasing_timestamps(story):
    times = [story.log(b"r%d" % i) for i in range(50)]
    assert all(t > 0 for t in times)
    assert times == sorted(set(times))


def test_log_event_returns_the_timestamp(reader, story):
    time = story.log_event("hello")
    assert time > 0
    assert [e.time() for e in reader.replay("chron", "story")] == [time]


@pytest.mark.parametrize("record", [
    b"", b"\x00", b"\xff\x00abc", b"\x00" * 1000, bytes(range(256)),
])
def test_records_round_trip_exactly(reader, story, record):
    story.log(record)
    assert _records(reader, story) == [record]


def test_sixteen_mib_of_random_bytes_round_trip(reader, story):
    record = os.urandom(16 * 1024 * 1024)
    time = story.log(record)
    events = reader.replay("chron", "story")
    assert len(events) == 1
    assert events[0].time() == time
    assert events[0].record == record


def test_text_records_are_stored_as_utf8(reader, story):
    story.log("héllo 日本")
    story.log_event("\udcff")  # an escaped byte from Event.log_record()
    events = reader.replay("chron", "story")
    assert [e.record for e in events] == ["héllo 日本".encode(), b"\xff"]
    assert events[0].log_record() == "héllo 日本"
    assert events[1].log_record() == "\udcff"


def test_bytes_like_records_are_accepted(reader, story):
    story.log(bytearray(b"ba"))
    story.log(memoryview(b"mv"))
    assert _records(reader, story) == [b"ba", b"mv"]


def test_wrong_record_types_raise_or_return_zero(reader, story):
    with pytest.raises(TypeError, match="^record must be bytes or str"):
        story.log(5)
    with pytest.raises(cl.InvalidArgumentError):
        story.log("\ud800")
    assert story.log_event(None) == 0
    assert story.log_event(3.5) == 0
    assert _records(reader, story) == []


def test_log_many_returns_one_timestamp_per_record(reader, story):
    records = [b"a", b"", "c", b"\x00\xff", bytearray(b"e")]
    times = story.log_many(records)
    assert isinstance(times, array.array) and times.typecode == "Q"
    assert len(times) == 5
    assert list(times) == sorted(set(times))
    events = reader.replay("chron", "story")
    assert [e.time() for e in events] == list(times)
    assert [e.record for e in events] == [b"a", b"", b"c", b"\x00\xff", b"e"]


def test_log_many_accepts_any_iterable_and_nothing(reader, story):
    assert len(story.log_many(b"%d" % i for i in range(10))) == 10
    assert len(story.log_many([])) == 0
    assert len(reader.replay("chron", "story")) == 10


def test_log_many_splits_into_batches(reader, story, monkeypatch):
    calls = []
    original = story._log_many

    def counting(*arguments):
        calls.append(arguments[3])
        return original(*arguments)

    monkeypatch.setattr(client_module, "LOG_MANY_MAX_RECORDS", 4)
    story._log_many = counting
    times = story.log_many([b"x%d" % i for i in range(10)])
    assert calls == [4, 4, 2]
    assert len(times) == 10
    assert [e.record for e in reader.replay("chron", "story")] == \
        [b"x%d" % i for i in range(10)]


def test_log_many_splits_by_size(story, monkeypatch):
    calls = []
    original = story._log_many

    def counting(*arguments):
        calls.append(arguments[3])
        return original(*arguments)

    monkeypatch.setattr(client_module, "LOG_MANY_MAX_BYTES", 10)
    story._log_many = counting
    story.log_many([b"12345", b"67890", b"1", b"12345678901", b"2"])
    assert calls == [2, 2, 1]


def test_log_many_with_a_bad_record_logs_nothing(reader, story):
    with pytest.raises(TypeError):
        story.log_many([b"a", 5])
    assert _records(reader, story) == []


def test_log_many_failure_reports_the_logged_timestamps(reader, story):
    # A released story refuses the whole batch: nothing logged.
    story.log(b"first")
    ref = story._ref
    reader.release_story("chron", "story")
    story._ref = ref  # bypass Python's own check to reach the library
    with pytest.raises(cl.StaleHandleError) as caught:
        story.log_many([b"a", b"b"])
    assert list(caught.value.timestamps) == []


def test_many_threads_log_on_one_story(reader, story):
    threads_count = 8
    per_thread = 200
    results = [None] * threads_count
    start = threading.Barrier(threads_count)

    def work(number):
        start.wait()
        times = []
        for i in range(per_thread):
            if i % 2:
                times.append(story.log(b"%d-%d" % (number, i)))
            else:
                times.extend(story.log_many([b"%d-%d" % (number, i)]))
        results[number] = times

    threads = [threading.Thread(target=work, args=(n,))
               for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every_time = [t for times in results for t in times]
    assert len(set(every_time)) == threads_count * per_thread
    for times in results:
        assert times == sorted(times)
    events = reader.replay("chron", "story")
    assert sorted(e.record for e in events) == sorted(
        b"%d-%d" % (n, i) for n in range(threads_count)
        for i in range(per_thread))
    by_time = {e.time(): e.record for e in events}
    for number, times in enumerate(results):
        assert [by_time[t] for t in times] == [
            b"%d-%d" % (number, i) for i in range(per_thread)]


def test_events_carry_the_client_id_and_a_counter(reader, story):
    story.log_many([b"a", b"b", b"c"])
    events = reader.replay("chron", "story")
    assert {e.client_id() for e in events} == {reader.client_id}
    indexes = [e.index() for e in events]
    assert indexes == sorted(indexes) and len(set(indexes)) == 3


def test_a_writer_only_client_logs(reader, writer, chronicle):
    story = writer.acquire_story(chronicle, "w")
    story.log(b"from writer")
    story.release()
    reader.acquire_story(chronicle, "w")
    events = reader.replay(chronicle, "w")
    assert [e.record for e in events] == [b"from writer"]
    assert events[0].client_id() == writer.client_id
    assert writer.client_id != reader.client_id


def test_records_reach_the_library_as_a_pointer_to_their_bytes(library):
    marshal = client_module._Marshal.of(library)
    if isinstance(marshal, client_module._CopyingMarshal):
        pytest.skip("PyPy without cffi: see the next test")
    for data in (b"abc\x00def", b"\xff" * 4096):
        # ctypes on CPython and cffi on PyPy: the object itself
        assert marshal.records(data) is data


def test_pypy_ctypes_gets_records_as_a_view_of_one_copy():
    import ctypes
    marshal = client_module._CopyingMarshal()
    for data in (b"abc\x00def", b"\xff" * 4096):
        native = marshal.records(data)
        assert ctypes.string_at(ctypes.addressof(native), len(data)) == data
    assert marshal.records(b"") == b""


def test_log_many_joins_bytes_like_records_by_their_size(reader, story):
    records = [memoryview(array.array("I", [1, 2])), b"ab",
               bytearray(b"\x00")]
    story.log_many(records)
    assert _records(reader, story) == [
        array.array("I", [1, 2]).tobytes(), b"ab", b"\x00"]


def test_log_many_with_a_bad_record_later_keeps_the_batches_before(
        reader, story, monkeypatch):
    monkeypatch.setattr(client_module, "LOG_MANY_MAX_RECORDS", 2)
    with pytest.raises(TypeError) as caught:
        story.log_many([b"a", b"b", b"c", 5])
    assert len(caught.value.timestamps) == 2
    assert _records(reader, story) == [b"a", b"b"]
