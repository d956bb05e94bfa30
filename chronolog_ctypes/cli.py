"""The ``chronolog-ctypes`` command-line tool (also ``python -m chronolog_ctypes``).

Subcommands: ``ingest`` puts the lines of files into a story, ``replay``
writes a time range of a story back out, ``chronicles``, ``stories``,
``attr`` and ``destroy`` inspect and manage the store. Every subcommand
works on the same backend choices: an embedded store directory
(``--store``, the default), ChronoLog's client configuration file
(``--config``), or explicit ChronoLog service addresses (``--portal`` and
``--query``). The pages under ``docs/cli/`` describe each subcommand.

:func:`main` is the entry point: it takes the arguments, returns the exit
status, and never raises for a condition it can describe.
"""

import argparse
import base64
import collections
import contextlib
import csv
import errno
import json
import os
import re
import stat
import sys
import time
import unicodedata
from typing import (
    IO,
    Any,
    BinaryIO,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
)

import chronolog_ctypes
from chronolog_ctypes import _status
from chronolog_ctypes._timeparse import FORMS, MAX_TIME, format_time, parse_time
from chronolog_ctypes.config import store_from_environment

__all__ = [
    "EXIT_OK",
    "EXIT_CHRONOLOG",
    "EXIT_USAGE",
    "EXIT_FILE",
    "EXIT_UNAVAILABLE",
    "EXIT_INTERRUPTED",
    "EXIT_BROKEN_PIPE",
    "CommandError",
    "default_store_dir",
    "open_client",
    "parse_address",
    "parse_delimiter",
    "main",
]

PROG = "chronolog-ctypes"

#: Exit statuses, as documented in docs/cli/README.md.
EXIT_OK = 0
EXIT_CHRONOLOG = 1  # the store or the deployment refused the request
EXIT_USAGE = 2  # bad arguments (argparse uses 2 as well)
EXIT_FILE = 3  # a file cannot be read (or the output written)
EXIT_UNAVAILABLE = 4  # backend not built in, library missing or mismatched
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
EXIT_BROKEN_PIPE = 141  # the reader closed stdout, as a shell reports SIGPIPE

#: ChronoLog's default service endpoints, in our address syntax.
DEFAULT_PORTAL = "ofi+sockets://127.0.0.1:5555/55"
DEFAULT_QUERY = "ofi+sockets://127.0.0.1:5557/57"

#: The environment variable that names the library to load (see _native).
LIBRARY_VARIABLE = "CHRONOLOG_CTYPES_LIBRARY"

#: Events given to one StoryHandle.log_many call by ingest.
DEFAULT_BATCH = 4096

#: The clock of ingest's rate and progress (replaceable in tests).
_clock = time.monotonic

#: The database file an embedded store directory holds.
STORE_FILE = "chronolog.db"

#: What ingest says when it reads a terminal because no FILE was given.
STDIN_HINT = ("%s ingest: reading lines from the terminal (standard input); "
              "end with Ctrl-D, or give FILE\n" % PROG)

#: Bytes read from an input at a time; bounds ingest's memory with the
#: batch size and the longest record.
READ_SIZE = 1 << 20

_UNAVAILABLE_STATUSES = ("CLC_ERR_BACKEND_UNAVAILABLE", "CLC_ERR_ABI_MISMATCH")

_HINTS = {
    "CL_ERR_NOT_EXIST": (
        "list what exists with the subcommands 'chronicles' and "
        "'stories CHRONICLE', given the same backend options"
    ),
    "CL_ERR_ACQUIRED": (
        "a program still holds a story of it: release the story there "
        "(or end that program) and retry"
    ),
    "CL_ERR_INVALID_ARG": "check the names and values given",
    "CL_ERR_NO_CONNECTION": (
        "check that ChronoVisor listens at the --portal address"
    ),
    "CL_ERR_UNKNOWN": (
        "check that the ChronoLog services are running and reachable"
    ),
    "CL_ERR_NO_KEEPERS": "start a ChronoKeeper, then retry",
    "CL_ERR_NO_PLAYERS": "start a ChronoPlayer, then retry",
    "CL_ERR_NOT_AUTHORIZED": "ask the deployment's administrator for access",
    "CL_ERR_NOT_READER_MODE": "give --query so that the client can replay",
    "CL_ERR_QUERY_TIMED_OUT": (
        "ChronoLog makes events replayable seconds after they are written: "
        "retry later, or narrow the range"
    ),
    "CL_ERR_PROTOCOL_VERSION_MISMATCH": (
        "use a library built against the servers' ChronoLog release"
    ),
    "CLC_ERR_BACKEND_UNAVAILABLE": (
        "rebuild the package where CMake finds an installed ChronoLog "
        "client (CHRONOLOG_ROOT=<prefix> pip install .), or use the "
        "embedded store with --store DIR"
    ),
    "CLC_ERR_ABI_MISMATCH": (
        "reinstall chronolog-ctypes so that the package and its library "
        "match, or unset CHRONOLOG_CTYPES_LIBRARY"
    ),
    "CLC_ERR_STORE_IO": (
        "check that the store directory can be created and written, or "
        "choose another with --store DIR"
    ),
}

_DEFAULT_HINT = "see 'chronolog-ctypes --help'"


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class CommandError(Exception):
    """A failure the tool reports as one line and an exit status.

    ``what`` says what failed, ``status`` names the condition (a ChronoLog
    status name, or an errno name for a file), ``hint`` says what to do.
    """

    def __init__(self, what: str, status: str, hint: str, exit_code: int) -> None:
        super().__init__(what)
        self.what = what
        self.status = status
        self.hint = hint
        self.exit_code = exit_code

    def line(self) -> str:
        """Return the one-line message printed on stderr."""
        return "%s: error: %s (%s): %s" % (PROG, self.what, self.status, self.hint)


def usage_error(what: str, hint: str) -> CommandError:
    """Return the CommandError of a bad argument (exit status 2)."""
    return CommandError(what, "CL_ERR_INVALID_ARG", hint, EXIT_USAGE)


def chronolog_failure(doing: str, error: Exception) -> CommandError:
    """Return the CommandError for a ChronologError met while ``doing``."""
    if isinstance(error, _status.LibraryNotFoundError):
        if os.environ.get(LIBRARY_VARIABLE):
            hint = ("fix %s, or unset it to use the copy installed with "
                    "the package" % LIBRARY_VARIABLE)
        else:
            hint = ("install chronolog-ctypes with pip (its wheel carries "
                    "the library), or set %s to the path of a "
                    "libchronolog_capi.so" % LIBRARY_VARIABLE)
        return CommandError(library_failure(error), "LIBRARY_NOT_FOUND",
                            hint, EXIT_UNAVAILABLE)

    name = getattr(error, "name", "CL_ERR_UNKNOWN")
    message = _one_line(getattr(error, "message", "") or str(error))
    if message.startswith(("cannot ", "while ")) and ": " in message:
        # The package puts its own "cannot <call>: " before the library's
        # words; ``doing`` says the same in the terms of the command.
        message = message.split(": ", 1)[1]
    if name == "CLC_ERR_BACKEND_UNAVAILABLE":
        # The library's own message advises an environment variable; the
        # hint below gives the tool's options instead.
        message = "the library was built without the ChronoLog backend"
    what = doing if message in ("", name) else "%s: %s" % (doing, message)
    code = EXIT_UNAVAILABLE if name in _UNAVAILABLE_STATUSES else EXIT_CHRONOLOG
    return CommandError(what, name, _HINTS.get(name, _DEFAULT_HINT), code)


def library_failure(error: Any) -> str:
    """Return, in one line, where a LibraryNotFoundError looked and why."""
    places = []
    for place, reason in getattr(error, "tried", ()):
        # The loader's reason often starts with the name it was given.
        if reason.startswith(place + ": "):
            reason = reason[len(place) + 2:]
        places.append("%s (%s)" % (place, _one_line(reason)))
    if not places:
        return "cannot load libchronolog_capi: " + _one_line(str(error))
    return "cannot load libchronolog_capi; tried " + "; ".join(places)


@contextlib.contextmanager
def reporting(doing: str, hints: Optional[Dict[str, str]] = None) -> Iterator[None]:
    """Turn a ChronologError raised inside into a CommandError.

    ``hints`` replaces the usual hint of some statuses, by name.
    """
    try:
        yield
    except _status.ChronologError as error:
        failure = chronolog_failure(doing, error)
        if hints and failure.status in hints:
            failure.hint = hints[failure.status]
        raise failure from error


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_name(name: str) -> str:
    r"""Return a name as one line of text that says every character.

    A backslash becomes ``\\``; a newline, a CR and a tab ``\n``, ``\r``
    and ``\t``; another control character, or a line or paragraph
    separator, ``\xHH`` or ``\uHHHH``; a byte that is not UTF-8 (which
    Python keeps in a name as a surrogate escape) ``\xHH``, that byte.
    Any other character stays as it is.
    """
    pieces = []
    for char in name:
        code = ord(char)
        if char in _ESCAPES:
            pieces.append(_ESCAPES[char])
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of argv
            pieces.append("\\x%02x" % (code - 0xDC00))
        elif unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            pieces.append("\\x%02x" % code if code <= 0xFF
                          else "\\u%04x" % code)
        else:
            pieces.append(char)
    return "".join(pieces)


def _one_line(text: str) -> str:
    """Return ``text`` with its lines joined, for a one-line message."""
    return " ".join(part.strip() for part in str(text).splitlines()).strip()


# ---------------------------------------------------------------------------
# Backend choices, shared with the logging handler
# ---------------------------------------------------------------------------


def default_store_dir(environ: Optional[Dict[str, str]] = None) -> str:
    """Return the default embedded store directory.

    ``$CHRONOLOG_CTYPES_STORE`` when set, else
    ``$XDG_DATA_HOME/chronolog-ctypes/store`` when XDG_DATA_HOME is an
    absolute path, else ``~/.local/share/chronolog-ctypes/store``.
    """
    env = os.environ if environ is None else environ
    explicit = store_from_environment(env)
    if explicit is not None:
        return explicit

    data_home = env.get("XDG_DATA_HOME", "")
    if not os.path.isabs(data_home):
        data_home = os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data_home, "chronolog-ctypes", "store")


_ADDRESS = re.compile(
    r"(?P<protocol>[A-Za-z0-9+_.-]+)://"
    r"(?P<ip>\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+)"
    r":(?P<port>\d+)"
    r"(?:/(?P<provider>\d+))?"
)


def parse_address(text: str, default_provider: int) -> Tuple[str, str, int, int]:
    """Return (protocol, ip, port, provider_id) of ``PROTO://IP:PORT[/PROVIDER]``.

    For example ``ofi+sockets://127.0.0.1:5555/55``; an IPv6 address goes
    in brackets. The provider id defaults to ``default_provider``. Raises
    ValueError for any other text, or a port or provider id above 65535.
    """
    match = _ADDRESS.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            "not an address of the form PROTO://IP:PORT/PROVIDER: %r" % text)

    port = int(match.group("port"))
    provider = match.group("provider")
    provider_id = default_provider if provider is None else int(provider)
    if port > 65535 or provider_id > 65535:
        raise ValueError("port and provider id must be within 0..65535: %r" % text)

    return match.group("protocol"), match.group("ip").strip("[]"), port, provider_id


def open_client(
    store: Optional[str] = None,
    config: Optional[str] = None,
    portal: Optional[str] = None,
    query: Optional[str] = None,
    reader: bool = True,
) -> Any:
    """Return a new, not yet connected client for one backend choice.

    ``store`` is an embedded store directory, ``config`` ChronoLog's client
    JSON file, ``portal``/``query`` addresses of a deployment
    (``PROTO://IP:PORT/PROVIDER``). At most one of store, config and the
    addresses may be given; with none, the default store is used. A client
    of a deployment is a reader when ``query`` is given or ``reader`` is
    true (ChronoLog's default query address then). Raises ValueError for
    conflicting or malformed choices, ChronologError from the package.
    """
    given = [name for name, value in (("--store", store), ("--config", config))
             if value is not None]
    if portal is not None or query is not None:
        given.append("--portal/--query")
    if len(given) > 1:
        raise ValueError("choose one backend, not %s" % " and ".join(given))

    if portal is None and query is None and config is None:
        directory = default_store_dir() if store is None else store
        return chronolog_ctypes.Client.embedded(
            os.path.expanduser(directory), reader=reader)

    if config is not None:
        settings = chronolog_ctypes.load_client_config(os.path.expanduser(config))
        portal_conf, query_conf = settings.portal, settings.query
        if not reader:
            query_conf = None
    else:
        portal_conf = chronolog_ctypes.ClientPortalServiceConf(
            *parse_address(portal or DEFAULT_PORTAL, 55))
        query_conf = None
        if query is not None or reader:
            query_conf = chronolog_ctypes.ClientQueryServiceConf(
                *parse_address(query or DEFAULT_QUERY, 57))
    return chronolog_ctypes.Client.deployment(portal_conf, query_conf)


def parse_delimiter(text: str) -> bytes:
    r"""Return the bytes a ``--delimiter`` argument stands for.

    Escapes: ``\n``, ``\r``, ``\t``, ``\0``, ``\\`` and ``\xHH`` (one
    byte); any other character stands for its UTF-8 bytes. Raises
    ValueError for an empty result or an unknown escape.
    """
    simple = {"n": b"\n", "r": b"\r", "t": b"\t", "0": b"\0", "\\": b"\\"}
    result = bytearray()
    position = 0
    while position < len(text):
        char = text[position]
        if char != "\\":
            result += os.fsencode(char)
            position += 1
            continue

        escape = text[position + 1:position + 2]
        if escape in simple:
            result += simple[escape]
            position += 2
        elif escape == "x" and re.fullmatch(
                r"[0-9A-Fa-f]{2}", text[position + 2:position + 4]):
            result.append(int(text[position + 2:position + 4], 16))
            position += 4
        else:
            raise ValueError(
                "unknown escape %r in delimiter %r" % ("\\" + escape, text))

    if not result:
        raise ValueError("the delimiter is empty")
    return bytes(result)


# ---------------------------------------------------------------------------
# ingest
# ---------------------------------------------------------------------------


def _check_inputs(paths: Sequence[str]) -> None:
    """Check that every input can be read, so that none fails half-way.

    A regular file (or a directory, which then fails) is opened and closed
    again. A named pipe or a device is only checked for read permission:
    opening and closing a pipe would cut off its writer, and the open
    that reads it would then wait forever.
    """
    for path in paths:
        if path == "-":
            continue
        try:
            if _is_stream(path):
                if not os.access(path, os.R_OK):
                    raise PermissionError(errno.EACCES,
                                          os.strerror(errno.EACCES), path)
                continue
            with open(path, "rb"):
                pass
        except OSError as error:
            raise CommandError(
                "cannot read %s: %s" % (path, error.strerror or error),
                errno.errorcode.get(error.errno or 0, "EIO"),
                "check the path and its permissions; nothing was logged",
                EXIT_FILE,
            ) from error


def _is_stream(path: str) -> bool:
    """Whether ``path`` is a named pipe or a character device."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False  # the open that follows reports why
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


@contextlib.contextmanager
def _open_input(path: str) -> Iterator[BinaryIO]:
    """Yield the binary stream of an input (``-`` is standard input)."""
    if path == "-":
        yield getattr(sys.stdin, "buffer", sys.stdin)
        return

    try:
        stream = open(path, "rb")
    except OSError as error:
        raise CommandError(
            "cannot read %s: %s" % (path, error.strerror or error),
            errno.errorcode.get(error.errno or 0, "EIO"),
            "check the path; the events before it were logged",
            EXIT_FILE,
        ) from error
    with stream:
        yield stream


def read_records(
    stream: BinaryIO, delimiter: bytes = b"\n", strip_cr: bool = True
) -> Iterator[List[bytes]]:
    """Yield the records of a binary stream, a list per read.

    Records are separated by ``delimiter``, which is removed; with
    ``strip_cr`` one ``\\r`` before it goes too (CRLF line endings). A
    last record without a delimiter counts, whole (a CR it ends with is
    kept); an input that ends with the delimiter has no empty record
    after it. Each list holds the records completed by one read, so that
    a slow producer (``tail -f``) sees its lines logged as they come.
    """
    read = getattr(stream, "read1", stream.read)
    pending = bytearray()
    size = len(delimiter)
    while True:
        chunk = read(READ_SIZE)
        if not chunk:
            break

        search_from = max(0, len(pending) - size + 1)
        pending += chunk
        records = []
        start = 0
        while True:
            end = pending.find(delimiter, search_from)
            if end < 0:
                break
            records.append(_strip(bytes(pending[start:end]), strip_cr))
            start = search_from = end + size
        del pending[:start]
        if records:
            yield records

    if pending:
        # No delimiter follows: a CR at the very end is part of the record.
        yield [bytes(pending)]


def _strip(record: bytes, strip_cr: bool) -> bytes:
    return record[:-1] if strip_cr and record.endswith(b"\r") else record


class _IngestTally:
    """Counts, timestamps and the progress line of one ingest."""

    def __init__(self, progress: bool, stream: IO[str]) -> None:
        self.events = 0
        self.bytes = 0
        self.skipped = 0  # empty records a backend would refuse
        self.first = None  # type: Optional[int]
        self.last = None  # type: Optional[int]
        self.started = _clock()
        self._progress = progress
        self._stream = stream
        self._shown_at = None  # type: Optional[float]

    def add(self, records: List[bytes], times: Sequence[int]) -> None:
        """Count one logged batch."""
        self.events += len(records)
        self.bytes += sum(len(record) for record in records)
        if len(times):
            if self.first is None:
                self.first = times[0]
            self.last = times[-1]
        self._show(final=False)

    def finish(self) -> None:
        """End the progress line, if one was shown."""
        self._show(final=True)

    def rate(self) -> float:
        """Events per second so far."""
        elapsed = _clock() - self.started
        return self.events / elapsed if elapsed > 0 else 0.0

    def summary(self) -> str:
        """Return the summary lines printed when ingest ends."""
        lines = [
            "events:   %d" % self.events,
            "bytes:    %d" % self.bytes,
            "seconds:  %.3f" % (_clock() - self.started),
            "events/s: %d" % self.rate(),
        ]
        if self.skipped:
            lines.append("skipped:  %d empty records (ChronoLog keeps none)"
                         % self.skipped)
        for label, value in (("first:   ", self.first), ("last:    ", self.last)):
            if value is None:
                lines.append("%s -" % label)
            else:
                lines.append("%s %s (%d)" % (label, format_time(value), value))
        return "\n".join(lines) + "\n"

    def _show(self, final: bool) -> None:
        # Shown only when stderr is a terminal and the input lasts more
        # than a second, so short runs and pipelines stay quiet.
        if not self._progress:
            return
        now = _clock()
        if not final and (
            now - self.started < 1.0
            or (self._shown_at is not None and now - self._shown_at < 0.25)
        ):
            return
        if final and self._shown_at is None:
            return

        self._shown_at = now
        self._stream.write(
            "\r%s ingest: %d events, %.1f MiB, %d events/s%s"
            % (PROG, self.events, self.bytes / 2**20, self.rate(),
               "\n" if final else "")
        )
        self._stream.flush()


def run_ingest(args: argparse.Namespace, client: Any) -> int:
    """Log every record of the inputs into the story; print a summary."""
    paths = args.files or ["-"]
    progress = args.progress
    if progress is None:
        progress = _isatty(sys.stderr)
    tally = _IngestTally(progress, sys.stderr)

    with reporting("cannot create chronicle %r" % args.chronicle):
        try:
            client.create_chronicle(args.chronicle)
        except _status.ChronicleExistsError:
            pass

    doing = "cannot log into story %r of chronicle %r" % (args.story, args.chronicle)
    interrupted = False
    try:
        with reporting(doing):
            with client.acquire_story(args.chronicle, args.story) as story:
                if not args.files and _isatty(sys.stdin):
                    # Else a user who forgot FILE sees a command that hangs.
                    sys.stderr.write(STDIN_HINT)
                    sys.stderr.flush()
                # ChronoLog's servers keep no empty record, and this
                # library's ChronoLog backend refuses one: skip and count.
                keep_empty = getattr(client, "backend", "") != "chronolog"
                for path in paths:
                    _ingest_input(args, path, story, tally, keep_empty)
    except KeyboardInterrupt:
        # Ctrl-C is how `tail -f log | chronolog-ctypes ingest` ends: the
        # story is released by now, so the summary tells what was kept.
        interrupted = True
    finally:
        tally.finish()  # ends the progress line before any error line

    if not args.quiet:
        _stdout().write(tally.summary().encode("ascii"))
    if interrupted:
        raise KeyboardInterrupt
    return EXIT_OK


def _ingest_input(args: argparse.Namespace, path: str, story: Any,
                  tally: _IngestTally, keep_empty: bool = True) -> None:
    with _open_input(path) as stream:
        for records in read_records(stream, args.delimiter_bytes, args.strip_cr):
            if not keep_empty and not all(records):
                count = len(records)
                records = [record for record in records if record]
                tally.skipped += count - len(records)
            for batch in _batches(records, args.batch_size):
                tally.add(batch, story.log_many(batch))


def _batches(records: List[bytes], size: int) -> Iterator[List[bytes]]:
    for start in range(0, len(records), size):
        yield records[start:start + size]


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# ---------------------------------------------------------------------------
# replay
# ---------------------------------------------------------------------------


class _TextToBytes:
    """A text stream (as csv.writer needs) that writes UTF-8 to a binary one."""

    def __init__(self, binary: BinaryIO) -> None:
        self._binary = binary

    def write(self, text: str) -> int:
        return self._binary.write(text.encode("utf-8"))


def event_to_json(event: Any) -> Dict[str, Any]:
    """Return the JSON object replay --format jsonl writes for an event.

    ``record`` holds the record as text when it is valid UTF-8; otherwise
    ``record_b64`` holds its bytes in base64 (RFC 4648) and ``record`` is
    absent.
    """
    obj = {
        "time": event.time(),
        "client_id": event.client_id(),
        "index": event.index(),
    }  # type: Dict[str, Any]
    text, b64 = _record_fields(event.record)
    if text is None:
        obj["record_b64"] = b64
    else:
        obj["record"] = text
    return obj


def _record_fields(record: bytes, nul_ok: bool = True) -> Tuple[Optional[str], str]:
    """Return (text, "") for a UTF-8 record, (None, base64) otherwise.

    With ``nul_ok`` false, a record holding a NUL byte goes to base64 too
    (the csv module of Python 3.10 and older cannot read a NUL back).
    """
    if nul_ok or b"\0" not in record:
        try:
            return record.decode("utf-8"), ""
        except UnicodeDecodeError:
            pass
    return None, base64.b64encode(record).decode("ascii")


def _writer_for(args: argparse.Namespace, out: BinaryIO) -> Callable[[Any], None]:
    """Return the function that writes one event in the chosen format."""
    if args.format == "plain":
        delimiter = args.delimiter_bytes

        def write_plain(event: Any) -> None:
            out.write(event.record + delimiter)

        return write_plain

    if args.format == "jsonl":

        def write_json(event: Any) -> None:
            line = json.dumps(event_to_json(event), ensure_ascii=False)
            out.write(line.encode("utf-8") + b"\n")

        return write_json

    table = csv.writer(_TextToBytes(out), lineterminator="\n")
    if args.header:
        table.writerow(["time", "client_id", "index", "record", "record_b64"])

    def write_row(event: Any) -> None:
        text, b64 = _record_fields(event.record, nul_ok=False)
        table.writerow([event.time(), event.client_id(), event.index(),
                        "" if text is None else text, b64])

    return write_row


def run_replay(args: argparse.Namespace, client: Any) -> int:
    """Write the events of the range to stdout, streaming."""
    where = "story %r of chronicle %r" % (args.story, args.chronicle)
    with reporting("cannot replay " + where):
        # Acquiring would create a missing story: look first. A story
        # destroyed between this look and the acquisition is created
        # again, empty; closing that race would take an acquisition that
        # refuses a missing story, which no API offers. Documented in
        # docs/cli/replay.md.
        if args.story not in client.stories(args.chronicle):
            raise CommandError(
                "cannot replay %s: the story does not exist" % where,
                "CL_ERR_NOT_EXIST", _HINTS["CL_ERR_NOT_EXIST"], EXIT_CHRONOLOG)

        with client.acquire_story(args.chronicle, args.story):
            replay = client.iter_replay(
                args.chronicle, args.story, args.start_ns, args.end_ns)
            try:
                _write_events(args, replay)
            finally:
                # Frees the paged replay at once when the output is closed.
                close = getattr(replay, "close", None)
                if close is not None:
                    close()
    return EXIT_OK


def _write_events(args: argparse.Namespace, events: Iterable[Any]) -> None:
    if args.tail is not None:
        events = collections.deque(events, maxlen=args.tail)

    out = _stdout()
    write = _writer_for(args, out)
    for event in events:
        write(event)
    out.flush()


# ---------------------------------------------------------------------------
# chronicles, stories, attr, destroy
# ---------------------------------------------------------------------------


def _print_lines(lines: Iterable[str]) -> None:
    out = _stdout()
    for line in lines:
        out.write(line.encode("utf-8", "surrogateescape") + b"\n")
    out.flush()


def run_chronicles(args: argparse.Namespace, client: Any) -> int:
    """Print the name of every chronicle, one a line, escaped."""
    with reporting("cannot list the chronicles"):
        names = client.chronicles()
    _print_lines(escape_name(name) for name in names)
    return EXIT_OK


def run_stories(args: argparse.Namespace, client: Any) -> int:
    """Print the name of every story of a chronicle, one a line, escaped."""
    with reporting("cannot list the stories of chronicle %r" % args.chronicle):
        names = client.stories(args.chronicle)
    _print_lines(escape_name(name) for name in names)
    return EXIT_OK


#: The hint for a missing attribute of a chronicle that exists.
ATTR_MISSING_HINT = (
    "attributes are given by the program that creates a chronicle (in "
    "Python, create_chronicle(name, {key: value})), so a chronicle made by "
    "'ingest' has none, and ChronoLog 2.5-2.7 deployments keep none")


def run_attr(args: argparse.Namespace, client: Any) -> int:
    """Print an attribute of a chronicle, or set it when a value is given."""
    if args.value is None:
        doing = "cannot read attribute %r of chronicle %r" % (args.key, args.chronicle)
    else:
        doing = "cannot set attribute %r of chronicle %r" % (args.key, args.chronicle)
    try:
        with reporting(doing):
            if args.value is None:
                value = client.get_chronicle_attr(args.chronicle, args.key)
            else:
                client.edit_chronicle_attr(args.chronicle, args.key, args.value)
    except CommandError as failure:
        # Not found: the chronicle (the usual hint), or only the attribute.
        if failure.status == "CL_ERR_NOT_EXIST" and _has_chronicle(client, args.chronicle):
            failure.hint = ATTR_MISSING_HINT
        raise
    if args.value is None:
        _print_lines([value])
    return EXIT_OK


def _has_chronicle(client: Any, chronicle: str) -> bool:
    try:
        return chronicle in client.chronicles()
    except _status.ChronologError:
        return False


def run_destroy(args: argparse.Namespace, client: Any) -> int:
    """Destroy a chronicle, or one story of it, with their events."""
    if args.story is None:
        with reporting("cannot destroy chronicle %r" % args.chronicle):
            client.destroy_chronicle(args.chronicle)
        return EXIT_OK

    with reporting("cannot destroy story %r of chronicle %r"
                   % (args.story, args.chronicle)):
        client.destroy_story(args.chronicle, args.story)
    return EXIT_OK


# ---------------------------------------------------------------------------
# Checks made before the backend is opened
# ---------------------------------------------------------------------------


#: The arguments that name something in the store, and their words.
_NAME_ARGUMENTS = (
    ("chronicle", "chronicle name"),
    ("story", "story name"),
    ("key", "attribute key"),
    ("value", "attribute value"),
)


def check_names(args: argparse.Namespace) -> None:
    """Refuse an empty or non-UTF-8 name before the backend is opened.

    The store would refuse them too, but only once the command had begun:
    ``ingest c ""`` would have created chronicle ``c`` first.
    """
    for attribute, words in _NAME_ARGUMENTS:
        value = getattr(args, attribute, None)
        if value is None:
            continue
        if not value:
            raise usage_error("the %s is empty" % words,
                              "give one character or more; nothing was done")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise usage_error(
                "the %s '%s' is not valid UTF-8" % (words, escape_name(value)),
                "give it in UTF-8 (each \\xHH above is a byte that is not); "
                "nothing was done") from None


def _prepare_delimiter(args: argparse.Namespace) -> None:
    if args.delimiter is None:
        args.delimiter_bytes, args.strip_cr = b"\n", True
        return
    try:
        args.delimiter_bytes = parse_delimiter(args.delimiter)
    except ValueError as error:
        raise usage_error(
            "bad --delimiter: %s" % error,
            "write the bytes, or the escapes \\n \\r \\t \\0 \\\\ \\xHH",
        ) from None
    args.strip_cr = False


def prepare_ingest(args: argparse.Namespace) -> None:
    """Check the delimiter and that every input can be read."""
    _prepare_delimiter(args)
    if args.batch_size < 1:
        raise usage_error("bad --batch-size %d" % args.batch_size,
                          "give a positive number of events")
    _check_inputs(args.files or ["-"])


def prepare_replay(args: argparse.Namespace) -> None:
    """Turn --start and --end into ns; check the range and the options."""
    if args.delimiter is not None and args.format != "plain":
        raise usage_error("--delimiter applies to --format plain only",
                          "drop --delimiter or use --format plain")
    _prepare_delimiter(args)
    if args.tail is not None and args.tail < 0:
        raise usage_error("bad --tail %d" % args.tail,
                          "give a number of events, 0 or more")

    now = time.time_ns()
    args.start_ns = _time_argument("--start", args.start, 0, now)
    args.end_ns = _time_argument("--end", args.end, MAX_TIME, now)
    if args.start_ns > args.end_ns:
        raise usage_error(
            "reversed range: --start %s is after --end %s"
            % (format_time(args.start_ns), format_time(args.end_ns)),
            "give a --start before the --end",
        )


def _time_argument(option: str, text: Optional[str], default: int, now: int) -> int:
    if text is None:
        return default
    try:
        return parse_time(text, now)
    except ValueError as error:
        raise usage_error("bad %s %r: %s" % (option, text, error), FORMS) from None


# ---------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------

_COMMANDS = {
    "ingest": (prepare_ingest, run_ingest, False),
    "replay": (prepare_replay, run_replay, True),
    "chronicles": (None, run_chronicles, False),
    "stories": (None, run_stories, False),
    "attr": (None, run_attr, False),
    "destroy": (None, run_destroy, False),
}  # type: Dict[str, Tuple[Any, Callable[[argparse.Namespace, Any], int], bool]]

_MAIN_EPILOG = """\
examples:
  chronolog-ctypes ingest system dpkg /var/log/dpkg.log
  chronolog-ctypes replay system dpkg --start -15m --format jsonl
  chronolog-ctypes replay system dpkg --tail 20
  chronolog-ctypes chronicles
  chronolog-ctypes --store ./my-store stories system

The backend options may stand before or after the subcommand.

exit status: 0 success, 1 ChronoLog error, 2 usage error, 3 file cannot be
read or written, 4 backend or library unavailable, 130 interrupted, 141
output closed.
"""

_EPILOGS = {
    "ingest": """\
Every line of the inputs becomes one event (line ending removed, CRLF
included; bytes kept as they are), stamped with the time it is logged:
times written inside the lines are not read, so replay's --start and --end
select by ingest time. The chronicle and the story are created
when missing. Every FILE is checked before anything is logged: a
missing or unreadable one stops the command (exit status 3) with nothing
logged. A summary is printed at the end.

examples:
  chronolog-ctypes ingest system dpkg /var/log/dpkg.log
  journalctl -o cat | chronolog-ctypes ingest system journal
  find . -print0 | chronolog-ctypes ingest disk files --delimiter '\\0'
""",
    "replay": """\
Times (--start, --end) are the events' timestamps, taken when they were
logged (for ingest, when the line was ingested): nanoseconds since the
epoch, an ISO-8601 date or date-time (local time unless it ends in Z or
+HH:MM), 'now', or a time before now: -30s, -15m, -2h, -3d, -1w. The range
is start <= time < end; the default is every event.

examples:
  chronolog-ctypes replay system dpkg --start -15m
  chronolog-ctypes replay system dpkg --start 2026-05-01T08:00 --end -1h
  chronolog-ctypes replay system dpkg --format jsonl | head -n 3
  chronolog-ctypes replay system dpkg --tail 20
""",
    "chronicles": """\
example:
  chronolog-ctypes chronicles
""",
    "stories": """\
example:
  chronolog-ctypes stories system
""",
    "attr": """\
The chronicle must exist. Without VALUE, prints the attribute's value;
with VALUE, changes it (as ChronoLog, only an attribute that exists).
Attributes are given by the program that creates a chronicle (in Python,
create_chronicle(name, {"owner": "ops"})); a chronicle made by ingest has
none. ChronoLog 2.5-2.7 deployments keep no attributes at all.

examples (for a chronicle created with an attribute 'owner'):
  chronolog-ctypes attr system owner
  chronolog-ctypes attr system owner ops-team
""",
    "destroy": """\
Destroys the chronicle with all its stories and their events, or only the
story given. Refused (exit status 1) while a program holds a story of it.

examples:
  chronolog-ctypes destroy system dpkg
  chronolog-ctypes destroy system
""",
}


class _VersionAction(argparse.Action):
    """Print the package version and, when it loads, the library's."""

    def __init__(self, option_strings: List[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: Optional[str] = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0,
                         help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any,
                 values: Any, option_string: Optional[str] = None) -> None:
        out = _stdout()
        out.write(version_text().encode("utf-8"))
        out.flush()
        parser.exit()


def version_text() -> str:
    """Return the lines ``--version`` prints."""
    lines = ["%s %s" % (PROG, getattr(chronolog_ctypes, "__version__", "unknown"))]
    try:
        info = chronolog_ctypes.library_info()
    except Exception as error:  # the package's own version still helps
        text = (library_failure(error)
                if isinstance(error, _status.LibraryNotFoundError)
                else _one_line(str(error)))
        lines.append("library: not loaded (%s)" % text)
    else:
        lines.append("library: %s" % _describe_library(info))
    return "\n".join(lines) + "\n"


def _describe_library(info: Any) -> str:
    backends = ", ".join(info.get("backends") or ["none"])
    return "%s (release %s, ABI %s, backends: %s)" % (
        info.get("path"), info.get("version"), info.get("abi"), backends)


def _backend_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("backend (choose one)")
    group.add_argument(
        "--store", metavar="DIR", default=argparse.SUPPRESS,
        help="embedded store directory; only ingest creates a missing one "
             "(default: $CHRONOLOG_CTYPES_STORE, else the per-user store "
             "named below)")
    group.add_argument(
        "--config", metavar="FILE", default=argparse.SUPPRESS,
        help="ChronoLog client configuration file (JSON)")
    group.add_argument(
        "--portal", metavar="ADDRESS", default=argparse.SUPPRESS,
        help="ChronoVisor portal of a deployment, PROTO://IP:PORT/PROVIDER "
             "(ChronoLog's default: %s)" % DEFAULT_PORTAL)
    group.add_argument(
        "--query", metavar="ADDRESS", default=argparse.SUPPRESS,
        help="where this client listens for replay results, same syntax "
             "(default for replay: %s)" % DEFAULT_QUERY)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the tool."""
    # The epilogs are not rewrapped: a long path stays whole on its line.
    default_line = "\ndefault store: %s\n" % default_store_dir().replace("%", "%%")
    formatter = argparse.RawDescriptionHelpFormatter

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Put logs into ChronoLog stories and read time ranges back.",
        epilog=_MAIN_EPILOG + default_line,
        formatter_class=formatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action=_VersionAction,
                        help="print the package and library versions and exit")
    _backend_options(parser)

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sentence = help_text[0].upper() + help_text[1:] + "."
        sub = commands.add_parser(
            name, help=help_text, description=sentence,
            epilog=_EPILOGS[name] + default_line, formatter_class=formatter,
            allow_abbrev=False)
        _backend_options(sub)
        return sub

    ingest = command("ingest", "log every line of files (or stdin) as events")
    ingest.add_argument("chronicle", metavar="CHRONICLE", help="chronicle name")
    ingest.add_argument("story", metavar="STORY", help="story name")
    # A default keeps argparse from listing FILE among the missing
    # required arguments when CHRONICLE or STORY is missing.
    ingest.add_argument("files", metavar="FILE", nargs="*", default=[],
                        help="input files; none or '-' reads stdin")
    ingest.add_argument(
        "--delimiter", metavar="BYTES",
        help="record delimiter instead of a newline; escapes \\n \\r \\t \\0 "
             "\\\\ \\xHH (only the default newline also removes a CR)")
    ingest.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                        metavar="N", help="events per bulk call "
                        "(default: %d)" % DEFAULT_BATCH)
    ingest.add_argument("--progress", dest="progress", action="store_true",
                        default=None, help="show progress on stderr "
                        "(default: when stderr is a terminal)")
    ingest.add_argument("--no-progress", dest="progress", action="store_false",
                        help="never show progress")
    ingest.add_argument("-q", "--quiet", action="store_true",
                        help="print no summary")

    replay = command("replay", "write the events of a time range to stdout")
    replay.add_argument("chronicle", metavar="CHRONICLE", help="chronicle name")
    replay.add_argument("story", metavar="STORY", help="story name")
    replay.add_argument("--start", metavar="TIME",
                        help="first time included (default: the beginning)")
    replay.add_argument("--end", metavar="TIME",
                        help="first time excluded (default: no end)")
    replay.add_argument(
        "--format", choices=("plain", "jsonl", "csv"), default="plain",
        help="plain: the records, one a line (default); jsonl: one JSON "
             "object an event; csv: one row an event, with a header")
    replay.add_argument("--tail", type=int, metavar="N",
                        help="only the last N events of the range")
    replay.add_argument("--delimiter", metavar="BYTES",
                        help="plain format: written after each record "
                             "instead of a newline (same escapes as ingest)")
    replay.add_argument("--no-header", dest="header", action="store_false",
                        help="csv format: no header row")

    command("chronicles", "list the chronicles")

    stories = command("stories", "list the stories of a chronicle")
    stories.add_argument("chronicle", metavar="CHRONICLE",
                         help="the chronicle whose stories are listed")

    attr = command("attr", "print or set an attribute of a chronicle")
    attr.add_argument("chronicle", metavar="CHRONICLE", help="chronicle name")
    attr.add_argument("key", metavar="KEY", help="attribute name")
    attr.add_argument("value", metavar="VALUE", nargs="?",
                      help="the new value (without it, the value is printed)")

    destroy = command("destroy", "destroy a chronicle, or one story of it")
    destroy.add_argument("chronicle", metavar="CHRONICLE",
                         help="the chronicle, destroyed whole without STORY")
    destroy.add_argument("story", metavar="STORY", nargs="?",
                         help="only this story of the chronicle")

    return parser


_RELATIVE_ARGUMENT = re.compile(r"-(\d|\.\d)")


def _join_time_options(argv: Sequence[str]) -> List[str]:
    """Write ``--start -15m`` as ``--start=-15m``, which argparse accepts.

    argparse takes a value that starts with '-' for an option of its own.
    """
    joined = []  # type: List[str]
    position = 0
    while position < len(argv):
        arg = argv[position]
        if arg == "--":
            return joined + list(argv[position:])
        following = argv[position + 1] if position + 1 < len(argv) else ""
        if arg in ("--start", "--end") and _RELATIVE_ARGUMENT.match(following):
            joined.append("%s=%s" % (arg, following))
            position += 2
            continue
        joined.append(arg)
        position += 1
    return joined


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def _stdout() -> BinaryIO:
    return getattr(sys.stdout, "buffer", sys.stdout)


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null, so that the exit flush meets no closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # a stdout without a file descriptor: nothing left to flush


def _describe_backend(store: Optional[str], config: Optional[str],
                      portal: Optional[str], query: Optional[str]) -> str:
    """Return the backend choice in words, for error messages."""
    if config is not None:
        return "the ChronoLog deployment of %s" % config
    if portal is not None or query is not None:
        return "the ChronoLog deployment at %s" % (portal or DEFAULT_PORTAL)
    return "the embedded store %s" % (default_store_dir() if store is None
                                      else store)


def _require_existing_store(store: Optional[str], config: Optional[str],
                            portal: Optional[str], query: Optional[str]) -> None:
    """Refuse to read a --store that holds no store.

    Connecting would create one: a mistyped --store (or '--store .') would
    then answer as an empty store, and leave a database behind. Only ingest
    creates a store given by --store; the default store is made on first
    use by any subcommand.
    """
    if store is None or config is not None or portal is not None \
            or query is not None:
        return
    directory = os.path.expanduser(store)
    if not os.path.isdir(directory):
        if os.path.lexists(directory):
            return  # the library reports a path that is not a directory
        what = "the directory does not exist"
    elif os.path.lexists(os.path.join(directory, STORE_FILE)):
        return
    else:
        what = "the directory holds no %s" % STORE_FILE
    raise CommandError(
        "no store at %s: %s" % (directory, what),
        "CL_ERR_NOT_EXIST",
        "check the --store path ('ingest' creates a store; without "
        "--store, the default store is %s)" % default_store_dir(),
        EXIT_CHRONOLOG)


def _run(argv: Sequence[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(_join_time_options(argv))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE

    prepare, run, needs_reader = _COMMANDS[args.command]
    check_names(args)
    if prepare is not None:
        prepare(args)

    backend = {name: getattr(args, name, None)
               for name in ("store", "config", "portal", "query")}
    for name, value in backend.items():
        if value is not None and not value.strip():
            # An unset shell variable, as in --store "$DIR": never read it
            # as the default.
            raise usage_error("--%s is empty" % name,
                              "give a value, or leave --%s out" % name)
    where = _describe_backend(**backend)
    if args.command != "ingest":
        _require_existing_store(**backend)
    try:
        client = open_client(reader=needs_reader, **backend)
    except _status.ChronologError as error:
        failure = chronolog_failure("cannot open " + where, error)
        if isinstance(error, _status.InvalidArgumentError):
            failure.exit_code = EXIT_USAGE  # a bad --config file, for one
        raise failure from error
    except ValueError as error:
        raise usage_error(str(error), "see 'chronolog-ctypes --help'") from None
    except OSError as error:  # the --config file
        raise CommandError(
            "cannot read %s: %s" % (error.filename, error.strerror or error),
            errno.errorcode.get(error.errno or 0, "EIO"),
            "check the path given to --config", EXIT_FILE) from error

    try:
        with reporting("cannot connect to " + where):
            client.connect()
        status = run(args, client)
    except BaseException:
        _close_quietly(client)
        raise
    with reporting("cannot close the client of " + where):
        client.close()
    return status


def _close_quietly(client: Any) -> None:
    """Close a client while another error is on its way out."""
    try:
        client.close()
    except _status.ChronologError:
        pass  # the error already on its way says more


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tool with ``argv`` (default: sys.argv[1:]); return the exit status.

    Conditions the tool can describe are printed on stderr as one line,
    ``chronolog-ctypes: error: <what> (<STATUS>): <what to do>``.
    """
    if argv is None:
        argv = sys.argv[1:]
    try:
        return _run(argv)
    except CommandError as error:
        _flush_quietly()
        sys.stderr.write(error.line() + "\n")
        return error.exit_code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as error:  # writing the output: a full disk, for one
        _flush_quietly()
        failure = CommandError(
            "cannot write the output: %s" % (error.strerror or error),
            errno.errorcode.get(error.errno or 0, "EIO"),
            "check where standard output goes", EXIT_FILE)
        sys.stderr.write(failure.line() + "\n")
        return failure.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("%s: interrupted\n" % PROG)
        return EXIT_INTERRUPTED


def _flush_quietly() -> None:
    try:
        _stdout().flush()
    except BrokenPipeError:
        _silence_stdout()
    except (OSError, ValueError):
        pass
