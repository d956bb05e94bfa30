"""Finding and loading ``libchronolog_capi``, and its ctypes prototypes.

Every ``clc_`` function the package calls is declared once, in
:data:`PROTOTYPES`, with an explicit result type and argument types; a test
checks that table against the header and against the library's exports.
Each kind of handle has its own opaque pointer type, so that a story handle
can never be passed where a client handle is expected.

The library is loaded lazily, on first use, with :class:`ctypes.CDLL`, so
the GIL is released during every call.  On PyPy, whose ctypes calls cost
microseconds, the functions are also bound with the ``cffi`` module that
comes with the interpreter, from C declarations generated from the same
table (:func:`c_declarations`); the package uses those for the calls made
once per event or per replay page.  Places tried, in order:

1. an explicit path: the argument of :func:`load_library` or else the
   ``CHRONOLOG_CTYPES_LIBRARY`` environment variable.  When one is given it
   is the only place tried, so that a mistyped path is reported instead of
   being hidden by another copy;
2. the copy installed inside the package folder;
3. the system's search path (``LD_LIBRARY_PATH``, the loader cache).
"""

import ctypes
import ctypes.util
import logging
import os
import platform
import sys
import threading
from typing import (TYPE_CHECKING, Any, Iterator, List, Optional, Sequence,
                    Tuple)

from ._status import AbiMismatchError, LibraryNotFoundError

__all__ = [
    "ABI_VERSION_MAJOR",
    "ABI_VERSION_MINOR",
    "BACKEND_CHRONOLOG",
    "BACKEND_EMBEDDED",
    "ClientHandle",
    "CursorHandle",
    "EventsHandle",
    "LIBRARY_ENV",
    "Library",
    "MODE_READER",
    "MODE_WRITER",
    "PROTOTYPES",
    "ServiceConfStruct",
    "StoryHandleRef",
    "StringsHandle",
    "USE_CFFI_ENV",
    "c_declarations",
    "c_type",
    "check_abi",
    "get_library",
    "library_candidates",
    "load_library",
    "open_library",
]

logger = logging.getLogger("chronolog_ctypes")

#: The ABI this package was written for (``CLC_ABI_VERSION_*``).
ABI_VERSION_MAJOR = 1
ABI_VERSION_MINOR = 2

#: Environment variable naming the library file to load.
LIBRARY_ENV = "CHRONOLOG_CTYPES_LIBRARY"

#: Environment variable that, set to ``ctypes``, keeps PyPy from binding
#: the library with cffi too (for comparisons and tests of the fallback).
USE_CFFI_ENV = "CHRONOLOG_CTYPES_FFI"

BACKEND_EMBEDDED = 1
BACKEND_CHRONOLOG = 2
MODE_WRITER = 0
MODE_READER = 1

if sys.platform == "darwin":
    LIBRARY_FILENAME = "libchronolog_capi.dylib"
elif sys.platform == "win32":
    LIBRARY_FILENAME = "chronolog_capi.dll"
else:
    LIBRARY_FILENAME = "libchronolog_capi.so"


# ---------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------


class _OpaqueHandle(ctypes.c_void_p):
    """An opaque library handle; only its own kind (or None) is accepted.

    ``c_name`` is the handle's type in the header.
    """

    c_name = ""

    @classmethod
    def from_param(cls, obj: Any) -> Any:
        if obj is None or isinstance(obj, cls):
            return obj
        raise TypeError("expected a %s, got %s"
                        % (cls.__name__, type(obj).__name__))

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__,
                           hex(self.value) if self.value else "NULL")


class ClientHandle(_OpaqueHandle):
    """``clc_client_t``: a client of either backend."""

    c_name = "clc_client_t"


class StoryHandleRef(_OpaqueHandle):
    """``clc_story_t``: an acquired story."""

    c_name = "clc_story_t"


class EventsHandle(_OpaqueHandle):
    """``clc_events_t``: a replay result."""

    c_name = "clc_events_t"


class CursorHandle(_OpaqueHandle):
    """``clc_cursor_t``: a paged replay."""

    c_name = "clc_cursor_t"


class StringsHandle(_OpaqueHandle):
    """``clc_strings_t``: a list of names or values."""

    c_name = "clc_strings_t"


class ServiceConfStruct(ctypes.Structure):
    """``clc_service_conf``: the settings of one ChronoLog endpoint."""

    c_name = "clc_service_conf"

    _fields_ = [
        ("protocol", ctypes.c_char_p),
        ("ip", ctypes.c_char_p),
        ("port", ctypes.c_int32),
        ("provider_id", ctypes.c_int32),
    ]


# ---------------------------------------------------------------------------
# Prototypes: (name, restype, argtypes) for every function of the header
# ---------------------------------------------------------------------------

_int = ctypes.c_int
_size = ctypes.c_size_t
_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64
_str = ctypes.c_char_p  # NUL-terminated names, in only
_buf = ctypes.c_void_p  # pointer + length data
_P = ctypes.POINTER
_strs = _P(ctypes.c_char_p)  # const char *const *

PROTOTYPES: Tuple[Tuple[str, Any, Tuple[Any, ...]], ...] = (
    # Library information and diagnostics.  The c_char_p results are
    # static or thread-local strings owned by the library.
    ("clc_abi_version", _u32, ()),
    ("clc_library_version", ctypes.c_char_p, ()),
    ("clc_backends", _int, ()),
    ("clc_status_name", ctypes.c_char_p, (_int,)),
    ("clc_status_description", ctypes.c_char_p, (_int,)),
    ("clc_last_error", ctypes.c_char_p, ()),
    ("clc_log_set_level", None, (_int,)),
    ("clc_log_next", _int, (_P(_int), _buf, _size, _P(_size))),
    # Clients.
    ("clc_client_create", _int,
     (_P(ServiceConfStruct), _P(ServiceConfStruct), _P(ClientHandle))),
    ("clc_client_open_embedded", _int, (_str, _int, _P(ClientHandle))),
    ("clc_client_free", _int, (ClientHandle,)),
    ("clc_client_connect", _int, (ClientHandle,)),
    ("clc_client_disconnect", _int, (ClientHandle,)),
    ("clc_client_is_connected", _int, (ClientHandle, _P(_int))),
    ("clc_client_id", _int, (ClientHandle, _P(_u64))),
    ("clc_client_info", _int, (ClientHandle, _P(_int), _P(_int))),
    ("clc_client_flush", _int, (ClientHandle,)),
    # Chronicles.
    ("clc_chronicle_create", _int,
     (ClientHandle, _str, _strs, _strs, _size, _P(_int))),
    ("clc_chronicle_destroy", _int, (ClientHandle, _str)),
    ("clc_chronicle_get_attr", _int,
     (ClientHandle, _str, _str, _P(StringsHandle))),
    ("clc_chronicle_edit_attr", _int, (ClientHandle, _str, _str, _str)),
    ("clc_chronicle_list", _int, (ClientHandle, _P(StringsHandle))),
    # Stories.
    ("clc_story_list", _int, (ClientHandle, _str, _P(StringsHandle))),
    ("clc_story_acquire", _int,
     (ClientHandle, _str, _str, _strs, _strs, _size, _P(_int),
      _P(StoryHandleRef))),
    ("clc_story_release", _int, (ClientHandle, _str, _str)),
    ("clc_story_destroy", _int, (ClientHandle, _str, _str)),
    ("clc_story_log", _int, (StoryHandleRef, _buf, _size, _P(_u64))),
    # The timestamp, or a negative status: no out-parameter per call.
    ("clc_story_log_event", ctypes.c_int64, (StoryHandleRef, _buf, _size)),
    ("clc_story_log_many", _int,
     (StoryHandleRef, _buf, _P(_u64), _size, _P(_u64), _P(_size))),
    # Replay.
    ("clc_replay", _int,
     (ClientHandle, _str, _str, _u64, _u64, _P(EventsHandle))),
    ("clc_replay_open", _int,
     (ClientHandle, _str, _str, _u64, _u64, _P(CursorHandle))),
    ("clc_cursor_next", _int, (CursorHandle, _size, _P(EventsHandle))),
    ("clc_cursor_snapshots", _int, (CursorHandle, _P(_u64))),
    ("clc_cursor_free", _int, (CursorHandle,)),
    ("clc_events_size", _int, (EventsHandle, _P(_size), _P(_size))),
    ("clc_events_export", _int,
     (EventsHandle, _P(_u64), _P(_u64), _P(_u32), _P(_u64), _buf, _size)),
    ("clc_events_free", _int, (EventsHandle,)),
    # Lists of strings.
    ("clc_strings_size", _int, (StringsHandle, _P(_size), _P(_size))),
    ("clc_strings_export", _int, (StringsHandle, _P(_u64), _buf, _size)),
    ("clc_strings_free", _int, (StringsHandle,)),
)


# ---------------------------------------------------------------------------
# The same table as C declarations (for cffi)
# ---------------------------------------------------------------------------

# Where ctypes makes two names one type (c_size_t is c_uint64 on 64-bit
# Linux, c_int is c_int32), the later spelling wins: the two are the same
# type to the C compiler too.
_C_SCALARS = {
    ctypes.c_size_t: "size_t",
    ctypes.c_uint64: "uint64_t",
    ctypes.c_uint32: "uint32_t",
    ctypes.c_int64: "int64_t",
    ctypes.c_int32: "int32_t",
    ctypes.c_int: "int",
    ctypes.c_char_p: "const char *",
    ctypes.c_void_p: "void *",
}


def c_type(kind: Any) -> str:
    """The C spelling of a ctypes type of the table."""
    if kind is None:
        return "void"
    if kind in _C_SCALARS:
        return _C_SCALARS[kind]
    c_name = getattr(kind, "c_name", None)
    if c_name:
        return c_name
    if issubclass(kind, ctypes._Pointer):
        target = c_type(kind._type_)
        return target + ("*" if target.endswith("*") else " *")
    raise TypeError("no C spelling for %r" % (kind,))


def c_declarations() -> str:
    """C declarations of every function of :data:`PROTOTYPES`.

    Their types are those of the table, spelled in C, so that binding them
    with cffi passes the same values as ctypes does.
    """
    lines = ["typedef struct %s_s *%s;" % (kind.c_name[:-2], kind.c_name)
             for kind in (ClientHandle, StoryHandleRef, EventsHandle,
                          CursorHandle, StringsHandle)]
    lines.append("typedef struct %s { %s } %s;" % (
        ServiceConfStruct.c_name,
        " ".join("%s %s;" % (c_type(kind), name)
                 for name, kind in ServiceConfStruct._fields_),
        ServiceConfStruct.c_name))
    for name, restype, argtypes in PROTOTYPES:
        arguments = ", ".join(map(c_type, argtypes)) or "void"
        lines.append("%s %s(%s);" % (c_type(restype), name, arguments))
    return "\n".join(lines)


def _wants_cffi() -> bool:
    return (platform.python_implementation() == "PyPy"
            and os.environ.get(USE_CFFI_ENV, "") != "ctypes")


def _bind_cffi(path: str) -> Tuple[Any, Any]:
    """``(ffi, lib)`` of the library at ``path``, or ``(None, None)``."""
    try:
        import cffi
    except ImportError:
        return None, None
    ffi = cffi.FFI()
    ffi.cdef(c_declarations())
    try:
        return ffi, ffi.dlopen(path)
    except OSError as error:  # loaded by ctypes by another name
        logger.debug("cffi cannot open %s (%s): ctypes only", path, error)
        return None, None


class _ThreadOutputs(threading.local):
    """The out-parameters of the logging calls, one set per thread.

    ``count`` is an array of one element, read as ``outputs.count[0]``:
    with ctypes an array passes as a pointer to its element without a
    ``byref`` object per call.
    """

    def __init__(self, ffi: Any) -> None:
        if ffi is None:
            self.count = (ctypes.c_size_t * 1)()
        else:
            self.count = ffi.new(c_type(ctypes.c_size_t) + "[1]")


class Library:
    """A loaded ``libchronolog_capi`` with every prototype bound.

    Each ``clc_`` function is an attribute of the same name.  ``path`` is
    the place it was loaded from; ``abi`` its ``(major, minor)``.  On PyPy
    ``ffi`` and ``fast`` are the cffi module and the library bound through
    it (both None elsewhere).  ``outputs`` holds each thread's
    out-parameters for the logging calls, of the kind ``fast`` takes when
    it is set and ctypes takes otherwise.
    """

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        self.cdll = cdll
        self.path = path
        for name, restype, argtypes in PROTOTYPES:
            function = getattr(cdll, name)
            function.restype = restype
            function.argtypes = argtypes
            setattr(self, name, function)

        self.abi = _decode_abi(self.clc_abi_version())
        self.version = self.clc_library_version().decode("utf-8", "replace")
        self.ffi, self.fast = _bind_cffi(path) if _wants_cffi() else (None,
                                                                      None)
        self.outputs = _ThreadOutputs(self.ffi)

    if TYPE_CHECKING:
        # The clc_ functions are set from PROTOTYPES in __init__.
        def __getattr__(self, name: str) -> Any: ...

    def __repr__(self) -> str:
        return "<chronolog_ctypes Library %s (ABI %d.%d) at %r>" % (
            self.version, self.abi[0], self.abi[1], self.path)

    def last_error(self) -> str:
        """The calling thread's last failure message from the library."""
        return self.clc_last_error().decode("utf-8", "replace")


def _decode_abi(encoded: int) -> Tuple[int, int]:
    return (encoded >> 16) & 0xFFFF, encoded & 0xFFFF


def check_abi(library_abi: Tuple[int, int], path: str,
              expected: Tuple[int, int] = (ABI_VERSION_MAJOR,
                                           ABI_VERSION_MINOR)) -> None:
    """Raise :class:`AbiMismatchError` unless the library's ABI fits.

    A library fits when its major version equals ours and its minor
    version is at least ours.
    """
    major, minor = library_abi
    if major == expected[0] and minor >= expected[1]:
        return
    raise AbiMismatchError(
        AbiMismatchError.status_code,
        "the library %s has ABI version %d.%d, but this chronolog_ctypes"
        " needs ABI %d.%d or a later %d.x; install the library built with"
        " this package (pip install --force-reinstall chronolog-ctypes), or"
        " point %s at a matching libchronolog_capi"
        % (path, major, minor, expected[0], expected[1], expected[0],
           LIBRARY_ENV))


def _installed_copy() -> Optional[str]:
    """The library inside the installed distribution, if there is one.

    It differs from the package folder when the package is imported from a
    source checkout (``python -m chronolog_ctypes`` run in the checkout
    after ``pip install .``): the checkout has no library, the installed
    wheel has.
    """
    try:
        from importlib import metadata

        distribution = metadata.distribution("chronolog-ctypes")
        path = distribution.locate_file("chronolog_ctypes/" + LIBRARY_FILENAME)
    except Exception:  # no installed distribution, or an odd one
        return None
    return os.path.abspath(os.fspath(path))


def library_candidates(explicit: Optional[str] = None) -> Iterator[str]:
    """Yield the places :func:`open_library` tries, in order.

    ``explicit`` (or else ``$CHRONOLOG_CTYPES_LIBRARY``) replaces the
    whole list when given.  The system search is asked last, and only when
    the earlier places were not enough, since it may run ``ldconfig``.
    """
    if explicit is None:
        explicit = os.environ.get(LIBRARY_ENV) or None
    if explicit is not None:
        yield os.fspath(explicit)
        return

    package_copy = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                LIBRARY_FILENAME)
    yield package_copy
    installed_copy = _installed_copy()
    if installed_copy and installed_copy != package_copy:
        yield installed_copy
    yield LIBRARY_FILENAME
    found = ctypes.util.find_library("chronolog_capi")
    if found and found != LIBRARY_FILENAME:
        yield found


def _describe_failure(candidate: str, error: OSError) -> str:
    if os.sep in candidate and not os.path.exists(candidate):
        return "no such file"
    reason = str(error) or type(error).__name__
    # dlopen's message often repeats the name we already show.
    if reason.startswith(candidate + ": "):
        reason = reason[len(candidate) + 2:]
    return reason


def open_library(explicit: Optional[str] = None) -> Library:
    """Load the library from the first candidate place that works.

    Raises :class:`LibraryNotFoundError` listing every place tried with
    the reason it failed, and :class:`AbiMismatchError` when the library
    loaded but its ABI version does not fit.  No caching: see
    :func:`get_library`.
    """
    tried: List[Tuple[str, str]] = []
    for candidate in library_candidates(explicit):
        try:
            cdll = ctypes.CDLL(candidate)
        except OSError as error:
            reason = _describe_failure(candidate, error)
            logger.debug("chronolog_capi not loaded from %s: %s",
                         candidate, reason)
            tried.append((candidate, reason))
            continue

        try:
            abi_version = cdll.clc_abi_version
        except AttributeError:
            reason = "not a libchronolog_capi (no clc_abi_version)"
            logger.debug("chronolog_capi not used from %s: %s",
                         candidate, reason)
            tried.append((candidate, reason))
            continue

        # The ABI is checked before the table is bound, so that a library
        # of another major version is named as such, not as a missing
        # symbol.
        abi_version.restype = ctypes.c_uint32
        abi_version.argtypes = ()
        abi = _decode_abi(abi_version())
        logger.debug("chronolog_capi with ABI %d.%d loaded from %s",
                     abi[0], abi[1], candidate)
        check_abi(abi, candidate)
        try:
            return Library(cdll, candidate)
        except AttributeError as error:
            reason = "claims ABI %d.%d but lacks a function: %s" % (
                abi[0], abi[1], error)
            logger.debug("chronolog_capi not used from %s: %s",
                         candidate, reason)
            tried.append((candidate, reason))

    raise LibraryNotFoundError(_not_found_message(tried, explicit), tried)


def _not_found_message(tried: Sequence[Tuple[str, str]],
                       explicit: Optional[str]) -> str:
    lines = ["cannot load the chronolog_capi library; tried:"]
    lines.extend("  %s: %s" % place for place in tried)
    if explicit is None and not os.environ.get(LIBRARY_ENV):
        lines.append(
            "Reinstall chronolog-ctypes (its wheel carries the library), or"
            " set %s to the path of libchronolog_capi." % LIBRARY_ENV)
    else:
        lines.append(
            "Fix the path (given as an argument or in %s), or unset %s to"
            " use the copy installed with the package." % (LIBRARY_ENV,
                                                           LIBRARY_ENV))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The process-wide library
# ---------------------------------------------------------------------------

_library: Optional[Library] = None
_load_lock = threading.Lock()


def _reset_lock_after_fork() -> None:
    # A thread of the parent may have held the lock at fork time.
    global _load_lock
    _load_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_lock_after_fork)


def load_library(path: Optional[str] = None) -> Library:
    """Load the library now, optionally from an explicit ``path``.

    Returns the loaded :class:`Library`.  Once loaded, the library stays for
    the life of the process: asking for another path then raises
    ``RuntimeError``.
    """
    global _library
    with _load_lock:
        if _library is None:
            library = open_library(path)
            library.clc_log_set_level(
                max(logging.DEBUG, logger.getEffectiveLevel()))
            _library = library
        elif path is not None and os.path.realpath(
                os.fspath(path)) != os.path.realpath(_library.path):
            raise RuntimeError(
                "chronolog_capi is already loaded from %s; it cannot be"
                " replaced by %s in a running process"
                % (_library.path, path))
        return _library


def get_library() -> Library:
    """The process-wide library, loaded on first use."""
    library = _library
    if library is None:
        library = load_library()
    return library
