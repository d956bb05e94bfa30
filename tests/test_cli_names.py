"""Names given to the tool, and names it prints."""

import os
import subprocess
import sys

import pytest

import chronolog_ctypes
from chronolog_ctypes import cli

from conftest import child_env

EMPTY_NAMES = [
    (("ingest", "c", ""), "story name"),
    (("ingest", "", "s"), "chronicle name"),
    (("replay", "c", ""), "story name"),
    (("stories", ""), "chronicle name"),
    (("attr", "", "owner"), "chronicle name"),
    (("attr", "c", "", "value"), "attribute key"),
    (("attr", "c", "owner", ""), "attribute value"),
    (("destroy", ""), "chronicle name"),
    (("destroy", "c", ""), "story name"),
]


@pytest.mark.parametrize("args, words", EMPTY_NAMES,
                         ids=[" ".join(args) for args, _ in EMPTY_NAMES])
def test_an_empty_name_is_a_usage_error_before_anything_is_done(
        run, store, args, words):
    status, out, err = run(*args, stdin=b"line\n")

    assert (status, out) == (2, b"")
    assert err == (
        b"chronolog-ctypes: error: the %s is empty (CL_ERR_INVALID_ARG): "
        b"give one character or more; nothing was done\n"
        % words.encode())
    assert not os.path.exists(store)  # not even opened


def test_ingest_with_an_empty_story_creates_no_chronicle(run):
    assert run("ingest", "-q", "other", "s", stdin=b"x\n")[0] == 0

    assert run("ingest", "c", "", stdin=b"x\n")[0] == 2

    assert run("chronicles") == (0, b"other\n", b"")


# What Python makes of an argument holding the byte 0xff, which is not
# UTF-8: a surrogate escape.
NOT_UTF8 = b"caf\xff".decode("utf-8", "surrogateescape")


@pytest.mark.parametrize("args, words", [
    (("ingest", NOT_UTF8, "s"), "chronicle name"),
    (("replay", "c", NOT_UTF8), "story name"),
    (("attr", "c", NOT_UTF8), "attribute key"),
    (("attr", "c", "owner", NOT_UTF8), "attribute value"),
], ids=["chronicle", "story", "key", "value"])
def test_a_name_that_is_not_utf8_is_named_readably(run, store, args, words):
    status, out, err = run(*args, stdin=b"line\n")

    assert (status, out) == (2, b"")
    assert err == (
        b"chronolog-ctypes: error: the %s 'caf\\xff' is not valid UTF-8 "
        b"(CL_ERR_INVALID_ARG): give it in UTF-8 (each \\xHH above is a byte "
        b"that is not); nothing was done\n" % words.encode())
    assert not os.path.exists(store)


def test_bytes_that_are_not_utf8_in_argv(store):
    result = subprocess.run(
        [sys.executable, "-m", "chronolog_ctypes", "--store", store,
         "ingest", "c", b"st\xffry"], env=child_env(),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=60)

    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.startswith(
        b"chronolog-ctypes: error: the story name 'st\\xffry' is not valid "
        b"UTF-8 (CL_ERR_INVALID_ARG): ")


@pytest.mark.parametrize("name, shown", [
    ("plain caf\u00e9 \u2603", "plain caf\u00e9 \u2603"),
    ("two\nlines", "two\\nlines"),
    ("back\\slash", "back\\\\slash"),
    ("tab\tcr\r", "tab\\tcr\\r"),
    ("bell\x07 del\x7f c1\x85", "bell\\x07 del\\x7f c1\\x85"),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    (NOT_UTF8, "caf\\xff"),
])
def test_escape_name(name, shown):
    assert cli.escape_name(name) == shown


ODD_NAMES = ["two\nlines", "back\\slash", "tab\there", "caf\u00e9", "plain"]


def test_chronicles_prints_one_escaped_name_a_line(run, store):
    with chronolog_ctypes.Client.embedded(store) as client:
        for name in ODD_NAMES:
            client.create_chronicle(name)

    status, out, err = run("chronicles")

    assert (status, err) == (0, b"")
    assert out.decode("utf-8").splitlines() == [
        "back\\\\slash", "caf\u00e9", "plain", "tab\\there", "two\\nlines"]


def test_stories_prints_one_escaped_name_a_line(run, store):
    with chronolog_ctypes.Client.embedded(store) as client:
        client.create_chronicle("c")
        for name in ODD_NAMES:
            client.acquire_story("c", name).release()

    status, out, err = run("stories", "c")

    assert (status, err) == (0, b"")
    assert out == (b"back\\\\slash\ncaf\xc3\xa9\nplain\ntab\\there\n"
                   b"two\\nlines\n")

