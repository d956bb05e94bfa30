"""Real logs (LogHub samples, CRLF line endings) through ingest and replay.

The samples sit beside the repository, in shared/data/loghub. Without
them these tests are skipped, unless CHRONOLOG_CTYPES_REQUIRE_DATA=1 (as
CI sets it): then a missing sample fails them.
"""

import json
import os
from pathlib import Path

import pytest


LOGHUB = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub"
LOGS = ["BGL_2k.log", "HPC_2k.log", "HDFS_2k.log"]
REQUIRE_VARIABLE = "CHRONOLOG_CTYPES_REQUIRE_DATA"


def check_data(directory, environ):
    """Skip the test when a sample is missing from directory, or fail it
    when ``environ`` requires the data."""
    missing = [name for name in LOGS if not (directory / name).is_file()]
    if not missing:
        return
    what = ("the LogHub samples %s are not in %s (they sit beside the "
            "repository in shared/data/loghub)" % (", ".join(missing),
                                                   directory))
    if environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail("%s, and %s=1 requires them" % (what, REQUIRE_VARIABLE),
                    pytrace=False)
    pytest.skip(what)


def samples():
    """The directory of the samples, after check_data.

    Called by each test itself rather than as a fixture, so that missing
    samples that are required fail the test rather than its set-up.
    """
    check_data(LOGHUB, os.environ)
    return LOGHUB


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
    loghub = samples()
    path = loghub / name
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
    loghub = samples()
    paths = [str(loghub / name) for name in LOGS]
    expected = [line for name in LOGS for line in expected_lines(loghub / name)]

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
    loghub = samples()
    path = loghub / "HDFS_2k.log"
    assert run("ingest", "-q", "loghub", "hdfs", str(path))[0] == 0

    status, out, _ = run("replay", "loghub", "hdfs", "--tail", "5")

    assert status == 0
    assert out.split(b"\n")[:-1] == expected_lines(path)[-5:]


def test_stdin_and_file_give_the_same_records(run):
    loghub = samples()
    path = loghub / "HPC_2k.log"

    assert run("ingest", "-q", "loghub", "from-stdin",
               stdin=path.read_bytes())[0] == 0
    assert run("ingest", "-q", "loghub", "from-file", str(path))[0] == 0

    assert run("replay", "loghub", "from-stdin")[1] == (
        run("replay", "loghub", "from-file")[1])


def test_missing_samples_skip_the_tests_by_default(tmp_path):
    for environ in ({}, {REQUIRE_VARIABLE: "0"}, {REQUIRE_VARIABLE: ""}):
        with pytest.raises(pytest.skip.Exception) as skipped:
            check_data(tmp_path, environ)
        assert str(skipped.value) == (
            "the LogHub samples BGL_2k.log, HPC_2k.log, HDFS_2k.log are not "
            "in %s (they sit beside the repository in shared/data/loghub)"
            % tmp_path)


def test_missing_samples_fail_the_tests_when_required(tmp_path):
    (tmp_path / "BGL_2k.log").write_bytes(b"one line\n")

    with pytest.raises(pytest.fail.Exception) as failed:
        check_data(tmp_path, {REQUIRE_VARIABLE: "1"})

    assert str(failed.value) == (
        "the LogHub samples HPC_2k.log, HDFS_2k.log are not in %s (they sit "
        "beside the repository in shared/data/loghub), and "
        "CHRONOLOG_CTYPES_REQUIRE_DATA=1 requires them" % tmp_path)


def test_present_samples_pass_the_check(tmp_path):
    for name in LOGS:
        (tmp_path / name).write_bytes(b"one line\n")

    assert check_data(tmp_path, {REQUIRE_VARIABLE: "1"}) is None
