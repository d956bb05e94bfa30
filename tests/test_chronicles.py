"""Chronicles: create, destroy, attributes, listing; both faces."""

import logging

import pytest

import chronolog_ctypes as cl


def test_create_and_list(reader):
    assert reader.CreateChronicle("b", {}, 0) == cl.CL_SUCCESS
    reader.create_chronicle("a", {"owner": "me"}, 3)
    assert reader.chronicles() == ["a", "b"]
    assert reader.ShowChronicles() == ["a", "b"]


def test_show_chronicles_appends_to_the_given_list(reader):
    reader.create_chronicle("a")
    names = ["kept"]
    assert reader.ShowChronicles(names) is names
    assert names == ["kept", "a"]


def test_creating_twice_gives_chronicle_exists(reader):
    reader.create_chronicle("a")
    assert reader.CreateChronicle("a", {}, 0) == cl.CL_ERR_CHRONICLE_EXISTS
    with pytest.raises(cl.ChronicleExistsError) as caught:
        reader.create_chronicle("a")
    assert caught.value.status == cl.CL_ERR_CHRONICLE_EXISTS
    assert "'a'" in caught.value.message


def test_empty_name_gives_invalid_arg(reader):
    assert reader.CreateChronicle("", {}, 0) == cl.CL_ERR_INVALID_ARG
    assert reader.DestroyChronicle("") == cl.CL_ERR_INVALID_ARG
    with pytest.raises(cl.InvalidArgumentError):
        reader.create_chronicle("")
    assert reader.chronicles() == []


def test_destroy(reader):
    reader.create_chronicle("a")
    reader.create_chronicle("b")
    assert reader.DestroyChronicle("a") == cl.CL_SUCCESS
    reader.destroy_chronicle("b")
    assert reader.chronicles() == []


def test_destroying_a_missing_chronicle_gives_not_exist(reader):
    assert reader.DestroyChronicle("nope") == cl.CL_ERR_NOT_EXIST
    with pytest.raises(cl.NotExistError):
        reader.destroy_chronicle("nope")


def test_destroying_with_an_acquired_story_gives_acquired(reader, story):
    assert reader.DestroyChronicle("chron") == cl.CL_ERR_ACQUIRED
    with pytest.raises(cl.AcquiredError):
        reader.destroy_chronicle("chron")
    story.release()
    reader.destroy_chronicle("chron")
    assert reader.chronicles() == []


def test_another_clients_acquisition_blocks_destroy(reader, writer, story):
    assert writer.DestroyChronicle("chron") == cl.CL_ERR_ACQUIRED


def test_attributes_given_at_creation_are_readable(reader):
    reader.create_chronicle("a", {"owner": "me", "kind": "demo"})
    assert reader.get_chronicle_attr("a", "owner") == "me"
    assert reader.GetChronicleAttr("a", "kind") == (cl.CL_SUCCESS, "demo")


def test_edit_replaces_attributes_but_adds_none(reader):
    # As ChronoVisor, which edits only attributes that exist.
    reader.create_chronicle("a", {"owner": "me", "kind": "demo"})
    assert reader.EditChronicleAttr("a", "owner", "you") == cl.CL_SUCCESS
    reader.edit_chronicle_attr("a", "kind", "välue")
    assert reader.get_chronicle_attr("a", "owner") == "you"
    assert reader.get_chronicle_attr("a", "kind") == "välue"
    assert reader.EditChronicleAttr("a", "new", "v") == cl.CL_ERR_NOT_EXIST
    with pytest.raises(cl.NotExistError, match="has no attribute 'new'"):
        reader.edit_chronicle_attr("a", "new", "v")
    assert reader.GetChronicleAttr("a", "new") == (cl.CL_ERR_NOT_EXIST, "")


def test_missing_attribute_or_chronicle_gives_not_exist(reader):
    reader.create_chronicle("a")
    assert reader.GetChronicleAttr("a", "nokey") == (cl.CL_ERR_NOT_EXIST, "")
    assert reader.GetChronicleAttr("b", "k") == (cl.CL_ERR_NOT_EXIST, "")
    assert reader.EditChronicleAttr("b", "k", "v") == cl.CL_ERR_NOT_EXIST
    with pytest.raises(cl.NotExistError):
        reader.get_chronicle_attr("a", "nokey")
    with pytest.raises(cl.NotExistError):
        reader.edit_chronicle_attr("b", "k", "v")


def test_empty_key_or_value_gives_invalid_arg(reader):
    reader.create_chronicle("a")
    assert reader.GetChronicleAttr("a", "") == (cl.CL_ERR_INVALID_ARG, "")
    assert reader.EditChronicleAttr("a", "", "v") == cl.CL_ERR_INVALID_ARG
    assert reader.EditChronicleAttr("a", "k", "") == cl.CL_ERR_INVALID_ARG
    with pytest.raises(cl.InvalidArgumentError):
        reader.edit_chronicle_attr("a", "k", "")


def test_before_connect_gives_no_connection(store):
    client = cl.Client.embedded(store)
    try:
        assert client.CreateChronicle("a", {}, 0) == cl.CL_ERR_NO_CONNECTION
        assert client.DestroyChronicle("a") == cl.CL_ERR_NO_CONNECTION
        assert client.GetChronicleAttr("a", "k") == (
            cl.CL_ERR_NO_CONNECTION, "")
        assert client.EditChronicleAttr("a", "k", "v") == \
            cl.CL_ERR_NO_CONNECTION
        assert client.ShowChronicles() == []
        with pytest.raises(cl.NoConnectionError):
            client.chronicles()
        with pytest.raises(cl.NoConnectionError):
            client.create_chronicle("a")
    finally:
        client.close()


@pytest.mark.parametrize("call,argument", [
    (lambda c: c.create_chronicle(5), "name"),
    (lambda c: c.create_chronicle("a", ["k"]), "attrs"),
    (lambda c: c.create_chronicle("a", {"k": 1}), "attrs['k']"),
    (lambda c: c.create_chronicle("a", {1: "v"}), "attrs key"),
    (lambda c: c.create_chronicle("a", {}, "1"), "flags"),
    (lambda c: c.get_chronicle_attr("a", None), "key"),
    (lambda c: c.edit_chronicle_attr(b"a", "k", "v"), "chronicle"),
    (lambda c: c.destroy_chronicle(None), "name"),
])
def test_wrong_types_raise_type_error_naming_the_argument(reader, call,
                                                         argument):
    with pytest.raises(TypeError) as caught:
        call(reader)
    assert str(caught.value).startswith(argument + " must be")


@pytest.mark.parametrize("call,argument", [
    (lambda c: c.create_chronicle("a\0b"), "name"),
    (lambda c: c.create_chronicle("a", {"k\0": "v"}), "attrs key"),
    (lambda c: c.create_chronicle("a", {}, 2 ** 31), "flags"),
    (lambda c: c.create_chronicle("a", {}, -2 ** 31 - 1), "flags"),
    (lambda c: c.get_chronicle_attr("a", "k\0"), "key"),
    (lambda c: c.create_chronicle("\udc80"), "name"),
])
def test_bad_values_raise_invalid_argument_naming_it(reader, call, argument):
    with pytest.raises(cl.InvalidArgumentError) as caught:
        call(reader)
    assert caught.value.message.startswith(argument)
    assert reader.chronicles() == []


def test_flags_at_the_c_int_limits_are_accepted(reader):
    reader.create_chronicle("a", None, 2 ** 31 - 1)
    reader.create_chronicle("b", None, -2 ** 31)
    assert reader.chronicles() == ["a", "b"]


@pytest.mark.parametrize("call", [
    lambda c: c.CreateChronicle(5, {}, 0),
    lambda c: c.CreateChronicle("a", [], 0),
    lambda c: c.CreateChronicle("a", {}, 2 ** 40),
    lambda c: c.CreateChronicle("a", {}, "0"),
    lambda c: c.CreateChronicle("a\0", {}, 0),
    lambda c: c.DestroyChronicle(None),
    lambda c: c.EditChronicleAttr("a", "k", 3),
    lambda c: c.GetChronicleAttr("a", 3)[0],
])
def test_compatible_methods_answer_invalid_arg_and_log_it(reader, call,
                                                         caplog):
    with caplog.at_level(logging.DEBUG, logger="chronolog_ctypes"):
        assert call(reader) == cl.CL_ERR_INVALID_ARG
    assert any("CL_ERR_INVALID_ARG" in record.getMessage()
               for record in caplog.records)


def test_names_are_utf8(reader):
    reader.create_chronicle("chronique-été-日本", {"clé": "v"})
    assert reader.chronicles() == ["chronique-été-日本"]
    reader.edit_chronicle_attr("chronique-été-日本", "clé", "値")
    assert reader.get_chronicle_attr("chronique-été-日本", "clé") == "値"


def test_chronicles_are_shared_by_clients_of_one_store(reader, writer):
    writer.create_chronicle("w")
    assert reader.chronicles() == ["w"]


def test_show_chronicles_with_something_not_a_list(reader):
    reader.create_chronicle("a")
    assert reader.ShowChronicles("not a list") == []
    assert reader.ShowStories("a", 5) == []
