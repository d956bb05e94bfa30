"""Events and the list that replays fill."""

from typing import Any, SupportsIndex, Tuple, Union, overload

from ._status import checked_int

__all__ = ["Event", "EventList"]

_UINT64_MAX = 2 ** 64 - 1
_UINT32_MAX = 2 ** 32 - 1


class Event:
    """One event of a story: time, client id, index and record.

    ``time`` is in nanoseconds since the Unix epoch, taken from the writing
    client's clock; ``client_id`` the id of that client; ``index`` a
    per-client counter.  The record is any bytes.

    The accessor methods are those of ChronoLog's ``Event``;
    :meth:`log_record` returns the record as text and :attr:`record` its
    exact bytes.  Events compare, order and hash by
    ``(time, client_id, index)``: the record is not compared.
    """

    __slots__ = ("_time", "_client_id", "_index", "_record")

    def __init__(self, time: int, client_id: int, index: int,
                 log_record: Union[bytes, str] = b"") -> None:
        self._time = checked_int(time, "time", 0, _UINT64_MAX)
        self._client_id = checked_int(client_id, "client_id", 0, _UINT64_MAX)
        self._index = checked_int(index, "index", 0, _UINT32_MAX)
        if isinstance(log_record, str):
            log_record = log_record.encode("utf-8", "surrogateescape")
        elif not isinstance(log_record, bytes):
            try:
                log_record = bytes(memoryview(log_record))
            except TypeError:
                raise TypeError(
                    "log_record must be str or bytes, not %s"
                    % type(log_record).__name__) from None
        self._record = log_record

    @classmethod
    def _from_replay(cls, time: int, client_id: int, index: int,
                     record: bytes) -> "Event":
        # Replayed values come from the library, already of the right
        # types and ranges: skip the checks of __init__.
        event = cls.__new__(cls)
        event._time = time
        event._client_id = client_id
        event._index = index
        event._record = record
        return event

    def time(self) -> int:
        """The event's timestamp, in nanoseconds since the Unix epoch."""
        return self._time

    def client_id(self) -> int:
        """The id of the client that logged the event."""
        return self._client_id

    def index(self) -> int:
        """The writing client's counter for the event."""
        return self._index

    def log_record(self) -> str:
        """The record as text: UTF-8, undecodable bytes kept as surrogates.

        ``log_record().encode("utf-8", "surrogateescape")`` gives back the
        exact bytes, which :attr:`record` holds.
        """
        return self._record.decode("utf-8", "surrogateescape")

    @property
    def record(self) -> bytes:
        """The record's exact bytes."""
        return self._record

    def _key(self) -> Tuple[int, int, int]:
        return (self._time, self._client_id, self._index)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self._key() == other._key()

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self._key() != other._key()

    def __lt__(self, other: "Event") -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self._key() < other._key()

    def __le__(self, other: "Event") -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self._key() <= other._key()

    def __gt__(self, other: "Event") -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self._key() > other._key()

    def __ge__(self, other: "Event") -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self._key() >= other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "Event(time=%d, client_id=%d, index=%d, log_record=%r)" % (
            self._time, self._client_id, self._index, self._record)

    def __reduce__(self) -> Any:
        return (Event, (self._time, self._client_id, self._index,
                        self._record))


class EventList(list):
    """A list of :class:`Event` that ``ReplayStory`` appends to.

    It is a ``list`` subclass: ``len``, iteration, indexing and sorting
    work as on any list. A slice is an ``EventList`` too, as with
    ``py_chronolog_client``.
    """

    __slots__ = ()

    @overload
    def __getitem__(self, index: SupportsIndex) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> "EventList": ...

    def __getitem__(self, index: Any) -> Any:
        """Return the event at ``index``, or an ``EventList`` for a slice."""
        item = list.__getitem__(self, index)
        if isinstance(index, slice):
            return EventList(item)
        return item

    def __repr__(self) -> str:
        return "EventList(%s)" % list.__repr__(self)
