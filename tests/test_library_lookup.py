"""Finding the library, the errors when it is missing, the ABI check."""

import ctypes.util
import logging
import os

import pytest

import chronolog_ctypes
from chronolog_ctypes import _native


@pytest.fixture
def nowhere(monkeypatch):
    """No explicit path, and a file name that exists nowhere."""
    monkeypatch.delenv(_native.LIBRARY_ENV, raising=False)
    monkeypatch.setattr(_native, "LIBRARY_FILENAME",
                        "libchronolog_capi_absent.so")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(_native, "_installed_copy", lambda: None)


def test_a_bogus_library_variable_is_named_in_the_error(monkeypatch,
                                                        tmp_path):
    bogus = str(tmp_path / "no" / "libchronolog_capi.so")
    monkeypatch.setenv(_native.LIBRARY_ENV, bogus)
    with pytest.raises(chronolog_ctypes.LibraryNotFoundError) as caught:
        _native.open_library()
    message = str(caught.value)
    assert bogus + ": no such file" in message
    assert _native.LIBRARY_ENV in message
    assert caught.value.tried == ((bogus, "no such file"),)
    assert isinstance(caught.value, ImportError)


def test_an_explicit_path_is_the_only_place_tried(nowhere, tmp_path):
    bogus = str(tmp_path / "lib.so")
    with pytest.raises(chronolog_ctypes.LibraryNotFoundError) as caught:
        _native.open_library(bogus)
    assert [place for place, _ in caught.value.tried] == [bogus]


def test_a_file_that_is_not_a_library_gives_the_loaders_reason(tmp_path):
    junk = tmp_path / "libjunk.so"
    junk.write_bytes(b"not an ELF file")
    with pytest.raises(chronolog_ctypes.LibraryNotFoundError) as caught:
        _native.open_library(str(junk))
    place, reason = caught.value.tried[0]
    assert place == str(junk)
    assert reason and reason != "no such file"
    assert str(junk) in str(caught.value)


def test_a_foreign_library_is_refused(tmp_path):
    libc = ctypes.util.find_library("c")
    if libc is None:
        pytest.skip("no C library found by name")
    with pytest.raises(chronolog_ctypes.LibraryNotFoundError) as caught:
        _native.open_library(libc)
    assert caught.value.tried == ((libc, "not a libchronolog_capi"
                                   " (no clc_abi_version)"),)


def test_without_explicit_path_every_place_is_listed(nowhere, caplog):
    with caplog.at_level(logging.DEBUG, logger="chronolog_ctypes"):
        with pytest.raises(chronolog_ctypes.LibraryNotFoundError) as caught:
            _native.open_library()
    places = [place for place, _ in caught.value.tried]
    package_copy = os.path.join(
        os.path.dirname(os.path.abspath(_native.__file__)),
        "libchronolog_capi_absent.so")
    assert places == [package_copy, "libchronolog_capi_absent.so"]
    message = str(caught.value)
    assert package_copy in message
    assert "Reinstall chronolog-ctypes" in message
    assert _native.LIBRARY_ENV in message
    logged = [r.getMessage() for r in caplog.records
              if r.levelno == logging.DEBUG]
    assert any(package_copy in text for text in logged)
    assert any("libchronolog_capi_absent.so:" in text for text in logged)


def test_the_system_search_result_is_tried_last(nowhere, monkeypatch):
    monkeypatch.setattr(ctypes.util, "find_library",
                        lambda name: "libchronolog_capi_found.so.1")
    assert list(_native.library_candidates())[-1] == \
        "libchronolog_capi_found.so.1"


def test_a_source_checkout_falls_back_to_the_installed_copy(nowhere,
                                                             monkeypatch):
    installed = "/site/chronolog_ctypes/libchronolog_capi_absent.so"
    monkeypatch.setattr(_native, "_installed_copy", lambda: installed)
    places = list(_native.library_candidates())
    assert places[1:] == [installed, "libchronolog_capi_absent.so"]
    assert places[0].endswith(os.sep + "libchronolog_capi_absent.so")


def test_the_variable_replaces_the_search(monkeypatch):
    monkeypatch.setenv(_native.LIBRARY_ENV, "/opt/x/libchronolog_capi.so")
    assert list(_native.library_candidates()) == [
        "/opt/x/libchronolog_capi.so"]
    assert list(_native.library_candidates("/y/lib.so")) == ["/y/lib.so"]


def test_an_explicit_path_to_the_library_loads_it(library):
    loaded = _native.open_library(library.path)
    assert loaded.path == library.path
    assert loaded.abi == (_native.ABI_VERSION_MAJOR,
                          _native.ABI_VERSION_MINOR)
    assert loaded.version == library.version


@pytest.mark.parametrize("library_abi", [(1, 0), (1, 1), (1, 40)])
def test_abi_with_our_major_and_a_minor_as_high_fits(library_abi):
    _native.check_abi(library_abi, "/lib/x.so", expected=(1, 0))


@pytest.mark.parametrize("library_abi,expected", [
    ((2, 0), (1, 0)), ((0, 9), (1, 0)), ((1, 0), (1, 1)), ((3, 7), (2, 9))])
def test_abi_mismatch_names_both_versions(library_abi, expected):
    with pytest.raises(chronolog_ctypes.AbiMismatchError) as caught:
        _native.check_abi(library_abi, "/lib/x.so", expected=expected)
    message = str(caught.value)
    assert "ABI version %d.%d" % library_abi in message
    assert "needs ABI %d.%d" % expected in message
    assert "/lib/x.so" in message
    assert caught.value.status == chronolog_ctypes.CLC_ERR_ABI_MISMATCH


def test_library_info_describes_the_loaded_library(library):
    info = chronolog_ctypes.library_info()
    assert info["path"] == library.path
    assert info["version"] == library.version
    assert info["abi"] == "%d.%d" % (_native.ABI_VERSION_MAJOR,
                                     _native.ABI_VERSION_MINOR)
    assert "embedded" in info["backends"]
    assert set(info["backends"]) <= {"embedded", "chronolog"}


def test_loading_another_library_later_is_refused(library, tmp_path):
    with pytest.raises(RuntimeError) as caught:
        chronolog_ctypes.load_library(str(tmp_path / "other.so"))
    assert library.path in str(caught.value)
    assert chronolog_ctypes.load_library(library.path) is library


@pytest.mark.skipif(not os.environ.get("CHRONOLOG_CTYPES_EXPECT_INSTALLED"),
                    reason="only when testing an installed wheel")
def test_the_installed_wheel_uses_its_own_copy(library):
    folder = os.path.dirname(os.path.abspath(chronolog_ctypes.__file__))
    assert library.path == os.path.join(folder, _native.LIBRARY_FILENAME)
