"""Names given to the tool, and names it prints."""

import os

import pytest

EMPTY_NAMES = [
    (("ingest", "c", ""), "story name"),
    (("ingest", "", "s"), "chronicle name"),
    (("replay", "c", ""), "story name"),
    (("stories", ""), "chronicle name"),
    (("attr", "", "owner"), "chronicle name"),
    (("attr", "c", "", "value"), "attribute key"),
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
        b"give a name of one character or more; nothing was done\n"
        % words.encode())
    assert not os.path.exists(store)  # not even opened


def test_ingest_with_an_empty_story_creates_no_chronicle(run):
    assert run("ingest", "-q", "other", "s", stdin=b"x\n")[0] == 0

    assert run("ingest", "c", "", stdin=b"x\n")[0] == 2

    assert run("chronicles") == (0, b"other\n", b"")
