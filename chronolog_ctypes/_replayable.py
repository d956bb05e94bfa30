"""Waiting until logged events are replayable (``Client.wait_replayable``).

On a ChronoLog deployment an event becomes replayable only once the servers
have archived it (ChronoKeeper -> ChronoGrapher -> an HDF5 file that
ChronoPlayer indexes), seconds after it was logged.  Replaying sooner is
not simply empty: ChronoPlayer does not answer a replay for which it has no
archive file of the story at all, and ChronoLog's client then waits for its
fixed 180 s query timeout.  Once a story has one archive file indexed, a
replay of its whole time range is always answered, with whatever is
archived so far.

So the wait replays only when a replay is known to be answered:

- when this process has already replayed the story (archives are never
  removed, not even by DestroyStory);
- when the archive directory is readable here (``archive_dir``, or
  ``$CHRONOLOG_CTYPES_ARCHIVE_DIR``), ``archive_index_delay`` seconds after
  a file of the story appears in it (ChronoPlayer looks for new files every
  5 s);
- otherwise only ``first_probe_after`` seconds after the wait began, which
  is a guess: on a deployment that archives more slowly, that first replay
  falls into ChronoLog's 180 s timeout and raises ``QueryTimedOutError``.

Then it replays the whole story with a growing pause between replays
until the condition holds or the timeout passes.  The embedded store needs
none of this: its replays are always answered.
"""

import logging
import os
import re
import threading
import time
from typing import TYPE_CHECKING, Any, List, Optional, Set, Tuple

from ._status import CL_ERR_QUERY_TIMED_OUT, QueryTimedOutError

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client
    from .events import Event

__all__ = ["ARCHIVE_DIR_ENV", "wait_replayable"]

logger = logging.getLogger("chronolog_ctypes")

#: Environment variable naming the directory where the deployment's
#: ChronoGrapher writes its story archives, when this host can read it.
ARCHIVE_DIR_ENV = "CHRONOLOG_CTYPES_ARCHIVE_DIR"

_UINT64_MAX = 2 ** 64 - 1
_FIRST_PAUSE = 0.25
_LONGEST_PAUSE = 2.0

# Stories of the deployment this process has replayed: one ChronoLog client
# per process, so one deployment.
_answered: Set[Tuple[str, str]] = set()
_answered_lock = threading.Lock()


def _archive_file_pattern(chronicle: str, story: str) -> "re.Pattern[str]":
    # ChronoGrapher names its files <chronicle>.<story>.<start second>.vlen.h5
    # and <...>.vlen.<n>.h5 for later parts.
    return re.compile(r"%s\.%s\.\d+\.vlen(?:\.\d+)?\.h5\Z"
                      % (re.escape(chronicle), re.escape(story)))


def _has_archive_file(directory: str, pattern: "re.Pattern[str]") -> bool:
    try:
        names = os.listdir(directory)
    except OSError as error:
        logger.debug("cannot read the archive directory %s: %s",
                     directory, error)
        return False
    return any(pattern.match(name) for name in names)


def _satisfied(events: "List[Event]", count: Optional[int],
               last_time: Optional[int]) -> bool:
    if count is not None and len(events) < count:
        return False
    if last_time is not None and (not events
                                  or events[-1].time() < last_time):
        return False
    return True


def wait_replayable(client: "Client", chronicle: str, story: str,
                    count: Optional[int], last_time: Optional[int],
                    timeout: float, archive_dir: Any,
                    first_probe_after: float,
                    archive_index_delay: float) -> "List[Event]":
    """The body of :meth:`Client.wait_replayable` (documented there)."""
    if count is None and last_time is None:
        count = 1
    started = time.monotonic()
    deadline = started + timeout
    key = (chronicle, story)
    with _answered_lock:
        answered = client.backend == "embedded" or key in _answered
    if archive_dir is None:
        archive_dir = os.environ.get(ARCHIVE_DIR_ENV) or None
    pattern = _archive_file_pattern(chronicle, story)
    archive_seen: Optional[float] = None
    pause = _FIRST_PAUSE
    found = 0

    while True:
        now = time.monotonic()
        ready = False
        if not answered:
            if archive_dir is not None:
                if archive_seen is None and _has_archive_file(
                        os.fspath(archive_dir), pattern):
                    archive_seen = now
                    logger.debug("archive of story %r of chronicle %r seen",
                                 story, chronicle)
                ready = (archive_seen is not None
                         and now >= archive_seen + archive_index_delay)
            else:
                ready = now >= started + first_probe_after
        if answered or ready:
            events = client.replay(chronicle, story, 0, _UINT64_MAX)
            if not answered:
                answered = True
                pause = _FIRST_PAUSE
                with _answered_lock:
                    _answered.add(key)
            found = len(events)
            logger.debug("story %r of chronicle %r: %d events replayable",
                         story, chronicle, found)
            if _satisfied(events, count, last_time):
                return events
            now = time.monotonic()

        if now >= deadline:
            break
        time.sleep(min(pause, deadline - now))
        if answered:
            # A replay takes a second or more itself.
            pause = min(pause * 2, _LONGEST_PAUSE)

    wanted = []
    if count is not None:
        wanted.append("%d events" % count)
    if last_time is not None:
        wanted.append("an event at or after %d" % last_time)
    state = ("%d events were replayable" % found if answered
             else "no replay was tried: nothing of the story was archived"
             if archive_dir is not None
             else "no replay was tried yet")
    raise QueryTimedOutError(
        CL_ERR_QUERY_TIMED_OUT,
        "story %r of chronicle %r: waited %.1f s for %s; %s"
        % (story, chronicle, timeout, " and ".join(wanted), state))
