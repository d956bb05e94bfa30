"""The conformance suite: the same calls give the same answers on both backends.

Every test runs on the embedded store, and again on a live ChronoLog
deployment when $CHRONOLOG_CTYPES_LIVE_CONFIG names its client
configuration file (without it, those runs are skipped and say why).
Names are unique, because a deployment keeps story archives after
DestroyStory; tests wait for a number of replayable events, never for a
time.  Where a deployment answers otherwise, the test says so, and
docs/chronolog-backend.md lists the difference.
"""

import threading
from typing import Any, List, Optional

import pytest

import chronolog_ctypes as cl
from conftest import unique_name

UINT64_MAX = 2 ** 64 - 1

# Seconds a test waits for its events to become replayable: archiving takes
# seconds on a quiet deployment, minutes behind a backlog (ChronoKeeper 2.7.0
# hands on about two story chunks every 10 s, for all stories).
WAIT = 600.0

RECORDS = [
    b"first",
    b"nul \x00 inside",
    "caf\u00e9 \u2603".encode("utf-8"),
    bytes(range(256)),
    b"x" * 10000,
    b"last",
]


class Target:
    """One backend under test; makes clients and closes them afterwards."""

    def __init__(self, name: str, store: Optional[str] = None,
                 deployment: Any = None) -> None:
        self.name = name
        self.store = store
        self.deployment = deployment
        self.made: List[cl.Client] = []

    def client(self, reader: bool = True) -> cl.Client:
        if self.deployment is not None:
            client = self.deployment.client(reader)
        else:
            client = cl.Client.embedded(self.store, reader=reader)
        self.made.append(client)
        return client

    def wait(self, client: cl.Client, chronicle: str, story: str,
             count: Optional[int] = None,
             last_time: Optional[int] = None) -> List[cl.Event]:
        archive_dir = self.deployment.archive_dir if self.deployment else None
        # Without the archive directory the first replay can only wait for a
        # time; other test processes may keep the servers busy meanwhile.
        return client.wait_replayable(chronicle, story, count=count,
                                      last_time=last_time, timeout=WAIT,
                                      archive_dir=archive_dir,
                                      first_probe_after=45.0)

    def close_all(self) -> None:
        for client in reversed(self.made):
            client.close()
        self.made.clear()


@pytest.fixture(scope="module", params=["embedded", "chronolog"])
def target(request, tmp_path_factory):
    if request.param == "embedded":
        store = tmp_path_factory.mktemp("conformance") / "store"
        backend = Target("embedded", store=str(store))
    else:
        backend = Target("chronolog",
                         deployment=request.getfixturevalue("live_deployment"))
    yield backend
    backend.close_all()


@pytest.fixture
def clients(target):
    """Makes clients of the target (connected unless asked otherwise)."""
    made = []

    def make(reader: bool = True, connect: bool = True) -> cl.Client:
        client = target.client(reader)
        made.append(client)
        return client.connect() if connect else client

    yield make
    for client in reversed(made):
        client.close()


@pytest.fixture
def chronicle(clients):
    """A new chronicle, and a connected reader client that created it."""
    client = clients()
    name = unique_name("conformance")
    client.create_chronicle(name)
    return client, name


class Archived:
    """RECORDS logged on one story, replayable."""

    def __init__(self, client, chronicle, story, times, events):
        self.client = client
        self.chronicle = chronicle
        self.story = story
        self.times = times
        self.kept = list(zip(times, RECORDS))
        self.events = events


@pytest.fixture(scope="module")
def archived(target):
    client = target.client().connect()
    chronicle = unique_name("archived")
    client.create_chronicle(chronicle)
    story = client.acquire_story(chronicle, "story")
    times = [story.log(record) for record in RECORDS]
    events = target.wait(client, chronicle, "story",
                         count=len(RECORDS),
                         last_time=times[-1])
    return Archived(client, chronicle, "story", times, events)


# ---------------------------------------------------------------------------
# Connection
# ---------------------------------------------------------------------------


def test_connect_and_disconnect_twice_succeed(clients):
    client = clients(connect=False)
    assert not client.is_connected
    assert client.Connect() == cl.CL_SUCCESS
    assert client.Connect() == cl.CL_SUCCESS
    assert client.is_connected
    assert client.Disconnect() == cl.CL_SUCCESS
    assert client.Disconnect() == cl.CL_SUCCESS
    assert not client.is_connected
    assert client.Connect() == cl.CL_SUCCESS


def test_calls_before_connect(clients):
    reader = clients(connect=False)
    writer = clients(reader=False, connect=False)
    name = unique_name("unconnected")

    assert reader.CreateChronicle(name, {}, 0) == cl.CL_ERR_NO_CONNECTION
    assert reader.DestroyChronicle(name) == cl.CL_ERR_NO_CONNECTION
    assert reader.AcquireStory(name, "s", {}, 0) == (
        cl.CL_ERR_NO_CONNECTION, None)
    assert reader.DestroyStory(name, "s") == cl.CL_ERR_NO_CONNECTION
    assert reader.GetChronicleAttr(name, "k") == (cl.CL_ERR_NO_CONNECTION, "")
    assert reader.EditChronicleAttr(name, "k", "v") == \
        cl.CL_ERR_NO_CONNECTION
    assert reader.ShowChronicles() == []
    with pytest.raises(cl.NoConnectionError):
        reader.chronicles()
    with pytest.raises(cl.NoConnectionError):
        reader.flush()
    # Release and replay look at the acquisition first, which a client
    # that is not connected does not have.
    assert reader.ReleaseStory(name, "s") == cl.CL_ERR_NOT_ACQUIRED
    assert reader.ReplayStory(name, "s", 0, 10, []) == cl.CL_ERR_NOT_ACQUIRED
    assert writer.ReplayStory(name, "s", 0, 10, []) == \
        cl.CL_ERR_NOT_READER_MODE
    assert reader.Disconnect() == cl.CL_SUCCESS


# ---------------------------------------------------------------------------
# Chronicles
# ---------------------------------------------------------------------------


def test_chronicle_lifecycle(clients):
    client = clients()
    name = unique_name("lifecycle")
    assert client.CreateChronicle(name, {}, 0) == cl.CL_SUCCESS
    assert client.CreateChronicle(name, {}, 0) == cl.CL_ERR_CHRONICLE_EXISTS
    assert name in client.ShowChronicles()
    assert client.chronicles() == sorted(client.chronicles())
    assert client.ShowStories(name) == []
    assert client.DestroyChronicle(name) == cl.CL_SUCCESS
    assert client.DestroyChronicle(name) == cl.CL_ERR_NOT_EXIST
    assert name not in client.ShowChronicles()


def test_empty_names_are_invalid_arguments(chronicle):
    client, name = chronicle
    assert client.CreateChronicle("", {}, 0) == cl.CL_ERR_INVALID_ARG
    assert client.DestroyChronicle("") == cl.CL_ERR_INVALID_ARG
    assert client.AcquireStory(name, "", {}, 0) == (cl.CL_ERR_INVALID_ARG,
                                                    None)
    assert client.AcquireStory("", "s", {}, 0) == (cl.CL_ERR_INVALID_ARG,
                                                   None)
    assert client.DestroyStory(name, "") == cl.CL_ERR_INVALID_ARG
    assert client.ReleaseStory("", "s") == cl.CL_ERR_INVALID_ARG
    assert client.GetChronicleAttr(name, "") == (cl.CL_ERR_INVALID_ARG, "")
    assert client.EditChronicleAttr(name, "k", "") == cl.CL_ERR_INVALID_ARG


def test_attribute_statuses(chronicle):
    client, name = chronicle
    missing = unique_name("missing")
    assert client.GetChronicleAttr(name, "nokey") == (cl.CL_ERR_NOT_EXIST, "")
    assert client.EditChronicleAttr(name, "nokey", "v") == \
        cl.CL_ERR_NOT_EXIST
    assert client.GetChronicleAttr(missing, "k") == (cl.CL_ERR_NOT_EXIST, "")
    assert client.EditChronicleAttr(missing, "k", "v") == cl.CL_ERR_NOT_EXIST
    with pytest.raises(cl.NotExistError):
        client.get_chronicle_attr(name, "nokey")


def test_attributes_given_at_creation(target, clients):
    if target.name == "chronolog":
        pytest.xfail("ChronoLog 2.5 to 2.7 drop the attributes given to "
                     "CreateChronicle (docs/chronolog-backend.md)")
    client = clients()
    name = unique_name("attributes")
    client.create_chronicle(name, {"owner": "me"})
    assert client.GetChronicleAttr(name, "owner") == (cl.CL_SUCCESS, "me")
    assert client.EditChronicleAttr(name, "owner", "you") == cl.CL_SUCCESS
    assert client.get_chronicle_attr(name, "owner") == "you"


# ---------------------------------------------------------------------------
# Stories
# ---------------------------------------------------------------------------


def test_story_lifecycle(chronicle):
    client, name = chronicle
    missing = unique_name("missing")
    assert client.AcquireStory(missing, "s", {}, 0) == (cl.CL_ERR_NOT_EXIST,
                                                        None)

    status, story = client.AcquireStory(name, "s", {}, 0)
    assert status == cl.CL_SUCCESS and story is not None
    assert client.AcquireStory(name, "s", {}, 0) == (cl.CL_SUCCESS, story)
    assert client.ShowStories(name) == ["s"]
    assert client.DestroyStory(name, "s") == cl.CL_ERR_ACQUIRED
    assert client.DestroyChronicle(name) == cl.CL_ERR_ACQUIRED

    assert client.ReleaseStory(name, "s") == cl.CL_SUCCESS
    assert client.ReleaseStory(name, "s") == cl.CL_ERR_NOT_ACQUIRED
    assert client.DestroyStory(name, "s") == cl.CL_SUCCESS
    assert client.DestroyStory(name, "s") == cl.CL_ERR_NOT_EXIST
    assert client.ShowStories(name) == []


def test_stories_of_a_missing_chronicle(clients):
    client = clients()
    missing = unique_name("missing")
    assert client.ShowStories(missing) == []
    with pytest.raises(cl.NotExistError):
        client.stories(missing)
    assert client.DestroyStory(missing, "s") == cl.CL_ERR_NOT_EXIST


def test_disconnect_is_refused_while_a_story_is_held(chronicle):
    client, name = chronicle
    client.acquire_story(name, "s")
    assert client.Disconnect() == cl.CL_ERR_ACQUIRED
    assert client.is_connected
    client.release_story(name, "s")
    assert client.Disconnect() == cl.CL_SUCCESS


def test_a_released_story_handle_is_refused(chronicle):
    client, name = chronicle
    story = client.acquire_story(name, "s")
    assert story.log(b"before") > 0
    story.release()
    with pytest.raises(cl.StaleHandleError):
        story.log(b"after")
    assert story.log_event("after") == 0
    again = client.acquire_story(name, "s")
    assert again is not story and again.log(b"again") > 0


def test_replay_needs_reader_mode_and_the_story(clients):
    reader = clients()
    writer = clients(reader=False)
    name = unique_name("modes")
    writer.create_chronicle(name)
    writer.acquire_story(name, "s")
    assert writer.ReplayStory(name, "s", 0, UINT64_MAX, []) == \
        cl.CL_ERR_NOT_READER_MODE
    with pytest.raises(cl.NotReaderModeError):
        writer.replay(name, "s")
    assert reader.ReplayStory(name, "s", 0, UINT64_MAX, []) == \
        cl.CL_ERR_NOT_ACQUIRED
    with pytest.raises(cl.NotAcquiredError):
        reader.iter_replay(name, "s")


# ---------------------------------------------------------------------------
# Logging and replay
# ---------------------------------------------------------------------------


def test_timestamps_of_one_thread_increase(archived):
    assert all(time > 0 for time in archived.times)
    assert archived.times == sorted(set(archived.times))


def test_replay_gives_every_record_in_order(archived):
    events = archived.events
    assert [(event.time(), event.record) for event in events] == archived.kept
    assert len({event.client_id() for event in events}) == 1
    indexes = [event.index() for event in events]
    assert indexes == sorted(set(indexes))


def test_an_empty_record_is_kept_or_refused_never_lost(target, chronicle):
    # ChronoLog's servers discard an event whose record is empty: the
    # ChronoLog backend refuses it, the embedded store keeps it.
    client, name = chronicle
    story = client.acquire_story(name, "empty")
    if target.name == "chronolog":
        with pytest.raises(cl.InvalidArgumentError, match="empty record"):
            story.log(b"")
        assert story.log_event("") == 0
        with pytest.raises(cl.InvalidArgumentError) as raised:
            story.log_many([b"kept back", b""])
        assert list(raised.value.timestamps) == []
    else:
        time = story.log(b"")
        events = client.replay(name, "empty")
        assert [(event.time(), event.record) for event in events] == \
            [(time, b"")]


def test_replay_ranges_are_half_open(archived):
    times = archived.times
    events = archived.client.replay(archived.chronicle, archived.story,
                                    times[1], times[3])
    assert [event.time() for event in events] == times[1:3]
    compatible = cl.EventList()
    assert archived.client.ReplayStory(archived.chronicle, archived.story,
                                       times[0], times[1] + 1,
                                       compatible) == cl.CL_SUCCESS
    assert [event.record for event in compatible] == RECORDS[:2]


def test_empty_and_reversed_ranges(archived):
    client, chronicle, story = (archived.client, archived.chronicle,
                                archived.story)
    time = archived.times[2]
    assert client.replay(chronicle, story, time, time) == []
    assert list(client.iter_replay(chronicle, story, time, time)) == []
    assert client.ReplayStory(chronicle, story, time + 1, time, []) == \
        cl.CL_ERR_INVALID_ARG
    with pytest.raises(cl.InvalidArgumentError):
        client.replay(chronicle, story, time + 1, time)


def test_paged_replay_gives_the_same_events(archived):
    pages = archived.client.iter_replay(archived.chronicle, archived.story,
                                        page_size=2)
    assert list(pages) == archived.events


def test_wait_replayable_answers_a_replayed_story_at_once(target, archived):
    events = target.wait(archived.client, archived.chronicle, archived.story,
                         count=len(archived.kept))
    assert events == archived.events


def test_a_replay_waiting_on_the_servers_lets_other_threads_run(
        target, archived):
    if target.name == "embedded":
        pytest.skip("the embedded store answers a replay at once")
    started = threading.Event()
    done = threading.Event()
    found = []

    def replay():
        started.set()
        try:
            found.extend(archived.client.replay(archived.chronicle,
                                                archived.story))
        finally:
            done.set()

    thread = threading.Thread(target=replay)
    thread.start()
    started.wait()
    # ChronoLog's client polls once a second for the answer; while this
    # thread counts, the replay is still waiting (180 s at most).
    counted = 0
    while not done.is_set():
        counted += 1
    thread.join()
    assert found == archived.events
    assert counted > 10000


def test_threads_log_on_one_story_at_once(target, chronicle):
    client, name = chronicle
    story = client.acquire_story(name, "threads")
    times = [[] for _ in range(4)]

    def log(worker):
        for i in range(25):
            times[worker].append(story.log(b"%d-%d" % (worker, i)))

    threads = [threading.Thread(target=log, args=(worker,))
               for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(time > 0 for worker in times for time in worker)
    events = target.wait(client, name, "threads", count=100)
    assert sorted(event.record for event in events) == sorted(
        b"%d-%d" % (worker, i) for worker in range(4) for i in range(25))


def test_two_clients_of_one_process_do_not_break_each_other(target, clients):
    first = clients()
    second = clients()
    name = unique_name("two")
    first.create_chronicle(name)
    first_story = first.acquire_story(name, "s")
    second_story = second.acquire_story(name, "s")
    first_story.log(b"one")

    first.release_story(name, "s")
    second_story.log(b"two")
    first.close()
    assert second.is_connected
    second.create_chronicle(name + "-more")
    second_story.log(b"three")

    events = target.wait(second, name, "s", count=3)
    assert [event.record for event in events] == [b"one", b"two", b"three"]
    second.release_story(name, "s")
    second.destroy_story(name, "s")
