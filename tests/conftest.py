"""Shared fixtures: the library, the header, embedded stores and clients,
the command-line tool run in this process, and child interpreters."""

import io
import itertools
import os
import re
import socket
import subprocess
import sys
import textwrap
import uuid
from typing import Callable, Dict, List, Optional, Tuple

import pytest

import chronolog_ctypes
from chronolog_ctypes import _native, cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(REPO, "capi", "include", "chronolog_capi.h")


# ---------------------------------------------------------------------------
# The header, parsed
# ---------------------------------------------------------------------------


def _header_text() -> str:
    with open(HEADER, encoding="utf-8") as stream:
        text = stream.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def header_functions() -> Dict[str, Tuple[str, List[str]]]:
    """Every CLC_EXPORT function: name -> (result type, argument types).

    Types are normalised C spellings without parameter names, e.g.
    ``"const char *"`` or ``"clc_client_t *"``.
    """
    functions = {}
    pattern = re.compile(
        r"CLC_EXPORT\s+([^;(]*?)\b(clc_\w+)\s*\(([^)]*)\)\s*;", re.S)
    for match in pattern.finditer(_header_text()):
        result = _normalise(match.group(1))
        arguments = [] if match.group(3).strip() == "void" else [
            _normalise(_drop_name(argument))
            for argument in match.group(3).split(",")]
        functions[match.group(2)] = (result, arguments)
    return functions


def header_statuses() -> Dict[str, int]:
    """The members of ``enum clc_status``: name -> value."""
    body = re.search(r"typedef\s+enum\s+clc_status\s*\{(.*?)\}",
                     _header_text(), re.S).group(1)
    return {name: int(value) for name, value in
            re.findall(r"(CLC_\w+)\s*=\s*(-?\d+)", body)}


def header_types() -> set:
    """Names of the header's types (handles, structs, enums)."""
    text = _header_text()
    names = set(re.findall(r"\b(clc_\w+_t)\b", text))
    names.update(re.findall(r"(?:struct|enum)\s+(clc_\w+)", text))
    names.update(re.findall(r"\}\s*(clc_\w+)\s*;", text))
    return names


def header_define(name: str) -> int:
    return int(re.search(r"#define\s+%s\s+(\d+)" % name,
                         _header_text()).group(1))


def _drop_name(argument: str) -> str:
    return re.sub(r"\b\w+\s*$", "", argument.strip()) if re.search(
        r"[\s*]\w+\s*$", argument.strip()) else argument


def _normalise(c_type: str) -> str:
    c_type = re.sub(r"\s+", " ", c_type.strip())
    c_type = re.sub(r"\s*\*\s*", " *", c_type)
    c_type = c_type.replace("* const", "*const")
    return c_type.strip()


# ---------------------------------------------------------------------------
# Library and environment
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def library() -> _native.Library:
    """The loaded shim; every test that needs it fails if none loads."""
    return _native.get_library()


@pytest.fixture(autouse=True)
def _no_store_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    # A CHRONOLOG_CTYPES_STORE of the developer's shell must not redirect
    # the tests' clients.
    monkeypatch.delenv(chronolog_ctypes.STORE_ENV, raising=False)


@pytest.fixture
def store(tmp_path) -> str:
    """A fresh embedded store directory (not created yet)."""
    return str(tmp_path / "store")


def _connected(store_dir: str, reader: bool,
               request) -> chronolog_ctypes.Client:
    client = chronolog_ctypes.Client.embedded(store_dir, reader=reader)
    request.addfinalizer(client.close)
    return client.connect()


@pytest.fixture
def reader(store, request) -> chronolog_ctypes.Client:
    """A connected writer-and-reader client of ``store``."""
    return _connected(store, True, request)


@pytest.fixture
def writer(store, request) -> chronolog_ctypes.Client:
    """A connected writer-only client of ``store``."""
    return _connected(store, False, request)


@pytest.fixture
def chronicle(reader) -> str:
    """A chronicle created in ``reader``'s store."""
    reader.create_chronicle("chron")
    return "chron"


@pytest.fixture
def story(reader, chronicle) -> chronolog_ctypes.StoryHandle:
    """Story ``chron/story`` acquired by ``reader``."""
    return reader.acquire_story(chronicle, "story")


# ---------------------------------------------------------------------------
# Other processes
# ---------------------------------------------------------------------------


def child_env(**extra: str) -> Dict[str, str]:
    """The environment of a child that imports this package and library.

    The child finds the same ``chronolog_ctypes`` and library as the
    tests, and no ``CHRONOLOG_CTYPES_STORE`` unless ``extra`` sets one;
    ``extra`` adds or replaces variables.
    """
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(
        os.path.abspath(chronolog_ctypes.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        [package_parent] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    env[_native.LIBRARY_ENV] = _native.get_library().path
    env.pop(chronolog_ctypes.STORE_ENV, None)
    env.update(extra)
    return env


def run_child(code: str, env: Optional[Dict[str, str]] = None,
              timeout: float = 60) -> subprocess.CompletedProcess:
    """Run Python code in a child interpreter that imports this package.

    ``env`` adds variables to :func:`child_env`'s. Returns the finished
    process, with its stdout and stderr as bytes, whatever its status.
    """
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=child_env(**(env or {})), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=timeout)


def run_python(code: str, env: Optional[Dict[str, str]] = None,
               timeout: float = 60) -> subprocess.CompletedProcess:
    """Run Python code as :func:`run_child` does; fail unless it exits 0."""
    result = run_child(code, env, timeout)
    assert result.returncode == 0, "child failed (%d):\n%s\n%s" % (
        result.returncode, result.stdout.decode(errors="replace"),
        result.stderr.decode(errors="replace"))
    return result


# ---------------------------------------------------------------------------
# The command-line tool, in this process
# ---------------------------------------------------------------------------


class FakeStdin:
    """A stand-in for sys.stdin: ``.buffer`` holds the given bytes.

    ``isatty()`` answers ``tty``: false, as for a pipe, unless told.
    """

    def __init__(self, data: bytes = b"", tty: bool = False) -> None:
        self.buffer = io.BytesIO(data)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


ToolRun = Callable[..., Tuple[int, bytes, bytes]]


@pytest.fixture
def run_tool(capsysbinary, monkeypatch) -> ToolRun:
    """Run the tool in-process with exactly the arguments given.

    ``run_tool(*args, stdin=b"", tty=False)`` returns (exit status,
    stdout, stderr), with ``stdin`` as standard input, a terminal when
    ``tty`` is true.
    """
    def run_cli(*args: str, stdin: bytes = b"",
                tty: bool = False) -> Tuple[int, bytes, bytes]:
        monkeypatch.setattr(sys, "stdin", FakeStdin(stdin, tty))
        status = cli.main(list(args))
        out, err = capsysbinary.readouterr()
        return status, out, err

    return run_cli


@pytest.fixture
def run(run_tool, store, tmp_path, monkeypatch) -> ToolRun:
    """Run the tool in-process on the fresh store ``store``.

    As :func:`run_tool`, with ``--store STORE`` before the arguments and
    ``tmp_path`` as the working directory.
    """
    monkeypatch.chdir(tmp_path)

    def run_cli(*args: str, stdin: bytes = b"",
                tty: bool = False) -> Tuple[int, bytes, bytes]:
        return run_tool("--store", store, *args, stdin=stdin, tty=tty)

    return run_cli

# ---------------------------------------------------------------------------
# A live ChronoLog deployment
# ---------------------------------------------------------------------------

#: Names the client configuration file of a running deployment; the tests
#: that need one are skipped without it.
LIVE_CONFIG_ENV = "CHRONOLOG_CTYPES_LIVE_CONFIG"

_names = itertools.count()


def unique_name(prefix: str) -> str:
    """A chronicle or story name no other test, run or process uses.

    A deployment keeps story archives after DestroyStory and across
    restarts, and finds them by name, so names are never reused.
    """
    return "%s-%d-%d-%s" % (prefix, os.getpid(), next(_names),
                            uuid.uuid4().hex[:8])


def free_port(ip: str) -> int:
    """A TCP port nothing listens on at ``ip`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((ip, 0))
        return probe.getsockname()[1]


class LiveDeployment:
    """The deployment named by ``$CHRONOLOG_CTYPES_LIVE_CONFIG``.

    ``portal`` comes from the configuration file; ``query`` too, except
    its port: each test process listens on a port of its own, since
    concurrent reader processes cannot share one.  ``archive_dir`` is
    ``$CHRONOLOG_CTYPES_ARCHIVE_DIR`` or None.
    """

    def __init__(self, config_path: str) -> None:
        config = chronolog_ctypes.load_client_config(config_path)
        self.config_path = config_path
        self.portal = config.portal
        query = config.query
        self.query = chronolog_ctypes.ClientQueryServiceConf(
            query.proto, query.ip, free_port(query.ip), query.provider_id)
        self.archive_dir = os.environ.get(
            chronolog_ctypes.ARCHIVE_DIR_ENV) or None

    def client(self, reader: bool = True) -> chronolog_ctypes.Client:
        """A client of the deployment, not connected yet."""
        return chronolog_ctypes.Client.deployment(
            self.portal, self.query if reader else None)

    def child_env(self) -> Dict[str, str]:
        """What a child process needs to use the deployment."""
        env = {LIVE_CONFIG_ENV: self.config_path}
        for name in ("FI_SOCKETS_IFACE", "FI_TCP_IFACE"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env


def chronolog_built() -> bool:
    return "chronolog" in chronolog_ctypes.library_info()["backends"]


@pytest.fixture(scope="session")
def live_deployment() -> LiveDeployment:
    """The live deployment; skips the test (saying why) when there is none."""
    path = os.environ.get(LIVE_CONFIG_ENV)
    if not path:
        pytest.skip("no live ChronoLog deployment: set %s to its client "
                    "configuration file" % LIVE_CONFIG_ENV)
    if not chronolog_built():
        pytest.skip("%s is set, but this library was built without the "
                    "ChronoLog backend" % LIVE_CONFIG_ENV)
    deployment = LiveDeployment(path)
    if deployment.portal.ip.startswith("127."):
        # libfabric would otherwise also listen on the host's other
        # interfaces; it reads these when the first client starts.
        os.environ.setdefault("FI_SOCKETS_IFACE", "lo")
        os.environ.setdefault("FI_TCP_IFACE", "lo")
    return deployment
