"""Status codes and the exceptions of the Pythonic layer.

The codes -1 to -13 are ChronoLog's own client error codes, with
ChronoLog's names (``CL_...``); the codes from -1001 down are conditions of
the shim library itself (``CLC_ERR_...``).  The values are those of
``chronolog_capi.h``; a test checks that this module, the header and
ChronoLog's list agree.

Every status has one exception class; :func:`error_for_status` picks it.
"""

import operator
from typing import Any, Dict, Optional, Sequence, Tuple, Type

__all__ = [
    "CL_SUCCESS",
    "CL_ERR_UNKNOWN",
    "CL_ERR_INVALID_ARG",
    "CL_ERR_NOT_EXIST",
    "CL_ERR_ACQUIRED",
    "CL_ERR_NOT_ACQUIRED",
    "CL_ERR_CHRONICLE_EXISTS",
    "CL_ERR_NO_KEEPERS",
    "CL_ERR_NO_CONNECTION",
    "CL_ERR_NOT_AUTHORIZED",
    "CL_ERR_NO_PLAYERS",
    "CL_ERR_NOT_READER_MODE",
    "CL_ERR_QUERY_TIMED_OUT",
    "CL_ERR_PROTOCOL_VERSION_MISMATCH",
    "CLC_ERR_BACKEND_UNAVAILABLE",
    "CLC_ERR_STALE_HANDLE",
    "CLC_ERR_FORKED",
    "CLC_ERR_STORE_IO",
    "CLC_ERR_NO_MEMORY",
    "CLC_ERR_BUFFER_TOO_SMALL",
    "CLC_ERR_ABI_MISMATCH",
    "STATUS_NAMES",
    "UNKNOWN_STATUS_NAME",
    "status_name",
    "ChronologError",
    "UnknownError",
    "InvalidArgumentError",
    "NotExistError",
    "AcquiredError",
    "NotAcquiredError",
    "ChronicleExistsError",
    "NoKeepersError",
    "NoConnectionError",
    "NotAuthorizedError",
    "NoPlayersError",
    "NotReaderModeError",
    "QueryTimedOutError",
    "ProtocolVersionMismatchError",
    "BackendUnavailableError",
    "StaleHandleError",
    "ForkedError",
    "StoreIOError",
    "NoMemoryError",
    "BufferTooSmallError",
    "AbiMismatchError",
    "LibraryNotFoundError",
    "error_for_status",
    "checked_int",
    "encode_name",
]

# ChronoLog's client error codes.
CL_SUCCESS = 0
CL_ERR_UNKNOWN = -1
CL_ERR_INVALID_ARG = -2
CL_ERR_NOT_EXIST = -3
CL_ERR_ACQUIRED = -4
CL_ERR_NOT_ACQUIRED = -5
CL_ERR_CHRONICLE_EXISTS = -6
CL_ERR_NO_KEEPERS = -7
CL_ERR_NO_CONNECTION = -8
CL_ERR_NOT_AUTHORIZED = -9
CL_ERR_NO_PLAYERS = -10
CL_ERR_NOT_READER_MODE = -11
CL_ERR_QUERY_TIMED_OUT = -12
CL_ERR_PROTOCOL_VERSION_MISMATCH = -13

# Conditions of the shim library.
CLC_ERR_BACKEND_UNAVAILABLE = -1001
CLC_ERR_STALE_HANDLE = -1002
CLC_ERR_FORKED = -1003
CLC_ERR_STORE_IO = -1004
CLC_ERR_NO_MEMORY = -1005
CLC_ERR_BUFFER_TOO_SMALL = -1006
CLC_ERR_ABI_MISMATCH = -1007

#: The name the library gives a value that is not a status.
UNKNOWN_STATUS_NAME = "CLC_UNKNOWN_STATUS"

#: Every status code and its name, in the header's order.
STATUS_NAMES: Dict[int, str] = {
    value: name
    for name, value in globals().copy().items()
    if name.startswith(("CL_SUCCESS", "CL_ERR_", "CLC_ERR_"))
}


def status_name(status: int) -> str:
    """Return the name of a status code, e.g. ``"CL_ERR_NOT_EXIST"``.

    A value that is not a status gives ``"CLC_UNKNOWN_STATUS"``, as the
    library's ``clc_status_name`` does.  Needs no library.
    """
    return STATUS_NAMES.get(status, UNKNOWN_STATUS_NAME)


# ---------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------


class ChronologError(Exception):
    """A ChronoLog or shim condition, raised by the Pythonic methods.

    Attributes: ``status`` (the int code), ``name`` (its name) and
    ``message`` (what went wrong, usually the library's own words).
    """

    #: The status this class stands for (the base class: none in particular).
    status_code: int = CL_ERR_UNKNOWN

    def __init__(self, status: int, message: str = "") -> None:
        self.status = status
        self.name = status_name(status)
        self.message = message or self.name
        super().__init__("%s: %s" % (self.name, self.message))

    def __reduce__(self) -> Tuple[type, Tuple[Any, ...]]:
        return (type(self), (self.status, self.message))


class UnknownError(ChronologError):
    """CL_ERR_UNKNOWN: a generic failure."""

    status_code = CL_ERR_UNKNOWN


class InvalidArgumentError(ChronologError, ValueError):
    """CL_ERR_INVALID_ARG: an argument has a wrong value."""

    status_code = CL_ERR_INVALID_ARG


class NotExistError(ChronologError):
    """CL_ERR_NOT_EXIST: the chronicle, story or attribute does not exist."""

    status_code = CL_ERR_NOT_EXIST


class AcquiredError(ChronologError):
    """CL_ERR_ACQUIRED: a story is acquired, so this cannot be done."""

    status_code = CL_ERR_ACQUIRED


class NotAcquiredError(ChronologError):
    """CL_ERR_NOT_ACQUIRED: this client does not hold the story."""

    status_code = CL_ERR_NOT_ACQUIRED


class ChronicleExistsError(ChronologError):
    """CL_ERR_CHRONICLE_EXISTS: the chronicle already exists."""

    status_code = CL_ERR_CHRONICLE_EXISTS


class NoKeepersError(ChronologError):
    """CL_ERR_NO_KEEPERS: no ChronoKeeper is available."""

    status_code = CL_ERR_NO_KEEPERS


class NoConnectionError(ChronologError):
    """CL_ERR_NO_CONNECTION: the client is not connected."""

    status_code = CL_ERR_NO_CONNECTION


class NotAuthorizedError(ChronologError):
    """CL_ERR_NOT_AUTHORIZED: the client is not allowed to do this."""

    status_code = CL_ERR_NOT_AUTHORIZED


class NoPlayersError(ChronologError):
    """CL_ERR_NO_PLAYERS: no ChronoPlayer is available."""

    status_code = CL_ERR_NO_PLAYERS


class NotReaderModeError(ChronologError):
    """CL_ERR_NOT_READER_MODE: a writer-only client cannot replay."""

    status_code = CL_ERR_NOT_READER_MODE


class QueryTimedOutError(ChronologError):
    """CL_ERR_QUERY_TIMED_OUT: the replay query timed out."""

    status_code = CL_ERR_QUERY_TIMED_OUT


class ProtocolVersionMismatchError(ChronologError):
    """CL_ERR_PROTOCOL_VERSION_MISMATCH: client and servers speak different
    wire versions.
    """

    status_code = CL_ERR_PROTOCOL_VERSION_MISMATCH


class BackendUnavailableError(ChronologError):
    """CLC_ERR_BACKEND_UNAVAILABLE: the backend is not built into the library.
    """

    status_code = CLC_ERR_BACKEND_UNAVAILABLE


class StaleHandleError(ChronologError):
    """CLC_ERR_STALE_HANDLE: the client was closed or the story released."""

    status_code = CLC_ERR_STALE_HANDLE


class ForkedError(ChronologError):
    """CLC_ERR_FORKED: the handle was inherited across fork()."""

    status_code = CLC_ERR_FORKED


class StoreIOError(ChronologError):
    """CLC_ERR_STORE_IO: the embedded store cannot be read or written."""

    status_code = CLC_ERR_STORE_IO


class NoMemoryError(ChronologError):
    """CLC_ERR_NO_MEMORY: the library could not allocate memory."""

    status_code = CLC_ERR_NO_MEMORY


class BufferTooSmallError(ChronologError):
    """CLC_ERR_BUFFER_TOO_SMALL: a caller-provided array was too small."""

    status_code = CLC_ERR_BUFFER_TOO_SMALL


class AbiMismatchError(ChronologError):
    """CLC_ERR_ABI_MISMATCH: the library's ABI version does not match this
    package.
    """

    status_code = CLC_ERR_ABI_MISMATCH


# ImportError's ``name`` (a module name) is shadowed by the status name.
class LibraryNotFoundError(ChronologError, ImportError):  # type: ignore[misc]
    """No copy of ``libchronolog_capi`` could be loaded.

    Its message lists every place tried, with the reason each failed.
    ``tried`` holds those ``(place, reason)`` pairs.  The status is
    ``CL_ERR_UNKNOWN``: no library, so no library status.
    """

    status_code = CL_ERR_UNKNOWN

    def __init__(self, message: str,
                 tried: Sequence[Tuple[str, str]] = ()) -> None:
        self.tried = tuple(tried)
        super().__init__(CL_ERR_UNKNOWN, message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Tuple[type, Tuple[Any, ...]]:
        return (type(self), (self.message, self.tried))


_CLASS_BY_STATUS: Dict[int, Type[ChronologError]] = {
    cls.status_code: cls
    for cls in (
        UnknownError, InvalidArgumentError, NotExistError, AcquiredError,
        NotAcquiredError, ChronicleExistsError, NoKeepersError,
        NoConnectionError, NotAuthorizedError, NoPlayersError,
        NotReaderModeError, QueryTimedOutError,
        ProtocolVersionMismatchError, BackendUnavailableError,
        StaleHandleError, ForkedError, StoreIOError, NoMemoryError,
        BufferTooSmallError, AbiMismatchError,
    )
}


def error_for_status(status: int,
                     message: Optional[str] = None) -> ChronologError:
    """Return the exception (not raised) for a failed status.

    The class is the one for ``status`` (``ChronologError`` itself for a
    value that is not a status); ``message`` defaults to the status name.
    """
    cls = _CLASS_BY_STATUS.get(status, ChronologError)
    return cls(status, message or "")


# ---------------------------------------------------------------------------
# Argument checks shared by the modules: each error names the argument
# ---------------------------------------------------------------------------


def checked_int(value: object, argument: str, low: int, high: int) -> int:
    """Return ``value`` as an int within ``low..high``.

    Raises ``TypeError`` when it is not an integer (``bool`` and objects
    with ``__index__`` count as integers, floats do not) and
    :class:`InvalidArgumentError` (a ``ValueError``) when out of range.
    """
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError("%s must be an int, not %s"
                        % (argument, type(value).__name__)) from None
    if not low <= number <= high:
        raise InvalidArgumentError(
            CL_ERR_INVALID_ARG,
            "%s must be within %d..%d, got %d" % (argument, low, high,
                                                   number))
    return number


def encode_name(value: object, argument: str) -> bytes:
    """Return a name (chronicle, story, key, value) as UTF-8 bytes.

    Raises ``TypeError`` when it is not a ``str`` and
    :class:`InvalidArgumentError` when it contains NUL or cannot be
    encoded; both name the argument.  Emptiness is left to the library,
    which answers ``CL_ERR_INVALID_ARG`` where ChronoLog does.
    """
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s"
                        % (argument, type(value).__name__))
    if "\0" in value:
        raise InvalidArgumentError(
            CL_ERR_INVALID_ARG, "%s must not contain NUL: %r"
            % (argument, value))
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidArgumentError(
            CL_ERR_INVALID_ARG, "%s is not valid UTF-8 text: %s"
            % (argument, error)) from None
