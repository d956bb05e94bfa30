"""chronolog-ctypes ingest: lines of files or stdin become events."""

import io
import json
import re
import sys

import pytest

from chronolog_ctypes import cli
from chronolog_ctypes._timeparse import format_time


def records(run, chronicle="c", story="s"):
    """Return the records of a story, replayed as jsonl (lossless)."""
    status, out, err = run("replay", chronicle, story, "--format", "jsonl")
    assert (status, err) == (0, b"")
    result = []
    for line in out.splitlines():
        obj = json.loads(line)
        if "record" in obj:
            result.append(obj["record"].encode("utf-8"))
        else:
            import base64

            result.append(base64.b64decode(obj["record_b64"]))
    return result


def summary(out):
    """Return the summary lines of ingest as a dict."""
    fields = {}
    for line in out.decode("ascii").splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def test_every_line_of_a_file_becomes_one_event(run, tmp_path):
    (tmp_path / "in.log").write_bytes(b"first\nsecond\n\nfourth\n")

    status, out, err = run("ingest", "c", "s", "in.log")

    assert (status, err) == (0, b"")
    assert records(run) == [b"first", b"second", b"", b"fourth"]
    fields = summary(out)
    assert fields["events"] == "4"
    assert fields["bytes"] == str(len(b"firstsecondfourth"))


def test_empty_lines_are_skipped_and_counted_for_chronolog(
        run, tmp_path, monkeypatch):
    # The ChronoLog backend refuses empty records (ChronoLog's servers
    # would discard them): ingest leaves them out and says how many.
    import chronolog_ctypes as cl

    (tmp_path / "in.log").write_bytes(b"first\n\n\nsecond\n\n")
    with monkeypatch.context() as patch:
        patch.setattr(cl.Client, "backend", property(lambda _: "chronolog"))
        status, out, err = run("ingest", "c", "s", "in.log")

    assert (status, err) == (0, b"")
    fields = summary(out)
    assert (fields["events"], fields["bytes"]) == ("2", "11")
    assert fields["skipped"] == "3 empty records (ChronoLog keeps none)"
    assert records(run) == [b"first", b"second"]


def test_crlf_is_removed_and_bytes_are_kept_exactly(run, tmp_path):
    data = b"caf\xc3\xa9\r\nbad \xff\xfe\r\nnul\x00inside\r\nlone\rcr\nlast"
    (tmp_path / "in.log").write_bytes(data)

    status, _, _ = run("ingest", "c", "s", "in.log")

    assert status == 0
    assert records(run) == [
        b"caf\xc3\xa9", b"bad \xff\xfe", b"nul\x00inside", b"lone\rcr", b"last"]


def test_a_cr_ending_the_input_without_a_newline_is_kept(run):
    status, _, _ = run("ingest", "c", "s", stdin=b"a\r\nb\r")

    assert status == 0
    assert records(run) == [b"a", b"b\r"]


def test_stdin_is_read_without_files_and_for_dash(run, tmp_path):
    (tmp_path / "a.log").write_bytes(b"a1\na2\n")
    (tmp_path / "b.log").write_bytes(b"b1\n")

    assert run("ingest", "c", "s", stdin=b"in1\nin2\n")[0] == 0
    assert run("ingest", "c", "s", "a.log", "-", "b.log", stdin=b"in3\n")[0] == 0

    assert records(run) == [b"in1", b"in2", b"a1", b"a2", b"in3", b"b1"]


def test_chronicle_and_story_are_created_and_then_reused(run):
    assert run("ingest", "new", "one", stdin=b"x\n")[0] == 0
    assert run("ingest", "new", "two", stdin=b"y\n")[0] == 0
    assert run("ingest", "new", "one", stdin=b"z\n")[0] == 0

    assert run("chronicles")[1] == b"new\n"
    assert run("stories", "new")[1] == b"one\ntwo\n"
    assert records(run, "new", "one") == [b"x", b"z"]


@pytest.mark.parametrize("delimiter, data, expected", [
    ("\\0", b"a\x00b\nc\x00", [b"a", b"b\nc"]),
    ("\\x1e", b"r1\x1er2\r\n\x1er3", [b"r1", b"r2\r\n", b"r3"]),
    ("||", b"one||two|three||||", [b"one", b"two|three", b""]),
    ("\\r\\n", b"a\r\nb\nc\r\n", [b"a", b"b\nc"]),
    ("\\n", b"keeps cr\r\n", [b"keeps cr\r"]),
    ("\u00a7", "x\u00a7y".encode("utf-8"), [b"x", b"y"]),
])
def test_delimiter_option(run, delimiter, data, expected):
    status, _, err = run("ingest", "c", "s", "--delimiter", delimiter, stdin=data)

    assert (status, err) == (0, b"")
    assert records(run) == expected


def test_delimiter_split_across_reads_is_found(run, monkeypatch):
    monkeypatch.setattr(cli, "READ_SIZE", 3)
    data = b"alpha<>beta<><>gamma<"

    status, _, _ = run("ingest", "c", "s", "--delimiter", "<>", stdin=data)

    assert status == 0
    assert records(run) == [b"alpha", b"beta", b"", b"gamma<"]


def test_read_records_yields_one_list_per_read():
    stream = io.BytesIO(b"a\r\nb\nc")
    assert list(cli.read_records(stream)) == [[b"a", b"b"], [b"c"]]
    assert list(cli.read_records(io.BytesIO(b""))) == []
    assert list(cli.read_records(io.BytesIO(b"\n"))) == [[b""]]


@pytest.mark.parametrize("batch_size", ["1", "3", "4096"])
def test_batches_keep_order_and_count(run, batch_size):
    lines = [("line %d" % number).encode() for number in range(10)]

    status, out, _ = run("ingest", "c", "s", "--batch-size", batch_size,
                         stdin=b"\n".join(lines) + b"\n")

    assert status == 0
    assert summary(out)["events"] == "10"
    assert records(run) == lines


def test_summary_gives_first_and_last_time_as_iso_and_ns(run):
    status, out, _ = run("ingest", "c", "s", stdin=b"one\ntwo\nthree\n")
    assert status == 0

    _, replayed, _ = run("replay", "c", "s", "--format", "jsonl")
    times = [json.loads(line)["time"] for line in replayed.splitlines()]
    fields = summary(out)
    assert fields["first"] == "%s (%d)" % (format_time(times[0]), times[0])
    assert fields["last"] == "%s (%d)" % (format_time(times[-1]), times[-1])
    assert re.fullmatch(r"\d+\.\d{3}", fields["seconds"])
    assert re.fullmatch(r"\d+", fields["events/s"])


def test_empty_input_logs_nothing_and_says_so(run):
    status, out, _ = run("ingest", "c", "s", stdin=b"")

    assert status == 0
    fields = summary(out)
    assert (fields["events"], fields["bytes"]) == ("0", "0")
    assert (fields["first"], fields["last"]) == ("-", "-")
    assert records(run) == []


def test_quiet_prints_no_summary(run):
    assert run("ingest", "-q", "c", "s", stdin=b"x\n")[1:] == (b"", b"")
    assert records(run) == [b"x"]


def test_progress_when_forced_goes_to_stderr_at_the_end(run, monkeypatch):
    clock = iter(range(0, 1000, 2))  # two seconds between readings
    monkeypatch.setattr(cli, "_clock", lambda: next(clock))

    status, out, err = run("ingest", "--progress", "c", "s",
                           "--batch-size", "2", stdin=b"a\nb\nc\nd\n")

    assert status == 0
    assert summary(out)["events"] == "4"
    assert err.startswith(b"\r")
    assert err.endswith(b"ingest: 4 events, 0.0 MiB, 0 events/s\n")


def test_no_progress_on_a_pipe_by_default(run):
    status, _, err = run("ingest", "c", "s", stdin=b"a\n" * 100)
    assert (status, err) == (0, b"")


def test_missing_file_stops_before_anything_is_logged(run, tmp_path):
    (tmp_path / "good.log").write_bytes(b"good\n")

    status, out, err = run("ingest", "c", "s", "good.log", "missing.log")

    assert status == cli.EXIT_FILE == 3
    assert out == b""
    assert err == (
        b"chronolog-ctypes: error: cannot read missing.log: No such file or "
        b"directory (ENOENT): check the path and its permissions; nothing "
        b"was logged\n")
    assert run("chronicles")[1] == b""


def test_directory_as_input_is_an_unreadable_file(run, tmp_path):
    (tmp_path / "adir").mkdir()

    status, _, err = run("ingest", "c", "s", "adir")

    assert status == 3
    assert b"cannot read adir: Is a directory (EISDIR)" in err


def test_bad_delimiter_and_batch_size_are_usage_errors(run):
    status, _, err = run("ingest", "c", "s", "--delimiter", "\\q")
    assert status == cli.EXIT_USAGE == 2
    assert err.startswith(b"chronolog-ctypes: error: bad --delimiter: unknown "
                          b"escape '\\\\q'")
    assert b"(CL_ERR_INVALID_ARG)" in err

    assert run("ingest", "c", "s", "--delimiter", "")[0] == 2
    assert run("ingest", "c", "s", "--batch-size", "0")[0] == 2
    assert run("chronicles")[1] == b""


def test_parse_delimiter_escapes():
    assert cli.parse_delimiter("\\0") == b"\0"
    assert cli.parse_delimiter("\\t|\\\\") == b"\t|\\"
    assert cli.parse_delimiter("\\xff\\x00") == b"\xff\x00"
    assert cli.parse_delimiter("\u00e9") == "\u00e9".encode("utf-8")
    for bad in ("", "\\", "\\x4", "\\u0041"):
        with pytest.raises(ValueError):
            cli.parse_delimiter(bad)


def test_file_vanishing_after_the_check_keeps_earlier_events(
        run, tmp_path, monkeypatch):
    (tmp_path / "first.log").write_bytes(b"kept\n")
    (tmp_path / "second.log").write_bytes(b"gone\n")
    real_check = cli._check_inputs

    def check_then_remove(paths):
        real_check(paths)
        (tmp_path / "second.log").unlink()

    monkeypatch.setattr(cli, "_check_inputs", check_then_remove)

    status, out, err = run("ingest", "c", "s", "first.log", "second.log")

    assert (status, out) == (cli.EXIT_FILE, b"")
    assert err == (b"chronolog-ctypes: error: cannot read second.log: No such "
                   b"file or directory (ENOENT): check the path; the events "
                   b"before it were logged\n")
    assert records(run) == [b"kept"]


class _InterruptedStdin:
    """A stdin that gives some lines, then raises as Ctrl-C would."""

    def __init__(self, data):
        self.buffer = self
        self._pieces = [data]

    def read(self, size):
        if self._pieces:
            return self._pieces.pop()
        raise KeyboardInterrupt

    read1 = read

    def isatty(self):
        return False


def test_interrupt_still_prints_the_summary_of_what_was_kept(
        run, tmp_path, monkeypatch, capsysbinary):
    monkeypatch.setattr(sys, "stdin", _InterruptedStdin(b"one\ntwo\n"))

    status = cli.main(["--store", str(tmp_path / "store"), "ingest", "c", "s"])
    out, err = capsysbinary.readouterr()

    assert status == cli.EXIT_INTERRUPTED == 130
    assert summary(out)["events"] == "2"
    assert err == b"chronolog-ctypes: interrupted\n"
    assert records(run) == [b"one", b"two"]


def test_files_are_not_named_as_missing(run):
    status, _, err = run("ingest", "c")

    assert status == cli.EXIT_USAGE
    assert err.splitlines()[-1] == (
        b"chronolog-ctypes ingest: error: the following arguments are "
        b"required: STORY")


def test_reading_a_terminal_without_file_says_so_once(run):
    status, out, err = run("ingest", "c", "s", stdin=b"typed\n", tty=True)

    assert status == 0
    assert err == (b"chronolog-ctypes ingest: reading lines from the terminal "
                   b"(standard input); end with Ctrl-D, or give FILE\n")
    assert summary(out)["events"] == "1"
    assert records(run) == [b"typed"]


def test_no_terminal_hint_for_a_pipe_or_an_explicit_dash(run):
    assert run("ingest", "-q", "c", "s", stdin=b"piped\n") == (0, b"", b"")
    assert run("ingest", "-q", "c", "s", "-", stdin=b"dash\n", tty=True) == (
        0, b"", b"")
    assert records(run) == [b"piped", b"dash"]

