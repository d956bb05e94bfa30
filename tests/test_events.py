"""Event and EventList."""

import pickle

import pytest

from chronolog_ctypes import Event, EventList, InvalidArgumentError


def test_accessors_return_the_constructor_values():
    event = Event(1700000000123456789, 42, 7, "hello")
    assert event.time() == 1700000000123456789
    assert event.client_id() == 42
    assert event.index() == 7
    assert event.log_record() == "hello"
    assert event.record == b"hello"


def test_bytes_records_are_kept_exactly():
    event = Event(1, 2, 3, b"\xff\x00abc")
    assert event.record == b"\xff\x00abc"
    assert event.log_record() == "\udcff\x00abc"
    assert event.log_record().encode("utf-8", "surrogateescape") == \
        b"\xff\x00abc"


def test_text_with_escaped_bytes_round_trips_to_the_same_bytes():
    assert Event(1, 2, 3, "\udcffé").record == b"\xff\xc3\xa9"


def test_bytearray_and_memoryview_records_become_bytes():
    assert Event(1, 2, 3, bytearray(b"ab")).record == b"ab"
    assert Event(1, 2, 3, memoryview(b"cd")).record == b"cd"


def test_events_compare_by_time_client_id_index_not_record():
    assert Event(5, 1, 1, "a") == Event(5, 1, 1, "b")
    assert hash(Event(5, 1, 1, "a")) == hash(Event(5, 1, 1, "b"))
    assert Event(5, 1, 1) != Event(5, 1, 2)
    ordered = [Event(4, 9, 9), Event(5, 0, 3), Event(5, 1, 0), Event(5, 1, 1)]
    assert sorted(reversed(ordered)) == ordered
    assert Event(5, 1, 0) < Event(5, 1, 1) <= Event(5, 1, 1)
    assert Event(6, 0, 0) > Event(5, 9, 9) >= Event(5, 9, 9)


def test_events_are_not_equal_to_other_types():
    assert Event(1, 2, 3) != (1, 2, 3)
    with pytest.raises(TypeError):
        Event(1, 2, 3) < (1, 2, 3)  # noqa: B015


def test_events_have_no_instance_dict():
    with pytest.raises(AttributeError):
        Event(1, 2, 3).extra = 1


def test_repr_shows_every_field():
    assert repr(Event(10, 2, 3, b"x\x00")) == \
        "Event(time=10, client_id=2, index=3, log_record=b'x\\x00')"


@pytest.mark.parametrize("arguments,error", [
    (("1", 2, 3), TypeError),
    ((1.0, 2, 3), TypeError),
    ((-1, 2, 3), InvalidArgumentError),
    ((2 ** 64, 2, 3), InvalidArgumentError),
    ((1, 2 ** 64, 3), InvalidArgumentError),
    ((1, 2, 2 ** 32), InvalidArgumentError),
    ((1, 2, 3, 4), TypeError),
])
def test_bad_fields_are_refused(arguments, error):
    with pytest.raises(error):
        Event(*arguments)


def test_limits_are_accepted():
    event = Event(2 ** 64 - 1, 2 ** 64 - 1, 2 ** 32 - 1)
    assert (event.time(), event.client_id(), event.index()) == \
        (2 ** 64 - 1, 2 ** 64 - 1, 2 ** 32 - 1)


def test_events_pickle():
    event = Event(1, 2, 3, b"\x00z")
    copy = pickle.loads(pickle.dumps(event))
    assert copy == event and copy.record == b"\x00z"


def test_event_list_is_a_list():
    events = EventList()
    events.append(Event(2, 0, 0))
    events.extend([Event(1, 0, 0)])
    assert isinstance(events, list)
    assert len(events) == 2
    assert events[1].time() == 1
    assert sorted(events)[0].time() == 1
    assert repr(EventList()) == "EventList([])"


def test_a_slice_of_an_event_list_is_an_event_list():
    events = EventList(Event(time, 1, time) for time in range(5))

    for piece, times in ((events[1:3], [1, 2]), (events[::-2], [4, 2, 0]),
                         (events[-2:], [3, 4]), (events[3:1], []),
                         (events[1:][1:], [2, 3, 4])):
        assert type(piece) is EventList
        assert [event.time() for event in piece] == times

    assert type(events[-1]) is Event and events[-1].time() == 4
    assert len(events) == 5  # the list sliced is unchanged
    assert repr(events[:1]) == (
        "EventList([Event(time=0, client_id=1, index=0, log_record=b'')])")
