"""Reading and writing event times for the command-line tool.

Event times are integers: nanoseconds since the Unix epoch. Users write
them in one of three ways, all accepted by :func:`parse_time`:

- an integer of nanoseconds, ``1714564800000000000``;
- an ISO-8601 date or date-time, ``2024-05-01``, ``2024-05-01T12:30``,
  ``2024-05-01 12:30:15.5+02:00``, ``2024-05-01T10:30:15.123456789Z``;
  a date-time without a zone is local time, a bare date is local midnight;
- a time relative to now, ``now``, ``-30s``, ``-15m``, ``-2h``, ``-3d``,
  ``-1w``, ``-500ms`` (fractions allowed: ``-1.5h``).

:func:`format_time` writes the ISO-8601 form (UTC, nanoseconds) that
:func:`parse_time` reads back to the same integer.
"""

import datetime
import re
import time
from decimal import Decimal, InvalidOperation
from typing import Optional

__all__ = ["MAX_TIME", "format_time", "parse_time"]

#: The largest event time (ChronoLog's times are unsigned 64-bit).
MAX_TIME = 2**64 - 1

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

_UNIT_NS = {
    "ns": 1,
    "us": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
    "w": 7 * 86400 * 10**9,
}

_DIGITS = re.compile(r"[0-9]+")

_RELATIVE = re.compile(r"-(\d+(?:\.\d+)?|\.\d+)(ns|us|ms|s|m|h|d|w)")

_ISO = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
    r"(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)

#: One line that says every accepted form, for error messages.
FORMS = (
    "use nanoseconds since the epoch, an ISO-8601 date-time "
    "(2024-05-01T12:30:00, local time unless it ends in Z or +HH:MM), "
    "'now', or a time before now such as -30s, -15m, -2h, -3d"
)


def parse_time(text: str, now_ns: Optional[int] = None) -> int:
    """Return the event time, in ns since the epoch, that ``text`` names.

    ``now_ns`` is the current time used by ``now`` and relative times
    (default: the system clock). Raises ValueError, with a message that
    says what is wrong, for text in none of the accepted forms or a time
    outside 0 .. 2**64-1.
    """
    text = text.strip()
    if now_ns is None:
        now_ns = time.time_ns()

    if _DIGITS.fullmatch(text) is not None:
        return _in_range(int(text), text)

    if text.lower() == "now":
        return now_ns

    relative = _RELATIVE.fullmatch(text)
    if relative is not None:
        amount, unit = relative.groups()
        return _in_range(now_ns - _scale(amount, _UNIT_NS[unit]), text)

    iso = _ISO.fullmatch(text)
    if iso is not None:
        return _in_range(_iso_to_ns(iso, text), text)

    raise ValueError("not a time: %r" % text)


def format_time(ns: int) -> str:
    """Return ``ns`` (ns since the epoch) as ISO-8601 in UTC, to the ns.

    For example ``2024-05-01T12:30:00.000000001Z``.
    """
    seconds, fraction = divmod(ns, 10**9)
    moment = _EPOCH + datetime.timedelta(seconds=seconds)
    return "%s.%09dZ" % (moment.strftime("%Y-%m-%dT%H:%M:%S"), fraction)


def _scale(amount: str, unit_ns: int) -> int:
    """Return the decimal string ``amount`` times ``unit_ns``, as an int."""
    try:
        return int(Decimal(amount) * unit_ns)
    except InvalidOperation:
        raise ValueError("not a number: %r" % amount) from None


def _iso_to_ns(match: "re.Match", text: str) -> int:
    """Return the ns since the epoch of a matched ISO-8601 text."""
    fields = match.groupdict()
    try:
        moment = datetime.datetime(
            int(fields["year"]),
            int(fields["month"]),
            int(fields["day"]),
            int(fields["hour"] or 0),
            int(fields["minute"] or 0),
            int(fields["second"] or 0),
        )
    except ValueError as error:
        raise ValueError("not a valid date-time: %r (%s)" % (text, error)) from None

    zone = fields["zone"]
    if zone is None:
        moment = _local(moment, text)
    else:
        moment = moment.replace(tzinfo=_zone(zone, text))

    elapsed = moment - _EPOCH
    seconds = elapsed.days * 86400 + elapsed.seconds
    fraction = (fields["fraction"] or "").ljust(9, "0")
    return seconds * 10**9 + int(fraction or 0)


def _local(moment: datetime.datetime, text: str) -> datetime.datetime:
    """Return the naive ``moment`` read as the machine's local time."""
    try:
        return moment.astimezone()
    except (OverflowError, OSError, ValueError):
        # mktime cannot place dates far outside the platform's range.
        raise ValueError("date-time out of range: %r" % text) from None


def _zone(zone: str, text: str) -> datetime.timezone:
    """Return the timezone of a ``Z`` or ``+HH[:MM]`` suffix."""
    if zone in ("Z", "z"):
        return datetime.timezone.utc

    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("not a valid UTC offset in %r" % text)

    offset = datetime.timedelta(hours=hours, minutes=minutes)
    return datetime.timezone(-offset if zone[0] == "-" else offset)


def _in_range(ns: int, text: str) -> int:
    """Return ``ns`` when it is a valid event time; raise ValueError if not."""
    if ns < 0:
        raise ValueError("time before 1970-01-01T00:00:00Z: %r" % text)
    if ns > MAX_TIME:
        raise ValueError("time beyond 2**64-1 ns: %r" % text)
    return ns
