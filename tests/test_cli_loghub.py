"""Real logs (LogHub samples, CRLF line endings) through ingest and replay."""

import json
from pathlib import Path

import pytest


LOGHUB = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub"
LOGS = ["BGL_2k.log", "HPC_2k.log", "HDFS_2k.log"]

pytestmark = pytest.mark.skipif(
    not LOGHUB.is_dir(),
    reason="the LogHub samples are not at %s (they sit beside the repository "
           "in shared/data/loghub)" % LOGHUB)


def expected_lines(path):
    """The lines of a file with CRLF (or LF) removed, bytes as they are."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def summary(out):
    return dict((key, value.strip()) for key, _, value in (
        line.partition(":") for line in out.decode("ascii").splitlines()))


@pytest.mark.parametrize("name", LOGS)
def test_replay_gives_back_every_line_in_order(run, name):
    path = LOGHUB / name
    lines = expected_lines(path)
    assert len(lines) == 2000

    status, out, err = run("ingest", "loghub", name, str(path))
    assert (status, err) == (0, b"")
    fields = summary(out)
    assert fields["events"] == str(len(lines))
    assert fields["bytes"] == str(sum(len(line) for line in lines))

    status, out, err = run("replay", "loghub", name)
    assert (status, err) == (0, b"")
    assert out.split(b"\n")[:-1] == lines
    assert out.count(b"\n") == int(fields["events"])
    assert b"\r" not in out


def test_all_three_logs_in_one_story_keep_file_order(run):
    paths = [str(LOGHUB / name) for name in LOGS]
    expected = [line for name in LOGS for line in expected_lines(LOGHUB / name)]

    status, out, _ = run("ingest", "--batch-size", "777", "loghub", "all",
                         *paths)
    assert status == 0
    assert summary(out)["events"] == "6000"

    status, out, _ = run("replay", "loghub", "all", "--format", "jsonl")
    assert status == 0
    objects = [json.loads(line) for line in out.splitlines()]
    assert [obj["record"].encode("utf-8") for obj in objects] == expected
    times = [obj["time"] for obj in objects]
    assert times == sorted(times) and len(set(times)) == 6000

    status, out, _ = run("replay", "loghub", "all", "--start", str(times[0]),
                         "--end", str(times[-1]), "--tail", "3")
    assert out.split(b"\n")[:-1] == expected[-4:-1]


def test_tail_of_a_real_log(run):
    path = LOGHUB / "HDFS_2k.log"
    assert run("ingest", "-q", "loghub", "hdfs", str(path))[0] == 0

    status, out, _ = run("replay", "loghub", "hdfs", "--tail", "5")

    assert status == 0
    assert out.split(b"\n")[:-1] == expected_lines(path)[-5:]


def test_stdin_and_file_give_the_same_records(run):
    path = LOGHUB / "HPC_2k.log"

    assert run("ingest", "-q", "loghub", "from-stdin",
               stdin=path.read_bytes())[0] == 0
    assert run("ingest", "-q", "loghub", "from-file", str(path))[0] == 0

    assert run("replay", "loghub", "from-stdin")[1] == (
        run("replay", "loghub", "from-file")[1])
