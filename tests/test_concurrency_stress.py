"""Many threads in several processes writing one embedded store at once.

Every event must replay exactly once, in event order, with each writer's
events in the order it logged them; a reader running meanwhile must never
see a gap in any writer's sequence.
"""

import re
import subprocess
import sys
import time

import chronolog_ctypes as cl
from conftest import child_env

PROCESSES = 2
THREADS = 8
EVENTS = 1500

# Threads 0-3 share the process's client and story handle; threads 4-7
# each have a client of their own on the same story.
WRITER = """
import os, sys, threading, time
import chronolog_ctypes as cl

store, process, threads, events, go = sys.argv[1:6]
process, threads, events = int(process), int(threads), int(events)
shared = cl.Client.embedded(store, reader=False).connect()
try:
    shared.create_chronicle("stress")
except cl.ChronicleExistsError:
    pass
shared_story = shared.acquire_story("stress", "all")
for _ in range(2000):          # start together, at most 20 s apart
    if os.path.exists(go):
        break
    time.sleep(0.01)

def write(thread):
    if thread < 4:
        client, story = None, shared_story
    else:
        client = cl.Client.embedded(store, reader=(thread % 2 == 0))
        client.connect()
        story = client.acquire_story("stress", "all")
    prefix = b"P%d-T%d-" % (process, thread)
    seq = 0
    while seq < events:
        if seq % 5 == 0:
            batch = [prefix + b"%d" % n
                     for n in range(seq, min(events, seq + 1 + seq % 7))]
            story.log_many(batch)
            seq += len(batch)
        else:
            story.log(prefix + b"%d" % seq)
            seq += 1
        if seq % 400 == 0:
            (client or shared).flush()
    if client is not None:
        client.close()

workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
shared.close()
print("done", process)
"""

RECORD = re.compile(rb"P(\d+)-T(\d+)-(\d+)\Z")


def _writers_of(events):
    """Each writer's sequence numbers, in replay order."""
    writers = {}
    for event in events:
        match = RECORD.match(event.record)
        assert match, event.record
        key = (int(match.group(1)), int(match.group(2)))
        writers.setdefault(key, []).append(int(match.group(3)))
    return writers


def test_threads_of_two_processes_write_every_event_once_in_order(store,
                                                                  tmp_path):
    go = str(tmp_path / "go")
    writers = [subprocess.Popen(
        [sys.executable, "-c", WRITER, store, str(n), str(THREADS),
         str(EVENTS), go], env=child_env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE) for n in range(PROCESSES)]
    try:
        # Both writers have connected once the chronicle exists.
        with cl.Client.embedded(store) as reader:
            for _ in range(3000):
                if "stress" in reader.ShowChronicles() and \
                        reader.AcquireStory("stress", "all", {},
                                            0)[0] == cl.CL_SUCCESS:
                    break
                time.sleep(0.01)
            open(go, "w").close()

            # Read while they write: each writer's events so far are
            # always a gap-free prefix of what it logs.
            snapshots = 0
            while any(w.poll() is None for w in writers) and snapshots < 200:
                for key, seqs in _writers_of(
                        reader.replay("stress", "all")).items():
                    assert seqs == list(range(len(seqs))), key
                snapshots += 1
            outputs = [w.communicate(timeout=120) for w in writers]
            for writer, (out, err) in zip(writers, outputs):
                assert writer.returncode == 0, err.decode()
                assert out.startswith(b"done"), out

            events = reader.replay("stress", "all")
            paged = list(reader.iter_replay("stress", "all",
                                            page_size=4096))
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait(10)

    assert snapshots > 0
    assert len(events) == PROCESSES * THREADS * EVENTS
    assert paged == events
    keys = [(e.time(), e.client_id(), e.index()) for e in events]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert len({e.record for e in events}) == len(events)
    by_writer = _writers_of(events)
    assert sorted(by_writer) == [(p, t) for p in range(PROCESSES)
                                 for t in range(THREADS)]
    for key, seqs in by_writer.items():
        assert seqs == list(range(EVENTS)), key
    # 2 processes: a shared client each plus four clients of their own.
    assert len({e.client_id() for e in events}) == PROCESSES * 5
