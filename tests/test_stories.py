"""Stories: acquire, release, destroy, listing; both faces."""

import pytest

import chronolog_ctypes as cl


def test_acquire_creates_the_story(reader, chronicle):
    status, story = reader.AcquireStory(chronicle, "s1", {}, 0)
    assert status == cl.CL_SUCCESS
    assert isinstance(story, cl.StoryHandle)
    assert (story.chronicle, story.story, story.client) == (
        chronicle, "s1", reader)
    assert not story.released
    assert reader.stories(chronicle) == ["s1"]
    assert reader.ShowStories(chronicle) == ["s1"]


def test_acquiring_twice_returns_the_same_object(reader, chronicle):
    first = reader.acquire_story(chronicle, "s")
    status, second = reader.AcquireStory(chronicle, "s", {}, 0)
    assert status == cl.CL_SUCCESS
    assert second is first


def test_acquire_with_attributes_and_flags(reader, chronicle):
    story = reader.acquire_story(chronicle, "s", {"kind": "x"}, 7)
    assert story.story == "s"


def test_acquire_in_a_missing_chronicle_gives_not_exist(reader):
    assert reader.AcquireStory("none", "s", {}, 0) == (cl.CL_ERR_NOT_EXIST,
                                                       None)
    with pytest.raises(cl.NotExistError):
        reader.acquire_story("none", "s")


def test_acquire_with_empty_names_gives_invalid_arg(reader, chronicle):
    assert reader.AcquireStory(chronicle, "", {}, 0) == (
        cl.CL_ERR_INVALID_ARG, None)
    assert reader.AcquireStory("", "s", {}, 0) == (cl.CL_ERR_INVALID_ARG,
                                                   None)


def test_acquire_before_connect_gives_no_connection(store):
    client = cl.Client.embedded(store)
    try:
        assert client.AcquireStory("c", "s", {}, 1) == (
            cl.CL_ERR_NO_CONNECTION, None)
        with pytest.raises(cl.NoConnectionError):
            client.acquire_story("c", "s")
    finally:
        client.close()


def test_release(reader, chronicle):
    story = reader.acquire_story(chronicle, "s")
    assert reader.ReleaseStory(chronicle, "s") == cl.CL_SUCCESS
    assert story.released


def test_releasing_twice_gives_not_acquired(reader, story):
    reader.release_story("chron", "story")
    assert reader.ReleaseStory("chron", "story") == cl.CL_ERR_NOT_ACQUIRED
    with pytest.raises(cl.NotAcquiredError):
        reader.release_story("chron", "story")


def test_story_release_is_idempotent(story):
    story.release()
    story.release()
    assert story.released


def test_story_as_context_manager_releases_on_exit(reader, chronicle):
    with reader.acquire_story(chronicle, "s") as story:
        assert story.log(b"x") > 0
    assert story.released
    assert reader.ReleaseStory(chronicle, "s") == cl.CL_ERR_NOT_ACQUIRED


def test_story_context_manager_keeps_the_original_exception(reader,
                                                            chronicle):
    with pytest.raises(KeyError):
        with reader.acquire_story(chronicle, "s") as story:
            reader.release_story(chronicle, "s")
            raise KeyError("inner")
    assert story.released


def test_reacquiring_after_release_gives_a_new_working_handle(reader,
                                                              chronicle):
    old = reader.acquire_story(chronicle, "s")
    old.release()
    new = reader.acquire_story(chronicle, "s")
    assert new is not old
    assert new.log(b"x") > 0
    assert old.log_event("x") == 0


def test_releasing_a_story_of_another_client_gives_not_acquired(
        reader, writer, story):
    assert writer.ReleaseStory("chron", "story") == cl.CL_ERR_NOT_ACQUIRED
    assert not story.released


def test_destroy_story(reader, chronicle):
    reader.acquire_story(chronicle, "s").release()
    assert reader.DestroyStory(chronicle, "s") == cl.CL_SUCCESS
    assert reader.stories(chronicle) == []


def test_destroying_an_acquired_story_gives_acquired(reader, writer, story):
    assert reader.DestroyStory("chron", "story") == cl.CL_ERR_ACQUIRED
    with pytest.raises(cl.AcquiredError):
        writer.destroy_story("chron", "story")


def test_destroying_a_missing_story_gives_not_exist(reader, chronicle):
    assert reader.DestroyStory(chronicle, "none") == cl.CL_ERR_NOT_EXIST
    assert reader.DestroyStory("none", "none") == cl.CL_ERR_NOT_EXIST
    with pytest.raises(cl.NotExistError):
        reader.destroy_story(chronicle, "none")


def test_story_list_of_a_missing_chronicle(reader):
    assert reader.ShowStories("none") == []
    with pytest.raises(cl.NotExistError):
        reader.stories("none")


def test_show_stories_appends_to_the_given_list(reader, chronicle):
    reader.acquire_story(chronicle, "b")
    reader.acquire_story(chronicle, "a")
    names = []
    assert reader.ShowStories(chronicle, names) is names
    assert names == ["a", "b"]


def test_disconnect_with_a_story_acquired_gives_acquired(reader, story):
    assert reader.Disconnect() == cl.CL_ERR_ACQUIRED
    assert reader.is_connected
    with pytest.raises(cl.AcquiredError):
        reader.disconnect()
    story.release()
    assert reader.Disconnect() == cl.CL_SUCCESS
    assert not reader.is_connected


@pytest.mark.parametrize("call", [
    lambda c: c.AcquireStory("chron", 1, {}, 0),
    lambda c: c.AcquireStory("chron", "s", "attrs", 0),
    lambda c: c.AcquireStory("chron", "s", {}, 1.5),
    lambda c: c.AcquireStory("chron", "s\0", {}, 0),
])
def test_acquire_with_wrong_arguments_gives_invalid_arg(reader, chronicle,
                                                        call):
    assert call(reader) == (cl.CL_ERR_INVALID_ARG, None)
    assert reader.stories(chronicle) == []


def test_release_and_destroy_with_wrong_arguments(reader):
    assert reader.ReleaseStory(None, "s") == cl.CL_ERR_INVALID_ARG
    assert reader.DestroyStory("c", b"s") == cl.CL_ERR_INVALID_ARG
    with pytest.raises(TypeError, match="^story must be a str"):
        reader.release_story("c", 5)


def test_release_and_destroy_take_py_chronolog_clients_keywords(reader,
                                                                chronicle):
    reader.acquire_story(chronicle, "s")
    assert reader.ReleaseStory(chronicle_name=chronicle,
                               story_name="s") == cl.CL_SUCCESS
    assert reader.DestroyStory(chronicle_name=chronicle,
                               story_name="s") == cl.CL_SUCCESS
    assert reader.stories(chronicle) == []


def test_log_event_takes_py_chronolog_clients_keyword(reader, story):
    time = story.log_event(log_string="kw")
    assert [e.time() for e in reader.replay("chron", "story")] == [time]
