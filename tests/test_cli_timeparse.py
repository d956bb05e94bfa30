"""The time syntax of replay --start/--end, and the ISO form ingest prints."""

import datetime
import os
import time

import pytest

from chronolog_ctypes._timeparse import MAX_TIME, format_time, parse_time

NOW = 1_714_564_800_000_000_000  # 2024-05-01T12:00:00Z
SECOND = 10**9


def test_integer_is_nanoseconds():
    assert parse_time("0") == 0
    assert parse_time("1714564800123456789") == 1714564800123456789
    assert parse_time(str(MAX_TIME)) == MAX_TIME


def test_now_and_relative_times_count_back_from_now():
    assert parse_time("now", NOW) == NOW
    assert parse_time("NOW", NOW) == NOW
    assert parse_time("-30s", NOW) == NOW - 30 * SECOND
    assert parse_time("-15m", NOW) == NOW - 15 * 60 * SECOND
    assert parse_time("-2h", NOW) == NOW - 2 * 3600 * SECOND
    assert parse_time("-3d", NOW) == NOW - 3 * 86400 * SECOND
    assert parse_time("-1w", NOW) == NOW - 7 * 86400 * SECOND
    assert parse_time("-1.5h", NOW) == NOW - 5400 * SECOND
    assert parse_time("-250ms", NOW) == NOW - 250_000_000
    assert parse_time("-7us", NOW) == NOW - 7000
    assert parse_time("-9ns", NOW) == NOW - 9


def test_iso_with_zone_is_exact_to_the_nanosecond():
    assert parse_time("2024-05-01T12:00:00Z") == NOW
    assert parse_time("2024-05-01t12:00:00z") == NOW
    assert parse_time("2024-05-01 12:00:00.000000001Z") == NOW + 1
    assert parse_time("2024-05-01T12:00:00.5Z") == NOW + SECOND // 2
    assert parse_time("2024-05-01T12:00:00,25Z") == NOW + SECOND // 4
    assert parse_time("2024-05-01T14:00:00+02:00") == NOW
    assert parse_time("2024-05-01T14:00:00+0200") == NOW
    assert parse_time("2024-05-01T10:30-01:30") == NOW
    assert parse_time("2024-05-01T07:00:00-05") == NOW


def test_naive_iso_is_local_time():
    moment = datetime.datetime(2024, 5, 1, 12, 30, 15)
    local_seconds = int(time.mktime(moment.timetuple()))
    assert parse_time("2024-05-01T12:30:15") == local_seconds * SECOND
    assert parse_time("2024-05-01T12:30:15.000000042") == (
        local_seconds * SECOND + 42)
    midnight = int(time.mktime(datetime.date(2024, 5, 1).timetuple()))
    assert parse_time("2024-05-01") == midnight * SECOND


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="needs time.tzset")
def test_naive_iso_follows_the_tz_variable(monkeypatch):
    monkeypatch.setenv("TZ", "UTC+03")  # POSIX sign: three hours west
    time.tzset()
    try:
        assert parse_time("2024-05-01T09:00:00") == NOW
    finally:
        monkeypatch.undo()
        time.tzset()
    assert os.environ.get("TZ") != "UTC+03"


def test_format_time_is_utc_iso_with_nanoseconds():
    assert format_time(NOW) == "2024-05-01T12:00:00.000000000Z"
    assert format_time(NOW + 123456789) == "2024-05-01T12:00:00.123456789Z"
    assert format_time(0) == "1970-01-01T00:00:00.000000000Z"


@pytest.mark.parametrize("ns", [0, 1, NOW, NOW + 999_999_999, MAX_TIME])
def test_format_time_reads_back_to_the_same_integer(ns):
    assert parse_time(format_time(ns)) == ns


@pytest.mark.parametrize("text, message", [
    ("yesterday", "not a time"),
    ("15m", "not a time"),
    ("+15m", "not a time"),
    ("-15x", "not a time"),
    ("", "not a time"),
    ("2024-13-01T00:00:00Z", "not a valid date-time"),
    ("2024-02-30", "not a valid date-time"),
    ("2024-05-01T25:00:00Z", "not a valid date-time"),
    ("2024-05-01T12:00:00+24:00", "not a valid UTC offset"),
    ("2024-05-01T12:00:00.1234567891Z", "not a time"),
    ("1969-12-31T23:59:59Z", "before 1970"),
    (str(MAX_TIME + 1), "beyond 2**64-1"),
    ("-100000w", "before 1970"),
])
def test_bad_text_raises_a_value_error_that_says_why(text, message):
    with pytest.raises(ValueError) as caught:
        parse_time(text, NOW)
    assert message in str(caught.value)
