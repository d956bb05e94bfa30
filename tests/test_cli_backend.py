"""Backend options, the default store, --help, --version and exit statuses."""

import json
import os

import pytest

import chronolog_ctypes
from chronolog_ctypes import cli

PORTAL = "ofi+sockets://127.0.0.1:5555/55"


def has_chronolog_backend():
    return "chronolog" in chronolog_ctypes.library_info()["backends"]


needs_no_chronolog = pytest.mark.skipif(
    "has_chronolog_backend()",
    reason="this library has the ChronoLog backend: nothing to refuse")


# -- the default store ------------------------------------------------------


def test_default_store_dir_follows_the_documented_order(tmp_path):
    home = os.path.expanduser("~")
    assert cli.default_store_dir({}) == os.path.join(
        home, ".local", "share", "chronolog-ctypes", "store")
    assert cli.default_store_dir({"XDG_DATA_HOME": "/data"}) == (
        "/data/chronolog-ctypes/store")
    assert cli.default_store_dir({"XDG_DATA_HOME": "relative/dir"}) == (
        os.path.join(home, ".local", "share", "chronolog-ctypes", "store"))
    assert cli.default_store_dir({"XDG_DATA_HOME": "/data",
                                  "CHRONOLOG_CTYPES_STORE": "/mine"}) == "/mine"
    assert cli.default_store_dir({"CHRONOLOG_CTYPES_STORE": ""}) == (
        os.path.join(home, ".local", "share", "chronolog-ctypes", "store"))


def test_store_variable_is_the_default_store(run_tool, tmp_path, monkeypatch):
    store = str(tmp_path / "env-store")
    monkeypatch.setenv("CHRONOLOG_CTYPES_STORE", store)

    assert run_tool("ingest", "-q", "c", "s", stdin=b"from env\n")[0] == 0

    monkeypatch.delenv("CHRONOLOG_CTYPES_STORE")
    assert os.path.isdir(store)
    assert run_tool("--store", store, "replay", "c", "s")[1] == b"from env\n"


def test_xdg_data_home_is_the_default_store(run_tool, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

    assert run_tool("ingest", "-q", "c", "s", stdin=b"x\n")[0] == 0

    store = tmp_path / "xdg" / "chronolog-ctypes" / "store"
    assert store.is_dir()
    assert run_tool("--store", str(store), "chronicles")[1] == b"c\n"


def test_help_prints_the_resolved_default_store(run_tool, tmp_path, monkeypatch):
    store = str(tmp_path / "resolved")
    monkeypatch.setenv("CHRONOLOG_CTYPES_STORE", store)

    for args in (["--help"], ["replay", "--help"]):
        status, out, _ = run_tool(*args)
        assert status == 0
        assert out.decode().endswith("\ndefault store: %s\n" % store)


def test_store_option_stands_before_or_after_the_subcommand(run_tool, tmp_path):
    store = str(tmp_path / "store")
    assert run_tool("ingest", "-q", "c", "s", "--store", store, stdin=b"a\n")[0] == 0
    assert run_tool("--store", store, "replay", "c", "s")[1] == b"a\n"
    assert run_tool("replay", "--store", store, "c", "s")[1] == b"a\n"


# -- stores that cannot be used ----------------------------------------------


def test_store_under_a_regular_file_cannot_be_created(run_tool, tmp_path):
    (tmp_path / "file").write_bytes(b"not a directory")
    store = str(tmp_path / "file" / "store")

    status, out, err = run_tool("--store", store, "ingest", "c", "s", stdin=b"x\n")

    assert (status, out) == (cli.EXIT_CHRONOLOG, b"")
    assert err.startswith(b"chronolog-ctypes: error: cannot ")
    assert ("the embedded store %s" % store).encode() in err
    assert err.endswith(b"(CLC_ERR_STORE_IO): check that the store directory "
                        b"can be created and written, or choose another "
                        b"with --store DIR\n")
    assert err.count(b"\n") == 1


def test_store_in_a_read_only_directory(run_tool, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: permission bits do not stop root "
                    "(the store under a regular file covers this error)")
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        status, _, err = run_tool("--store", str(parent / "store"), "chronicles")
    finally:
        parent.chmod(0o700)
    assert status == 1
    assert b"(CLC_ERR_STORE_IO)" in err


# -- deployments: refused cleanly when the backend is not built in ----------


@needs_no_chronolog
def test_portal_without_the_chronolog_backend(run_tool):
    status, out, err = run_tool("--portal", PORTAL, "--query",
                           "ofi+sockets://127.0.0.1:5557/57", "chronicles")

    assert (status, out) == (cli.EXIT_UNAVAILABLE, b"")
    assert err == (
        b"chronolog-ctypes: error: cannot open the ChronoLog deployment at "
        b"ofi+sockets://127.0.0.1:5555/55: the library was built without the "
        b"ChronoLog backend (CLC_ERR_BACKEND_UNAVAILABLE): rebuild the "
        b"package where CMake finds an installed ChronoLog client "
        b"(CHRONOLOG_ROOT=<prefix> pip install .), or use the embedded store "
        b"with --store DIR\n")


@needs_no_chronolog
def test_portal_is_not_redirected_by_the_store_variable(
        run_tool, tmp_path, monkeypatch):
    monkeypatch.setenv("CHRONOLOG_CTYPES_STORE", str(tmp_path / "store"))

    status, _, err = run_tool("replay", "c", "s", "--portal", PORTAL)

    assert status == 4
    assert b"(CLC_ERR_BACKEND_UNAVAILABLE)" in err
    assert not (tmp_path / "store").exists()


def write_config(path):
    rpc = {"protocol_conf": "ofi+sockets", "service_ip": "127.0.0.1",
           "service_provider_id": 55}
    document = {"chrono_client": {
        "VisorClientPortalService": {"rpc": dict(rpc, service_base_port=5555)},
        "ClientQueryService": {"rpc": dict(rpc, service_base_port=5557,
                                           service_provider_id=57)},
    }}
    path.write_text(json.dumps(document))
    return str(path)


@needs_no_chronolog
def test_config_without_the_chronolog_backend(run_tool, tmp_path, monkeypatch):
    config = write_config(tmp_path / "client.json")
    monkeypatch.setenv("CHRONOLOG_CTYPES_STORE", str(tmp_path / "store"))

    status, out, err = run_tool("--config", config, "ingest", "c", "s",
                           stdin=b"x\n")

    assert (status, out) == (4, b"")
    assert err.startswith(("chronolog-ctypes: error: cannot open the ChronoLog "
                           "deployment of %s: " % config).encode())
    assert b"(CLC_ERR_BACKEND_UNAVAILABLE): rebuild the package" in err
    assert not (tmp_path / "store").exists()


def test_missing_config_file(run_tool, tmp_path):
    missing = str(tmp_path / "missing.json")
    status, _, err = run_tool("--config", missing, "chronicles")
    assert status == cli.EXIT_FILE
    assert err == ("chronolog-ctypes: error: cannot read %s: No such file or "
                   "directory (ENOENT): check the path given to --config\n"
                   % missing).encode()


def test_config_that_is_not_json(run_tool, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    status, _, err = run_tool("--config", str(bad), "chronicles")
    assert status == cli.EXIT_USAGE
    assert b"(CL_ERR_INVALID_ARG)" in err
    assert str(bad).encode() in err


@pytest.mark.parametrize("address", [
    "127.0.0.1:5555", "ofi+sockets://127.0.0.1", "ofi+sockets://h:70000/1",
    "ofi+sockets://h:5555/70000", "ofi+sockets://h:port/55",
])
def test_bad_addresses_are_usage_errors(run_tool, address):
    status, _, err = run_tool("--portal", address, "chronicles")
    assert status == 2
    assert err.startswith(b"chronolog-ctypes: error: ")
    assert b"(CL_ERR_INVALID_ARG)" in err


def test_one_backend_at_a_time(run_tool, tmp_path):
    status, _, err = run_tool("--store", str(tmp_path), "--portal", PORTAL,
                         "chronicles")
    assert status == 2
    assert err == (b"chronolog-ctypes: error: choose one backend, not --store "
                   b"and --portal/--query (CL_ERR_INVALID_ARG): see "
                   b"'chronolog-ctypes --help'\n")


def test_parse_address():
    assert cli.parse_address("ofi+sockets://127.0.0.1:5555/55", 1) == (
        "ofi+sockets", "127.0.0.1", 5555, 55)
    assert cli.parse_address("ofi+tcp://localhost:7000", 57) == (
        "ofi+tcp", "localhost", 7000, 57)
    assert cli.parse_address("ofi+sockets://[::1]:5555/0", 1) == (
        "ofi+sockets", "::1", 5555, 0)


# -- help, version, usage ------------------------------------------------------


@pytest.mark.parametrize("command", [
    "ingest", "replay", "chronicles", "stories", "attr", "destroy"])
def test_every_subcommand_has_help_with_an_example(run_tool, command):
    status, out, err = run_tool(command, "--help")
    assert (status, err) == (0, b"")
    text = out.decode()
    assert text.startswith("usage: chronolog-ctypes %s" % command)
    assert "example" in text
    assert "\n  chronolog-ctypes %s" % command in text
    assert "--store DIR" in text


@pytest.mark.parametrize("args", [["--help"], ["ingest", "--help"]])
def test_help_examples_read_a_log_that_debian_has(run_tool, args):
    # /var/log/syslog is absent where journald alone keeps the system log
    # (Debian 12 by default); dpkg's log is on every Debian and Ubuntu.
    status, out, _ = run_tool(*args)

    assert status == 0
    assert b"\n  chronolog-ctypes ingest system dpkg /var/log/dpkg.log\n" in out
    assert b"/var/log/syslog" not in out


def test_version(run_tool):
    status, out, err = run_tool("--version")
    assert (status, err) == (0, b"")
    lines = out.decode().splitlines()
    assert lines[0] == "chronolog-ctypes %s" % chronolog_ctypes.__version__
    info = chronolog_ctypes.library_info()
    assert lines[1] == "library: %s (release %s, ABI %s, backends: %s)" % (
        info["path"], info["version"], info["abi"], ", ".join(info["backends"]))


def test_usage_errors_exit_2(run_tool):
    assert run_tool()[0] == 2
    assert run_tool("frobnicate")[0] == 2
    assert run_tool("stories")[0] == 2
    assert run_tool("replay", "c", "s", "--sta", "1")[0] == 2  # no abbreviations


def test_failure_line_format():
    error = cli.CommandError("cannot do it", "CL_ERR_NOT_EXIST", "try that", 1)
    assert error.line() == (
        "chronolog-ctypes: error: cannot do it (CL_ERR_NOT_EXIST): try that")


def _library_missing(*places):
    return chronolog_ctypes.LibraryNotFoundError(
        "cannot load the chronolog_capi library; tried: ...", places)


def test_a_missing_library_is_one_readable_line(run_tool, monkeypatch):
    monkeypatch.delenv("CHRONOLOG_CTYPES_LIBRARY", raising=False)

    def missing(*args, **kwargs):
        raise _library_missing(
            ("/pkg/libchronolog_capi.so", "no such file"),
            ("libchronolog_capi.so", "libchronolog_capi.so: cannot open "
             "shared object file: No such file or directory"))

    monkeypatch.setattr(chronolog_ctypes.Client, "embedded", missing)

    status, out, err = run_tool("chronicles")

    assert (status, out) == (cli.EXIT_UNAVAILABLE, b"")
    assert err.decode() == (
        "chronolog-ctypes: error: cannot load libchronolog_capi; tried "
        "/pkg/libchronolog_capi.so (no such file); libchronolog_capi.so "
        "(cannot open shared object file: No such file or directory) "
        "(LIBRARY_NOT_FOUND): install chronolog-ctypes with pip (its wheel "
        "carries the library), or set CHRONOLOG_CTYPES_LIBRARY to the path "
        "of a libchronolog_capi.so\n")


def test_a_bad_library_variable_is_named_as_what_to_fix(monkeypatch):
    monkeypatch.setenv("CHRONOLOG_CTYPES_LIBRARY", "/nowhere/lib.so")
    error = _library_missing(("/nowhere/lib.so", "no such file"))

    failure = cli.chronolog_failure("cannot open the store", error)

    assert failure.line() == (
        "chronolog-ctypes: error: cannot load libchronolog_capi; tried "
        "/nowhere/lib.so (no such file) (LIBRARY_NOT_FOUND): fix "
        "CHRONOLOG_CTYPES_LIBRARY, or unset it to use the copy installed "
        "with the package")
    assert failure.exit_code == cli.EXIT_UNAVAILABLE


@pytest.mark.parametrize("option", ["--store", "--config", "--portal", "--query"])
def test_an_empty_backend_option_is_a_usage_error(run_tool, option):
    status, out, err = run_tool(option, "", "chronicles")

    assert (status, out) == (cli.EXIT_USAGE, b"")
    assert err.decode() == (
        "chronolog-ctypes: error: %s is empty (CL_ERR_INVALID_ARG): give a "
        "value, or leave %s out\n" % (option, option))
