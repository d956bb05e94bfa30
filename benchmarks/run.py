"""Performance figures of chronolog_ctypes, each against its limit.

Run ``python benchmarks/run.py`` (full mode, a few minutes on two
cores) or ``python benchmarks/run.py --quick`` (under a minute).  Every
figure is the median of several repetitions, each run next to a repetition
of its limit, so that both see the same load on the machine; only their
ratio is compared with the target.  ``--json FILE`` writes the table as
JSON too.

The package and library measured are the ones ``import chronolog_ctypes``
finds (set ``PYTHONPATH`` and ``CHRONOLOG_CTYPES_LIBRARY`` to measure a
checkout).  The native limits are two programs built from
``benchmarks/CMakeLists.txt``: ``--tools DIR`` names the folder holding
them; otherwise ``build/benchmarks`` of the checkout is used when it has
them (``cmake -DCLC_BUILD_BENCHMARKS=ON``), and otherwise they are built
with CMake into a folder of the temporary directory, once per version of
their sources.  The comparison of PyPy with CPython 3.11 runs both
interpreters as child processes (``--pypy``, ``--cpython311``; found on
``PATH`` or under pyenv when not given).

Written for every Python the package supports, CPython 3.8+ and PyPy, with
the standard library only.
"""

import argparse
import ctypes
import gc
import hashlib
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

RECORD_SIZE = 64
CHRONICLE = "bench"
DISTINCT_RECORDS = 10000

# Rows per transaction of the SQLite limit: large, as the target asks.
LIMIT_TRANSACTION_ROWS = 100000

#: Sizes of each mode.  "events" scales every figure; the others are
#: derived from it unless given.
MODES = {
    "full": {"bulk": 1000000, "replay": 1000000, "single": 200000,
             "threads": 400000, "repeat": 7},
    "quick": {"bulk": 100000, "replay": 100000, "single": 40000,
              "threads": 80000, "repeat": 3},
}

# Per-event figures are timed in chunks of this many events, with a flush
# between chunks that is not timed, so that no chunk waits for the store.
CHUNK = 20000
BATCH = 10000
THREADS = 8


def _records(count: int, size: int = RECORD_SIZE) -> List[bytes]:
    """``count`` distinct records of ``size`` bytes."""
    pattern = b"%0*d" % (size, 0)
    return [(b"%0*d" % (size, i))[-size:] if size else pattern
            for i in range(count)]


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


# ---------------------------------------------------------------------------
# Native programs
# ---------------------------------------------------------------------------

TOOL_NAMES = ("clc_bench_sqlite", "clc_bench_abi")
TOOL_SOURCES = ("CMakeLists.txt", "sqlite_insert.cpp", "abi_log.c")


def _has_tools(folder: str) -> bool:
    return all(os.access(os.path.join(folder, name), os.X_OK)
               for name in TOOL_NAMES)


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for name in TOOL_SOURCES + ("../capi/include/chronolog_capi.h",):
        with open(os.path.join(HERE, name), "rb") as stream:
            digest.update(stream.read())
    return digest.hexdigest()[:16]


def _build_tools(log: Callable[[str], None]) -> str:
    """Build the native programs with CMake into a cached folder."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    cache = os.path.join(tempfile.gettempdir(), "chronolog-ctypes-bench-%d-%s"
                         % (uid, _sources_digest()))
    if _has_tools(cache):
        return cache
    cmake = shutil.which("cmake")
    if cmake is None:
        raise RuntimeError("cmake is not on PATH")
    log("building the native limits with CMake into %s" % cache)
    work = tempfile.mkdtemp(prefix="chronolog-ctypes-bench-build-")
    try:
        for command in ([cmake, "-S", HERE, "-B", work,
                         "-DCMAKE_BUILD_TYPE=Release"],
                        [cmake, "--build", work]):
            subprocess.run(command, check=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        staged = tempfile.mkdtemp(prefix=os.path.basename(cache) + ".",
                                  dir=os.path.dirname(cache))
        for name in TOOL_NAMES:
            shutil.copy2(os.path.join(work, name), staged)
        try:
            os.rename(staged, cache)
        except OSError:  # built meanwhile by another run
            shutil.rmtree(staged, ignore_errors=True)
    except subprocess.CalledProcessError as error:
        output = error.stdout.decode("utf-8", "replace")[-2000:]
        raise RuntimeError("building the native limits failed:\n" + output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return cache


def find_tools(explicit: Optional[str],
               log: Callable[[str], None]) -> Tuple[Optional[str], str]:
    """The folder of the native programs and how it was found.

    Returns ``(None, reason)`` when they can be neither found nor built.
    """
    if explicit:
        if _has_tools(explicit):
            return explicit, "given"
        return None, "%s lacks %s" % (explicit, " and ".join(TOOL_NAMES))
    from_env = os.environ.get("CHRONOLOG_BENCH_TOOLS")
    if from_env and _has_tools(from_env):
        return from_env, "CHRONOLOG_BENCH_TOOLS"
    in_build = os.path.join(REPO, "build", "benchmarks")
    if _has_tools(in_build):
        return in_build, "the checkout's build"
    try:
        return _build_tools(log), "built with CMake"
    except (OSError, RuntimeError) as error:
        return None, str(error)


def _run_json(command: Sequence[str], env: Optional[Dict[str, str]] = None,
              timeout: float = 900) -> Dict[str, Any]:
    result = subprocess.run(list(command), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (
            os.path.basename(command[0]), result.returncode,
            result.stderr.decode("utf-8", "replace").strip()[-2000:]))
    return json.loads(result.stdout.decode().strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# Measurements in this interpreter
# ---------------------------------------------------------------------------


class Workspace:
    """A temporary folder holding the stores of one run."""

    def __init__(self, parent: Optional[str]) -> None:
        self.root = tempfile.mkdtemp(prefix="chronolog-bench-", dir=parent)
        self._count = itertools.count()

    def fresh(self, name: str) -> str:
        """A path for a new store (not created)."""
        return os.path.join(self.root, "%s-%d" % (name, next(self._count)))

    def drop(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _writer(store: str, reader: bool = False) -> Any:
    import chronolog_ctypes

    client = chronolog_ctypes.Client.embedded(store, reader=reader)
    client.connect()
    client.create_chronicle(CHRONICLE)
    return client


# Per-call figures are timed in the calling thread's CPU time: that is the
# cost of a call, while the wall-clock time of a loop of sub-microsecond
# calls on a shared machine also counts whoever else ran meanwhile.  (The
# background writer's work is in the bulk figures, timed by the clock.)
call_clock = getattr(time, "thread_time", time.perf_counter)


def time_log_event(store: str, events: int, chunk: int = CHUNK) -> float:
    """CPU seconds per event of ``StoryHandle.log_event`` with 64-byte
    records, in the calling thread."""
    records = _records(min(events, chunk))
    client = _writer(store)
    try:
        story = client.acquire_story(CHRONICLE, "single")
        log_event = story.log_event
        elapsed = 0.0
        for done in range(0, events, chunk):
            batch = records[:min(chunk, events - done)]
            start = call_clock()
            for record in batch:
                log_event(record)
            elapsed += call_clock() - start
            client.flush()
    finally:
        client.close()
    return elapsed / events


def _bare_call() -> Tuple[Callable[..., Any], Any]:
    """A libc function bound through ctypes with the argument and result
    types of ``clc_story_log_event``, which ``log_event`` calls, and a
    handle-typed first argument for it.

    ``memcmp(const void *, const void *, size_t)`` takes a pointer, a
    buffer and a length, as ``clc_story_log_event`` does, and does next to
    nothing with them (it compares 64 bytes).
    """
    from chronolog_ctypes import _native

    name, restype, argtypes = next(
        entry for entry in _native.PROTOTYPES
        if entry[0] == "clc_story_log_event")
    bare = ctypes.CDLL(None).memcmp
    bare.restype = restype
    bare.argtypes = argtypes
    # A handle of the same type, pointing at real memory that memcmp reads
    # (the cast keeps the buffer alive).
    handle = ctypes.cast(ctypes.create_string_buffer(RECORD_SIZE),
                         argtypes[0])
    return bare, handle


def time_log_event_and_bare_call(store: str, events: int,
                                 chunk: int = CHUNK) -> Tuple[float, float]:
    """CPU seconds per event of ``log_event`` and per bare ctypes call.

    The two loops take turns, a chunk each, so that they meet the same
    conditions on a shared machine.
    """
    bare, handle = _bare_call()
    records = _records(min(events, chunk))
    client = _writer(store)
    try:
        story = client.acquire_story(CHRONICLE, "single")
        log_event = story.log_event
        ours = limit = 0.0
        for done in range(0, events, chunk):
            batch = records[:min(chunk, events - done)]
            start = call_clock()
            for record in batch:
                bare(handle, record, RECORD_SIZE)
            limit += call_clock() - start
            start = call_clock()
            for record in batch:
                log_event(record)
            ours += call_clock() - start
            client.flush()
    finally:
        client.close()
    return ours / events, limit / events


def time_log_many(store: str, events: int, batch: Optional[int]) -> float:
    """Seconds to log ``events`` records with ``log_many`` until durable.

    ``batch`` records per call, or all of them in one call (the package
    then hands the library its own chunks) when None.
    """
    records = _records(DISTINCT_RECORDS)
    if batch is None:
        calls = [list(itertools.islice(itertools.cycle(records), events))]
    else:
        per_call = records[:batch] if batch <= len(records) else (
            list(itertools.islice(itertools.cycle(records), batch)))
        calls = [per_call[:min(batch, events - done)]
                 for done in range(0, events, batch)]
    client = _writer(store)
    try:
        story = client.acquire_story(CHRONICLE, "bulk")
        gc.collect()
        start = time.perf_counter()
        for call in calls:
            story.log_many(call)
        client.flush()
        elapsed = time.perf_counter() - start
    finally:
        client.close()
    return elapsed


def time_threads(store: str, events: int, threads: int,
                 chunk: int = CHUNK) -> Tuple[float, float]:
    """Events per second of ``threads`` threads calling ``log_event`` on
    one story at once, ``events`` in all, until the calls return; and the
    process's CPU seconds per event meanwhile.

    The events are logged in rounds of ``chunk`` (split among the
    threads), with an untimed flush between rounds.
    """
    chunk = max(threads, min(chunk, events))
    records = _records(chunk // threads)
    client = _writer(store)
    try:
        story = client.acquire_story(CHRONICLE, "threads")
        log_event = story.log_event
        rounds = max(1, events // chunk)
        per_thread = max(1, chunk // threads)
        elapsed = 0.0
        cpu = 0.0
        for _ in range(rounds):
            barrier = threading.Barrier(threads + 1)

            def work() -> None:
                barrier.wait()
                for record in records[:per_thread]:
                    log_event(record)

            workers = [threading.Thread(target=work) for _ in range(threads)]
            for worker in workers:
                worker.start()
            barrier.wait()
            start = time.perf_counter()
            start_cpu = time.process_time()
            for worker in workers:
                worker.join()
            elapsed += time.perf_counter() - start
            cpu += time.process_time() - start_cpu
            client.flush()
        logged = rounds * per_thread * threads
        return logged / elapsed, cpu / logged
    finally:
        client.close()


class ReplayStore:
    """A store holding one story of ``events`` 64-byte records."""

    story = "replay"

    def __init__(self, path: str, events: int) -> None:
        self.path = path
        self.events = events
        client = _writer(path)
        try:
            story = client.acquire_story(CHRONICLE, self.story)
            records = _records(DISTINCT_RECORDS)
            for done in range(0, events, len(records)):
                story.log_many(records[:min(len(records), events - done)])
        finally:
            client.close()


def time_replay(store: ReplayStore) -> Tuple[float, List[Tuple[Any, ...]]]:
    """Seconds per event of ``Client.replay`` of the whole story, and the
    events' fields as tuples (for the limit)."""
    import chronolog_ctypes

    client = chronolog_ctypes.Client.embedded(store.path).connect()
    try:
        client.acquire_story(CHRONICLE, store.story)
        gc.collect()
        start = time.perf_counter()
        events = client.replay(CHRONICLE, store.story)
        elapsed = time.perf_counter() - start
        if len(events) != store.events:
            raise RuntimeError("replayed %d events of %d"
                               % (len(events), store.events))
        fields = [(e.time(), e.client_id(), e.index(), e.record)
                  for e in events]
        del events
        gc.collect()
    finally:
        client.close()
    return elapsed / store.events, fields


def time_build_events(fields: List[Tuple[Any, ...]]) -> float:
    """Seconds per event of building Events from ready tuples, the way
    the package builds replayed events."""
    from chronolog_ctypes.events import Event

    gc.collect()
    start = time.perf_counter()
    events = list(itertools.starmap(Event._from_replay, fields))
    elapsed = time.perf_counter() - start
    del events
    gc.collect()
    return elapsed / len(fields)


# ---------------------------------------------------------------------------
# Child processes: memory, and the other interpreter
# ---------------------------------------------------------------------------


def _memory_status() -> Dict[str, int]:
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def child_replay_memory(store: str, events: int,
                        paged: bool) -> Dict[str, Any]:
    """Peak memory of one replay, measured in this (fresh) process."""
    import chronolog_ctypes

    client = chronolog_ctypes.Client.embedded(store).connect()
    client.acquire_story(CHRONICLE, ReplayStore.story)
    gc.collect()
    before = _memory_status()["VmRSS"]
    reset = _reset_peak()
    if paged:
        count = 0
        for _ in client.iter_replay(CHRONICLE, ReplayStore.story):
            count += 1
    else:
        result = client.replay(CHRONICLE, ReplayStore.story)
        count = len(result)
    peak = _memory_status()["VmHWM"]
    client.close()
    if count != events:
        raise RuntimeError("replayed %d events of %d" % (count, events))
    return {"events": count, "rss_before": before, "peak": peak,
            "peak_reset": reset, "peak_delta": peak - before}


def _child_command(python: str, *arguments: str) -> List[str]:
    return [python, os.path.abspath(__file__), "--child"] + list(arguments)


def _child_env() -> Dict[str, str]:
    import chronolog_ctypes
    from chronolog_ctypes import _native

    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(
        os.path.abspath(chronolog_ctypes.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        [package_parent] + [p for p in [env.get("PYTHONPATH")] if p])
    env[_native.LIBRARY_ENV] = _native.get_library().path
    env.pop("CHRONOLOG_CTYPES_STORE", None)
    return env


def run_child(arguments: Sequence[str]) -> Dict[str, Any]:
    """The ``--child`` entry point: one measurement, printed as JSON."""
    kind = arguments[0]
    if kind == "log_event":
        store, events = arguments[1], int(arguments[2])
        return {"seconds_per_event": time_log_event(store, events),
                "python": platform.python_implementation(),
                "version": platform.python_version()}
    if kind in ("replay_memory", "iter_replay_memory"):
        store, events = arguments[1], int(arguments[2])
        return child_replay_memory(store, events,
                                   kind == "iter_replay_memory")
    raise SystemExit("unknown child measurement %r" % kind)


def _interpreter_version(python: str) -> Optional[Tuple[str, str, str]]:
    """(implementation, version, executable) of a Python, or None."""
    try:
        output = subprocess.run(
            [python, "-c", "import platform, sys; print(platform."
             "python_implementation(), platform.python_version(),"
             " sys.executable)"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60,
            check=True).stdout.decode().split(" ", 2)
    except (OSError, subprocess.SubprocessError):
        return None
    if len(output) != 3:
        return None
    return output[0], output[1], output[2].strip()


def find_interpreter(explicit: Optional[str], implementation: str,
                     version_prefix: str,
                     names: Sequence[str]) -> Optional[Tuple[str, str]]:
    """A Python of the given implementation and version: its executable
    and full version, or None."""
    candidates: List[str] = []
    if explicit:
        candidates.append(explicit)
    else:
        candidates.append(sys.executable)
        candidates.extend(filter(None, map(shutil.which, names)))
        pyenv = os.environ.get("PYENV_ROOT",
                               os.path.expanduser("~/.pyenv"))
        versions = os.path.join(pyenv, "versions")
        if os.path.isdir(versions):
            for entry in sorted(os.listdir(versions), reverse=True):
                if entry.startswith(version_prefix):
                    candidates.append(os.path.join(versions, entry, "bin",
                                                   "python3"))
    for candidate in candidates:
        found = _interpreter_version(candidate)
        if found and found[0] == implementation and (
                found[1] + ".").startswith(version_prefix + "."):
            # The interpreter itself, not a wrapper such as a pyenv shim.
            return found[2] or candidate, found[1]
    return None


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------


class Figure:
    """One row of the table."""

    def __init__(self, key: str, title: str, unit: str, limit_title: str,
                 target: str, higher_is_better: bool,
                 threshold: float) -> None:
        self.key = key
        self.title = title
        self.unit = unit
        self.limit_title = limit_title
        self.target = target
        self.higher_is_better = higher_is_better
        self.threshold = threshold
        self.ours: List[float] = []
        self.limit: List[float] = []
        self.ratio_of: Callable[[float, float], float] = (
            lambda ours, limit: ours / limit)
        self.note = ""
        self.value_of_ratio: Optional[float] = None

    def ratio(self) -> Optional[float]:
        if self.value_of_ratio is not None:
            return self.value_of_ratio
        if not self.ours or not self.limit:
            return None
        try:
            return self.ratio_of(_median(self.ours), _median(self.limit))
        except ZeroDivisionError:  # a tiny run measured nothing
            return None

    def met(self) -> Optional[bool]:
        ratio = self.ratio()
        if ratio is None:
            return None
        if self.higher_is_better:
            return ratio >= self.threshold
        return ratio <= self.threshold

    def as_dict(self) -> Dict[str, Any]:
        return {
            "figure": self.key,
            "title": self.title,
            "unit": self.unit,
            "ours": _median(self.ours) if self.ours else None,
            "limit": _median(self.limit) if self.limit else None,
            "limit_title": self.limit_title,
            "ratio": self.ratio(),
            "target": self.target,
            "met": self.met(),
            "ours_samples": list(self.ours),
            "limit_samples": list(self.limit),
            "note": self.note,
        }


def _fmt(value: Optional[float], unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "us/event":
        return "%.3f us" % (value * 1e6)
    if unit == "s":
        return "%.3f s" % value
    if unit == "events/s":
        return "%.0f/s" % value
    if unit == "B/event":
        return "%.0f B/ev" % value
    if unit == "MiB":
        return "%.1f MiB" % (value / 2 ** 20)
    return "%.4g" % value


class Benchmark:
    """Runs the figures of one mode and collects the table."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        sizes = dict(MODES["quick" if args.quick else "full"])
        if args.events:
            for key in ("bulk", "replay", "single", "threads"):
                sizes[key] = args.events
        if args.repeat:
            sizes["repeat"] = args.repeat
        self.sizes = sizes
        self.repeat = sizes["repeat"]
        self.figures: List[Figure] = []
        self.space = Workspace(args.dir)
        self.tools: Optional[str] = None
        self.tools_reason = ""
        self.quiet = args.quiet_progress

    def log(self, message: str) -> None:
        if not self.quiet:
            print("# " + message, file=sys.stderr, flush=True)

    def figure(self, *args: Any, **kwargs: Any) -> Figure:
        figure = Figure(*args, **kwargs)
        self.figures.append(figure)
        return figure

    def tool(self, name: str) -> Optional[str]:
        return os.path.join(self.tools, name) if self.tools else None

    # -- the figures -------------------------------------------------------

    def log_event(self) -> None:
        events = self.sizes["single"]
        figure = self.figure(
            "log_event", "log_event, 64 B, per event", "us/event",
            "bare ctypes call, same argument types (libc memcmp)",
            "limit/ours >= 0.6", True, 0.6)
        figure.ratio_of = lambda ours, limit: limit / ours
        for rep in range(self.repeat):
            store = self.space.fresh("single")
            ours, limit = time_log_event_and_bare_call(store, events)
            figure.ours.append(ours)
            figure.limit.append(limit)
            self.space.drop(store)
            self.log("log_event %d/%d" % (rep + 1, self.repeat))

    def bulk_durable(self) -> None:
        events = self.sizes["bulk"]
        figure = self.figure(
            "bulk_durable", "log_many %d x 64 B, until durable" % events,
            "s", "C++ loop inserting the rows into SQLite (%d per"
            " transaction)" % LIMIT_TRANSACTION_ROWS,
            "limit/ours >= 0.8", True, 0.8)
        figure.ratio_of = lambda ours, limit: limit / ours
        sqlite = self.tool("clc_bench_sqlite")
        for rep in range(self.repeat):
            if sqlite:
                store = self.space.fresh("sqlite")
                figure.limit.append(_run_json(
                    [sqlite, store, str(events), str(RECORD_SIZE),
                     str(LIMIT_TRANSACTION_ROWS)])["seconds"])
                self.space.drop(store)
            store = self.space.fresh("bulk")
            figure.ours.append(time_log_many(store, events, None))
            self.space.drop(store)
            self.log("bulk_durable %d/%d" % (rep + 1, self.repeat))
        if not sqlite:
            figure.note = "limit not measured: " + self.tools_reason

    def bulk_abi(self) -> None:
        from chronolog_ctypes import _native

        events = self.sizes["bulk"]
        figure = self.figure(
            "bulk_abi", "log_many, one call per %d, until durable" % BATCH,
            "s", "the same calls made from C through the ABI",
            "limit/ours >= 0.9", True, 0.9)
        figure.ratio_of = lambda ours, limit: limit / ours
        abi = self.tool("clc_bench_abi")
        library = _native.get_library().path
        for rep in range(self.repeat):
            if abi:
                store = self.space.fresh("abi")
                figure.limit.append(_run_json(
                    [abi, library, store, "bulk", str(events), str(BATCH),
                     str(RECORD_SIZE)])["seconds"])
                self.space.drop(store)
            store = self.space.fresh("batches")
            figure.ours.append(time_log_many(store, events, BATCH))
            self.space.drop(store)
            self.log("bulk_abi %d/%d" % (rep + 1, self.repeat))
        if not abi:
            figure.note = "limit not measured: " + self.tools_reason

    def replay(self) -> None:
        events = self.sizes["replay"]
        self.log("writing a story of %d events" % events)
        store = ReplayStore(self.space.fresh("replay"), events)
        figure = self.figure(
            "replay", "replay of %d events into Events" % events,
            "us/event", "building the Events from ready tuples",
            "ours/limit <= 2", False, 2.0)
        for rep in range(self.repeat):
            seconds, fields = time_replay(store)
            figure.ours.append(seconds)
            figure.limit.append(time_build_events(fields))
            del fields
            gc.collect()
            self.log("replay %d/%d" % (rep + 1, self.repeat))
        self.replay_memory(store)

    def replay_memory(self, store: ReplayStore) -> None:
        events = store.events
        env = _child_env()
        memory = self.figure(
            "replay_memory", "peak memory of that replay, beyond records",
            "B/event", "the records themselves: %d B/event" % RECORD_SIZE,
            "<= 250 B/event", False, 250.0)
        paged = self.figure(
            "iter_replay_memory",
            "peak memory of iter_replay of %d events" % events, "MiB",
            "the same for a story a quarter as long", "ours/limit <= 1.25",
            False, 1.25)
        quarter = ReplayStore(self.space.fresh("quarter"),
                              max(1, events // 4))
        for rep in range(self.repeat):
            result = _run_json(_child_command(
                sys.executable, "replay_memory", store.path, str(events)),
                env=env)
            memory.ours.append(
                (result["peak_delta"] - RECORD_SIZE * events) / events)
            memory.limit.append(float(RECORD_SIZE))
            for target, source in ((paged.ours, store), (paged.limit,
                                                        quarter)):
                result = _run_json(_child_command(
                    sys.executable, "iter_replay_memory", source.path,
                    str(source.events)), env=env)
                target.append(float(result["peak_delta"]))
            self.log("replay memory %d/%d" % (rep + 1, self.repeat))
        memory.value_of_ratio = _median(memory.ours)

    def pypy_versus_cpython(self) -> None:
        events = self.sizes["single"]
        figure = self.figure(
            "pypy_log_event", "log_event on PyPy, per event", "us/event",
            "the same on CPython 3.11", "limit/ours >= 1.0", True, 1.0)
        figure.ratio_of = lambda ours, limit: limit / ours
        pypy = find_interpreter(self.args.pypy, "PyPy", "3",
                                ("pypy3", "pypy"))
        cpython = find_interpreter(self.args.cpython311, "CPython", "3.11",
                                   ("python3.11",))
        if not pypy or not cpython:
            figure.note = "not measured: no %s found" % (
                "PyPy" if not pypy else "CPython 3.11")
            return
        figure.note = "PyPy: %s (%s); CPython: %s (%s)" % (pypy + cpython)
        env = _child_env()
        for rep in range(self.repeat):
            for target, python in ((figure.ours, pypy[0]),
                                   (figure.limit, cpython[0])):
                store = self.space.fresh("interpreter")
                target.append(_run_json(_child_command(
                    python, "log_event", store, str(events)),
                    env=env)["seconds_per_event"])
                self.space.drop(store)
            self.log("pypy/cpython %d/%d" % (rep + 1, self.repeat))

    def threads(self) -> None:
        events = self.sizes["threads"]
        figure = self.figure(
            "threads", "%d threads log_event on one story, aggregate"
            % THREADS, "events/s", "1 thread", "ours/limit >= 1.5", True,
            1.5)
        cpu: Dict[int, List[float]] = {1: [], THREADS: []}
        for rep in range(self.repeat):
            for target, count in ((figure.limit, 1), (figure.ours, THREADS)):
                store = self.space.fresh("threads")
                rate, cpu_per_event = time_threads(store, events, count)
                target.append(rate)
                cpu[count].append(cpu_per_event)
                self.space.drop(store)
            self.log("threads %d/%d" % (rep + 1, self.repeat))
        # Wall-clock scaling on a machine other programs also use can come
        # from the scheduler giving more threads more of the CPU; the CPU
        # time each event took shows whether the work itself ran in
        # parallel.
        figure.note = ("process CPU time per event: %.3f us with 1 thread,"
                       " %.3f us with %d" % (_median(cpu[1]) * 1e6,
                                             _median(cpu[THREADS]) * 1e6,
                                             THREADS))

    # -- the whole run -----------------------------------------------------

    def run(self) -> Dict[str, Any]:
        self.tools, self.tools_reason = find_tools(self.args.tools, self.log)
        if self.tools:
            self.log("native limits: %s (%s)" % (self.tools,
                                                 self.tools_reason))
        else:
            self.log("native limits unavailable: " + self.tools_reason)
        steps = [("log_event", self.log_event),
                 ("bulk_durable", self.bulk_durable),
                 ("bulk_abi", self.bulk_abi), ("replay", self.replay),
                 ("pypy_log_event", self.pypy_versus_cpython),
                 ("threads", self.threads)]
        only = set(self.args.only.split(",")) if self.args.only else None
        try:
            for name, step in steps:
                if only is None or name in only:
                    step()
        finally:
            self.space.close()
        return self.report()

    def report(self) -> Dict[str, Any]:
        from chronolog_ctypes import _native

        rows = [figure.as_dict() for figure in self.figures]
        measured = [row for row in rows if row["met"] is not None]
        return {
            "mode": "quick" if self.args.quick else "full",
            "sizes": self.sizes,
            "python": {"implementation": platform.python_implementation(),
                       "version": platform.python_version(),
                       "executable": sys.executable},
            "machine": machine(),
            "library": _native.get_library().path,
            "tools": self.tools,
            "figures": rows,
            "targets": len(measured),
            "met": sum(1 for row in measured if row["met"]),
        }


def machine() -> Dict[str, Any]:
    """nproc, the CPU model and the platform."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model,
            "platform": platform.platform()}


COLUMNS = ("figure", "ours", "limit", "ratio", "target", "met?")


def format_table(report: Dict[str, Any]) -> str:
    """The table as text, ending with the count of targets met."""
    rows = [COLUMNS]
    for row in report["figures"]:
        ratio = row["ratio"]
        unit = row["unit"]
        limit = row["limit"]
        if row["figure"] == "replay_memory":
            ratio_text = "%.0f B/ev" % ratio if ratio is not None else "n/a"
        else:
            ratio_text = "%.2f" % ratio if ratio is not None else "n/a"
        met = {True: "yes", False: "NO", None: "n/a"}[row["met"]]
        rows.append((row["title"], _fmt(row["ours"], unit),
                     _fmt(limit, unit), ratio_text, row["target"], met))
    widths = [max(len(str(row[i])) for row in rows)
              for i in range(len(COLUMNS))]
    lines = []
    for number, row in enumerate(rows):
        lines.append("  ".join(str(cell).ljust(width)
                               for cell, width in zip(row, widths)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    limits = ["  %s: limit = %s" % (row["figure"], row["limit_title"])
              for row in report["figures"]]
    notes = ["  %s: %s" % (row["figure"], row["note"])
             for row in report["figures"] if row["note"]]
    lines.append("")
    lines.extend(limits + notes)
    lines.append("")
    lines.append("%d of %d targets met" % (report["met"], report["targets"]))
    return "\n".join(lines)


def parse_arguments(argv: Optional[Sequence[str]] = None
                    ) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure chronolog_ctypes against its limits.")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and 3 repetitions (under a"
                        " minute)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write the table as JSON to FILE")
    parser.add_argument("--events", type=int, metavar="N",
                        help="use N events for every figure")
    parser.add_argument("--repeat", type=int, metavar="K",
                        help="repetitions of each figure")
    parser.add_argument("--only", metavar="FIGURES",
                        help="comma-separated steps to run: log_event,"
                        " bulk_durable, bulk_abi, replay, pypy_log_event,"
                        " threads")
    parser.add_argument("--tools", metavar="DIR",
                        help="folder of clc_bench_sqlite and clc_bench_abi")
    parser.add_argument("--pypy", metavar="PATH", help="the PyPy to compare")
    parser.add_argument("--cpython311", metavar="PATH",
                        help="the CPython 3.11 to compare with")
    parser.add_argument("--dir", metavar="DIR",
                        help="where to create the temporary stores")
    parser.add_argument("--quiet-progress", action="store_true",
                        help="print no progress lines on stderr")
    parser.add_argument("--child", nargs=argparse.REMAINDER,
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmark; returns the exit status (0 once it ran)."""
    args = parse_arguments(argv)
    if args.child:
        print(json.dumps(run_child(args.child)))
        return 0
    report = Benchmark(args).run()
    print(format_table(report))
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(report, stream, indent=2)
            stream.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
