"""ChronologHandler: log records become events of a story."""

import logging
import logging.config
import multiprocessing
import os
import subprocess
import sys
import threading

import pytest

import chronolog_ctypes
from chronolog_ctypes.handler import ChronologHandler

from conftest import child_env, run_child


@pytest.fixture
def logger(request):
    """A fresh logger that passes everything and keeps records to itself."""
    log = logging.getLogger("test_handler.%s" % request.node.name)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def replayed(store, chronicle="app", story="main"):
    """The records of a story, read by a separate client of the store."""
    with chronolog_ctypes.Client.embedded(store) as reader:
        with reader.acquire_story(chronicle, story):
            return [event.record for event in reader.replay(chronicle, story)]


class Errors:
    """Collects the records a handler passed to handleError."""

    def __init__(self, handler, monkeypatch):
        self.records = []
        monkeypatch.setattr(handler, "handleError", self.records.append)


def test_records_are_formatted_and_logged(store, logger):
    handler = ChronologHandler(chronicle="app", story="main", store=store)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)

    logger.info("hello %s", "world")
    logger.debug("caf\u00e9 \u2603")
    logger.error("line one\nline two")
    handler.close()

    name = logger.name.encode()
    assert replayed(store) == [
        b"INFO " + name + b": hello world",
        b"DEBUG " + name + b": " + "caf\u00e9 \u2603".encode("utf-8"),
        b"ERROR " + name + b": line one\nline two",
    ]


def test_text_that_came_from_bytes_goes_back_to_the_same_bytes(store, logger):
    handler = ChronologHandler("app", "main", store=store)
    logger.addHandler(handler)

    logger.warning(b"raw \xff\xfe".decode("utf-8", "surrogateescape"))
    logger.warning("lone surrogate \ud800 is escaped")
    handler.close()

    assert replayed(store) == [b"raw \xff\xfe",
                               b"lone surrogate \\ud800 is escaped"]


def test_level_filters_records(store, logger):
    handler = ChronologHandler("app", "main", store=store, level="WARNING")
    logger.addHandler(handler)

    logger.info("dropped")
    logger.warning("kept")
    handler.close()

    assert handler.level == logging.WARNING
    assert replayed(store) == [b"kept"]


def test_given_client_stays_open_and_story_is_released_on_close(store, logger):
    with chronolog_ctypes.Client.embedded(store) as client:
        handler = ChronologHandler("app", "main", client=client)
        logger.addHandler(handler)
        logger.info("through a given client")

        with pytest.raises(chronolog_ctypes.AcquiredError):
            client.destroy_story("app", "main")

        handler.close()

        assert not client.closed
        assert "main" in client.stories("app")
        with client.acquire_story("app", "main"):
            assert [event.record for event in client.replay("app", "main")] == [
                b"through a given client"]
        client.destroy_story("app", "main")


def test_own_client_holds_the_story_until_close(store, logger):
    handler = ChronologHandler("app", "main", store=store)
    logger.addHandler(handler)
    logger.info("x")

    with chronolog_ctypes.Client.embedded(store) as other:
        with pytest.raises(chronolog_ctypes.AcquiredError):
            other.destroy_chronicle("app")
        handler.close()
        assert replayed(store) == [b"x"]
        other.destroy_chronicle("app")
        assert other.chronicles() == []


def test_existing_chronicle_and_story_are_reused(store, logger):
    with chronolog_ctypes.Client.embedded(store) as client:
        client.create_chronicle("app", {"owner": "ops"})
        with client.acquire_story("app", "main") as story:
            story.log(b"before")

    handler = ChronologHandler("app", "main", store=store)
    logger.addHandler(handler)
    logger.info("after")
    handler.close()

    assert replayed(store) == [b"before", b"after"]
    with chronolog_ctypes.Client.embedded(store) as client:
        assert client.get_chronicle_attr("app", "owner") == "ops"


def test_eight_threads_every_record_exactly_once(store, logger):
    threads_count, per_thread = 8, 400
    handler = ChronologHandler("app", "main", store=store)
    logger.addHandler(handler)
    start = threading.Barrier(threads_count)

    def work(number):
        start.wait()
        for sequence in range(per_thread):
            logger.info("thread %d record %d", number, sequence)

    threads = [threading.Thread(target=work, args=(number,))
               for number in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handler.close()

    records = replayed(store)
    expected = [b"thread %d record %d" % (number, sequence)
                for number in range(threads_count)
                for sequence in range(per_thread)]
    assert len(records) == threads_count * per_thread
    assert sorted(records) == sorted(expected)
    for number in range(threads_count):
        prefix = b"thread %d record " % number
        own = [int(record[len(prefix):]) for record in records
               if record.startswith(prefix)]
        assert own == list(range(per_thread))


def test_flush_makes_records_visible_to_other_clients(store, logger):
    handler = ChronologHandler("app", "main", store=store)
    logger.addHandler(handler)
    logger.info("one")
    logger.info("two")

    handler.flush()

    assert replayed(store) == [b"one", b"two"]
    handler.close()


def test_errors_go_to_handle_error_never_to_the_application(
        store, logger, monkeypatch):
    client = chronolog_ctypes.Client.embedded(store).connect()
    handler = ChronologHandler("app", "main", client=client)
    errors = Errors(handler, monkeypatch)
    logger.addHandler(handler)

    client.close()  # the handler's story goes stale with it
    logger.error("lost")

    assert [record.getMessage() for record in errors.records] == ["lost"]
    handler.close()  # still fine


def test_handle_error_reports_on_stderr(store, logger, capsys, monkeypatch):
    monkeypatch.setattr(logging, "raiseExceptions", True)
    handler = ChronologHandler("app", "main", store=store)
    logger.addHandler(handler)
    handler.close()

    logger.error("after close")

    err = capsys.readouterr().err
    assert "--- Logging error ---" in err
    assert "StaleHandleError" in err
    assert "this ChronologHandler was closed" in err


def test_close_twice_is_harmless(store):
    handler = ChronologHandler("app", "main", store=store)
    handler.close()
    handler.close()
    assert replayed(store) == []


def test_delay_opens_on_the_first_record(store, logger):
    handler = ChronologHandler("app", "main", store=store, delay="true")
    assert not os.path.exists(store)

    logger.addHandler(handler)
    logger.info("first")
    handler.close()

    assert replayed(store) == [b"first"]


def test_delay_with_a_store_that_cannot_open(tmp_path, logger, monkeypatch):
    (tmp_path / "file").write_bytes(b"")
    handler = ChronologHandler("app", "main", delay=True,
                               store=str(tmp_path / "file" / "store"))
    errors = Errors(handler, monkeypatch)
    logger.addHandler(handler)

    logger.info("one")
    logger.info("two")

    assert [record.getMessage() for record in errors.records] == ["one", "two"]


def test_a_store_that_cannot_open_raises_from_the_constructor(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(chronolog_ctypes.StoreIOError):
        ChronologHandler("app", "main", store=str(tmp_path / "file" / "x"))


@pytest.mark.parametrize("kwargs, message", [
    ({"chronicle": "", "story": "s"}, "chronicle must be a non-empty string"),
    ({"chronicle": "c", "story": ""}, "story must be a non-empty string"),
    ({"chronicle": "c", "story": "s", "level": "LOUD"},
     "unknown logging level: 'LOUD'"),
    ({"chronicle": "c", "story": "s", "delay": "maybe"},
     "delay must be true or false, not 'maybe'"),
    ({"chronicle": "c", "story": "s", "client": object(), "store": "x"},
     "give either client or a backend"),
    ({"chronicle": "c", "story": "s", "store": "x", "portal": "p://h:1/1"},
     "choose one backend"),
])
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError) as caught:
        ChronologHandler(**kwargs)
    assert message in str(caught.value)


@pytest.mark.skipif("'chronolog' in chronolog_ctypes.library_info()['backends']",
                    reason="this library has the ChronoLog backend")
def test_portal_without_the_chronolog_backend_raises(store):
    with pytest.raises(chronolog_ctypes.BackendUnavailableError):
        ChronologHandler("c", "s", portal="ofi+sockets://127.0.0.1:5555/55")


def test_dict_config_with_string_arguments(store, request):
    name = "test_handler.dictconfig"
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"short": {"format": "%(levelname)s %(message)s"}},
        "handlers": {"chronolog": {
            "class": "chronolog_ctypes.handler.ChronologHandler",
            "level": "INFO",
            "formatter": "short",
            "chronicle": "app",
            "story": "main",
            "store": store,
            "delay": "false",
        }},
        "loggers": {name: {"handlers": ["chronolog"], "level": "DEBUG",
                           "propagate": False}},
    })
    log = logging.getLogger(name)
    handler = log.handlers[0]
    request.addfinalizer(lambda: (log.removeHandler(handler), handler.close()))

    log.debug("below the handler's level")
    log.info("configured")
    log.error("by dictConfig")
    handler.close()

    assert isinstance(handler, ChronologHandler)
    assert replayed(store) == [b"INFO configured", b"ERROR by dictConfig"]


def test_records_of_a_handler_never_closed_are_written_at_exit(store):
    result = run_child("""
        import logging, os
        from chronolog_ctypes.handler import ChronologHandler

        log = logging.getLogger("child")
        log.addHandler(ChronologHandler("app", "main", store=os.environ["STORE"]))
        log.setLevel(logging.INFO)
        for number in range(1000):
            log.info("record %d", number)
    """, {"STORE": store})

    assert (result.returncode, result.stderr) == (0, b"")
    assert replayed(store) == [b"record %d" % number for number in range(1000)]


def test_a_handler_attached_nowhere_is_closed_at_exit_too(store):
    result = run_child("""
        import logging, os
        from chronolog_ctypes.handler import ChronologHandler

        handler = ChronologHandler("app", "main", store=os.environ["STORE"])
        handler.handle(logging.makeLogRecord({"msg": "direct"}))
        logging.shutdown = lambda *args: None  # the hook must not need it
    """, {"STORE": store})

    assert (result.returncode, result.stderr) == (0, b"")
    assert replayed(store) == [b"direct"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_a_forked_child_logs_through_its_own_client(store, logger):
    handler = ChronologHandler("app", "main", store=store)
    logger.addHandler(handler)
    logger.info("parent before fork")

    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        status = 1
        try:
            logger.info("from the child")
            handler.close()
            status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    logger.info("parent after fork")
    handler.close()

    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert sorted(replayed(store)) == [
        b"from the child", b"parent after fork", b"parent before fork"]


def test_a_failed_construction_leaves_nothing_for_shutdown(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    result = run_child("""
        import logging, os
        from chronolog_ctypes.handler import ChronologHandler

        for kwargs in ({"level": "LOUD"}, {"store": os.environ["STORE"]}):
            try:
                ChronologHandler("app", "main", **kwargs)
            except Exception as error:
                print(type(error).__name__)
        logging.shutdown()
    """, {"STORE": str(tmp_path / "file" / "store")})

    assert result.stdout.split() == [b"ValueError", b"StoreIOError"]
    assert (result.returncode, result.stderr) == (0, b"")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_pool_workers_that_flush_after_each_task_lose_nothing(store):
    # Forked workers end with os._exit and `with Pool` ends them with
    # SIGTERM: no exit hook runs there, so docs/logging-handler.md asks
    # for a flush at the end of each task.
    result = run_child("""
        import logging, multiprocessing, os, warnings
        from chronolog_ctypes.handler import ChronologHandler

        warnings.simplefilter("ignore", DeprecationWarning)  # fork + threads
        handler = ChronologHandler("app", "pool", store=os.environ["STORE"])
        log = logging.getLogger("pool")
        log.addHandler(handler)
        log.setLevel(logging.INFO)

        def task(number):
            log.info("task %d", number)
            handler.flush()

        with multiprocessing.get_context("fork").Pool(2) as pool:
            pool.map(task, range(200), chunksize=5)
    """, {"STORE": store})

    assert (result.returncode, result.stderr) == (0, b"")
    assert sorted(replayed(store, story="pool")) == sorted(
        b"task %d" % number for number in range(200))


_POOL_SCRIPT = """
import logging, multiprocessing, os, sys, warnings
from chronolog_ctypes.handler import ChronologHandler

warnings.simplefilter("ignore", DeprecationWarning)  # fork + threads
log = logging.getLogger("pool")
log.addHandler(ChronologHandler("app", "pool", store=os.environ["STORE"]))
log.setLevel(logging.INFO)


def task(number):
    log.info("task %d", number)


if __name__ == "__main__":
    pool = multiprocessing.get_context(sys.argv[1]).Pool(2)
    pool.map(task, range(200), chunksize=5)
    pool.close()
    pool.join()
"""


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_pool_workers_ended_by_close_and_join_lose_nothing(
        store, tmp_path, method):
    # The tasks do not flush. Under fork and forkserver the workers end
    # with os._exit: only the handler's multiprocessing finalizer writes
    # their last records (under forkserver, each worker makes its handler
    # when it imports the script). Under spawn the exit hooks do it.
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip("no %s start method here" % method)
    script = tmp_path / "pool_logging.py"
    script.write_text(_POOL_SCRIPT)

    result = subprocess.run(
        [sys.executable, str(script), method], cwd=str(tmp_path),
        env=child_env(STORE=store), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=120)

    assert (result.returncode, result.stderr) == (0, b"")
    assert sorted(replayed(store, story="pool")) == sorted(
        b"task %d" % number for number in range(200))


def _log_from_the_child(child_logger):
    child_logger.info("from a multiprocessing child")


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="needs the fork start method")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_a_forked_child_that_does_not_close_the_handler_keeps_its_records(
        store, logger):
    handler = ChronologHandler("app", "main", store=store)
    logger.addHandler(handler)
    logger.info("parent before fork")

    child = multiprocessing.get_context("fork").Process(
        target=_log_from_the_child, args=(logger,))
    child.start()
    child.join(60)
    logger.info("parent after fork")
    handler.close()

    assert child.exitcode == 0
    assert sorted(replayed(store)) == [
        b"from a multiprocessing child", b"parent after fork",
        b"parent before fork"]



@pytest.mark.parametrize("backend, expected", [
    ("embedded", [b"", b"after"]),
    # The ChronoLog backend refuses empty records: the handler skips them
    # rather than report an error for each.
    ("chronolog", [b"after"]),
])
def test_an_empty_message(store, logger, monkeypatch, backend, expected):
    handler = ChronologHandler(chronicle="app", story="main", store=store)
    errors = Errors(handler, monkeypatch)
    logger.addHandler(handler)
    with monkeypatch.context() as patch:
        patch.setattr(chronolog_ctypes.Client, "backend",
                      property(lambda _: backend))
        logger.info("")
        logger.info("after")
        handler.close()
    assert errors.records == []
    assert replayed(store) == expected
