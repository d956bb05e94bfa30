"""A :mod:`logging` handler that writes records as events of a story.

``ChronologHandler(chronicle=..., story=..., client=...)`` logs each
formatted record of the application as one event. The handler either uses
a client it is given, or opens one itself from the same backend choices as
the command-line tool (``store=``, ``config=``, ``portal=``/``query=``; by
default the per-user embedded store). See docs/logging-handler.md.
"""

import atexit
import logging
import os
import sys
import threading
import weakref
from typing import Any, Optional, Union

from chronolog_ctypes import _status

__all__ = ["ChronologHandler"]

# The priority of the finalizer that closes a handler in a multiprocessing
# child: below 0, so that it runs after the finalizers of priority 0 and
# up and the queues' (-5), whose work may still log records.
_MULTIPROCESSING_EXIT_PRIORITY = -10

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class ChronologHandler(logging.Handler):
    """Write each formatted log record as one event of a ChronoLog story.

    Arguments (every one may be given by keyword, as
    ``logging.config.dictConfig`` does, and as a string):

    - ``chronicle``, ``story``: where the records go; both are created
      when missing.
    - ``client``: a connected client to use. The handler then never
      closes it; it only releases the story on close().
    - ``store``, ``config``, ``portal``, ``query``: the backend of the
      client the handler opens when no ``client`` is given, with the
      meaning of the command-line options of the same names (at most one
      of store, config and portal/query; none: the default store). The
      handler closes the client it opened.
    - ``level``: the handler's level (a number or a name).
    - ``encoding``: how record text becomes bytes (default UTF-8; a
      character it cannot encode is written as a backslash escape).
    - ``delay``: when true, open the client and acquire the story on the
      first record instead of now.

    The story stays acquired while the handler is open. ``close()``
    releases it (``logging.shutdown``, which runs at interpreter exit,
    calls it; a handler nobody closed is closed at exit as well). In a
    process started by :mod:`multiprocessing`, a handler that opened its
    own client there is also closed when the process ends normally, by a
    ``multiprocessing.util.Finalize``, since its workers skip exit hooks.
    Errors met while writing never reach the application: they go to
    :meth:`logging.Handler.handleError`. Errors met while opening (a bad
    argument, a store that cannot be created) raise from the constructor,
    or from the first record, through handleError, with ``delay``.
    Thread-safe: records from many threads are written one at a time.
    """

    def __init__(
        self,
        chronicle: str,
        story: str,
        client: Any = None,
        store: Optional[str] = None,
        config: Optional[str] = None,
        portal: Optional[str] = None,
        query: Optional[str] = None,
        level: Union[int, str] = logging.NOTSET,
        encoding: str = "utf-8",
        delay: Union[bool, str] = False,
    ) -> None:
        # Everything is checked before logging.Handler.__init__, which
        # registers the handler for logging.shutdown: a handler whose
        # construction failed must not be half-built there.
        number = _level(level)
        opens_now = not _boolean(delay, "delay")
        if not isinstance(chronicle, str) or not chronicle:
            raise ValueError("chronicle must be a non-empty string")
        if not isinstance(story, str) or not story:
            raise ValueError("story must be a non-empty string")
        if client is not None and any(
                value is not None for value in (store, config, portal, query)):
            raise ValueError("give either client or a backend (store, config, "
                             "portal/query), not both")

        self.chronicle = chronicle
        self.story = story
        self.encoding = encoding
        self._given_client = client
        self._backend = {"store": store, "config": config, "portal": portal,
                         "query": query}
        self._client = None  # type: Any
        self._story = None  # type: Any
        self._owns_client = False
        self._pid = os.getpid()
        self._exit_finalizer = None  # type: Any
        self._closed = False
        super().__init__(number)

        if opens_now:
            with self.lock:  # type: ignore[union-attr]
                try:
                    self._open()
                except BaseException:
                    self.close()
                    raise
        with _open_handlers_lock:
            _open_handlers.add(self)

    # -- the logging.Handler interface -------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        """Write the formatted record as one event; report errors via handleError.

        ``logging.Handler.handle`` holds the handler's lock around this
        call, so records are written one at a time.
        """
        try:
            if self._closed:
                raise _status.StaleHandleError(
                    _status.CLC_ERR_STALE_HANDLE,
                    "this ChronologHandler was closed")
            if self._story is None or self._pid != os.getpid():
                self._open()

            data = self._encode(self.format(record))
            if data or self._client.backend != "chronolog":
                self._story.log(data)
            # else: ChronoLog's servers keep no empty record, and the
            # ChronoLog backend refuses one; an empty message is skipped.
        except RecursionError:  # as logging's own handlers do
            raise
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        """Make the events written so far durable (the client's flush)."""
        with self.lock:  # type: ignore[union-attr]
            client = self._client
            if client is None or self._pid != os.getpid():
                return
            try:
                client.flush()
            except _status.StaleHandleError:
                pass  # closed elsewhere: its close flushed already

    def close(self) -> None:
        """Release the story and close the client the handler opened.

        Idempotent. Records given to a closed handler go to handleError.
        """
        with self.lock:  # type: ignore[union-attr]
            if not self._closed:
                self._closed = True
                self._shut()
            finalizer, self._exit_finalizer = self._exit_finalizer, None
        if finalizer is not None:
            finalizer.cancel()  # nothing left to do at the child's exit
        with _open_handlers_lock:
            _open_handlers.discard(self)
        super().close()

    def __repr__(self) -> str:
        return "<%s %s/%s (%s)>" % (
            type(self).__name__, self.chronicle, self.story,
            logging.getLevelName(self.level))

    # -- opening and closing -------------------------------------------------

    def _open(self) -> None:
        """Open the client (unless given) and acquire the story."""
        if self._pid != os.getpid():
            # A forked child must not touch its parent's handles: it opens
            # its own client when it can, and forgets the inherited ones.
            self._pid = os.getpid()
            self._story = None
            if self._owns_client:
                self._client = None

        if self._client is None:
            if self._given_client is not None:
                self._client = self._given_client
            else:
                from chronolog_ctypes.cli import open_client

                client = open_client(reader=False, **self._backend)
                try:
                    client.connect()
                except BaseException:
                    client.close()
                    raise
                self._client = client
                self._owns_client = True
                _close_before_the_clients()
                self._close_at_child_exit()

        try:
            self._client.create_chronicle(self.chronicle)
        except _status.ChronicleExistsError:
            pass
        self._story = self._client.acquire_story(self.chronicle, self.story)

    def _close_at_child_exit(self) -> None:
        """In a multiprocessing child, close the handler when it ends.

        A worker started by fork or forkserver ends with ``os._exit``, so
        no exit hook of ours runs there; multiprocessing runs its own
        finalizers before, when the worker ends normally (Pool.close() and
        join(), or the end of Process.run). Elsewhere the exit hooks close
        the handler; the child of a bare ``os.fork`` must close it itself.
        """
        multiprocessing = sys.modules.get("multiprocessing")
        if multiprocessing is None:
            return  # not a child of multiprocessing, nor about to be one
        from multiprocessing import util

        if multiprocessing.parent_process() is not None:
            self._register_exit_finalizer()
        else:
            # A forkserver child imports its main module, which may make
            # handlers, before it starts as a child: that start drops the
            # finalizers made so far, then runs the after-fork hooks. (A
            # spawn child runs neither, and ends with the exit hooks.)
            util.register_after_fork(self, _child_started)

    def _register_exit_finalizer(self) -> None:
        from multiprocessing import util

        if self._exit_finalizer is not None:
            self._exit_finalizer.cancel()  # inherited from the parent
        self._exit_finalizer = util.Finalize(
            self, self.close, exitpriority=_MULTIPROCESSING_EXIT_PRIORITY)

    def _shut(self) -> None:
        """Release the story, then close an owned client; never raises."""
        story, client = self._story, self._client
        self._story = self._client = None
        if self._pid != os.getpid():
            return  # the parent process owns these handles

        try:
            if story is not None:
                story.release()
            if client is not None and self._owns_client:
                client.close()
        except _status.StaleHandleError:
            pass  # the client was closed first; that released the story
        except Exception as error:
            if logging.raiseExceptions:
                import sys

                sys.stderr.write("ChronologHandler for %s/%s: close failed: "
                                 "%s\n" % (self.chronicle, self.story, error))

    def _encode(self, text: str) -> bytes:
        try:
            return text.encode(self.encoding, "surrogateescape")
        except UnicodeEncodeError:
            return text.encode(self.encoding, "backslashreplace")


def _child_started(handler: ChronologHandler) -> None:
    """Called when a multiprocessing child starts (or is forked).

    Registers the exit finalizer of a handler that opened its client in
    this very process, before the child started; a handler inherited
    through fork opens a client, and registers, at its first record.
    """
    with handler.lock:  # type: ignore[union-attr]
        if (handler._pid == os.getpid() and handler._owns_client
                and not handler._closed):
            handler._register_exit_finalizer()


def _level(level: Union[int, str]) -> int:
    """Return a level given as a number, a numeric string or a name."""
    if isinstance(level, str):
        text = level.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        number = logging.getLevelName(text.upper())
        if not isinstance(number, int):
            raise ValueError("unknown logging level: %r" % level)
        return number
    return int(level)


def _boolean(value: Union[bool, str, int], name: str) -> bool:
    """Return a boolean given as a bool, a number or a string like "true"."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("%s must be true or false, not %r" % (name, value))
    return bool(value)


# Handlers still open at interpreter exit. logging.shutdown closes the ones
# it knows of, but it runs last (atexit runs hooks in reverse order of
# registration, and logging registered first), after the clients'
# finalizers have freed them. This hook closes the handlers while their
# clients are alive: it is registered again whenever a handler opens a
# client, so that it stays behind the clients' finalizers, which register
# their own exit hook when the first one is made.
_open_handlers = weakref.WeakSet()  # type: weakref.WeakSet[ChronologHandler]
_open_handlers_lock = threading.Lock()


def _close_open_handlers() -> None:
    with _open_handlers_lock:
        handlers = list(_open_handlers)
    for handler in handlers:
        try:
            handler.flush()
            handler.close()
        except Exception:  # never fail the interpreter's exit
            pass


def _close_before_the_clients() -> None:
    atexit.unregister(_close_open_handlers)
    atexit.register(_close_open_handlers)


atexit.register(_close_open_handlers)
