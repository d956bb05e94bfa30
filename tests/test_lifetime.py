"""Lifetime: close, with-blocks, stale handles, garbage collection, exit."""

import gc
import weakref

import pytest

import chronolog_ctypes as cl

from conftest import run_python

UINT64_MAX = 2 ** 64 - 1


def test_close_twice(store):
    client = cl.Client.embedded(store).connect()
    client.close()
    client.close()
    assert client.closed
    assert not client.is_connected


def test_with_block_connects_and_closes(store):
    with cl.Client.embedded(store) as client:
        assert client.is_connected
        client.create_chronicle("c")
    assert client.closed
    with cl.Client.embedded(store) as other:
        assert other.chronicles() == ["c"]


def test_with_block_closes_on_error_and_keeps_the_error(store):
    with pytest.raises(RuntimeError, match="inside the block"):
        with cl.Client.embedded(store) as client:
            client.create_chronicle("c")
            client.acquire_story("c", "s").log(b"kept")
            raise RuntimeError("inside the block")
    assert client.closed
    with cl.Client.embedded(store) as other:
        other.acquire_story("c", "s")
        assert [e.record for e in other.replay("c", "s")] == [b"kept"]


PYTHONIC_CALLS = [
    lambda c: c.connect(),
    lambda c: c.disconnect(),
    lambda c: c.flush(),
    lambda c: c.client_id,
    lambda c: c.create_chronicle("c"),
    lambda c: c.destroy_chronicle("c"),
    lambda c: c.get_chronicle_attr("c", "k"),
    lambda c: c.edit_chronicle_attr("c", "k", "v"),
    lambda c: c.chronicles(),
    lambda c: c.stories("c"),
    lambda c: c.acquire_story("c", "s"),
    lambda c: c.release_story("c", "s"),
    lambda c: c.destroy_story("c", "s"),
    lambda c: c.replay("c", "s"),
    lambda c: c.iter_replay("c", "s"),
]


@pytest.mark.parametrize("call", PYTHONIC_CALLS)
def test_pythonic_calls_after_close_raise_stale_naming_the_client(store,
                                                                  call):
    client = cl.Client.embedded(store).connect()
    client.close()
    with pytest.raises(cl.StaleHandleError) as caught:
        call(client)
    assert caught.value.status == cl.CLC_ERR_STALE_HANDLE
    assert store in caught.value.message
    assert "closed" in caught.value.message


def test_compatible_calls_after_close_return_the_stale_status(store):
    client = cl.Client.embedded(store).connect()
    client.close()
    stale = cl.CLC_ERR_STALE_HANDLE
    assert stale == -1002
    assert client.Connect() == stale
    assert client.Disconnect() == stale
    assert client.CreateChronicle("c", {}, 0) == stale
    assert client.DestroyChronicle("c") == stale
    assert client.AcquireStory("c", "s", {}, 0) == (stale, None)
    assert client.ReleaseStory("c", "s") == stale
    assert client.DestroyStory("c", "s") == stale
    assert client.GetChronicleAttr("c", "k") == (stale, "")
    assert client.EditChronicleAttr("c", "k", "v") == stale
    assert client.ReplayStory("c", "s", 0, 1, cl.EventList()) == stale
    assert client.ShowChronicles() == []
    assert client.ShowStories("c") == []


def test_story_after_release_refuses_to_log(reader, story):
    reader.ReleaseStory("chron", "story")
    assert story.released
    assert story.log_event("x") == 0
    with pytest.raises(cl.StaleHandleError) as caught:
        story.log(b"x")
    assert "released" in caught.value.message
    assert "'story'" in caught.value.message
    with pytest.raises(cl.StaleHandleError):
        story.log_many([b"x"])
    reader.acquire_story("chron", "story")
    assert reader.replay("chron", "story") == []


def test_story_after_client_close_refuses_to_log(reader, story):
    reader.close()
    assert story.released
    assert story.log_event(b"x") == 0
    with pytest.raises(cl.StaleHandleError) as caught:
        story.log(b"x")
    assert "closed" in caught.value.message
    story.release()  # nothing to do, no error


def test_the_library_refuses_a_stale_story_handle_too(reader, story, library):
    import ctypes
    ref = cl._native.StoryHandleRef(story._token)
    story.release()
    time = ctypes.c_uint64()
    status = library.clc_story_log(ref, b"x", 1, ctypes.byref(time))
    assert status == cl.CLC_ERR_STALE_HANDLE


def test_a_story_keeps_its_client_alive(store):
    client = cl.Client.embedded(store).connect()
    client.create_chronicle("c")
    story = client.acquire_story("c", "s")
    watcher = weakref.ref(client)
    del client
    gc.collect()
    assert watcher() is not None
    times = [story.log(b"after gc %d" % i) for i in range(3)]
    assert all(times)
    events = story.client.replay("c", "s")
    assert [e.time() for e in events] == times
    story.client.close()


def test_a_client_without_references_is_freed(store):
    client = cl.Client.embedded(store).connect()
    client.create_chronicle("c")
    client.acquire_story("c", "s").log(b"x")
    finalizer = client._finalizer
    watcher = weakref.ref(client)
    del client
    gc.collect()
    assert watcher() is None
    assert not finalizer.alive
    # Freed means released: another client can destroy the story now.
    with cl.Client.embedded(store) as other:
        other.destroy_story("c", "s")


def test_a_dropped_story_handle_is_reacquired_as_a_new_object(reader,
                                                              chronicle):
    first = reader.acquire_story(chronicle, "s")
    first.log(b"a")
    watcher = weakref.ref(first)
    del first
    gc.collect()
    assert watcher() is None
    again = reader.acquire_story(chronicle, "s")
    assert not again.released
    again.log(b"b")
    assert [e.record for e in reader.replay(chronicle, "s")] == [b"a", b"b"]
    assert reader.acquire_story(chronicle, "s") is again


def test_events_logged_without_close_survive_interpreter_exit(store):
    run_python("""
        import chronolog_ctypes as cl
        client = cl.Client.embedded(%r).connect()
        client.create_chronicle("c")
        story = client.acquire_story("c", "s")
        story.log_many([b"exit-%%d" %% i for i in range(1000)])
        # no release, no close: the finalizer at exit must flush
    """ % store)
    with cl.Client.embedded(store) as client:
        client.acquire_story("c", "s")
        records = [e.record for e in client.replay("c", "s")]
    assert records == [b"exit-%d" % i for i in range(1000)]


def test_a_cycle_through_the_client_is_collected(store):
    client = cl.Client.embedded(store).connect()
    client.create_chronicle("c")
    story = client.acquire_story("c", "s")
    client.self_reference = client
    story.log(b"x")
    finalizer = client._finalizer
    del client, story
    gc.collect()
    assert not finalizer.alive


class _NoLibrary:
    """Any attribute access fails: proves that no native call is made."""

    def __getattr__(self, name):
        raise AssertionError("library called after close: " + name)


@pytest.mark.parametrize("call", PYTHONIC_CALLS)
def test_python_does_not_call_the_library_after_close(store, call):
    client = cl.Client.embedded(store).connect()
    client.close()
    client._library = _NoLibrary()
    with pytest.raises(cl.StaleHandleError):
        call(client)


def test_python_does_not_call_the_library_for_a_released_story(reader,
                                                               story):
    story.release()
    story._log = story._log_many = _NoLibrary().__getattr__
    with pytest.raises(cl.StaleHandleError):
        story.log(b"x")
    with pytest.raises(cl.StaleHandleError):
        story.log_many([b"x"])
    assert story.log_event("x") == 0


def test_the_library_refuses_a_freed_client_handle(store, library):
    import ctypes
    client = cl.Client.embedded(store).connect()
    freed = cl._native.ClientHandle(client._handle.value)
    client.close()
    assert library.clc_client_connect(freed) == cl.CLC_ERR_STALE_HANDLE
    assert library.clc_client_free(freed) == cl.CLC_ERR_STALE_HANDLE
    connected = ctypes.c_int()
    assert library.clc_client_is_connected(
        freed, ctypes.byref(connected)) == cl.CLC_ERR_STALE_HANDLE
