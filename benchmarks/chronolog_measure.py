"""Measure the ChronoLog backend against a live deployment; prints numbers.

    python benchmarks/chronolog_measure.py CLIENT_CONFIG \\
        [--cxx build/benchmarks/chronolog_log_rate] [--archive-dir DIR]

What it measures, in this order:

1. connect to an address where nothing listens (a free port of the
   portal's host): how long until the error, with the GIL released;
2. the time until events just logged are replayable (``wait_replayable``),
   and until their archive file appears when ``--archive-dir`` is given;
3. Python threads logging on one story at once;
4. the per-event logging rate from Python (``StoryHandle.log_event``, one
   native call and one ChronoKeeper round trip per event) against the same
   loop in C++ over ChronoLog's client (``--cxx``, built by CMake with
   ``-DCLC_BUILD_TESTS=ON`` when ChronoLog is found): each run a new
   writer-only process, the two languages in alternating rounds so that
   both see the same load;
5. what a log_event costs without a server (the Python method, the native
   call and the shim, on the embedded store): a bound on what the binding
   adds to each round trip.

It uses the deployment's portal, and a query port of its own.  Nothing
here is a test: the numbers depend on the machine and its load.
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from typing import Dict, List

import chronolog_ctypes as cl


def free_port(ip: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((ip, 0))
        return probe.getsockname()[1]


def unique(prefix: str) -> str:
    return "%s-%d-%s" % (prefix, os.getpid(), uuid.uuid4().hex[:8])


def summary(values: List[float]) -> str:
    return "median %.4g  min %.4g  max %.4g" % (
        statistics.median(values), min(values), max(values))


def measure_dead_connect(portal: cl.ClientPortalServiceConf,
                         attempts: int = 5) -> None:
    print("== connect where nothing listens")
    port = free_port(portal.ip)
    dead = cl.ClientPortalServiceConf(portal.proto, portal.ip, port,
                                      portal.provider_id)
    durations = []
    for _ in range(attempts):
        client = cl.Client.deployment(dead)
        started = time.perf_counter()
        status = client.Connect()
        durations.append(time.perf_counter() - started)
        client.close()
        assert status == cl.CL_ERR_NO_CONNECTION, status
    print("%s:%d  status CL_ERR_NO_CONNECTION  seconds: %s"
          % (portal.ip, port, summary(durations)))

    # Again with another thread counting: it runs during the calls, since
    # they release the GIL (the call itself then takes longer, as the
    # counting thread holds the GIL for up to sys.getswitchinterval()).
    done = threading.Event()
    ticks = [0, 0]

    def count() -> None:
        while not done.is_set():
            ticks[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    for _ in range(attempts):
        client = cl.Client.deployment(dead)
        before = ticks[0]
        client.Connect()
        ticks[1] += ticks[0] - before
        client.close()
    done.set()
    counter.join()
    print("another thread counted %d times during %d failed connects"
          % (ticks[1], attempts))


def _rate_command(language: str, args: argparse.Namespace) -> List[str]:
    counts = [str(args.events), str(args.size), str(args.warmup)]
    if language == "c++":
        return [args.cxx, args.config] + counts
    return [sys.executable, __file__, "--log-rate", args.config] + counts


def _rates(languages: List[str],
           args: argparse.Namespace) -> Dict[str, Dict[str, float]]:
    """Runs the logging loop of each language at once, each in a new
    writer-only process; returns the numbers each printed."""
    children = {language: subprocess.Popen(_rate_command(language, args),
                                           stdout=subprocess.PIPE, text=True)
                for language in languages}
    results = {}
    for language, child in children.items():
        out, _ = child.communicate(timeout=600)
        if child.returncode != 0:
            raise RuntimeError("the %s loop failed (%d)"
                               % (language, child.returncode))
        fields = dict(re.findall(r"(\w+)=(\S+)", out))
        results[language] = {key: float(value) for key, value
                             in fields.items() if key != "language"}
    return results


def log_rate(config: str, events: int, size: int, warmup: int) -> None:
    """The Python twin of chronolog_log_rate: a writer-only client, a new
    story, one log_event per record; prints one line of the same form."""
    portal = cl.load_client_config(config).portal
    with cl.Client.deployment(portal) as client:
        chronicle = unique("log-rate-python")
        client.create_chronicle(chronicle)
        story = client.acquire_story(chronicle, "story")
        record = b"x" * size
        log = story.log_event
        failures = 0
        for _ in range(warmup):
            failures += log(record) == 0
        latencies = [0.0] * events
        clock = time.perf_counter
        start = clock()
        for i in range(events):
            before = clock()
            failures += log(record) == 0
            latencies[i] = clock() - before
        elapsed = clock() - start
    latencies.sort()
    print("language=python events=%d size=%d seconds=%.3f rate=%.1f "
          "mean_us=%.1f p50_us=%.1f p99_us=%.1f failures=%d"
          % (events, size, elapsed, events / elapsed,
             elapsed / events * 1e6, latencies[len(latencies) // 2] * 1e6,
             latencies[int(0.99 * (len(latencies) - 1))] * 1e6, failures))


def measure_rates(args: argparse.Namespace) -> None:
    """Two ways against the machine's other load: the two loops one after
    the other, alternating, and both at once (then they see the same load
    and share ChronoKeeper)."""
    languages = ["c++", "python"] if args.cxx else ["python"]
    for together in (False, True):
        if together and not args.cxx:
            break
        print("== per-event log_event, %d events of %d bytes per run, each "
              "run a new writer-only process, %s"
              % (args.events, args.size,
                 "both languages at once" if together else "in turns"))
        numbers: Dict[str, Dict[str, List[float]]] = {
            language: {"rate": [], "p50_us": []} for language in languages}
        ratios = []
        for round_number in range(args.rounds):
            if together:
                results = _rates(languages, args)
            else:
                results = {}
                for language in languages:
                    results.update(_rates([language], args))
            for language in languages:
                run = results[language]
                numbers[language]["rate"].append(run["rate"])
                numbers[language]["p50_us"].append(run["p50_us"])
                print("round %d %-6s %8.1f events/s  mean %7.1f us  p50 "
                      "%7.1f us  p99 %8.1f us  failures %d"
                      % (round_number + 1, language, run["rate"],
                         run["mean_us"], run["p50_us"], run["p99_us"],
                         run["failures"]))
            if args.cxx:
                ratios.append(results["python"]["rate"]
                              / results["c++"]["rate"])
        for language in languages:
            print("%-6s events/s: %s" % (language,
                                         summary(numbers[language]["rate"])))
            print("%-6s p50 us:   %s" % (language,
                                         summary(numbers[language]["p50_us"])))
        if args.cxx:
            print("python/c++ rate ratio per round: %s" % summary(ratios))
            print("python/c++, medians of the rates: %.3f" % (
                statistics.median(numbers["python"]["rate"])
                / statistics.median(numbers["c++"]["rate"])))


def measure_binding_cost(args: argparse.Namespace) -> None:
    """What a log_event costs without any server: the Python method, the
    native call and the shim, on the embedded store (whose logging only
    appends to memory).  It bounds what the binding adds to a round trip."""
    print("== the binding's own cost per log_event (embedded store, no "
          "server)")
    import tempfile

    with tempfile.TemporaryDirectory() as store:
        with cl.Client.embedded(store) as client:
            client.create_chronicle("c")
            story = client.acquire_story("c", "s")
            record = b"x" * args.size
            log = story.log_event
            costs = []
            for _ in range(5):
                started = time.perf_counter()
                for _ in range(100000):
                    log(record)
                costs.append((time.perf_counter() - started) / 100000 * 1e6)
    print("microseconds per call: %s" % summary(costs))


def measure_threads(client: cl.Client, args: argparse.Namespace) -> None:
    print("== Python threads logging on one story at once, %d events in all"
          % args.events)
    chronicle = unique("threads")
    client.create_chronicle(chronicle)
    record = b"x" * args.size
    single = None
    for count in args.threads:
        story_name = unique("t%d" % count)
        story = client.acquire_story(chronicle, story_name)
        for _ in range(args.warmup):
            story.log_event(record)
        share = args.events // count
        failures = [0] * count

        def work(worker: int) -> None:
            log = story.log_event
            for _ in range(share):
                failures[worker] += log(record) == 0

        workers = [threading.Thread(target=work, args=(worker,))
                   for worker in range(count)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        client.release_story(chronicle, story_name)
        rate = share * count / elapsed
        single = single or rate
        print("%d threads: %8.1f events/s  (x%.2f of one thread)  "
              "failures %d" % (count, rate, rate / single, sum(failures)))


def measure_replayable(client: cl.Client, args: argparse.Namespace) -> None:
    print("== time until logged events are replayable (%d events each)"
          % args.burst)
    chronicle = unique("replayable")
    client.create_chronicle(chronicle)
    for attempt in range(args.replay_rounds):
        story_name = "s%d" % attempt
        story = client.acquire_story(chronicle, story_name)
        times = [story.log(b"event %d" % i) for i in range(args.burst)]
        logged = time.monotonic()
        archived = None
        if args.archive_dir:
            prefix = "%s.%s." % (chronicle, story_name)
            while archived is None:
                if any(name.startswith(prefix)
                       for name in os.listdir(args.archive_dir)):
                    archived = time.monotonic() - logged
                else:
                    time.sleep(0.05)
        events = client.wait_replayable(chronicle, story_name,
                                        count=args.burst,
                                        last_time=times[-1], timeout=300,
                                        archive_dir=args.archive_dir)
        replayable = time.monotonic() - logged
        started = time.monotonic()
        again = client.replay(chronicle, story_name)
        one_replay = time.monotonic() - started
        client.release_story(chronicle, story_name)
        print("attempt %d: archive file after %s, all %d events replayable "
              "after %.1f s; one more replay took %.2f s (%d events)"
              % (attempt + 1,
                 "%.1f s" % archived if archived is not None else "(unseen)",
                 len(events), replayable, one_replay, len(again)))


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--log-rate":
        log_rate(sys.argv[2], *(int(value) for value in sys.argv[3:]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="the deployment's client config file")
    parser.add_argument("--cxx", help="the chronolog_log_rate program")
    parser.add_argument("--archive-dir",
                        default=os.environ.get(cl.ARCHIVE_DIR_ENV))
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--threads", type=lambda text: [
        int(part) for part in text.split(",")], default=[1, 2, 4])
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--replay-rounds", type=int, default=3)
    args = parser.parse_args()

    config = cl.load_client_config(args.config)
    print("library: %s" % cl.library_info())
    measure_dead_connect(config.portal)

    query = cl.ClientQueryServiceConf(config.query.proto, config.query.ip,
                                      free_port(config.query.ip),
                                      config.query.provider_id)
    with cl.Client.deployment(config.portal, query) as client:
        # Replayable first: the logging runs leave the servers busy
        # archiving for a while.
        measure_replayable(client, args)
        measure_threads(client, args)
    measure_rates(args)
    measure_binding_cost(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
