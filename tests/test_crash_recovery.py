"""Writers killed with SIGKILL at random moments.

After each kill the store must open, pass SQLite's integrity check, and hold
every event the writer had reported flushed; what it holds of one writer
is always a gap-free prefix of what that writer logged. The stories a
killed writer held are given back to the next client.
"""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

import chronolog_ctypes as cl
from conftest import child_env

ROUNDS = 20

# Logs batches of varying size into story r<round>, and after each
# clc_client_flush reports how many events are durable: "F <count>".
WRITER = """
import os, random, sys
import chronolog_ctypes as cl

store, round_ = sys.argv[1], int(sys.argv[2])
rng = random.Random(round_)
client = cl.Client.embedded(store, reader=False).connect()
try:
    client.create_chronicle("crash")
except cl.ChronicleExistsError:
    pass
story = client.acquire_story("crash", "r%d" % round_)
os.write(1, b"ready\\n")
logged = 0
while logged < 200000:
    size = rng.choice((1, 10, 100, 1000, 3000))
    batch = [b"%d:" % (logged + n) + b"x" * rng.randrange(200)
             for n in range(size)]
    if size == 1:
        story.log(batch[0])
    else:
        story.log_many(batch)
    logged += size
    if rng.random() < 0.5:
        client.flush()
        os.write(1, b"F %d\\n" % logged)  # one write: never half a line
os.write(1, b"finished\\n")
sys.stdin.read()  # wait to be killed
"""


def _run_and_kill(store, round_, rng):
    """Start a writer, SIGKILL it at a random moment; return its lines."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, store, str(round_)], env=child_env(),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    lines = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(writer.stdout.readline, b"")))
    reader.start()
    try:
        if rng.random() < 0.25:
            # Anywhere from start-up to the first writes.
            time.sleep(rng.uniform(0, 0.25))
        else:
            # Somewhere in the writing, after a random number of flushes.
            flushes = rng.randrange(0, 12)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and writer.poll() is None:
                if sum(1 for line in list(lines)
                       if line.startswith(b"F")) >= flushes:
                    break
                time.sleep(0.001)
            time.sleep(rng.uniform(0, 0.01))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:  # pragma: no cover - kill failed
            writer.kill()
            writer.wait(10)
        reader.join(30)
        writer.stdin.close()
        writer.stdout.close()
        stderr = writer.stderr.read()
        writer.stderr.close()
    assert writer.returncode == -signal.SIGKILL, stderr.decode()
    return lines


def _integrity(store):
    database = sqlite3.connect(os.path.join(store, "chronolog.db"),
                               timeout=30)
    try:
        return database.execute("PRAGMA integrity_check").fetchall()
    finally:
        database.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_writers_killed_at_random_moments_lose_nothing_flushed(store):
    seed = random.randrange(2 ** 32)
    rng = random.Random(seed)
    kept = {}
    for round_ in range(ROUNDS):
        lines = _run_and_kill(store, round_, rng)
        flushed = [int(line.split()[1]) for line in lines
                   if line.startswith(b"F ") and line.endswith(b"\n")]
        reported = flushed[-1] if flushed else 0
        where = "seed %d, round %d, %d reported" % (seed, round_, reported)

        if not os.path.exists(os.path.join(store, "chronolog.db")):
            assert reported == 0, where
            continue
        assert _integrity(store) == [("ok",)], where
        with cl.Client.embedded(store) as client:
            story = "r%d" % round_
            if "crash" not in client.chronicles() or \
                    story not in client.stories("crash"):
                assert reported == 0, where
                continue
            client.acquire_story("crash", story)
            records = [e.record for e in client.replay("crash", story)]
        numbers = [int(record.split(b":")[0]) for record in records]
        assert numbers == list(range(len(numbers))), where
        assert len(numbers) >= reported, where
        kept[story] = records

    assert len(kept) >= ROUNDS // 2, "seed %d" % seed
    assert any(records for records in kept.values()), "seed %d" % seed
    # Later kills took nothing from earlier writers, and every story a
    # killed writer held is free again: all of them can be destroyed.
    with cl.Client.embedded(store) as client:
        for story, records in sorted(kept.items()):
            client.acquire_story("crash", story)
            assert [e.record for e in client.replay("crash", story)] == \
                records, "seed %d, %s" % (seed, story)
            client.release_story("crash", story)
            client.destroy_story("crash", story)
        client.destroy_chronicle("crash")
        assert client.chronicles() == []
    assert _integrity(store) == [("ok",)]
