"""chronolog_ctypes: a pure-Python client of the ChronoLog log store.

The package talks to ``libchronolog_capi`` through :mod:`ctypes`; it needs
no compiler and no third-party module.  It offers the classes and methods
of ChronoLog's ``py_chronolog_client`` (so that
``import chronolog_ctypes as py_chronolog_client`` runs existing scripts)
and, on the same objects, Pythonic methods that raise
:class:`ChronologError`, take bytes and work as context managers.

Set ``CHRONOLOG_CTYPES_STORE=<dir>`` to make every ``Client`` use the
embedded store in ``<dir>`` (no ChronoLog server needed), and
``CHRONOLOG_CTYPES_LIBRARY=<path>`` to load the library from ``<path>``.
``CHRONOLOG_CTYPES_ARCHIVE_DIR=<dir>`` tells ``Client.wait_replayable``
where a deployment's story archives can be seen.
"""

import logging

from ._native import LIBRARY_ENV, load_library
from ._replayable import ARCHIVE_DIR_ENV
from ._status import (
    CL_ERR_ACQUIRED,
    CL_ERR_CHRONICLE_EXISTS,
    CL_ERR_INVALID_ARG,
    CL_ERR_NO_CONNECTION,
    CL_ERR_NO_KEEPERS,
    CL_ERR_NO_PLAYERS,
    CL_ERR_NOT_ACQUIRED,
    CL_ERR_NOT_AUTHORIZED,
    CL_ERR_NOT_EXIST,
    CL_ERR_NOT_READER_MODE,
    CL_ERR_PROTOCOL_VERSION_MISMATCH,
    CL_ERR_QUERY_TIMED_OUT,
    CL_ERR_UNKNOWN,
    CL_SUCCESS,
    CLC_ERR_ABI_MISMATCH,
    CLC_ERR_BACKEND_UNAVAILABLE,
    CLC_ERR_BUFFER_TOO_SMALL,
    CLC_ERR_FORKED,
    CLC_ERR_NO_MEMORY,
    CLC_ERR_STALE_HANDLE,
    CLC_ERR_STORE_IO,
    AbiMismatchError,
    AcquiredError,
    BackendUnavailableError,
    BufferTooSmallError,
    ChronicleExistsError,
    ChronologError,
    ForkedError,
    InvalidArgumentError,
    LibraryNotFoundError,
    NoConnectionError,
    NoKeepersError,
    NoMemoryError,
    NoPlayersError,
    NotAcquiredError,
    NotAuthorizedError,
    NotExistError,
    NotReaderModeError,
    ProtocolVersionMismatchError,
    QueryTimedOutError,
    StaleHandleError,
    StoreIOError,
    UnknownError,
    status_name,
)
from .client import (
    STORE_ENV,
    Client,
    ClientPortalServiceConf,
    ClientQueryServiceConf,
    StoryHandle,
    forward_library_messages,
    library_info,
    status_description,
)
from .config import ClientConfig, ConfigError, load_client_config
from .events import Event, EventList
from .handler import ChronologHandler

__version__ = "0.1.0"

logging.getLogger("chronolog_ctypes").addHandler(logging.NullHandler())

__all__ = [
    "ARCHIVE_DIR_ENV",
    "AbiMismatchError",
    "AcquiredError",
    "BackendUnavailableError",
    "BufferTooSmallError",
    "CLC_ERR_ABI_MISMATCH",
    "CLC_ERR_BACKEND_UNAVAILABLE",
    "CLC_ERR_BUFFER_TOO_SMALL",
    "CLC_ERR_FORKED",
    "CLC_ERR_NO_MEMORY",
    "CLC_ERR_STALE_HANDLE",
    "CLC_ERR_STORE_IO",
    "CL_ERR_ACQUIRED",
    "CL_ERR_CHRONICLE_EXISTS",
    "CL_ERR_INVALID_ARG",
    "CL_ERR_NOT_ACQUIRED",
    "CL_ERR_NOT_AUTHORIZED",
    "CL_ERR_NOT_EXIST",
    "CL_ERR_NOT_READER_MODE",
    "CL_ERR_NO_CONNECTION",
    "CL_ERR_NO_KEEPERS",
    "CL_ERR_NO_PLAYERS",
    "CL_ERR_PROTOCOL_VERSION_MISMATCH",
    "CL_ERR_QUERY_TIMED_OUT",
    "CL_ERR_UNKNOWN",
    "CL_SUCCESS",
    "ChronicleExistsError",
    "ChronologHandler",
    "ChronologError",
    "Client",
    "ClientConfig",
    "ClientPortalServiceConf",
    "ClientQueryServiceConf",
    "ConfigError",
    "Event",
    "EventList",
    "ForkedError",
    "InvalidArgumentError",
    "LIBRARY_ENV",
    "LibraryNotFoundError",
    "NoConnectionError",
    "NoKeepersError",
    "NoMemoryError",
    "NoPlayersError",
    "NotAcquiredError",
    "NotAuthorizedError",
    "NotExistError",
    "NotReaderModeError",
    "ProtocolVersionMismatchError",
    "QueryTimedOutError",
    "STORE_ENV",
    "StaleHandleError",
    "StoreIOError",
    "StoryHandle",
    "UnknownError",
    "forward_library_messages",
    "library_info",
    "load_client_config",
    "load_library",
    "status_description",
    "status_name",
]

# Tracebacks name the exceptions as the package exports them
# (chronolog_ctypes.NotExistError), not by the private module that defines
# them; pickle finds them there too. Other classes keep their modules, so
# that tools which read their source still find it.
for _name in __all__:
    _value = globals()[_name]
    if (isinstance(_value, type) and issubclass(_value, BaseException)
            and _value.__module__.startswith(__name__ + ".")):
        _value.__module__ = __name__
del _name, _value
