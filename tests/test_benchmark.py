"""The benchmark: its quick mode runs and prints the table it promises.

Only the shape is checked, never a timing: these machines are too noisy
for that, and the figures are the benchmark's own business.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from chronolog_ctypes import _native

from conftest import REPO

BENCHMARKS = os.path.join(REPO, "benchmarks")
RUN = os.path.join(BENCHMARKS, "run.py")

FIGURES = ["log_event", "bulk_durable", "bulk_abi", "replay",
           "replay_memory", "iter_replay_memory", "pypy_log_event",
           "threads"]


def _load_run_module():
    spec = importlib.util.spec_from_file_location("benchmark_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One quick run with tiny sizes: (stdout lines, JSON report)."""
    folder = tmp_path_factory.mktemp("benchmark")
    report = folder / "report.json"
    # The environment the benchmark gives its own children: this package
    # and this library.
    env = _load_run_module()._child_env()
    result = subprocess.run(
        [sys.executable, RUN, "--quick", "--events", "2000", "--repeat", "1",
         "--json", str(report), "--dir", str(folder), "--quiet-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stderr == b""
    with open(str(report)) as stream:
        data = json.load(stream)
    return result.stdout.decode().splitlines(), data


def test_quick_mode_prints_the_table_header_and_a_row_per_figure(quick_run):
    lines, report = quick_run
    assert lines[0].split() == ["figure", "ours", "limit", "ratio", "target",
                                "met?"]
    assert set(lines[1]) == {"-", " "}
    rows = lines[2:2 + len(FIGURES)]
    titles = [figure["title"] for figure in report["figures"]]
    assert [row[:len(title)] for row, title in zip(rows, titles)] == titles
    for row, figure in zip(rows, report["figures"]):
        assert row.split()[-1] == {True: "yes", False: "NO",
                                   None: "n/a"}[figure["met"]]
        assert figure["target"] in row


def test_quick_mode_ends_with_the_count_of_targets_met(quick_run):
    lines, report = quick_run
    match = re.match(r"^(\d+) of (\d+) targets met$", lines[-1])
    assert match, lines[-1]
    assert int(match.group(1)) == report["met"]
    assert int(match.group(2)) == report["targets"]
    measured = [f for f in report["figures"] if f["met"] is not None]
    assert report["targets"] == len(measured)
    assert report["met"] == sum(1 for f in measured if f["met"])


def test_quick_mode_writes_the_same_table_as_json(quick_run):
    _, report = quick_run
    assert report["mode"] == "quick"
    assert report["sizes"]["replay"] == 2000
    assert report["sizes"]["repeat"] == 1
    assert [f["figure"] for f in report["figures"]] == FIGURES
    assert report["machine"]["nproc"] == os.cpu_count()
    assert report["library"] == _native.get_library().path
    assert report["python"]["executable"] == sys.executable
    for figure in report["figures"]:
        assert set(figure) >= {"figure", "title", "unit", "ours", "limit",
                               "ratio", "target", "met", "ours_samples",
                               "limit_samples", "note"}
        assert figure["met"] in (True, False, None)
        if figure["figure"] != "pypy_log_event":
            # Measured in this interpreter: always there.
            assert len(figure["ours_samples"]) == 1
            assert figure["ours"] == figure["ours_samples"][0]


def test_figures_measured_here_are_positive(quick_run):
    _, report = quick_run
    by_key = {figure["figure"]: figure for figure in report["figures"]}
    for key in ("log_event", "bulk_durable", "bulk_abi", "replay", "threads"):
        assert by_key[key]["ours"] > 0, key
    assert by_key["log_event"]["limit"] > 0
    assert by_key["replay"]["limit"] > 0
    assert by_key["threads"]["limit"] > 0


def test_the_table_text_of_a_report():
    run = _load_run_module()
    report = {
        "figures": [
            {"figure": "a", "title": "first", "unit": "us/event",
             "ours": 2e-6, "limit": 1e-6, "ratio": 0.5,
             "limit_title": "L1", "target": "limit/ours >= 0.6",
             "met": False, "note": ""},
            {"figure": "replay_memory", "title": "second", "unit": "B/event",
             "ours": 200.0, "limit": 64.0, "ratio": 200.0,
             "limit_title": "L2", "target": "<= 250 B/event", "met": True,
             "note": "a note"},
        ],
        "met": 1, "targets": 2,
    }
    assert run.format_table(report).splitlines() == [
        "figure  ours      limit     ratio     target             met?",
        "------  --------  --------  --------  -----------------  ----",
        "first   2.000 us  1.000 us  0.50      limit/ours >= 0.6  NO",
        "second  200 B/ev  64 B/ev   200 B/ev  <= 250 B/event     yes",
        "",
        "  a: limit = L1",
        "  replay_memory: limit = L2",
        "  replay_memory: a note",
        "",
        "1 of 2 targets met",
    ]


def _pragmas(path):
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    return sorted(set(re.findall(r'"(PRAGMA [a-z_]+ ?= ?[^";]+)"', text)))


def test_the_sqlite_limit_sets_the_store_s_pragmas():
    store = _pragmas(os.path.join(REPO, "capi", "src", "embedded",
                                  "store_database.cpp"))
    limit = _pragmas(os.path.join(BENCHMARKS, "sqlite_insert.cpp"))
    assert "PRAGMA synchronous=NORMAL" in store
    # The replay cursors' read-only connections are not the writer's.
    store.remove("PRAGMA query_only=1")
    assert limit == store


def test_the_sqlite_limit_inserts_with_the_store_s_statement():
    def insert_statement(path):
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
        found = re.search(r'"(INSERT OR IGNORE INTO events[^"]*)"', text)
        return found.group(1)

    assert insert_statement(os.path.join(BENCHMARKS, "sqlite_insert.cpp")) == \
        insert_statement(os.path.join(REPO, "capi", "src", "embedded",
                                      "event_buffer.cpp"))
