"""CHRONOLOG_CTYPES_STORE means one directory to the API, the tool and the
handler, '~' included."""

import os

import pytest

import chronolog_ctypes
from chronolog_ctypes import cli
from chronolog_ctypes.config import STORE_VARIABLE, store_from_environment
from chronolog_ctypes.handler import ChronologHandler

PORTAL = chronolog_ctypes.ClientPortalServiceConf(
    "ofi+sockets", "127.0.0.1", 5555, 55)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """HOME is tmp_path/home; the working directory is tmp_path/work."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    monkeypatch.setenv(STORE_VARIABLE, "~/tilde-store")
    return home


def test_the_variable_is_the_one_the_package_names():
    assert STORE_VARIABLE == chronolog_ctypes.STORE_ENV


def test_store_from_environment_expands_the_home_directory(home):
    assert store_from_environment() == str(home / "tilde-store")
    assert store_from_environment({STORE_VARIABLE: "~"}) == str(home)
    assert store_from_environment({STORE_VARIABLE: "rel/s"}) == "rel/s"
    assert store_from_environment({STORE_VARIABLE: "/abs/s"}) == "/abs/s"
    assert store_from_environment({STORE_VARIABLE: ""}) is None
    assert store_from_environment({}) is None


def test_client_opens_the_store_in_the_home_directory(home):
    with chronolog_ctypes.Client(PORTAL) as client:
        client.create_chronicle("from-client")

    assert (home / "tilde-store" / "chronolog.db").is_file()
    assert os.listdir(".") == []  # no literal '~' directory here


def test_the_tool_and_the_handler_share_the_client_s_store(home, run_tool):
    with chronolog_ctypes.Client(PORTAL) as client:
        client.create_chronicle("from-client")

    assert run_tool("ingest", "-q", "from-tool", "s", stdin=b"x\n") == (
        0, b"", b"")
    handler = ChronologHandler("from-handler", "s")
    handler.close()

    assert run_tool("chronicles") == (
        0, b"from-client\nfrom-handler\nfrom-tool\n", b"")
    assert cli.default_store_dir() == str(home / "tilde-store")
    assert os.listdir(".") == []
