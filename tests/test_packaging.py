"""The installed wheel: one py3 wheel carrying the shim, used as installed.

Under tox (CHRONOLOG_CTYPES_EXPECT_INSTALLED=1) the suite must test the
wheel that pip installed, not the source tree next to it.
"""

import os
import re
from importlib import metadata
from pathlib import Path

import pytest

import chronolog_ctypes

REPO = Path(__file__).resolve().parents[1]
INSTALLED = os.environ.get("CHRONOLOG_CTYPES_EXPECT_INSTALLED") == "1"

needs_install = pytest.mark.skipif(
    not INSTALLED,
    reason="runs only against an installed wheel (tox sets "
    "CHRONOLOG_CTYPES_EXPECT_INSTALLED=1)",
)


def _metadata():
    return metadata.distribution("chronolog-ctypes")


@needs_install
def test_package_is_imported_from_site_packages_not_the_source_tree():
    package_dir = Path(chronolog_ctypes.__file__).resolve().parent
    assert package_dir != REPO / "chronolog_ctypes"
    assert "site-packages" in package_dir.parts


@needs_install
def test_library_loaded_is_the_copy_inside_the_package():
    info = chronolog_ctypes.library_info()
    package_dir = Path(chronolog_ctypes.__file__).resolve().parent
    assert Path(info["path"]).resolve().parent == package_dir
    assert Path(info["path"]).name == "libchronolog_capi.so"
    assert "embedded" in info["backends"]


@needs_install
def test_wheel_is_tagged_for_any_python3():
    wheel = _metadata().read_text("WHEEL")
    tags = re.findall(r"^Tag: (\S+)$", wheel, flags=re.M)
    assert tags, wheel
    assert all(tag.startswith("py3-none-") for tag in tags), tags


@needs_install
def test_console_script_is_declared():
    entry_points = _metadata().entry_points
    scripts = {ep.name: ep.value for ep in entry_points
               if ep.group == "console_scripts"}
    assert scripts == {"chronolog-ctypes": "chronolog_ctypes.cli:main"}


def test_library_release_matches_the_package_version():
    try:
        version = metadata.version("chronolog-ctypes")
    except metadata.PackageNotFoundError:
        pyproject = (REPO / "pyproject.toml").read_text()
        version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert chronolog_ctypes.library_info()["version"] == version
