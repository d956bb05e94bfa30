"""The package's logger and the library's message queue."""

import ctypes
import logging

import pytest

import chronolog_ctypes as cl
from chronolog_ctypes import client as client_module


class FakeQueue:
    """Stands in for the library's clc_log_next."""

    def __init__(self, messages):
        self.messages = list(messages)

    def clc_log_next(self, level, buffer, capacity, length):
        if not self.messages:
            return 0
        value, text = self.messages.pop(0)
        data = text.encode()
        _target(level).value = value
        _target(length).value = len(data)
        ctypes.memmove(buffer, data[:capacity - 1] + b"\0",
                       min(len(data), capacity - 1) + 1)
        return 1


def _target(reference):
    # What ctypes.byref() points to: CPython and PyPy differ here.
    target = getattr(reference, "_obj", None)
    return target if target is not None else reference.contents


def test_the_package_logger_has_a_null_handler():
    handlers = logging.getLogger("chronolog_ctypes").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_messages_are_forwarded_with_their_level(caplog):
    fake = FakeQueue([(logging.WARNING, "store is slow"),
                      (logging.ERROR, "events lost")])
    with caplog.at_level(logging.DEBUG, logger="chronolog_ctypes"):
        assert client_module.forward_library_messages(fake) == 2
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("chronolog_ctypes", logging.WARNING,
         "libchronolog_capi: store is slow"),
        ("chronolog_ctypes", logging.ERROR, "libchronolog_capi: events lost")]
    assert client_module.forward_library_messages(fake) == 0


def test_a_long_message_is_cut_and_says_its_length(caplog):
    fake = FakeQueue([(logging.WARNING, "x" * 10000)])
    with caplog.at_level(logging.DEBUG, logger="chronolog_ctypes"):
        client_module.forward_library_messages(fake)
    text = caplog.records[0].getMessage()
    assert text.endswith("... (10000 bytes in all)")
    assert text.count("x") == client_module._MESSAGE_CAPACITY - 1


def test_the_real_queue_drains_to_empty(library):
    assert client_module.forward_library_messages(library) >= 0
    assert client_module.forward_library_messages(library) == 0


def test_failures_print_nothing(store, capfd):
    with cl.Client.embedded(store) as client:
        assert client.CreateChronicle("", {}, 0) == cl.CL_ERR_INVALID_ARG
        assert client.DestroyChronicle("none") == cl.CL_ERR_NOT_EXIST
        assert client.ReleaseStory("a", "b") == cl.CL_ERR_NOT_ACQUIRED
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_library_failure_message_reaches_the_exception(reader):
    reader.create_chronicle("dup")
    with pytest.raises(cl.ChronicleExistsError) as caught:
        reader.create_chronicle("dup")
    message = caught.value.message
    assert message.startswith("cannot create chronicle 'dup': ")
    assert len(message) > len("cannot create chronicle 'dup': ")


def test_compatible_failures_are_logged_at_debug(reader, caplog):
    with caplog.at_level(logging.DEBUG, logger="chronolog_ctypes"):
        assert reader.DestroyChronicle("none") == cl.CL_ERR_NOT_EXIST
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("DestroyChronicle" in r.getMessage()
               and "CL_ERR_NOT_EXIST" in r.getMessage() for r in debug)
