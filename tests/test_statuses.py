"""Status codes: ChronoLog's list, the header's enum and the package agree."""

import pickle

import pytest

import chronolog_ctypes
from chronolog_ctypes import _status

from conftest import header_statuses

# ChronoLog's client error codes (client_errcode.h), the reference.
CHRONOLOG_CODES = {
    "CL_SUCCESS": 0,
    "CL_ERR_UNKNOWN": -1,
    "CL_ERR_INVALID_ARG": -2,
    "CL_ERR_NOT_EXIST": -3,
    "CL_ERR_ACQUIRED": -4,
    "CL_ERR_NOT_ACQUIRED": -5,
    "CL_ERR_CHRONICLE_EXISTS": -6,
    "CL_ERR_NO_KEEPERS": -7,
    "CL_ERR_NO_CONNECTION": -8,
    "CL_ERR_NOT_AUTHORIZED": -9,
    "CL_ERR_NO_PLAYERS": -10,
    "CL_ERR_NOT_READER_MODE": -11,
    "CL_ERR_QUERY_TIMED_OUT": -12,
    "CL_ERR_PROTOCOL_VERSION_MISMATCH": -13,
}

SHIM_CODES = {
    "CLC_ERR_BACKEND_UNAVAILABLE": -1001,
    "CLC_ERR_STALE_HANDLE": -1002,
    "CLC_ERR_FORKED": -1003,
    "CLC_ERR_STORE_IO": -1004,
    "CLC_ERR_NO_MEMORY": -1005,
    "CLC_ERR_BUFFER_TOO_SMALL": -1006,
    "CLC_ERR_ABI_MISMATCH": -1007,
}

ALL_CODES = dict(CHRONOLOG_CODES, **SHIM_CODES)


def _python_name(header_name):
    # The header spells ChronoLog's codes CLC_...; ChronoLog and Python CL_...
    value = header_statuses()[header_name]
    return "CL_" + header_name[4:] if value > -1000 else header_name


def test_header_enum_has_chronologs_codes_and_the_shims():
    renamed = {_python_name(name): value
               for name, value in header_statuses().items()}
    assert renamed == ALL_CODES


def test_python_constants_are_chronologs_values():
    for name, value in CHRONOLOG_CODES.items():
        assert getattr(chronolog_ctypes, name) == value, name


def test_python_constants_of_the_shim_are_the_headers():
    for name, value in SHIM_CODES.items():
        assert getattr(chronolog_ctypes, name) == value, name
    assert _status.STATUS_NAMES == {v: k for k, v in ALL_CODES.items()}


def test_shim_codes_cannot_collide_with_chronologs():
    assert all(value <= -1000 for value in SHIM_CODES.values())


@pytest.mark.parametrize("name,value", sorted(ALL_CODES.items()))
def test_status_name_agrees_with_the_library(library, name, value):
    assert chronolog_ctypes.status_name(value) == name
    assert library.clc_status_name(value).decode() == name


@pytest.mark.parametrize("value", [1, -14, -1000, -1008, 2 ** 31 - 1])
def test_unknown_values_have_the_librarys_unknown_name(library, value):
    assert chronolog_ctypes.status_name(value) == "CLC_UNKNOWN_STATUS"
    assert library.clc_status_name(value).decode() == "CLC_UNKNOWN_STATUS"


def test_descriptions_come_from_the_library_and_differ(library):
    descriptions = set()
    for value in ALL_CODES.values():
        text = chronolog_ctypes.status_description(value)
        assert text == library.clc_status_description(value).decode()
        assert text and text != chronolog_ctypes.status_name(value)
        descriptions.add(text)
    assert len(descriptions) == len(ALL_CODES)


def test_status_description_without_a_library_falls_back_to_the_name(
        monkeypatch):
    def no_library():
        raise chronolog_ctypes.LibraryNotFoundError("none here")

    monkeypatch.setattr(chronolog_ctypes._native, "get_library", no_library)
    assert chronolog_ctypes.status_description(-3) == "CL_ERR_NOT_EXIST"


EXCEPTIONS = {
    "CL_ERR_UNKNOWN": "UnknownError",
    "CL_ERR_INVALID_ARG": "InvalidArgumentError",
    "CL_ERR_NOT_EXIST": "NotExistError",
    "CL_ERR_ACQUIRED": "AcquiredError",
    "CL_ERR_NOT_ACQUIRED": "NotAcquiredError",
    "CL_ERR_CHRONICLE_EXISTS": "ChronicleExistsError",
    "CL_ERR_NO_KEEPERS": "NoKeepersError",
    "CL_ERR_NO_CONNECTION": "NoConnectionError",
    "CL_ERR_NOT_AUTHORIZED": "NotAuthorizedError",
    "CL_ERR_NO_PLAYERS": "NoPlayersError",
    "CL_ERR_NOT_READER_MODE": "NotReaderModeError",
    "CL_ERR_QUERY_TIMED_OUT": "QueryTimedOutError",
    "CL_ERR_PROTOCOL_VERSION_MISMATCH": "ProtocolVersionMismatchError",
    "CLC_ERR_BACKEND_UNAVAILABLE": "BackendUnavailableError",
    "CLC_ERR_STALE_HANDLE": "StaleHandleError",
    "CLC_ERR_FORKED": "ForkedError",
    "CLC_ERR_STORE_IO": "StoreIOError",
    "CLC_ERR_NO_MEMORY": "NoMemoryError",
    "CLC_ERR_BUFFER_TOO_SMALL": "BufferTooSmallError",
    "CLC_ERR_ABI_MISMATCH": "AbiMismatchError",
}


def test_every_failure_status_has_its_own_exception_class():
    assert set(EXCEPTIONS) == set(ALL_CODES) - {"CL_SUCCESS"}
    assert len(set(EXCEPTIONS.values())) == len(EXCEPTIONS)


@pytest.mark.parametrize("name", sorted(EXCEPTIONS))
def test_error_for_status_picks_the_class(name):
    cls = getattr(chronolog_ctypes, EXCEPTIONS[name])
    error = _status.error_for_status(ALL_CODES[name], "what happened")
    assert type(error) is cls
    assert isinstance(error, chronolog_ctypes.ChronologError)
    assert error.status == ALL_CODES[name]
    assert error.name == name
    assert error.message == "what happened"
    assert str(error) == "%s: what happened" % name
    assert cls.status_code == ALL_CODES[name]


def test_an_unknown_status_gives_the_base_class():
    error = _status.error_for_status(-77)
    assert type(error) is chronolog_ctypes.ChronologError
    assert error.status == -77
    assert error.name == "CLC_UNKNOWN_STATUS"
    assert error.message == "CLC_UNKNOWN_STATUS"


def test_invalid_argument_is_also_a_value_error():
    assert issubclass(chronolog_ctypes.InvalidArgumentError, ValueError)


def test_library_not_found_is_also_an_import_error():
    error = chronolog_ctypes.LibraryNotFoundError("gone", (("/x", "no"),))
    assert isinstance(error, ImportError)
    assert isinstance(error, chronolog_ctypes.ChronologError)
    assert error.tried == (("/x", "no"),)
    assert "gone" in str(error)


def test_errors_survive_pickling():
    error = _status.error_for_status(-5, "not held")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is chronolog_ctypes.NotAcquiredError
    assert (copy.status, copy.message) == (-5, "not held")
    missing = pickle.loads(pickle.dumps(
        chronolog_ctypes.LibraryNotFoundError("gone", (("/x", "no"),))))
    assert missing.tried == (("/x", "no"),) and missing.message == "gone"


def test_exceptions_are_named_by_the_package():
    import traceback

    import inspect

    for name in ("NotExistError", "ChronologError", "StaleHandleError"):
        assert getattr(chronolog_ctypes, name).__module__ == "chronolog_ctypes"
    # Other classes keep their modules, where their source is found.
    assert chronolog_ctypes.Client.__module__ == "chronolog_ctypes.client"
    assert "class Client" in inspect.getsource(chronolog_ctypes.Client)
    try:
        raise chronolog_ctypes.NotExistError(chronolog_ctypes.CL_ERR_NOT_EXIST, "no such story")
    except chronolog_ctypes.NotExistError:
        shown = traceback.format_exc()
    assert "chronolog_ctypes.NotExistError: CL_ERR_NOT_EXIST: no such story" \
        in shown
    assert "_status" not in shown.splitlines()[-1]
