"""The examples of the command-line and logging-handler pages, run.

In docs/cli/*.md and docs/logging-handler.md:

- a ```console block holds ``$ command`` lines, each followed by the
  output it prints (stdout then stderr). The blocks of a page run in
  order, in a fresh directory, with CHRONOLOG_CTYPES_STORE pointing at a
  fresh store. ``...`` in an output stands for any text (times, ids).
  A plain ``chronolog-ctypes ...`` line runs in this process; a line with
  shell syntax (pipes, redirections, ``;``) runs in bash, with
  ``chronolog-ctypes`` on its PATH.
- a ```python block runs, in order with the page's other python blocks
  in one interpreter; when an ```output block follows it, what the block
  printed must match it (with ``...`` as above).

Other blocks (```sh, ```json, ```text) are not run.
"""

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from chronolog_ctypes import cli

from conftest import FakeStdin, child_env

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted((DOCS / "cli").glob("*.md")) + [DOCS / "logging-handler.md"]

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
# "[printf ... |] chronolog-ctypes ARGS[; echo "exit status $?"]" with no
# other shell syntax in ARGS.
_IN_PROCESS = re.compile(
    r"(?:(?P<producer>printf '[^']*')\s*\|\s*)?"
    r"chronolog-ctypes\s(?P<arguments>[^|<>;&$`(){}*?]*?)"
    r"(?P<status>;\s*echo \"exit status \$\?\")?")


def blocks(page):
    """The fenced blocks of a page: (language, text, line number)."""
    text = page.read_text(encoding="utf-8")
    return [(match.group(1), match.group(2),
             text.count("\n", 0, match.start()) + 1)
            for match in _FENCE.finditer(text)]


def console_steps(page):
    """Every ``$ command`` of a page's console blocks with its output."""
    steps = []
    for language, text, line in blocks(page):
        if language != "console":
            continue
        for offset, row in enumerate(text.splitlines()):
            if row.startswith("$ "):
                steps.append([row[2:], [], line + 1 + offset])
            elif steps:
                steps[-1][1].append(row)
            else:
                raise AssertionError("%s:%d: output before any command"
                                     % (page.name, line))
    return [(command, "\n".join(output), line)
            for command, output, line in steps]


def python_steps(page):
    """Every python block of a page with the output block after it."""
    found = blocks(page)
    steps = []
    for position, (language, text, line) in enumerate(found):
        if language != "python":
            continue
        following = found[position + 1] if position + 1 < len(found) else None
        expected = following[1] if following and following[0] == "output" else None
        steps.append((text, expected, line))
    return steps


def matches(expected, actual):
    """Whether actual is expected, where '...' stands for any text."""
    pattern = ".*?".join(re.escape(piece) for piece in
                         expected.rstrip("\n").split("..."))
    return re.fullmatch(pattern, actual.rstrip("\n"), re.S) is not None


def docs_env(workdir):
    """A child's environment: the store workdir/store, the tool on PATH."""
    env = child_env(CHRONOLOG_CTYPES_STORE=str(workdir / "store"))

    bin_dir = workdir / ".bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "chronolog-ctypes"
    wrapper.write_text('#!/bin/sh\nexec "%s" -m chronolog_ctypes "$@"\n'
                       % sys.executable)
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env["PATH"] = str(bin_dir) + os.pathsep + env.get("PATH", "")
    return env


CONSOLE_PAGES = [page for page in PAGES if console_steps(page)]
PYTHON_PAGES = [page for page in PAGES if python_steps(page)]


def test_every_subcommand_has_a_page_with_examples():
    names = {page.stem for page in CONSOLE_PAGES}
    assert {"README", "ingest", "replay", "chronicles", "stories", "attr",
            "destroy"} <= names
    assert DOCS / "logging-handler.md" in PYTHON_PAGES


def test_matches_understands_the_ellipsis():
    assert matches("events: 3\nfirst: ... (...)", "events: 3\nfirst: a (1)\n")
    assert not matches("events: 3", "events: 4")
    assert matches("a\n...\nz", "a\nb\nc\nz")


@pytest.mark.parametrize("page", CONSOLE_PAGES, ids=lambda page: page.name)
def test_console_examples(page, tmp_path, monkeypatch, capsysbinary):
    env = docs_env(tmp_path)
    monkeypatch.setenv("CHRONOLOG_CTYPES_STORE", env["CHRONOLOG_CTYPES_STORE"])
    monkeypatch.chdir(tmp_path)

    def in_process(arguments, stdin=b""):
        monkeypatch.setattr(sys, "stdin", FakeStdin(stdin))
        status = cli.main(shlex.split(arguments))
        out, err = capsysbinary.readouterr()
        return status, out + err

    for command, expected, line in console_steps(page):
        # The tool runs in this process when the line allows it (much
        # faster than a new interpreter); other lines run in bash.
        simple = _IN_PROCESS.fullmatch(command)
        if simple is not None:
            stdin = b""
            if simple.group("producer"):
                stdin = subprocess.run(
                    ["bash", "-c", simple.group("producer")], env=env,
                    stdout=subprocess.PIPE, check=True).stdout
            status, actual_bytes = in_process(simple.group("arguments"), stdin)
            if simple.group("status"):
                actual_bytes += b"exit status %d\n" % status
        else:
            done = subprocess.run(["bash", "-c", command], env=env,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=60)
            actual_bytes = done.stdout
        actual = actual_bytes.decode("utf-8", "replace")
        assert matches(expected, actual), (
            "%s:%d: $ %s\n--- expected\n%s\n--- got\n%s"
            % (page.name, line, command, expected, actual))


_RUNNER = r"""
import contextlib, io, json, sys, traceback
namespace = {"__name__": "__main__"}
for code in json.load(sys.stdin):
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<docs>", "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        print(json.dumps({"output": out.getvalue(), "failed": True}))
        break
    print(json.dumps({"output": out.getvalue(), "failed": False}))
"""


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=lambda page: page.name)
def test_python_examples(page, tmp_path):
    steps = python_steps(page)
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER], cwd=str(tmp_path),
        env=docs_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=120,
        input=json.dumps([code for code, _, _ in steps]).encode())

    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr.decode()
    assert len(results) == len(steps), done.stderr.decode()
    for (_, expected, line), result in zip(steps, results):
        assert not result["failed"], "%s:%d:\n%s" % (
            page.name, line, done.stderr.decode())
        if expected is not None:
            assert matches(expected, result["output"]), (
                "%s:%d:\n--- expected\n%s\n--- got\n%s"
                % (page.name, line, expected, result["output"]))
    assert done.stderr == b""
