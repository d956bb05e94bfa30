"""Clients, story handles and service settings.

Each class has two faces on the same object:

- the compatible methods (``Connect``, ``AcquireStory``, ``log_event``...)
  are spelled and behave as in ChronoLog's ``py_chronolog_client``: they
  return status codes and never raise on a ChronoLog condition or a wrong
  argument (which gives ``CL_ERR_INVALID_ARG``, logged at DEBUG level);
- the Pythonic methods (``connect``, ``acquire_story``, ``log``...) raise
  :class:`~chronolog_ctypes.ChronologError` subclasses, take and return
  bytes, and work as context managers.

Nothing here calls the library with a handle that Python knows to be
closed or released; the library refuses such handles too, so a call racing
with ``close()`` in another thread gets ``CLC_ERR_STALE_HANDLE``, never a
crash.
"""

import array
import bisect
import ctypes
import itertools
import logging
import os
import platform
import threading
import weakref
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Mapping,
                    Optional, Sequence, Tuple, Union)

from . import _native, _replayable
from ._native import (ClientHandle, CursorHandle, EventsHandle, Library,
                      ServiceConfStruct, StoryHandleRef, StringsHandle)
from ._status import (CL_ERR_INVALID_ARG, CL_ERR_NOT_ACQUIRED, CL_SUCCESS,
                      CLC_ERR_BACKEND_UNAVAILABLE, CLC_ERR_FORKED,
                      CLC_ERR_STALE_HANDLE, ChronologError,
                      InvalidArgumentError, NotAcquiredError,
                      StaleHandleError, checked_int,
                      encode_name, error_for_status, status_name)
from .config import load_client_config, store_from_environment
from .events import Event

__all__ = [
    "Client",
    "ClientPortalServiceConf",
    "ClientQueryServiceConf",
    "STORE_ENV",
    "StoryHandle",
    "library_info",
    "status_description",
]

logger = logging.getLogger("chronolog_ctypes")

#: Environment variable that turns every ``Client(portal[, query])`` into a
#: client of the embedded store in the directory it names.
STORE_ENV = "CHRONOLOG_CTYPES_STORE"

UINT64_MAX = 2 ** 64 - 1
_INT_MIN = -2 ** 31
_INT_MAX = 2 ** 31 - 1

# replay() reads this many events per page, as iter_replay() does by
# default: large enough that the calls per page do not count, small enough
# that a page in flight is about a MiB.  On PyPy the smaller pages also
# lower the peak of a large replay: 4096 gave 230 bytes per event beyond
# the records where 16384 gave 260.
REPLAY_PAGE_EVENTS = 4096

# log_many hands the library at most this much per call.
LOG_MANY_MAX_BYTES = 16 * 1024 * 1024
LOG_MANY_MAX_RECORDS = 65536

_MESSAGE_CAPACITY = 4096

# One message buffer per thread, made on first use: forwarding happens
# after most calls and usually finds nothing.
_message_buffers = threading.local()

_U32_TYPECODE = next(code for code in "IL" if array.array(code).itemsize == 4)

RecordLike = Union[bytes, bytearray, memoryview, str]


# ---------------------------------------------------------------------------
# Library helpers
# ---------------------------------------------------------------------------


def forward_library_messages(library: Optional[Library] = None) -> int:
    """Move the library's queued messages to the ``chronolog_ctypes`` logger.

    Returns how many were moved.  Called by the package after every
    operation that is not on the logging hot path.
    """
    if library is None:
        library = _native.get_library()
    buffer = getattr(_message_buffers, "buffer", None)
    if buffer is None:
        buffer = ctypes.create_string_buffer(_MESSAGE_CAPACITY)
        _message_buffers.buffer = buffer
    level = ctypes.c_int()
    length = ctypes.c_size_t()
    moved = 0
    while library.clc_log_next(ctypes.byref(level), buffer,
                               _MESSAGE_CAPACITY, ctypes.byref(length)):
        text = buffer.value.decode("utf-8", "replace")
        if length.value >= _MESSAGE_CAPACITY:
            text += "... (%d bytes in all)" % length.value
        logger.log(level.value, "libchronolog_capi: %s", text)
        moved += 1
    return moved


def _failure(library: Library, status: int, what: str) -> ChronologError:
    """The exception for a failed call; reads the library's message first.

    Must be called right after the failing call: the message is valid only
    until the thread's next call into the library.
    """
    message = library.last_error()
    forward_library_messages(library)
    if not message:
        message = _description(library, status)
    return error_for_status(status, "%s: %s" % (what, message))


def _description(library: Library, status: int) -> str:
    return library.clc_status_description(status).decode("utf-8", "replace")


def status_description(status: int) -> str:
    """Return a one-sentence description of a status code.

    The text is the library's own; when the library cannot be loaded, the
    status name is returned instead.
    """
    status = checked_int(status, "status", _INT_MIN, _INT_MAX)
    try:
        library = _native.get_library()
    except ChronologError:
        return status_name(status)
    return _description(library, status)


def library_info() -> Dict[str, Any]:
    """Describe the loaded library (loading it when needed).

    Returns a dict with ``path`` (where it was loaded from), ``version``
    (its release), ``abi`` (``"MAJOR.MINOR"``) and ``backends`` (a list of
    ``"embedded"`` and ``"chronolog"``, the backends built into it).
    Raises :class:`LibraryNotFoundError` when no library can be loaded.
    """
    library = _native.get_library()
    mask = library.clc_backends()
    backends = [name for bit, name in ((_native.BACKEND_EMBEDDED, "embedded"),
                                       (_native.BACKEND_CHRONOLOG,
                                        "chronolog"))
                if mask & bit]
    return {
        "path": library.path,
        "version": library.version,
        "abi": "%d.%d" % library.abi,
        "backends": backends,
    }


# Arrays reach the library as a pointer to their first element: a view of
# one element, not an array type per length (making a ctypes type for each
# new length costs more than the call itself).
_FIRST_BYTE = ctypes.c_char * 1


def _u64_pointer(values: "array.array[int]") -> Any:
    return ctypes.byref(ctypes.c_uint64.from_buffer(values))


def _u32_pointer(values: "array.array[int]") -> Any:
    return ctypes.byref(ctypes.c_uint32.from_buffer(values))


def _bytes_pointer(buffer: bytearray) -> Any:
    return _FIRST_BYTE.from_buffer(buffer) if buffer else None


def _zeros(typecode: str, count: int) -> "array.array[int]":
    values = array.array(typecode)
    values.frombytes(bytes(values.itemsize * count))
    return values


def _export_events(library: Library, events: EventsHandle,
                   what: str) -> List[Event]:
    """Copy a replay result into Events with one export call.

    The library fills five arrays at once: times, client ids, indexes,
    record offsets and one buffer of every record, each record then being
    a slice of that buffer.
    """
    if library.fast is not None:
        return _export_events_cffi(library, events, what)
    count = ctypes.c_size_t()
    record_bytes = ctypes.c_size_t()
    status = library.clc_events_size(events, ctypes.byref(count),
                                     ctypes.byref(record_bytes))
    if status:
        raise _failure(library, status, what)
    total = count.value
    if total == 0:
        return []

    times = _zeros("Q", total)
    client_ids = _zeros("Q", total)
    indexes = _zeros(_U32_TYPECODE, total)
    offsets = _zeros("Q", total + 1)
    size = record_bytes.value
    records = bytearray(size)
    status = library.clc_events_export(
        events, _u64_pointer(times), _u64_pointer(client_ids),
        _u32_pointer(indexes), _u64_pointer(offsets),
        _bytes_pointer(records), size)
    if status:
        raise _failure(library, status, what)

    data = bytes(records)
    del records
    return list(map(Event._from_replay, times, _shared_ids(client_ids),
                    indexes, _slices(data, offsets.tolist())))


def _export_events_cffi(library: Library, events: EventsHandle,
                        what: str) -> List[Event]:
    """:func:`_export_events` through cffi, on PyPy.

    The arrays are cffi's own, released as soon as the Events are made:
    PyPy's garbage collector would otherwise keep each page's buffers
    until its next major collection, and the peak memory of a large
    replay with them.
    """
    ffi = library.ffi
    fast = library.fast
    handle = ffi.cast(EventsHandle.c_name, events.value)
    sizes = ffi.new(_native.c_type(ctypes.c_size_t) + "[2]")
    status = fast.clc_events_size(handle, sizes, sizes + 1)
    if status:
        raise _failure(library, status, what)
    total, size = sizes[0], sizes[1]
    if total == 0:
        return []

    arrays = (ffi.new("uint64_t[]", total), ffi.new("uint64_t[]", total),
              ffi.new("uint32_t[]", total), ffi.new("uint64_t[]", total + 1),
              ffi.new("char[]", size or 1))
    times, client_ids, indexes, offsets, records = arrays
    try:
        status = fast.clc_events_export(handle, times, client_ids, indexes,
                                        offsets, records, size)
        if status:
            raise _failure(library, status, what)
        buffer = ffi.buffer(records, size)
        bounds = ffi.unpack(offsets, total + 1)
        pieces = [buffer[bounds[i]:bounds[i + 1]] for i in range(total)]
        return list(map(Event._from_replay, ffi.unpack(times, total),
                        ffi.unpack(client_ids, total),
                        ffi.unpack(indexes, total), pieces))
    finally:
        for array_ in arrays:
            ffi.release(array_)


if platform.python_implementation() == "PyPy":
    def _slices(data: bytes, bounds: List[int]) -> List[bytes]:
        return [data[bounds[i]:bounds[i + 1]]
                for i in range(len(bounds) - 1)]
else:
    def _slices(data: bytes, bounds: List[int]) -> List[bytes]:
        return [data[start:end] for start, end in
                zip(bounds, itertools.islice(bounds, 1, None))]
_slices.__doc__ = """Record i of data is data[bounds[i]:bounds[i + 1]].

The fastest spelling differs between CPython and PyPy."""


def _shared_ids(client_ids: "array.array[int]") -> Iterable[int]:
    """The client ids, as one int object when they are all the same.

    They usually are (one writer), and an int above 256 takes 28 bytes.
    """
    first = client_ids[:1]
    if (first * len(client_ids)).tobytes() == client_ids.tobytes():
        return itertools.repeat(first[0], len(client_ids))
    return client_ids


def _export_strings(library: Library, strings: StringsHandle,
                    what: str) -> List[str]:
    """Copy a list of names out of the library, then free it."""
    try:
        count = ctypes.c_size_t()
        total = ctypes.c_size_t()
        status = library.clc_strings_size(strings, ctypes.byref(count),
                                          ctypes.byref(total))
        if status:
            raise _failure(library, status, what)

        offsets = _zeros("Q", count.value + 1)
        size = total.value
        data = bytearray(size)
        status = library.clc_strings_export(strings, _u64_pointer(offsets),
                                            _bytes_pointer(data), size)
        if status:
            raise _failure(library, status, what)
    finally:
        library.clc_strings_free(strings)

    bounds = offsets.tolist()
    return [data[bounds[i]:bounds[i + 1]].decode("utf-8", "surrogateescape")
            for i in range(count.value)]


def _encode_attrs(attrs: Optional[Mapping[str, str]]) -> Tuple[Any, Any, int]:
    """Two arrays of NUL-terminated strings, for the chronicle calls."""
    if attrs is None:
        return None, None, 0
    if not isinstance(attrs, Mapping):
        raise TypeError("attrs must be a dict of str to str, not %s"
                        % type(attrs).__name__)
    count = len(attrs)
    if count == 0:
        return None, None, 0
    keys = []
    values = []
    for key, value in attrs.items():
        keys.append(encode_name(key, "attrs key"))
        values.append(encode_name(value, "attrs[%r]" % (key,)))
    # The arrays keep references to the bytes objects they point into.
    return ((ctypes.c_char_p * count)(*keys),
            (ctypes.c_char_p * count)(*values), count)


def _flags(flags: Any) -> ctypes.c_int:
    return ctypes.c_int(checked_int(flags, "flags", _INT_MIN, _INT_MAX))


def _record_bytes(record: Any) -> bytes:
    """A record as bytes: str is encoded as UTF-8, bytes-likes copied."""
    if isinstance(record, bytes):
        return record
    if isinstance(record, str):
        try:
            return record.encode("utf-8")
        except UnicodeEncodeError:
            pass
        try:
            # Text that came from Event.log_record() round-trips exactly.
            return record.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as error:
            raise InvalidArgumentError(
                CL_ERR_INVALID_ARG,
                "record is not valid UTF-8 text: %s" % error) from None
    try:
        return bytes(memoryview(record))
    except TypeError:
        raise TypeError("record must be bytes or str, not %s"
                        % type(record).__name__) from None


def _converted(records: Sequence[Any]) -> List[bytes]:
    return [record if type(record) is bytes else _record_bytes(record)
            for record in records]


def _batches(records: Iterable[RecordLike]
             ) -> Iterator[Tuple[Sequence[Any], List[int]]]:
    """Split records into the batches of one native call each.

    Yields ``(batch, lengths)``: at most ``LOG_MANY_MAX_RECORDS`` records,
    and records only until they reach ``LOG_MANY_MAX_BYTES``.  The lengths
    are ``len()`` of each record, which :func:`_joined` checks.
    """
    if isinstance(records, (list, tuple)):
        step = LOG_MANY_MAX_RECORDS
        chunks: Iterator[Sequence[Any]] = (
            records[i:i + step] for i in range(0, len(records), step))
    else:
        iterator = iter(records)
        chunks = iter(lambda: list(itertools.islice(
            iterator, LOG_MANY_MAX_RECORDS)), [])

    for chunk in chunks:
        try:
            lengths = list(map(len, chunk))
        except TypeError:
            chunk = _converted(chunk)
            lengths = list(map(len, chunk))
        limit = LOG_MANY_MAX_BYTES
        if sum(lengths) < limit:
            yield chunk, lengths
            continue
        # A batch ends with the record that brings it to the limit.
        ends = list(itertools.accumulate(lengths))
        start = 0
        while start < len(chunk):
            base = ends[start - 1] if start else 0
            end = min(bisect.bisect_left(ends, base + limit, start) + 1,
                      len(chunk))
            yield chunk[start:end], lengths[start:end]
            start = end


def _joined(batch: Sequence[Any], lengths: List[int]
            ) -> Tuple[bytes, "array.array[int]"]:
    """The records of a batch back to back, and their lengths in bytes.

    When every record is bytes (or a bytes-like object whose ``len()`` is
    its size), that is one ``join``; otherwise the records are converted
    first (``str`` to UTF-8), which also raises for a bad record.
    """
    try:
        joined: Optional[bytes] = b"".join(batch)
    except TypeError:
        joined = None
    if joined is None or len(joined) != sum(lengths):
        batch = _converted(batch)
        lengths = list(map(len, batch))
        joined = b"".join(batch)
    return joined, array.array("Q", lengths)


class _Marshal:
    """How the logging calls get their arguments: ctypes on CPython.

    CPython's ctypes hands the library a pointer into a bytes object
    itself, and a one-element array (a thread's out-parameter) as a
    pointer to its element.
    """

    @staticmethod
    def of(library: Library) -> "_Marshal":
        """The way to call ``library``'s logging functions."""
        if library.fast is not None:
            return _CffiMarshal(library.ffi)
        if platform.python_implementation() == "PyPy":
            return _CopyingMarshal()
        return _CTYPES_MARSHAL

    def story(self, ref: StoryHandleRef) -> Any:
        """The story handle as the logging functions take it."""
        return ref

    def log_function(self, library: Library) -> Callable[..., int]:
        """``clc_story_log_event``, taking a bytes record."""
        return library.clc_story_log_event

    def log_many_function(self, library: Library) -> Callable[..., int]:
        """``clc_story_log_many``, taking :meth:`records` and
        :meth:`u64_array` arguments."""
        return library.clc_story_log_many

    def records(self, joined: bytes) -> Any:
        """Records packed in one bytes object, as the library takes them."""
        return joined

    def u64_array(self, values: "array.array[int]") -> Any:
        """An ``array('Q')`` as a pointer to its first element."""
        return _u64_pointer(values) if values else None


_CTYPES_MARSHAL = _Marshal()


def _native_buffer(data: bytes) -> Any:
    """A record as PyPy's ctypes should get it: a view of one copy.

    PyPy's ctypes copies a bytes argument byte by byte (about a second for
    16 MiB); a view of a bytearray passes its address instead, and keeps
    the copy alive and in place during the call.
    """
    if not data:
        return data
    return _FIRST_BYTE.from_buffer(bytearray(data))


class _CopyingMarshal(_Marshal):
    """ctypes on PyPy (when cffi is missing or not wanted)."""

    def log_function(self, library: Library) -> Callable[..., int]:
        log = library.clc_story_log_event

        def copying_log(ref: Any, data: bytes, length: int) -> int:
            return log(ref, _native_buffer(data), length)
        return copying_log

    def records(self, joined: bytes) -> Any:
        return _native_buffer(joined)


class _CffiMarshal(_Marshal):
    """cffi on PyPy: every call costs about a tenth of a microsecond.

    cffi passes a bytes object to a ``void *`` parameter as a pointer to
    its data, and an ``array('Q')`` through ``ffi.from_buffer``.
    """

    def __init__(self, ffi: Any) -> None:
        self._ffi = ffi

    def story(self, ref: StoryHandleRef) -> Any:
        return self._ffi.cast(StoryHandleRef.c_name, ref.value)

    def log_function(self, library: Library) -> Callable[..., int]:
        return library.fast.clc_story_log_event

    def log_many_function(self, library: Library) -> Callable[..., int]:
        return library.fast.clc_story_log_many

    def u64_array(self, values: "array.array[int]") -> Any:
        if not values:
            return self._ffi.NULL
        return self._ffi.from_buffer("uint64_t[]", values)


# Python's locks held across fork() would stay locked in the child; the one
# lock of this module guards only dictionary updates, and the child gets a
# new one.
_registry_lock = threading.Lock()


def _reset_registry_lock() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_registry_lock)


# replay() reads the range at most this many times when forks (or failed
# pages) keep ending its snapshot; the last read is then returned, pieced
# from several snapshots.
_REPLAY_SNAPSHOT_ATTEMPTS = 3


# ---------------------------------------------------------------------------
# Service settings
# ---------------------------------------------------------------------------


class _ServiceConf:
    """The four settings of one ChronoLog service endpoint."""

    __slots__ = ("_proto", "_ip", "_port", "_provider_id")

    def __init__(self, proto: str, ip: str, port: int,
                 provider_id: int) -> None:
        for value, argument in ((proto, "proto"), (ip, "ip")):
            encode_name(value, argument)
            if not value:
                raise InvalidArgumentError(
                    CL_ERR_INVALID_ARG, "%s must not be empty" % argument)
        self._proto = proto
        self._ip = ip
        self._port = checked_int(port, "port", 0, 65535)
        self._provider_id = checked_int(provider_id, "provider_id", 0, 65535)

    @property
    def proto(self) -> str:
        """The transport, e.g. ``"ofi+sockets"``."""
        return self._proto

    @property
    def ip(self) -> str:
        """The IP address."""
        return self._ip

    @property
    def port(self) -> int:
        """The port, 0..65535."""
        return self._port

    @property
    def provider_id(self) -> int:
        """The provider id, 0..65535."""
        return self._provider_id

    def _fields(self) -> Tuple[str, str, int, int]:
        return (self._proto, self._ip, self._port, self._provider_id)

    def _as_struct(self) -> ServiceConfStruct:
        return ServiceConfStruct(encode_name(self._proto, "proto"),
                                 encode_name(self._ip, "ip"), self._port,
                                 self._provider_id)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()  # type: ignore

    def __hash__(self) -> int:
        return hash((type(self).__name__,) + self._fields())

    def __repr__(self) -> str:
        return "%s(%r, %r, %d, %d)" % ((type(self).__name__,)
                                       + self._fields())


class ClientPortalServiceConf(_ServiceConf):
    """Where ChronoVisor's client portal listens.

    Raises ``TypeError`` for a wrong type and
    :class:`InvalidArgumentError` (a ``ValueError``) for an empty string,
    a NUL, or a port or provider id outside 0..65535.
    """

    __slots__ = ()

    def __init__(self, proto: str = "ofi+sockets", ip: str = "127.0.0.1",
                 port: int = 5555, provider_id: int = 55) -> None:
        super().__init__(proto, ip, port, provider_id)


class ClientQueryServiceConf(_ServiceConf):
    """The endpoint a reader client listens on for replay results.

    This is not ChronoPlayer's address: two reader processes on one host
    need different ports.  Checks as :class:`ClientPortalServiceConf`.
    """

    __slots__ = ()

    def __init__(self, proto: str = "ofi+sockets", ip: str = "127.0.0.1",
                 port: int = 5557, provider_id: int = 57) -> None:
        super().__init__(proto, ip, port, provider_id)


# ---------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------


def _free_client(library: Library, handle: ClientHandle,
                 label: str) -> Tuple[int, str]:
    """Finalizer of a Client: release, flush, disconnect and free.

    Returns the status and the library's message.
    """
    try:
        status = library.clc_client_free(handle)
        message = library.last_error() if status else ""
        if status not in (CL_SUCCESS, CLC_ERR_STALE_HANDLE, CLC_ERR_FORKED):
            logger.warning("closing %s: %s: %s", label, status_name(status),
                           message)
        forward_library_messages(library)
        return status, message
    except Exception:  # pragma: no cover - interpreter shutdown
        return CLC_ERR_STALE_HANDLE, ""


def _checked_confs(portal: Any, query: Any) -> Tuple[
        "ClientPortalServiceConf", "Optional[ClientQueryServiceConf]"]:
    if not isinstance(portal, ClientPortalServiceConf):
        raise TypeError("portal must be a ClientPortalServiceConf, not %s"
                        % type(portal).__name__)
    if query is not None and not isinstance(query, ClientQueryServiceConf):
        raise TypeError("query must be a ClientQueryServiceConf, not %s"
                        % type(query).__name__)
    return portal, query


class Client:
    """A ChronoLog client: writer-only, or writer and reader.

    ``Client(portal)`` makes a writer-only client and
    ``Client(portal, query)`` a writer and reader client of a ChronoLog
    deployment; when ``$CHRONOLOG_CTYPES_STORE`` names a directory, both
    use the embedded store there instead.  The client is not connected
    yet: call ``Connect()``/``connect()`` or use it in a ``with`` block.

    Raises ``TypeError`` when the settings are not service confs,
    :class:`BackendUnavailableError` when the library was built without
    ChronoLog, and another :class:`ChronologError` when the library refuses
    the settings.
    """

    # Until a handle is adopted (and after close) the client is closed.
    _handle: Optional[ClientHandle] = None
    _label = "client"
    _reader = False

    def __init__(self, portal: ClientPortalServiceConf,
                 query: Optional[ClientQueryServiceConf] = None) -> None:
        _checked_confs(portal, query)

        store = store_from_environment()
        if store:
            self._open_embedded(store, query is not None)
        else:
            self._create_chronolog(portal, query)

    # -- construction ------------------------------------------------------

    @classmethod
    def embedded(cls, store_dir: "Union[str, os.PathLike[str]]",
                 reader: bool = True) -> "Client":
        """A client of the embedded store in directory ``store_dir``.

        The directory is created (owner-only) when missing; several
        processes may use one store at once.  ``reader=False`` makes a
        writer-only client.  Not connected yet.
        """
        client = cls.__new__(cls)
        client._open_embedded(store_dir, bool(reader))
        return client

    @classmethod
    def deployment(cls, portal: ClientPortalServiceConf,
                   query: Optional[ClientQueryServiceConf] = None
                   ) -> "Client":
        """A client of the ChronoLog deployment at ``portal``, always.

        Unlike ``Client(portal, query)``, ``$CHRONOLOG_CTYPES_STORE`` does
        not redirect it to the embedded store: use it where the user named
        the deployment explicitly.  Raises as ``Client(...)`` does.
        """
        client = cls.__new__(cls)
        client._create_chronolog(*_checked_confs(portal, query))
        return client

    @classmethod
    def from_config(cls, path: "Union[str, os.PathLike[str]]",
                    reader: bool = True) -> "Client":
        """A client with the settings of a ChronoLog client config file.

        ``reader=False`` makes a writer-only client (the query service
        settings are then unused).  ``$CHRONOLOG_CTYPES_STORE`` applies as
        for ``Client(...)``.  Raises ``OSError`` when the file cannot be
        read and :class:`ConfigError` naming the file and key at fault.
        """
        config = load_client_config(path)
        if reader:
            return cls(config.portal, config.query)
        return cls(config.portal)

    def _open_embedded(self, store_dir: Any, reader: bool) -> None:
        library = _native.get_library()
        # A path, not a name: it goes in the file system's encoding.
        try:
            path = os.fsencode(store_dir)
        except TypeError:
            raise TypeError("store_dir must be a str or path, not %s"
                            % type(store_dir).__name__) from None
        if b"\0" in path:
            raise InvalidArgumentError(
                CL_ERR_INVALID_ARG, "store_dir must not contain NUL: %r"
                % (store_dir,))

        mode = _native.MODE_READER if reader else _native.MODE_WRITER
        handle = ClientHandle()
        status = library.clc_client_open_embedded(path, mode,
                                                  ctypes.byref(handle))
        label = "client of the embedded store %r" % os.fsdecode(path)
        if status:
            raise _failure(library, status, "cannot open the %s" % label)
        self._adopt(library, handle, label)

    def _create_chronolog(self, portal: ClientPortalServiceConf,
                          query: Optional[ClientQueryServiceConf]) -> None:
        library = _native.get_library()
        portal_struct = portal._as_struct()
        query_struct = query._as_struct() if query is not None else None
        handle = ClientHandle()
        status = library.clc_client_create(
            ctypes.byref(portal_struct),
            ctypes.byref(query_struct) if query_struct is not None else None,
            ctypes.byref(handle))
        label = "ChronoLog client of %s://%s:%d" % (portal.proto, portal.ip,
                                                    portal.port)
        if status == CLC_ERR_BACKEND_UNAVAILABLE:
            forward_library_messages(library)
            raise error_for_status(status, (
                "the library %s was built without the ChronoLog backend."
                " Set %s=<dir> to use the embedded store in <dir> instead,"
                " or build this package with ChronoLog:"
                " CHRONOLOG_ROOT=<ChronoLog install prefix> pip install ."
                % (library.path, STORE_ENV)))
        if status:
            raise _failure(library, status, "cannot create a %s" % label)
        self._adopt(library, handle, label)

    def _adopt(self, library: Library, handle: ClientHandle,
               label: str) -> None:
        self._library = library
        self._handle = handle
        self._label = label
        # Weak: a story handle nobody holds is not kept alive; acquiring the
        # story again then makes a new one.
        stories: "weakref.WeakValueDictionary[Tuple[str, str], StoryHandle]"
        stories = weakref.WeakValueDictionary()
        self._stories = stories
        self._finalizer = weakref.finalize(
            self, _free_client, library, ClientHandle(handle.value), label)

        backend = ctypes.c_int()
        mode = ctypes.c_int()
        status = library.clc_client_info(handle, ctypes.byref(backend),
                                         ctypes.byref(mode))
        if status:
            error = _failure(library, status, "cannot query the %s" % label)
            self._finalizer()
            self._handle = None
            raise error
        self._backend = ("chronolog" if backend.value
                         == _native.BACKEND_CHRONOLOG else "embedded")
        self._reader = mode.value == _native.MODE_READER
        forward_library_messages(library)

    def _live_handle(self) -> ClientHandle:
        handle = self._handle
        if handle is None:
            raise StaleHandleError(CLC_ERR_STALE_HANDLE,
                                   "the %s is closed" % self._label)
        return handle

    def _check(self, status: int, what: str) -> None:
        if status:
            raise _failure(self._library, status, what)
        forward_library_messages(self._library)

    # -- lifetime ----------------------------------------------------------

    def close(self) -> None:
        """Release every story, disconnect and free the client.

        Buffered events are made durable first.  Calling it again does
        nothing.  Afterwards every Pythonic method raises
        :class:`StaleHandleError` and every compatible method returns
        ``CLC_ERR_STALE_HANDLE``.  Raises :class:`ChronologError` when the
        library reports a failure while closing (the client is closed all
        the same).
        """
        if self._handle is None:
            return
        self._handle = None
        with _registry_lock:
            stories = list(self._stories.values())
            self._stories.clear()
        for story in stories:
            story._mark_released()

        result = self._finalizer()
        if result is None:
            return
        status, message = result
        if status in (CL_SUCCESS, CLC_ERR_STALE_HANDLE, CLC_ERR_FORKED):
            return
        raise error_for_status(status, "while closing the %s: %s"
                               % (self._label, message))

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._handle is None

    def __enter__(self) -> "Client":
        return self.connect()

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self.close()
        except ChronologError as error:
            logger.warning("%s", error)

    def __repr__(self) -> str:
        role = "writer and reader" if self._reader else "writer-only"
        state = "closed" if self._handle is None else "open"
        return "<chronolog_ctypes.Client: %s %s, %s>" % (role, self._label,
                                                        state)

    # -- Pythonic methods --------------------------------------------------

    def connect(self) -> "Client":
        """Connect (embedded: open the store and get a client id).

        Returns the client.  Connecting a connected client does nothing.
        """
        handle = self._live_handle()
        status = self._library.clc_client_connect(handle)
        self._check(status, "cannot connect the %s" % self._label)
        return self

    def disconnect(self) -> None:
        """Disconnect, after making buffered events durable.

        Raises :class:`AcquiredError` while a story is acquired (the
        client then stays connected).
        """
        handle = self._live_handle()
        status = self._library.clc_client_disconnect(handle)
        self._check(status, "cannot disconnect the %s" % self._label)

    def flush(self) -> None:
        """Make every event this client logged durable."""
        handle = self._live_handle()
        status = self._library.clc_client_flush(handle)
        self._check(status, "cannot flush the %s" % self._label)

    @property
    def is_connected(self) -> bool:
        """Whether the client is connected (False once closed)."""
        handle = self._handle
        if handle is None:
            return False
        connected = ctypes.c_int()
        status = self._library.clc_client_is_connected(
            handle, ctypes.byref(connected))
        self._check(status, "cannot query the %s" % self._label)
        return bool(connected.value)

    @property
    def client_id(self) -> int:
        """The id the client got when it connected.

        Raises :class:`NoConnectionError` before connecting.
        """
        handle = self._live_handle()
        client_id = ctypes.c_uint64()
        status = self._library.clc_client_id(handle, ctypes.byref(client_id))
        self._check(status, "the %s has no client id" % self._label)
        return client_id.value

    @property
    def backend(self) -> str:
        """``"embedded"`` or ``"chronolog"``."""
        return self._backend

    @property
    def is_reader(self) -> bool:
        """Whether the client can replay (it was made with a query conf)."""
        return self._reader

    def create_chronicle(self, name: str,
                         attrs: Optional[Mapping[str, str]] = None,
                         flags: int = 0) -> None:
        """Create a chronicle with string attributes and integer flags.

        Raises :class:`ChronicleExistsError` when it exists.
        """
        handle = self._live_handle()
        encoded = encode_name(name, "name")
        keys, values, count = _encode_attrs(attrs)
        flags_value = _flags(flags)

        status = self._library.clc_chronicle_create(
            handle, encoded, keys, values, count, ctypes.byref(flags_value))
        self._check(status, "cannot create chronicle %r" % (name,))

    def destroy_chronicle(self, name: str) -> None:
        """Destroy a chronicle with its stories and their events.

        Raises :class:`NotExistError` when missing and
        :class:`AcquiredError` when one of its stories is acquired.
        """
        handle = self._live_handle()
        encoded = encode_name(name, "name")
        status = self._library.clc_chronicle_destroy(handle, encoded)
        self._check(status, "cannot destroy chronicle %r" % (name,))

    def get_chronicle_attr(self, chronicle: str, key: str) -> str:
        """Return the value of attribute ``key`` of a chronicle.

        Raises :class:`NotExistError` when the chronicle or key is missing.
        """
        handle = self._live_handle()
        encoded_chronicle = encode_name(chronicle, "chronicle")
        encoded_key = encode_name(key, "key")

        strings = StringsHandle()
        status = self._library.clc_chronicle_get_attr(
            handle, encoded_chronicle, encoded_key, ctypes.byref(strings))
        what = "cannot read attribute %r of chronicle %r" % (key, chronicle)
        self._check(status, what)
        values = _export_strings(self._library, strings, what)
        return values[0] if values else ""

    def edit_chronicle_attr(self, chronicle: str, key: str,
                            value: str) -> None:
        """Change attribute ``key`` of a chronicle.

        As ChronoVisor, only an existing attribute (one given when the
        chronicle was created) can be changed; raises
        :class:`NotExistError` when the chronicle or the key is missing.
        """
        handle = self._live_handle()
        encoded_chronicle = encode_name(chronicle, "chronicle")
        encoded_key = encode_name(key, "key")
        encoded_value = encode_name(value, "value")

        status = self._library.clc_chronicle_edit_attr(
            handle, encoded_chronicle, encoded_key, encoded_value)
        self._check(status, "cannot set attribute %r of chronicle %r"
                    % (key, chronicle))

    def chronicles(self) -> List[str]:
        """Return the names of every chronicle, sorted."""
        handle = self._live_handle()
        strings = StringsHandle()
        status = self._library.clc_chronicle_list(handle,
                                                  ctypes.byref(strings))
        what = "cannot list the chronicles"
        self._check(status, what)
        return _export_strings(self._library, strings, what)

    def stories(self, chronicle: str) -> List[str]:
        """Return the names of the stories of a chronicle, sorted."""
        handle = self._live_handle()
        encoded = encode_name(chronicle, "chronicle")
        strings = StringsHandle()
        status = self._library.clc_story_list(handle, encoded,
                                              ctypes.byref(strings))
        what = "cannot list the stories of chronicle %r" % (chronicle,)
        self._check(status, what)
        return _export_strings(self._library, strings, what)

    def acquire_story(self, chronicle: str, story: str,
                      attrs: Optional[Mapping[str, str]] = None,
                      flags: int = 0) -> "StoryHandle":
        """Acquire a story, creating it when missing.

        Returns its :class:`StoryHandle`, the same object each time while
        the story stays acquired; ``with`` releases it on exit.  Raises
        :class:`NotExistError` when the chronicle is missing.
        """
        handle = self._live_handle()
        encoded_chronicle = encode_name(chronicle, "chronicle")
        encoded_story = encode_name(story, "story")
        keys, values, count = _encode_attrs(attrs)
        flags_value = _flags(flags)

        ref = StoryHandleRef()
        status = self._library.clc_story_acquire(
            handle, encoded_chronicle, encoded_story, keys, values, count,
            ctypes.byref(flags_value), ctypes.byref(ref))
        self._check(status, "cannot acquire story %r of chronicle %r"
                    % (story, chronicle))

        with _registry_lock:
            known = self._stories.get((chronicle, story))
            if known is not None and known._ref is not None and \
                    known._token == ref.value:
                return known
            acquired = StoryHandle(self, chronicle, story, ref)
            self._stories[(chronicle, story)] = acquired
        return acquired

    def release_story(self, chronicle: str, story: str) -> None:
        """Release a story this client holds, after flushing its events.

        Its :class:`StoryHandle` then refuses to log.  Raises
        :class:`NotAcquiredError` when this client does not hold it.
        """
        handle = self._live_handle()
        encoded_chronicle = encode_name(chronicle, "chronicle")
        encoded_story = encode_name(story, "story")

        status = self._library.clc_story_release(handle, encoded_chronicle,
                                                 encoded_story)
        self._check(status, "cannot release story %r of chronicle %r"
                    % (story, chronicle))
        with _registry_lock:
            released = self._stories.pop((chronicle, story), None)
        if released is not None:
            released._mark_released()

    def destroy_story(self, chronicle: str, story: str) -> None:
        """Destroy a story and its events.

        Raises :class:`NotExistError` when missing and
        :class:`AcquiredError` while any client holds it.
        """
        handle = self._live_handle()
        encoded_chronicle = encode_name(chronicle, "chronicle")
        encoded_story = encode_name(story, "story")
        status = self._library.clc_story_destroy(handle, encoded_chronicle,
                                                 encoded_story)
        self._check(status, "cannot destroy story %r of chronicle %r"
                    % (story, chronicle))

    def replay(self, chronicle: str, story: str, start: int = 0,
               end: int = UINT64_MAX) -> List[Event]:
        """Return the events of a story with ``start <= time < end``.

        Events come in ``(time, client_id, index)`` order.  The client
        must be a reader holding the story; its own buffered events are
        flushed first.  The result is one snapshot of the story, read in
        pages as :meth:`iter_replay` reads it, so that memory holds little
        more than the Events; a ``fork()`` in another thread meanwhile
        makes it read the range again (three reads at most).
        Raises :class:`NotReaderModeError`, :class:`NotAcquiredError`,
        :class:`InvalidArgumentError` when ``start > end``.
        """
        self._live_handle()
        encoded_chronicle = encode_name(chronicle, "chronicle")
        encoded_story = encode_name(story, "story")
        start = checked_int(start, "start", 0, UINT64_MAX)
        end = checked_int(end, "end", 0, UINT64_MAX)
        what = "cannot replay story %r of chronicle %r" % (story, chronicle)

        for attempt in range(_REPLAY_SNAPSHOT_ATTEMPTS):
            events, snapshots = self._read_all_pages(
                encoded_chronicle, encoded_story, start, end, what)
            # A fork in another thread (or a failed page) between two pages
            # ended the snapshot, and the pages after it came from a new
            # one: read the whole range again, from one snapshot.
            if snapshots == 1:
                break
            logger.debug("%s: read %d of %d came from %d snapshots",
                         what, attempt + 1, _REPLAY_SNAPSHOT_ATTEMPTS,
                         snapshots)
        return events

    def _read_all_pages(self, chronicle: bytes, story: bytes, start: int,
                        end: int, what: str) -> Tuple[List[Event], int]:
        """The events of a paged replay, and how many snapshots they came
        from."""
        pages = self._open_pages(chronicle, story, start, end,
                                 REPLAY_PAGE_EVENTS, what)
        try:
            events = _concatenated(iter(pages.next_page, []))
            return events, pages.snapshots()
        except StaleHandleError as error:
            if self._handle is None:
                raise
            # The client is open, so another thread released the story
            # between two pages: a replay of a story no longer held.
            raise NotAcquiredError(
                CL_ERR_NOT_ACQUIRED,
                "%s: the story was released during the replay" % what
            ) from error
        finally:
            pages.close()

    def iter_replay(self, chronicle: str, story: str, start: int = 0,
                    end: int = UINT64_MAX,
                    page_size: int = REPLAY_PAGE_EVENTS) -> Iterator[Event]:
        """Iterate over the events :meth:`replay` would return.

        Events are fetched ``page_size`` at a time, so memory stays
        bounded, and they all come from one snapshot of the story taken
        by this call: events other clients commit while the iteration
        goes on are not part of it.  The checks happen at once, not at
        the first ``next()``.  Close the iterator (or let it end) once it
        is no longer read: on the embedded store an open snapshot keeps
        the store's write-ahead log from being trimmed.
        """
        self._live_handle()
        encoded_chronicle = encode_name(chronicle, "chronicle")
        encoded_story = encode_name(story, "story")
        start = checked_int(start, "start", 0, UINT64_MAX)
        end = checked_int(end, "end", 0, UINT64_MAX)
        page_size = checked_int(page_size, "page_size", 1, 2 ** 31 - 1)
        what = "cannot replay story %r of chronicle %r" % (story, chronicle)

        pages = self._open_pages(encoded_chronicle, encoded_story, start, end,
                                 page_size, what)
        return _iterate_pages(pages)

    def _open_pages(self, chronicle: bytes, story: bytes, start: int,
                    end: int, page_size: int, what: str) -> "_ReplayPages":
        handle = self._live_handle()
        cursor = CursorHandle()
        status = self._library.clc_replay_open(
            handle, chronicle, story, start, end, ctypes.byref(cursor))
        self._check(status, what)
        return _ReplayPages(self, cursor, page_size, what)

    def wait_replayable(self, chronicle: str, story: str,
                        count: Optional[int] = None,
                        last_time: Optional[int] = None,
                        timeout: float = 60.0,
                        archive_dir: "Optional[Union[str, os.PathLike[str]]]"
                        = None,
                        first_probe_after: float = 30.0,
                        archive_index_delay: float = 6.0) -> List[Event]:
        """Wait until a story's events are replayable; return them all.

        Replays the whole story until it has at least ``count`` events
        and, when ``last_time`` is given, an event at or after
        ``last_time`` (a timestamp ``log`` returned); with neither, one
        event.  Returns that replay.  Raises :class:`QueryTimedOutError`
        when ``timeout`` seconds pass first (one replay in progress may
        add a second or two), and what :meth:`replay` raises.

        The embedded store answers at once.  A ChronoLog deployment makes
        events replayable seconds after they are logged, and does not
        answer at all (ChronoLog's client then waits 180 s) a replay of a
        story it has archived nothing of yet; so the first replay waits
        until ``archive_index_delay`` seconds after an archive file of the
        story appears in ``archive_dir`` (default
        ``$CHRONOLOG_CTYPES_ARCHIVE_DIR``), or, with no archive directory
        readable here, until ``first_probe_after`` seconds have passed.
        A story this process replayed before is replayed at once.
        """
        return _replayable.wait_replayable(
            self, chronicle, story,
            None if count is None else checked_int(count, "count", 0,
                                                   UINT64_MAX),
            None if last_time is None else checked_int(last_time,
                                                       "last_time", 0,
                                                       UINT64_MAX),
            float(timeout), archive_dir, float(first_probe_after),
            float(archive_index_delay))

    # -- compatible methods ------------------------------------------------

    def _status_of(self, operation: str, call: Callable[..., Any],
                   *args: Any) -> Tuple[int, Any]:
        """Run a Pythonic method; turn what it raises into a status."""
        try:
            return CL_SUCCESS, call(*args)
        except ChronologError as error:
            logger.debug("%s returned %s", operation, error)
            return error.status, None
        except (TypeError, ValueError) as error:
            logger.debug("%s returned CL_ERR_INVALID_ARG: %s", operation,
                         error)
            return CL_ERR_INVALID_ARG, None

    def Connect(self) -> int:
        """Connect; returns a status."""
        return self._status_of("Connect", self.connect)[0]

    def Disconnect(self) -> int:
        """Disconnect; returns a status (``CL_ERR_ACQUIRED`` while a story
        is acquired, ``CL_SUCCESS`` when not connected)."""
        return self._status_of("Disconnect", self.disconnect)[0]

    def CreateChronicle(self, name: str,
                        attrs: Optional[Mapping[str, str]] = None,
                        flags: int = 0) -> int:
        """Create a chronicle; returns a status."""
        return self._status_of("CreateChronicle", self.create_chronicle,
                               name, attrs, flags)[0]

    def DestroyChronicle(self, name: str) -> int:
        """Destroy a chronicle; returns a status."""
        return self._status_of("DestroyChronicle", self.destroy_chronicle,
                               name)[0]

    def AcquireStory(self, chronicle: str, story: str,
                     attrs: Optional[Mapping[str, str]] = None,
                     flags: int = 0
                     ) -> "Tuple[int, Optional[StoryHandle]]":
        """Acquire a story; returns ``(status, StoryHandle or None)``."""
        status, story_handle = self._status_of(
            "AcquireStory", self.acquire_story, chronicle, story, attrs,
            flags)
        return status, story_handle

    # The argument names of these two are py_chronolog_client's, which
    # scripts may pass by keyword.
    def ReleaseStory(self, chronicle_name: str, story_name: str) -> int:
        """Release a story; returns a status."""
        return self._status_of("ReleaseStory", self.release_story,
                               chronicle_name, story_name)[0]

    def DestroyStory(self, chronicle_name: str, story_name: str) -> int:
        """Destroy a story; returns a status."""
        return self._status_of("DestroyStory", self.destroy_story,
                               chronicle_name, story_name)[0]

    def GetChronicleAttr(self, chronicle: str, key: str) -> Tuple[int, str]:
        """Read a chronicle attribute; returns ``(status, value)``.

        The value is ``""`` when the status is not ``CL_SUCCESS``.
        """
        status, value = self._status_of(
            "GetChronicleAttr", self.get_chronicle_attr, chronicle, key)
        return status, value if status == CL_SUCCESS else ""

    def EditChronicleAttr(self, chronicle: str, key: str, value: str) -> int:
        """Set a chronicle attribute; returns a status."""
        return self._status_of("EditChronicleAttr", self.edit_chronicle_attr,
                               chronicle, key, value)[0]

    def ShowChronicles(self, names: Optional[List[str]] = None) -> List[str]:
        """Return the chronicle names, appended to ``names`` when given.

        On failure nothing is added (the status is logged at DEBUG).
        """
        status, found = self._status_of("ShowChronicles", self.chronicles)
        return _fill(names, found if status == CL_SUCCESS else [])

    def ShowStories(self, chronicle: str,
                    names: Optional[List[str]] = None) -> List[str]:
        """Return a chronicle's story names, appended to ``names`` when
        given.  On failure nothing is added (logged at DEBUG)."""
        status, found = self._status_of("ShowStories", self.stories,
                                        chronicle)
        return _fill(names, found if status == CL_SUCCESS else [])

    def ReplayStory(self, chronicle: str, story: str, start: int, end: int,
                    event_list: Any) -> int:
        """Append the events with ``start <= time < end`` to
        ``event_list`` (an :class:`EventList`, a list, or anything with
        ``extend`` or ``append``); returns a status."""
        add = getattr(event_list, "extend", None)
        if add is None:
            add = getattr(event_list, "append", None)
            if add is None:
                logger.debug("ReplayStory returned CL_ERR_INVALID_ARG:"
                             " event_list cannot be appended to (%s)",
                             type(event_list).__name__)
                return CL_ERR_INVALID_ARG
            add = _extend_by_append(add)

        status, events = self._status_of("ReplayStory", self.replay,
                                         chronicle, story, start, end)
        if status == CL_SUCCESS:
            add(events)
        return status


def _fill(names: Optional[List[str]], found: List[str]) -> List[str]:
    if names is None:
        return found
    if not hasattr(names, "extend"):
        logger.debug("names cannot be extended (%s): nothing returned",
                     type(names).__name__)
        return []
    names.extend(found)
    return names


def _extend_by_append(append: Callable[[Any], Any]
                      ) -> Callable[[Sequence[Any]], None]:
    def extend(items: Sequence[Any]) -> None:
        for item in items:
            append(item)
    return extend


class _ReplayPages:
    """The pages of a paged replay; holds its client, frees its cursor."""

    def __init__(self, client: Client, cursor: CursorHandle, page_size: int,
                 what: str) -> None:
        self._client = client
        self._cursor = cursor
        self._page_size = page_size
        self._what = what
        self._done = False
        self._snapshots = 1
        self._finalizer = weakref.finalize(
            self, client._library.clc_cursor_free,
            CursorHandle(cursor.value))

    def _fetch(self) -> EventsHandle:
        """The next page as a library result (of no events at the end)."""
        client = self._client
        library = client._library
        if client._handle is None:
            raise StaleHandleError(CLC_ERR_STALE_HANDLE,
                                   "%s: the %s is closed"
                                   % (self._what, client._label))
        events = EventsHandle()
        status = library.clc_cursor_next(self._cursor, self._page_size,
                                         ctypes.byref(events))
        if status:
            raise _failure(library, status, self._what)
        return events

    def _convert(self, events: EventsHandle) -> List[Event]:
        """The Events of a library result, which is freed."""
        library = self._client._library
        try:
            return _export_events(library, events, self._what)
        finally:
            library.clc_events_free(events)

    def next_page(self) -> List[Event]:
        """The next page of Events; empty once the replay is over."""
        if self._done:
            return []
        try:
            page = self._convert(self._fetch())
        except BaseException:
            self.close()
            raise
        if not page:
            self._snapshots = self._count_snapshots()
            self.close()
        return page

    def _count_snapshots(self) -> int:
        count = ctypes.c_uint64()
        library = self._client._library
        status = library.clc_cursor_snapshots(self._cursor, ctypes.byref(count))
        if status:
            raise _failure(library, status, self._what)
        return count.value

    def snapshots(self) -> int:
        """How many snapshots the pages came from (1 unless a fork or a
        failed page ended one); known once the last page was read."""
        return self._snapshots

    def close(self) -> None:
        """Stop the replay and free it; idempotent."""
        self._done = True
        self._finalizer()
        forward_library_messages(self._client._library)


if platform.python_implementation() == "PyPy":
    def _concatenated(pages: Iterator[List[Event]]) -> List[Event]:
        # Growing one list would leave each outgrown copy to the next
        # major collection; the pages are joined into one list made at
        # its final size instead.
        held = list(pages)
        events: List[Event] = [None] * sum(map(len, held))  # type: ignore
        position = 0
        for page in held:
            events[position:position + len(page)] = page
            position += len(page)
        return events
else:
    def _concatenated(pages: Iterator[List[Event]]) -> List[Event]:
        # CPython grows a list in place, and frees each page at once.
        events: List[Event] = []
        for page in pages:
            events += page
        return events
_concatenated.__doc__ = """The events of every page, in one list."""


def _iterate_pages(pages: _ReplayPages) -> Iterator[Event]:
    """The events of a paged replay, one page in memory at a time.

    A generator, so that each event costs one resumption; its ``close()``
    frees the replay.
    """
    try:
        while True:
            page = pages.next_page()
            if not page:
                return
            yield from page
            del page
    finally:
        pages.close()


# ---------------------------------------------------------------------------
# StoryHandle
# ---------------------------------------------------------------------------


class StoryHandle:
    """An acquired story, obtained from ``AcquireStory``/``acquire_story``.

    It keeps its client alive.  ``log``/``log_many`` raise,
    ``log_event`` returns 0 on failure.  Several threads may log on one
    handle at once.  As a context manager it releases the story on exit.
    """

    __slots__ = ("_client", "_chronicle", "_story", "_ref", "_token",
                 "_log", "_log_many", "_outputs", "_marshal",
                 "__weakref__")

    def __init__(self, client: Client, chronicle: str, story: str,
                 ref: StoryHandleRef) -> None:
        library = client._library
        self._client = client
        self._chronicle = chronicle
        self._story = story
        self._token = ref.value
        # Everything a logging call needs is resolved here, once: the
        # functions, the handle in the form they take, each thread's
        # out-parameter for log_many.
        self._outputs = library.outputs
        self._marshal = _Marshal.of(library)
        self._ref: Any = self._marshal.story(ref)
        self._log = self._marshal.log_function(library)
        self._log_many = self._marshal.log_many_function(library)

    @property
    def chronicle(self) -> str:
        """The chronicle's name."""
        return self._chronicle

    @property
    def story(self) -> str:
        """The story's name."""
        return self._story

    @property
    def client(self) -> Client:
        """The client that acquired the story."""
        return self._client

    @property
    def released(self) -> bool:
        """Whether the story was released (or its client closed)."""
        return self._ref is None

    def _mark_released(self) -> None:
        self._ref = None

    def _stale(self) -> StaleHandleError:
        if self._client._handle is None:
            reason = "its %s is closed" % self._client._label
        else:
            reason = "it was released"
        return StaleHandleError(
            CLC_ERR_STALE_HANDLE, "story %r of chronicle %r: %s"
            % (self._story, self._chronicle, reason))

    def _log_failure(self, status: int) -> ChronologError:
        return _failure(self._client._library, status,
                        "cannot log to story %r of chronicle %r"
                        % (self._story, self._chronicle))

    def log(self, record: RecordLike) -> int:
        """Log one event; returns its timestamp in nanoseconds.

        ``record`` is bytes (any, NUL included) or str (stored as UTF-8).
        Raises :class:`StaleHandleError` after release.
        """
        ref = self._ref
        if ref is None:
            raise self._stale()
        data = record if type(record) is bytes else _record_bytes(record)

        # The timestamp, or a negative status.
        time = self._log(ref, data, len(data))
        if time > 0:
            return time
        raise self._log_failure(time)

    def log_event(self, log_string: RecordLike) -> int:
        """Log one event; returns its timestamp, or 0 when it failed."""
        # The common case in line, without the call to log().
        ref = self._ref
        if ref is not None and type(log_string) is bytes:
            time = self._log(ref, log_string, len(log_string))
            if time > 0:
                return time
            logger.debug("log_event returned 0: %s", self._log_failure(time))
            return 0
        try:
            return self.log(log_string)
        except ChronologError as error:
            logger.debug("log_event returned 0: %s", error)
        except (TypeError, ValueError) as error:
            logger.debug("log_event returned 0: CL_ERR_INVALID_ARG: %s",
                         error)
        return 0

    def log_many(self, records: Iterable[RecordLike]) -> "array.array[int]":
        """Log many events with few native calls; returns their timestamps.

        Records are packed into one buffer per call (up to 16 MiB or 65536
        records each).  Returns an ``array('Q')`` of timestamps in the
        records' order.  A bad record raises before anything of its call
        is logged.  When a call fails, the error raised has a
        ``timestamps`` attribute with those of the events that were
        logged.
        """
        ref = self._ref
        if ref is None:
            raise self._stale()

        timestamps = array.array("Q")
        try:
            for batch, lengths in _batches(records):
                self._log_batch(ref, batch, lengths, timestamps)
        except (TypeError, ValueError) as error:
            error.timestamps = timestamps  # type: ignore[attr-defined]
            raise
        return timestamps

    def _log_batch(self, ref: Any, batch: Sequence[Any], lengths: List[int],
                   timestamps: "array.array[int]") -> None:
        count = len(lengths)
        joined, native_lengths = _joined(batch, lengths)
        times = _zeros("Q", count)
        logged = self._outputs.count
        logged[0] = 0

        marshal = self._marshal
        status = self._log_many(ref, marshal.records(joined),
                                marshal.u64_array(native_lengths), count,
                                marshal.u64_array(times), logged)
        if status:
            done = logged[0]
            error = _failure(self._client._library, status,
                             "cannot log to story %r of chronicle %r (%d of"
                             " %d events of this call logged)"
                             % (self._story, self._chronicle, done, count))
            timestamps.extend(times[:done])
            error.timestamps = timestamps  # type: ignore[attr-defined]
            raise error
        timestamps.extend(times)

    def release(self) -> None:
        """Release the story (see :meth:`Client.release_story`).

        Idempotent; does nothing once the client is closed.
        """
        if self._ref is None:
            return
        try:
            self._client.release_story(self._chronicle, self._story)
        except StaleHandleError:
            # Another thread is closing the client, which releases the
            # story; only a client that is still open is an error here.
            if self._client._handle is not None:
                raise
        self._ref = None

    def __enter__(self) -> "StoryHandle":
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc_type is None:
            self.release()
            return
        try:
            self.release()
        except ChronologError as error:
            logger.warning("%s", error)

    def __repr__(self) -> str:
        state = "released" if self._ref is None else "acquired"
        return "<chronolog_ctypes.StoryHandle %r of chronicle %r, %s>" % (
            self._story, self._chronicle, state)
