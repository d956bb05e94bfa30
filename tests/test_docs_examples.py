"""The examples of the documentation, run.

In docs/cli/*.md, docs/logging-handler.md, docs/quickstart.md,
docs/migration.md and README.md:

- a ```console block holds ``$ command`` lines, each followed by the
  output it prints (stdout then stderr). The blocks of a page run in
  order, in a fresh directory, with CHRONOLOG_CTYPES_STORE pointing at a
  fresh store. ``...`` in an output stands for any text (times, ids).
  A plain ``chronolog-ctypes ...`` line runs in this process; a line with
  shell syntax (pipes, redirections, ``;``) runs in bash, with
  ``chronolog-ctypes`` on its PATH.
- a ```python block runs, in order with the page's other python blocks
  in one interpreter; when an ```output block follows it, what the block
  printed must match it (with ``...`` as above). The blocks run in a
  fresh directory, which relative store paths such as ``demo-store`` are
  taken from, with CHRONOLOG_CTYPES_STORE pointing at a fresh store.
- a ```python block right after the comment
  ``<!-- skip-example: REASON -->`` (one that needs a ChronoLog
  deployment, say) is not run: it is reported as a skipped test, with
  the reason.

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

from conftest import FakeStdin, child_env, chronolog_built

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted((DOCS / "cli").glob("*.md")) + [
    DOCS / "logging-handler.md", DOCS / "quickstart.md",
    DOCS / "migration.md", ROOT / "README.md"]

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
# The comment that keeps the block after it from running.
_SKIP = re.compile(r"<!--\s*skip-example:(.*?)-->", re.S)
# "[printf ... |] chronolog-ctypes ARGS[; echo "exit status $?"]" with no
# other shell syntax in ARGS.
_IN_PROCESS = re.compile(
    r"(?:(?P<producer>printf '[^']*')\s*\|\s*)?"
    r"chronolog-ctypes\s(?P<arguments>[^|<>;&$`(){}*?]*?)"
    r"(?P<status>;\s*echo \"exit status \$\?\")?")


def page_id(page):
    """The page's path from the repository's root, as a test id."""
    return page.relative_to(ROOT).as_posix()


def blocks(page):
    """The fenced blocks of a page.

    Each is (language, text, line number, skip reason), the reason being
    that of a skip-example comment right before the block, else None.
    """
    text = page.read_text(encoding="utf-8")
    found = []
    previous_end = 0
    for match in _FENCE.finditer(text):
        between = text[previous_end:match.start()].rstrip()
        markers = list(_SKIP.finditer(between))
        reason = None
        if markers and markers[-1].end() == len(between):
            reason = " ".join(markers[-1].group(1).split())
        found.append((match.group(1), match.group(2),
                      text.count("\n", 0, match.start()) + 1, reason))
        previous_end = match.end()
    return found


def console_steps(page):
    """Every ``$ command`` of a page's console blocks with its output."""
    steps = []
    for language, text, line, _ in blocks(page):
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
    """Every python block of a page with the output block after it.

    Each is (code, expected output or None, line number, skip reason or
    None).
    """
    found = blocks(page)
    steps = []
    for position, (language, text, line, reason) in enumerate(found):
        if language != "python":
            continue
        following = found[position + 1] if position + 1 < len(found) else None
        expected = following[1] if following and following[0] == "output" else None
        steps.append((text, expected, line, reason))
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
SKIPPED_PYTHON = [(page, line, reason) for page in PAGES
                  for _, _, line, reason in python_steps(page)
                  if reason is not None]


def test_every_subcommand_has_a_page_with_examples():
    names = {page.stem for page in CONSOLE_PAGES}
    assert {"README", "ingest", "replay", "chronicles", "stories", "attr",
            "destroy"} <= names
    assert {DOCS / "logging-handler.md", DOCS / "quickstart.md",
            DOCS / "migration.md", ROOT / "README.md"} <= set(PYTHON_PAGES)


def test_blocks_read_the_skip_comment_right_before_a_block(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- skip-example: needs a deployment -->\n"
        "```python\nfirst()\n```\n"
        "<!-- skip-example: not this one -->\n\ntext between\n"
        "```python\nsecond()\n```\n\n"
        "<!-- skip-example:  two lines\n of reason -->\n\n"
        "```python\nthird()\n```\n```output\n3\n```\n")

    assert python_steps(page) == [
        ("first()\n", None, 2, "needs a deployment"),
        ("second()\n", None, 8, None),
        ("third()\n", "3\n", 15, "two lines of reason"),
    ]


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_skip_comment_stands_before_a_python_block(page):
    # A comment elsewhere (before a paragraph, or another kind of block)
    # would mean that the example meant to be skipped runs.
    comments = _SKIP.findall(page.read_text(encoding="utf-8"))
    reasons = [reason for language, _, _, reason in blocks(page)
               if reason is not None and language == "python"]

    assert [" ".join(comment.split()) for comment in comments] == reasons
    assert all(reasons)


def test_matches_understands_the_ellipsis():
    assert matches("events: 3\nfirst: ... (...)", "events: 3\nfirst: a (1)\n")
    assert not matches("events: 3", "events: 4")
    assert matches("a\n...\nz", "a\nb\nc\nz")


@pytest.mark.parametrize("page", CONSOLE_PAGES, ids=page_id)
def test_console_examples(page, tmp_path, monkeypatch, capsysbinary):
    env = docs_env(tmp_path)
    monkeypatch.setenv("CHRONOLOG_CTYPES_STORE", env["CHRONOLOG_CTYPES_STORE"])
    monkeypatch.chdir(tmp_path)

    def in_process(arguments, stdin=b""):
        monkeypatch.setattr(sys, "stdin", FakeStdin(stdin))
        status = cli.main(shlex.split(arguments))
        out, err = capsysbinary.readouterr()
        return status, out + err

    has_chronolog = chronolog_built()
    for command, expected, line in console_steps(page):
        if has_chronolog and "(CLC_ERR_BACKEND_UNAVAILABLE)" in expected:
            continue  # the answer of a library built without ChronoLog
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


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=page_id)
def test_python_examples(page, tmp_path):
    steps = [step for step in python_steps(page) if step[3] is None]
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER], cwd=str(tmp_path),
        env=docs_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=120,
        input=json.dumps([code for code, _, _, _ in steps]).encode())

    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr.decode()
    assert len(results) == len(steps), done.stderr.decode()
    for (_, expected, line, _), result in zip(steps, results):
        assert not result["failed"], "%s:%d:\n%s" % (
            page.name, line, done.stderr.decode())
        if expected is not None:
            assert matches(expected, result["output"]), (
                "%s:%d:\n--- expected\n%s\n--- got\n%s"
                % (page.name, line, expected, result["output"]))
    assert done.stderr == b""


@pytest.mark.parametrize(
    "page, line, reason", SKIPPED_PYTHON,
    ids=["%s:%d" % (page_id(page), line) for page, line, _ in SKIPPED_PYTHON])
def test_python_examples_marked_to_skip(page, line, reason):
    pytest.skip("%s:%d: %s" % (page_id(page), line, reason))

