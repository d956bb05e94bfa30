"""chronolog-ctypes replay: formats, time ranges, --tail and errors."""

import base64
import csv
import io
import json

import pytest

import chronolog_ctypes
from chronolog_ctypes import cli
from chronolog_ctypes._timeparse import format_time

RECORDS = [
    b"plain ascii",
    "caf\u00e9 \u2603".encode("utf-8"),
    b"not utf-8 \xff\xfe\x80",
    b"",
    b'quote " comma , tab \t',
    b"nul \x00 inside",
    b"surrogate \xed\xa0\x80",
]


@pytest.fixture
def logged(run):
    """Ingest RECORDS (0x1E-delimited) into c/s; return their jsonl objects."""
    status, _, _ = run("ingest", "-q", "c", "s", "--delimiter", "\\x1e",
                       stdin=b"\x1e".join(RECORDS) + b"\x1e")
    assert status == 0
    status, out, err = run("replay", "c", "s", "--format", "jsonl")
    assert (status, err) == (0, b"")
    return [json.loads(line) for line in out.decode("utf-8").splitlines()]


def decode_json_record(obj):
    if "record_b64" in obj:
        assert "record" not in obj
        return base64.b64decode(obj["record_b64"], validate=True)
    return obj["record"].encode("utf-8")


def test_jsonl_round_trips_every_record_including_invalid_utf8(logged):
    assert [decode_json_record(obj) for obj in logged] == RECORDS
    assert [sorted(obj) for obj in logged[:3]] == [
        ["client_id", "index", "record", "time"],
        ["client_id", "index", "record", "time"],
        ["client_id", "index", "record_b64", "time"],
    ]
    assert logged[2]["record_b64"] == base64.b64encode(RECORDS[2]).decode()
    assert logged[1]["record"] == "caf\u00e9 \u2603"


def test_jsonl_fields_are_integers_in_event_order(logged):
    times = [obj["time"] for obj in logged]
    assert times == sorted(times)
    assert len(set(times)) == len(RECORDS)
    assert len({obj["client_id"] for obj in logged}) == 1
    assert all(isinstance(obj["index"], int) for obj in logged)
    keys = [(obj["time"], obj["client_id"], obj["index"]) for obj in logged]
    assert keys == sorted(keys)


def test_jsonl_is_one_line_of_utf8_per_event(run, logged):
    _, out, _ = run("replay", "c", "s", "--format", "jsonl")
    lines = out.split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(RECORDS) + 1
    assert "\u2603".encode("utf-8") in lines[1]  # not \\u escaped
    out.decode("utf-8")


def test_csv_round_trips_and_has_a_header(run, logged):
    status, out, err = run("replay", "c", "s", "--format", "csv")
    assert (status, err) == (0, b"")

    rows = list(csv.reader(io.StringIO(out.decode("utf-8"), newline="")))
    assert rows[0] == ["time", "client_id", "index", "record", "record_b64"]
    decoded = []
    for row, obj in zip(rows[1:], logged):
        assert [int(row[0]), int(row[1]), int(row[2])] == [
            obj["time"], obj["client_id"], obj["index"]]
        if row[4]:
            assert row[3] == ""
            decoded.append(base64.b64decode(row[4]))
        else:
            decoded.append(row[3].encode("utf-8"))
    assert decoded == RECORDS
    assert len(rows) == len(RECORDS) + 1
    # Text when valid UTF-8 without NUL, base64 otherwise.
    assert [bool(row[4]) for row in rows[1:]] == [
        False, False, True, False, False, True, True]


def test_csv_without_header(run, logged):
    _, out, _ = run("replay", "c", "s", "--format", "csv", "--no-header")
    first = next(csv.reader(io.StringIO(out.decode("utf-8"), newline="")))
    assert first == [str(logged[0]["time"]), str(logged[0]["client_id"]),
                     str(logged[0]["index"]), "plain ascii", ""]


def test_plain_writes_the_raw_bytes_one_a_line(run, logged):
    status, out, err = run("replay", "c", "s")
    assert (status, err) == (0, b"")
    assert out == b"".join(record + b"\n" for record in RECORDS)


def test_plain_with_a_delimiter(run, logged):
    _, out, _ = run("replay", "c", "s", "--delimiter", "\\0")
    assert out == b"".join(record + b"\0" for record in RECORDS)
    assert run("replay", "c", "s", "--format", "csv",
               "--delimiter", "\\0")[0] == 2


def test_range_is_start_inclusive_end_exclusive(run, logged):
    times = [obj["time"] for obj in logged]

    _, out, _ = run("replay", "c", "s", "--start", str(times[1]),
                    "--end", str(times[4]))
    assert out.splitlines() == [RECORDS[1], RECORDS[2], RECORDS[3]]

    _, out, _ = run("replay", "c", "s", "--start", str(times[-1]))
    assert out == RECORDS[-1] + b"\n"

    _, out, _ = run("replay", "c", "s", "--end", str(times[0]))
    assert out == b""

    _, out, _ = run("replay", "c", "s", "--start", str(times[2]),
                    "--end", str(times[2]))
    assert out == b""


def test_range_accepts_iso_times_from_the_summary(run, logged):
    times = [obj["time"] for obj in logged]
    status, out, _ = run("replay", "c", "s", "--format", "jsonl",
                         "--start", format_time(times[5]),
                         "--end", format_time(times[6]))
    assert status == 0
    assert [json.loads(line)["time"] for line in out.splitlines()] == [
        times[5]]


def test_relative_times_and_now(run, logged):
    _, everything, _ = run("replay", "c", "s")
    assert run("replay", "c", "s", "--start", "-1h")[1] == everything
    assert run("replay", "c", "s", "--start=-1d", "--end", "now")[1] == (
        everything)
    assert run("replay", "c", "s", "--end", "-1h")[1] == b""
    assert run("replay", "c", "s", "--start", "now", "--end",
               str(2**64 - 1))[1] == b""


@pytest.mark.parametrize("count", [0, 1, 3, 7, 100])
def test_tail_gives_the_last_events(run, logged, count):
    _, out, _ = run("replay", "c", "s", "--tail", str(count),
                    "--format", "jsonl")
    expected = logged[len(logged) - min(count, len(logged)):] if count else []
    assert [json.loads(line) for line in out.splitlines()] == expected


def test_tail_applies_within_the_range(run, logged):
    times = [obj["time"] for obj in logged]
    _, out, _ = run("replay", "c", "s", "--end", str(times[3]), "--tail", "2")
    assert out.splitlines() == [RECORDS[1], RECORDS[2]]


def test_missing_chronicle(run, logged):
    status, out, err = run("replay", "nope", "s")
    assert (status, out) == (cli.EXIT_CHRONOLOG, b"")
    assert err.startswith(
        b"chronolog-ctypes: error: cannot replay story 's' of chronicle "
        b"'nope'")
    assert b"(CL_ERR_NOT_EXIST): list what exists with" in err
    assert err.count(b"\n") == 1


def test_missing_story_is_not_created_by_replay(run, logged):
    status, _, err = run("replay", "c", "missing")
    assert status == 1
    assert err == (
        b"chronolog-ctypes: error: cannot replay story 'missing' of "
        b"chronicle 'c': the story does not exist (CL_ERR_NOT_EXIST): list "
        b"what exists with the subcommands 'chronicles' and 'stories "
        b"CHRONICLE', given the same backend options\n")
    assert run("stories", "c")[1] == b"s\n"


def test_a_story_destroyed_just_before_the_acquisition_comes_back_empty(
        run, logged, store, monkeypatch):
    # The race that docs/cli/replay.md describes, made certain: another
    # client destroys the story right after replay has seen it listed.
    acquire = chronolog_ctypes.Client.acquire_story

    def destroyed_first(client, chronicle, story, *args, **kwargs):
        with chronolog_ctypes.Client.embedded(store) as other:
            other.destroy_story(chronicle, story)
        return acquire(client, chronicle, story, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(chronolog_ctypes.Client, "acquire_story",
                      destroyed_first)
        assert run("replay", "c", "s") == (0, b"", b"")

    assert run("stories", "c") == (0, b"s\n", b"")
    assert run("replay", "c", "s") == (0, b"", b"")


@pytest.mark.parametrize("option, value, message", [
    ("--start", "yesterday", b"bad --start 'yesterday': not a time"),
    ("--end", "2024-02-30", b"bad --end '2024-02-30': not a valid date-time"),
    ("--start", "-5y", b"bad --start '-5y': not a time"),
    ("--tail", "-1", b"bad --tail -1"),
])
def test_bad_arguments_are_usage_errors(run, logged, option, value, message):
    status, out, err = run("replay", "c", "s", option + "=" + value)
    assert (status, out) == (cli.EXIT_USAGE, b"")
    assert err.startswith(b"chronolog-ctypes: error: " + message)
    assert b"(CL_ERR_INVALID_ARG)" in err


def test_reversed_range_is_a_usage_error(run, logged):
    status, out, err = run("replay", "c", "s", "--start", "2000",
                           "--end", "1000")
    assert (status, out) == (2, b"")
    assert err == (
        b"chronolog-ctypes: error: reversed range: --start "
        b"1970-01-01T00:00:00.000002000Z is after --end "
        b"1970-01-01T00:00:00.000001000Z (CL_ERR_INVALID_ARG): give a "
        b"--start before the --end\n")


def test_unknown_format_is_rejected_by_argparse(run, logged):
    status, out, err = run("replay", "c", "s", "--format", "xml")
    assert (status, out) == (2, b"")
    assert b"invalid choice: 'xml'" in err


def test_event_to_json_chooses_the_field_by_validity():
    class Event:
        def __init__(self, record):
            self.record = record

        def time(self):
            return 5

        def client_id(self):
            return 6

        def index(self):
            return 7

    assert cli.event_to_json(Event(b"ok")) == {
        "time": 5, "client_id": 6, "index": 7, "record": "ok"}
    assert cli.event_to_json(Event(b"\xc3")) == {
        "time": 5, "client_id": 6, "index": 7, "record_b64": "ww=="}
