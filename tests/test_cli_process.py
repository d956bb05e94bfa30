"""The tool as a separate process: python -m, pipes closed early, stdin."""

import io
import os
import shutil
import subprocess
import sys
import threading

import pytest

from chronolog_ctypes import cli

from conftest import FakeStdin, child_env

LINES = 20000  # about 1.6 MB: well beyond a pipe's buffer


def tool(*args):
    return [sys.executable, "-m", "chronolog_ctypes"] + list(args)


@pytest.fixture(scope="module")
def long_store(tmp_path_factory):
    """A store whose story c/s holds LINES events of about 80 bytes."""
    store = str(tmp_path_factory.mktemp("pipe") / "store")
    data = b"".join(b"event %06d %s\n" % (number, b"x" * 66)
                    for number in range(LINES))
    saved = sys.stdin
    sys.stdin = FakeStdin(data)
    try:
        assert cli.main(["--store", store, "ingest", "-q", "c", "s"]) == 0
    finally:
        sys.stdin = saved
    return store


def test_python_m_ingests_stdin_and_replays(tmp_path):
    store = str(tmp_path / "store")
    env = child_env()

    ingest = subprocess.run(tool("--store", store, "ingest", "c", "s"),
                            input=b"one\r\ntwo\n\xff three", env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert ingest.returncode == 0, ingest.stderr
    assert ingest.stderr == b""
    assert b"events:   3\n" in ingest.stdout

    replay = subprocess.run(tool("--store", store, "replay", "c", "s"),
                            env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert (replay.returncode, replay.stderr) == (0, b"")
    assert replay.stdout == b"one\ntwo\n\xff three\n"


def test_reader_closing_the_pipe_early_ends_quietly_with_141(long_store):
    child = subprocess.Popen(
        tool("--store", long_store, "replay", "c", "s"), env=child_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = child.stdout.readline()
    child.stdout.close()  # as `head -n 1` does
    stderr = child.stderr.read()
    child.stderr.close()
    status = child.wait(timeout=60)

    assert first == b"event 000000 " + b"x" * 66 + b"\n"
    assert stderr == b""
    assert status == cli.EXIT_BROKEN_PIPE == 141


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("head") is None,
                    reason="needs bash and head")
@pytest.mark.parametrize("output_format", ["plain", "jsonl", "csv"])
def test_shell_pipeline_into_head(long_store, output_format):
    command = (
        "set -o pipefail; \"$PY\" -m chronolog_ctypes --store \"$STORE\" "
        "replay c s --format %s | head -n 3; echo \"status ${PIPESTATUS[0]}\""
        % output_format)
    result = subprocess.run(
        ["bash", "-c", command], env=child_env(PY=sys.executable,
                                               STORE=long_store),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)

    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[-1] == b"status 141"
    assert result.stderr == b""
    if output_format == "plain":
        assert lines[2] == b"event 000002 " + b"x" * 66


def test_tail_of_a_long_story(long_store, capsysbinary):
    assert cli.main(["--store", long_store, "replay", "c", "s",
                     "--tail", "2"]) == 0
    out, _ = capsysbinary.readouterr()
    assert out == b"".join(b"event %06d %s\n" % (number, b"x" * 66)
                           for number in (LINES - 2, LINES - 1))


class _ClosedPipe(io.RawIOBase):
    """A stdout whose reader has gone: the first write raises BrokenPipeError.

    Later writes succeed, as they do once the tool has pointed its
    standard output at /dev/null.
    """

    def __init__(self):
        super().__init__()
        self.broken = 0

    def writable(self):
        return True

    def write(self, data):
        if not self.broken:
            self.broken += 1
            raise BrokenPipeError(32, "Broken pipe")
        return len(data)


def test_broken_pipe_in_process_returns_141(long_store, monkeypatch, capsys):
    pipe = _ClosedPipe()
    closed = io.BufferedWriter(pipe, buffer_size=1024)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(closed))

    status = cli.main(["--store", long_store, "replay", "c", "s"])

    assert status == 141
    assert pipe.broken == 1
    assert capsys.readouterr().err == ""


def test_interrupt_returns_130(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli._COMMANDS, "chronicles",
                        (None, interrupted, False))

    import chronolog_ctypes

    chronolog_ctypes.Client.embedded(str(tmp_path / "store")).connect().close()
    status = cli.main(["--store", str(tmp_path / "store"), "chronicles"])

    assert status == cli.EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == "chronolog-ctypes: interrupted\n"


class _FullDisk(_ClosedPipe):
    """A stdout whose first write fails with ENOSPC."""

    def write(self, data):
        if not self.broken:
            self.broken += 1
            raise OSError(28, "No space left on device")
        return len(data)


def test_output_that_cannot_be_written(long_store, monkeypatch, capsys):
    full = io.BufferedWriter(_FullDisk(), buffer_size=1024)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(full))

    status = cli.main(["--store", long_store, "replay", "c", "s"])

    assert status == cli.EXIT_FILE == 3
    assert capsys.readouterr().err == (
        "chronolog-ctypes: error: cannot write the output: No space left on "
        "device (ENOSPC): check where standard output goes\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_opened_only_to_be_read(tmp_path):
    fifo = str(tmp_path / "pipe")
    os.mkfifo(fifo)
    lines = b"".join(b"line %d\n" % number for number in range(1000))

    def write():
        try:
            with open(fifo, "wb") as stream:
                stream.write(lines)
        except BrokenPipeError:
            pass  # the reader closed it: the assertions below say so

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    store = str(tmp_path / "store")
    try:
        done = subprocess.run(tool("--store", store, "ingest", "-q", "c", "s",
                                   fifo), env=child_env(), timeout=20,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finally:
        if writer.is_alive():  # never opened for reading: let it go
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(10)

    assert (done.returncode, done.stderr) == (0, b"")
    replayed = subprocess.run(tool("--store", store, "replay", "c", "s"),
                              env=child_env(), stdout=subprocess.PIPE)
    assert replayed.stdout == lines
