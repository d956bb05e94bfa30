"""Client.wait_replayable: when it replays, what it returns, how it ends."""

import pytest

import chronolog_ctypes as cl
from chronolog_ctypes import _replayable
from conftest import unique_name


@pytest.fixture(autouse=True)
def _no_archive_directory_from_outside(monkeypatch):
    monkeypatch.delenv(cl.ARCHIVE_DIR_ENV, raising=False)


class FakeDeploymentClient:
    """Stands for a client of a deployment: counts replays, returns events."""

    backend = "chronolog"

    def __init__(self, events):
        self.events = events
        self.replays = []

    def replay(self, chronicle, story, start, end):
        self.replays.append((chronicle, story, start, end))
        return list(self.events)


def _events(count, first_time=100):
    return [cl.Event(first_time + i, 7, i, b"r%d" % i) for i in range(count)]


def _wait(client, story, **options):
    settings = dict(count=None, last_time=None, timeout=0.3, archive_dir=None,
                    first_probe_after=60.0, archive_index_delay=0.0)
    settings.update(options)
    return _replayable.wait_replayable(client, "c", story, **settings)


def test_embedded_events_are_returned_at_once(reader, story):
    times = story.log_many([b"a", b"b", b"c"])
    events = reader.wait_replayable("chron", "story", count=3,
                                    last_time=times[-1], timeout=0)
    assert [event.record for event in events] == [b"a", b"b", b"c"]
    assert reader.wait_replayable("chron", "story") == events


def test_missing_events_end_in_a_timeout(reader, story):
    story.log(b"only one")
    with pytest.raises(cl.QueryTimedOutError) as caught:
        reader.wait_replayable("chron", "story", count=2, timeout=0.2)
    assert caught.value.status == cl.CL_ERR_QUERY_TIMED_OUT
    assert caught.value.message.endswith(
        "waited 0.2 s for 2 events; 1 events were replayable")


def test_wait_replayable_checks_its_arguments(reader, story):
    with pytest.raises(cl.InvalidArgumentError):
        reader.wait_replayable("chron", "story", count=-1)
    with pytest.raises(TypeError):
        reader.wait_replayable("chron", "story", last_time="soon")
    with pytest.raises(cl.NotAcquiredError):
        reader.wait_replayable("chron", "other")


def test_no_replay_before_the_archive_file_appears(tmp_path):
    client = FakeDeploymentClient(_events(3))
    story = unique_name("unarchived")
    with pytest.raises(cl.QueryTimedOutError) as caught:
        _wait(client, story, count=3, archive_dir=str(tmp_path))
    assert client.replays == []
    assert "no replay was tried: nothing of the story was archived" in \
        caught.value.message


def test_a_replay_once_the_archive_file_appears(tmp_path):
    client = FakeDeploymentClient(_events(3))
    story = unique_name("archived")
    (tmp_path / ("c.%s.1796404963.vlen.h5" % story)).write_bytes(b"")
    events = _wait(client, story, count=3, last_time=102,
                   archive_dir=str(tmp_path))
    assert events == _events(3)
    assert client.replays == [("c", story, 0, 2 ** 64 - 1)]

    # The story answered once: later waits replay at once.
    (tmp_path / ("c.%s.1796404963.vlen.h5" % story)).unlink()
    assert _wait(client, story, count=1) == _events(3)
    assert len(client.replays) == 2


def test_files_of_other_stories_do_not_count(tmp_path):
    client = FakeDeploymentClient(_events(1))
    story = unique_name("s")
    for name in ("c.%s.x.1.vlen.h5" % story, "c.%s-2.1.vlen.h5" % story,
                 "c.%s.1.vlen.h5.tmp" % story, "cc.%s.1.vlen.h5" % story):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(cl.QueryTimedOutError):
        _wait(client, story, archive_dir=str(tmp_path))
    assert client.replays == []
    (tmp_path / ("c.%s.1796404963.vlen.2.h5" % story)).write_bytes(b"")
    assert _wait(client, story, archive_dir=str(tmp_path)) == _events(1)


def test_without_an_archive_directory_the_first_replay_waits():
    client = FakeDeploymentClient(_events(2))
    story = unique_name("guess")
    with pytest.raises(cl.QueryTimedOutError) as caught:
        _wait(client, story, count=2)
    assert client.replays == []
    assert caught.value.message.endswith("no replay was tried yet")
    assert _wait(client, story, count=2, first_probe_after=0.0) == _events(2)


def test_the_archive_directory_comes_from_the_environment(monkeypatch,
                                                          tmp_path):
    monkeypatch.setenv(cl.ARCHIVE_DIR_ENV, str(tmp_path))
    client = FakeDeploymentClient(_events(1))
    story = unique_name("env")
    (tmp_path / ("c.%s.5.vlen.h5" % story)).write_bytes(b"")
    assert _wait(client, story) == _events(1)


def test_partial_replays_go_on_until_the_last_time(tmp_path):
    client = FakeDeploymentClient(_events(2))
    story = unique_name("partial")
    with pytest.raises(cl.QueryTimedOutError) as caught:
        _wait(client, story, last_time=105, first_probe_after=0.0)
    assert len(client.replays) >= 2
    assert "for an event at or after 105; 2 events were replayable" in \
        caught.value.message
