"""chronolog-ctypes chronicles, stories, attr and destroy."""


import os

import pytest

import chronolog_ctypes
from chronolog_ctypes import cli


@pytest.fixture
def filled(run):
    """Chronicles 'web' (stories 'access', 'errors') and 'batch' ('jobs')."""
    for chronicle, story in (("web", "errors"), ("web", "access"),
                             ("batch", "jobs")):
        assert run("ingest", "-q", chronicle, story, stdin=b"x\n")[0] == 0


def test_chronicles_lists_names_sorted_one_a_line(run, filled):
    assert run("chronicles") == (0, b"batch\nweb\n", b"")


def test_chronicles_of_an_empty_store_prints_nothing(run, store):
    chronolog_ctypes.Client.embedded(store).connect().close()
    assert run("chronicles") == (0, b"", b"")


def test_a_directory_without_a_store_is_not_made_one(run, store):
    os.mkdir(store)
    status, out, err = run("chronicles")
    assert (status, out) == (cli.EXIT_CHRONOLOG, b"")
    assert err.startswith(("chronolog-ctypes: error: no store at %s: the "
                           "directory holds no chronolog.db (CL_ERR_NOT_EXIST)"
                           % store).encode())
    assert os.listdir(store) == []


@pytest.mark.parametrize("command", [
    ["chronicles"], ["stories", "web"], ["replay", "web", "access"],
    ["attr", "web", "owner"], ["destroy", "web"],
])
def test_a_store_given_by_store_must_exist_except_for_ingest(
        run, store, command):
    status, out, err = run(*command)
    assert (status, out) == (cli.EXIT_CHRONOLOG, b"")
    assert err.decode() == (
        "chronolog-ctypes: error: no store at %s: the directory does not "
        "exist (CL_ERR_NOT_EXIST): check the --store path ('ingest' creates "
        "a store; without --store, the default store is %s)\n"
        % (store, cli.default_store_dir()))
    assert not os.path.lexists(store)
    assert run("ingest", "-q", "web", "access", stdin=b"x\n")[0] == 0
    assert os.path.isdir(store)


def test_the_default_store_is_made_by_any_subcommand(run_tool, tmp_path,
                                                     monkeypatch):
    default = tmp_path / "data" / "store"
    monkeypatch.setenv("CHRONOLOG_CTYPES_STORE", str(default))
    assert run_tool("chronicles") == (0, b"", b"")
    assert default.is_dir()


def test_stories_lists_the_stories_of_a_chronicle(run, filled):
    assert run("stories", "web") == (0, b"access\nerrors\n", b"")
    assert run("stories", "batch") == (0, b"jobs\n", b"")


def test_stories_of_a_missing_chronicle(run, filled):
    status, out, err = run("stories", "nope")
    assert (status, out) == (1, b"")
    assert err.startswith(b"chronolog-ctypes: error: cannot list the stories "
                          b"of chronicle 'nope'")
    assert b" (CL_ERR_NOT_EXIST): list what exists with " in err


def test_attr_sets_then_gets_a_value(run, store):
    # Attributes come from the program that created the chronicle; the tool
    # changes them, as ChronoVisor allows, but adds none.
    with chronolog_ctypes.Client.embedded(store) as client:
        client.create_chronicle("web", {"owner": "nobody"})
        client.create_chronicle("batch")
    assert run("attr", "web", "owner", "ops team \u00e9") == (0, b"", b"")
    assert run("attr", "web", "owner") == (
        0, "ops team \u00e9\n".encode("utf-8"), b"")

    assert run("attr", "web", "owner", "someone else")[0] == 0
    assert run("attr", "web", "owner")[1] == b"someone else\n"
    assert run("attr", "batch", "owner")[0] == 1
    status, _, err = run("attr", "batch", "owner", "ops")
    assert status == 1
    assert err.startswith(b"chronolog-ctypes: error: cannot set attribute "
                          b"'owner' of chronicle 'batch'")
    assert b"(CL_ERR_NOT_EXIST)" in err


def test_attr_of_a_missing_chronicle_or_key(run, filled):
    status, out, err = run("attr", "nope", "owner")
    assert (status, out) == (1, b"")
    assert err.startswith(b"chronolog-ctypes: error: cannot read attribute "
                          b"'owner' of chronicle 'nope'")
    assert b"(CL_ERR_NOT_EXIST)" in err

    status, _, err = run("attr", "nope", "owner", "value")
    assert status == 1
    assert err.startswith(b"chronolog-ctypes: error: cannot set attribute "
                          b"'owner' of chronicle 'nope'")

    status, _, err = run("attr", "web", "missing-key")
    assert status == 1
    assert b"(CL_ERR_NOT_EXIST)" in err


def test_attr_with_an_empty_value_is_refused(run, filled):
    status, _, err = run("attr", "web", "owner", "")
    assert status == 2
    assert err == (b"chronolog-ctypes: error: the attribute value is empty "
                   b"(CL_ERR_INVALID_ARG): give one character or more; "
                   b"nothing was done\n")


def test_destroy_a_story_then_the_chronicle(run, filled):
    assert run("destroy", "web", "errors") == (0, b"", b"")
    assert run("stories", "web")[1] == b"access\n"

    assert run("destroy", "web") == (0, b"", b"")
    assert run("chronicles")[1] == b"batch\n"


def test_destroy_missing_things(run, filled):
    status, _, err = run("destroy", "web", "nope")
    assert status == 1
    assert err.startswith(b"chronolog-ctypes: error: cannot destroy story "
                          b"'nope' of chronicle 'web'")
    assert b"(CL_ERR_NOT_EXIST)" in err

    status, _, err = run("destroy", "nope")
    assert status == 1
    assert err.startswith(b"chronolog-ctypes: error: cannot destroy "
                          b"chronicle 'nope'")


def test_destroy_is_refused_while_a_program_holds_a_story(run, filled, store):
    with chronolog_ctypes.Client.embedded(store) as holder:
        with holder.acquire_story("web", "access"):
            status, _, err = run("destroy", "web")
            assert status == 1
            assert b"(CL_ERR_ACQUIRED): a program still holds a story" in err

            status, _, err = run("destroy", "web", "access")
            assert status == 1
            assert b"(CL_ERR_ACQUIRED)" in err

    assert run("destroy", "web", "access")[0] == 0


def test_names_with_spaces_and_unicode(run):
    assert run("ingest", "-q", "my logs", "r\u00e9seau", stdin=b"x\n")[0] == 0
    assert run("chronicles")[1] == b"my logs\n"
    assert run("stories", "my logs")[1] == "r\u00e9seau\n".encode("utf-8")
    assert run("replay", "my logs", "r\u00e9seau")[1] == b"x\n"
