"""The one table of ctypes prototypes against the header and the library."""

import ctypes
import os
import platform
import re
import shutil
import subprocess

import pytest

import chronolog_ctypes
from chronolog_ctypes import _native

from conftest import HEADER, header_define, header_functions, header_types

P = ctypes.POINTER

# How each C type of the header must be declared in the table.
C_TO_CTYPES = {
    "void": None,
    "int": ctypes.c_int,
    "size_t": ctypes.c_size_t,
    "uint32_t": ctypes.c_uint32,
    "uint64_t": ctypes.c_uint64,
    "int64_t": ctypes.c_int64,
    "const char *": ctypes.c_char_p,
    "char *": ctypes.c_void_p,  # a buffer the library writes into
    "void *": ctypes.c_void_p,
    "const void *": ctypes.c_void_p,
    "int *": P(ctypes.c_int),
    "size_t *": P(ctypes.c_size_t),
    "uint32_t *": P(ctypes.c_uint32),
    "uint64_t *": P(ctypes.c_uint64),
    "const uint64_t *": P(ctypes.c_uint64),
    "const char *const *": P(ctypes.c_char_p),
    "const clc_service_conf *": P(_native.ServiceConfStruct),
    "clc_client_t": _native.ClientHandle,
    "clc_story_t": _native.StoryHandleRef,
    "clc_events_t": _native.EventsHandle,
    "clc_cursor_t": _native.CursorHandle,
    "clc_strings_t": _native.StringsHandle,
    "clc_client_t *": P(_native.ClientHandle),
    "clc_story_t *": P(_native.StoryHandleRef),
    "clc_events_t *": P(_native.EventsHandle),
    "clc_cursor_t *": P(_native.CursorHandle),
    "clc_strings_t *": P(_native.StringsHandle),
}

TABLE = {name: (restype, argtypes)
         for name, restype, argtypes in _native.PROTOTYPES}


def test_table_declares_each_function_once():
    names = [name for name, _, _ in _native.PROTOTYPES]
    assert len(names) == len(set(names))


def test_table_and_header_declare_the_same_functions():
    assert sorted(TABLE) == sorted(header_functions())


@pytest.mark.parametrize("name", sorted(header_functions()))
def test_prototype_matches_the_header(name):
    result, arguments = header_functions()[name]
    restype, argtypes = TABLE[name]
    assert restype is C_TO_CTYPES[result], result
    assert list(argtypes) == [C_TO_CTYPES[a] for a in arguments], arguments


def test_no_result_is_a_pointer_cut_to_int():
    for name, restype, _ in _native.PROTOTYPES:
        assert restype in (None, ctypes.c_int, ctypes.c_uint32,
                           ctypes.c_int64, ctypes.c_char_p), name
        if restype is ctypes.c_int64:
            # A timestamp or a negative status, never a pointer.
            assert name == "clc_story_log_event"
        if restype is ctypes.c_char_p:
            # Only the library's static or thread-local message strings.
            assert name in ("clc_library_version", "clc_status_name",
                            "clc_status_description", "clc_last_error")


def test_handle_kinds_are_distinct_opaque_pointer_types():
    kinds = [_native.ClientHandle, _native.StoryHandleRef,
             _native.EventsHandle, _native.CursorHandle,
             _native.StringsHandle]
    assert len(set(kinds)) == 5
    for kind in kinds:
        assert issubclass(kind, ctypes.c_void_p)
        assert kind is not ctypes.c_void_p
        assert ctypes.sizeof(kind) == ctypes.sizeof(ctypes.c_void_p)


def test_a_handle_of_another_kind_is_refused(library):
    story = _native.StoryHandleRef()
    with pytest.raises(ctypes.ArgumentError):
        library.clc_client_connect(story)
    with pytest.raises(ctypes.ArgumentError):
        library.clc_client_connect(12345)


def test_service_conf_struct_layout():
    fields = [(name, kind) for name, kind in
              _native.ServiceConfStruct._fields_]
    assert fields == [("protocol", ctypes.c_char_p), ("ip", ctypes.c_char_p),
                      ("port", ctypes.c_int32),
                      ("provider_id", ctypes.c_int32)]
    pointer = ctypes.sizeof(ctypes.c_void_p)
    assert _native.ServiceConfStruct.port.offset == 2 * pointer
    assert _native.ServiceConfStruct.provider_id.offset == 2 * pointer + 4


def test_package_abi_is_the_headers():
    assert _native.ABI_VERSION_MAJOR == header_define("CLC_ABI_VERSION_MAJOR")
    assert _native.ABI_VERSION_MINOR == header_define("CLC_ABI_VERSION_MINOR")


def test_package_constants_are_the_headers():
    assert _native.BACKEND_EMBEDDED == header_define("CLC_BACKEND_EMBEDDED")
    assert _native.BACKEND_CHRONOLOG == header_define("CLC_BACKEND_CHRONOLOG")
    assert _native.MODE_WRITER == header_define("CLC_MODE_WRITER")
    assert _native.MODE_READER == header_define("CLC_MODE_READER")


def _package_sources():
    folder = os.path.dirname(chronolog_ctypes.__file__)
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), encoding="utf-8") as stream:
                yield name, stream.read()


def test_every_function_the_package_calls_is_in_the_table():
    used = set()
    for _, text in _package_sources():
        used.update(re.findall(r"\b(clc_[a-z_]+)\b", text))
    used -= header_types()  # names of types, met in docstrings
    assert len(used) > 30, "the scan found too few clc_ functions"
    assert used - set(TABLE) == set()


def test_only_the_table_sets_prototypes():
    for name, text in _package_sources():
        if name != "_native.py":
            assert ".restype" not in text, name
            assert ".argtypes" not in text, name
            assert "PyDLL" not in text and "pythonapi" not in text, name


def test_library_is_loaded_with_cdll_so_the_gil_is_released(library):
    assert type(library.cdll) is ctypes.CDLL
    assert library.cdll._func_flags_ & ctypes._FUNCFLAG_PYTHONAPI == 0


def test_every_table_function_is_exported_by_the_library(library):
    for name in TABLE:
        assert getattr(library, name) is not None
        assert hasattr(library.cdll, name), name


@pytest.mark.skipif(shutil.which("nm") is None, reason="needs nm")
def test_the_library_exports_no_clc_function_outside_the_table(library):
    if not os.path.isfile(library.path):
        pytest.skip("library loaded by name, not from a file")
    listing = subprocess.run(["nm", "-D", "--defined-only", library.path],
                             stdout=subprocess.PIPE, check=True)
    exported = set(re.findall(r"\sT\s+(clc_\w+)",
                              listing.stdout.decode()))
    assert exported == set(TABLE)


def test_header_is_present_for_these_tests():
    assert os.path.isfile(HEADER)


# How the C declarations generated for cffi spell the table's types; the
# spelling differs from the header only where C does not care (const,
# char * for void *, size_t and uint64_t where ctypes makes them one type).
GENERATED_TO_CTYPES = dict(C_TO_CTYPES, **{
    "const char **": P(ctypes.c_char_p),
    "void *": ctypes.c_void_p,
    "clc_service_conf *": P(_native.ServiceConfStruct),
})


def test_c_declarations_declare_the_table_in_order():
    declared = re.findall(r"^(.+?) ?\b(clc_\w+)\((.*)\);$",
                          _native.c_declarations(), re.M)
    assert [name for _, name, _ in declared] == [
        name for name, _, _ in _native.PROTOTYPES]
    for result, name, arguments in declared:
        restype, argtypes = TABLE[name]
        assert GENERATED_TO_CTYPES[result.strip()] is restype, name
        spelled = [] if arguments == "void" else [
            argument.strip() for argument in arguments.split(",")]
        assert [GENERATED_TO_CTYPES[a] for a in spelled] == list(argtypes), \
            name


def test_c_declarations_define_the_handle_types_and_the_conf_struct():
    text = _native.c_declarations()
    for kind in ("client", "story", "events", "cursor", "strings"):
        assert "typedef struct clc_%s_s *clc_%s_t;" % (kind, kind) in text
    assert ("typedef struct clc_service_conf { const char * protocol;"
            " const char * ip; int port; int provider_id; }"
            " clc_service_conf;") in text


def test_pypy_binds_the_table_with_cffi_too(library):
    if platform.python_implementation() != "PyPy" or \
            os.environ.get(_native.USE_CFFI_ENV) == "ctypes":
        assert library.fast is None and library.ffi is None
        return
    pytest.importorskip("cffi")
    for name in TABLE:
        assert callable(getattr(library.fast, name)), name
    assert library.fast.clc_abi_version() == library.clc_abi_version()
