"""Random operation sequences against the embedded backend and a model.

The model is a few dictionaries that follow the documented semantics
(docs/python-api.md, docs/c-abi.md, CHRONOLOG's order of checks). Several
clients of one store run random sequences of connect, disconnect, close,
chronicle and story operations, logging and replay, through either face;
every call must give the model's status, and every replay the model's
events in the model's order.
"""

import shutil
import tempfile

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

import chronolog_ctypes as cl

SUCCESS = cl.CL_SUCCESS
INVALID = cl.CL_ERR_INVALID_ARG
NOT_EXIST = cl.CL_ERR_NOT_EXIST
ACQUIRED = cl.CL_ERR_ACQUIRED
NOT_ACQUIRED = cl.CL_ERR_NOT_ACQUIRED
EXISTS = cl.CL_ERR_CHRONICLE_EXISTS
NO_CONNECTION = cl.CL_ERR_NO_CONNECTION
NOT_READER = cl.CL_ERR_NOT_READER_MODE
STALE = cl.CLC_ERR_STALE_HANDLE
UINT64_MAX = 2 ** 64 - 1

# Two readers and a writer-only client.
READER_SLOTS = (True, True, False)

slots = st.integers(0, len(READER_SLOTS) - 1)
chronicles = st.sampled_from(["a", "b", ""])
stories = st.sampled_from(["s", "t", ""])
keys = st.sampled_from(["k", "j", ""])
values = st.sampled_from(["v", "w", ""])
attrs = st.dictionaries(keys, values, max_size=2)
records = st.binary(max_size=12)
faces = st.booleans()  # True: the Pythonic face


def _status(pythonic, call):
    """The status of a Pythonic call: what it raised, or success."""
    try:
        call()
        return SUCCESS
    except cl.ChronologError as error:
        assert error.message, error
        return error.status


class ModelClient:
    """What the model knows of one Client object."""

    def __init__(self, reader):
        self.reader = reader
        self.closed = False
        self.connected = False
        self.client_id = None
        self.held = {}     # (chronicle, story) -> StoryHandle
        self.index = 0     # the next event's index, kept across reconnects
        self.last_time = 0
        # Events logged since this client last flushed: other clients may
        # or may not see them yet (the flusher thread writes them soon, in
        # order); this client's own replay flushes them first.
        self.pending = []


class StoreMachine(RuleBasedStateMachine):

    def __init__(self):
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="clc-model-")
        self.store = self.directory + "/store"
        self.real = []
        self.model = []
        for reader in READER_SLOTS:
            self.real.append(cl.Client.embedded(self.store, reader=reader))
            self.model.append(ModelClient(reader))
        # name -> {"attrs": {...}, "stories": {name: [events]}}
        self.chronicles = {}
        self.ids_seen = set()
        self.handles = []  # every StoryHandle ever returned, stale or not
        self.times = [0, 1, UINT64_MAX]

    def teardown(self):
        for client in self.real:
            client.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- the model's rules ------------------------------------------------

    def _held_by_anyone(self, chronicle, story):
        return any((chronicle, story) in client.held
                   for client in self.model if not client.closed)

    def _gate(self, slot, *names):
        """Checks shared by chronicle and story operations, in order."""
        client = self.model[slot]
        if client.closed:
            return STALE
        if any(name == "" for name in names):
            return INVALID
        if not client.connected:
            return NO_CONNECTION
        return None

    # -- connection -------------------------------------------------------

    @rule(slot=slots, pythonic=faces)
    def connect(self, slot, pythonic):
        client, real = self.model[slot], self.real[slot]
        status = (_status(pythonic, real.connect) if pythonic
                  else real.Connect())
        expected = STALE if client.closed else SUCCESS
        assert status == expected
        if status != SUCCESS:
            return
        if client.connected:
            assert real.client_id == client.client_id
        else:
            client.connected = True
            client.client_id = real.client_id
            assert client.client_id not in self.ids_seen
            self.ids_seen.add(client.client_id)

    @rule(slot=slots, pythonic=faces)
    def disconnect(self, slot, pythonic):
        client, real = self.model[slot], self.real[slot]
        status = (_status(pythonic, real.disconnect) if pythonic
                  else real.Disconnect())
        if client.closed:
            expected = STALE
        elif not client.connected:
            expected = SUCCESS
        elif client.held:
            expected = ACQUIRED
        else:
            expected = SUCCESS
            client.connected = False
            client.pending = []
        assert status == expected
        assert real.is_connected == client.connected

    @rule(slot=slots)
    def flush(self, slot):
        client = self.model[slot]
        status = _status(True, self.real[slot].flush)
        if client.closed:
            expected = STALE
        elif not client.connected:
            expected = NO_CONNECTION
        else:
            expected = SUCCESS
            client.pending = []
        assert status == expected

    @initialize()
    def start(self):
        # Most sequences then reach the interesting states early; the
        # rules can still disconnect, close and destroy all of it.
        for slot in range(len(self.real)):
            self.connect(slot, pythonic=False)
        self.create_chronicle(0, "a", {"k": "v"}, pythonic=False)
        self.acquire(0, "a", "s", pythonic=False)
        self.acquire(2, "a", "s", pythonic=True)
        for pick in range(4):
            self.log(pick, b"first %d" % pick, pythonic=pick % 2 == 0)

    @rule(slot=slots, chance=st.integers(0, 3))
    def close(self, slot, chance):
        if chance:  # one time in four: a closed client ends the fun
            return
        client = self.model[slot]
        self.real[slot].close()
        for handle in client.held.values():
            assert handle.released
        client.closed = True
        client.connected = False
        client.held = {}
        client.pending = []
        assert self.real[slot].closed

    @precondition(lambda self: any(c.closed for c in self.model))
    @rule(slot=slots)
    def reopen(self, slot):
        if not self.model[slot].closed:
            return
        reader = READER_SLOTS[slot]
        self.real[slot] = cl.Client.embedded(self.store, reader=reader)
        self.model[slot] = ModelClient(reader)

    # -- chronicles -------------------------------------------------------

    @rule(slot=slots, name=chronicles, attributes=attrs, pythonic=faces)
    def create_chronicle(self, slot, name, attributes, pythonic):
        real = self.real[slot]
        status = (_status(pythonic, lambda: real.create_chronicle(
            name, attributes)) if pythonic
            else real.CreateChronicle(name, attributes, 0))
        expected = self._gate(slot, name)
        if expected is None:
            if name in self.chronicles:
                expected = EXISTS
            else:
                expected = SUCCESS
                self.chronicles[name] = {"attrs": dict(attributes),
                                         "stories": {}}
        assert status == expected

    @rule(slot=slots, name=chronicles, pythonic=faces)
    def destroy_chronicle(self, slot, name, pythonic):
        real = self.real[slot]
        status = (_status(pythonic, lambda: real.destroy_chronicle(name))
                  if pythonic else real.DestroyChronicle(name))
        expected = self._gate(slot, name)
        if expected is None:
            if name not in self.chronicles:
                expected = NOT_EXIST
            elif any(self._held_by_anyone(name, story)
                     for story in self.chronicles[name]["stories"]):
                expected = ACQUIRED
            else:
                expected = SUCCESS
                del self.chronicles[name]
        assert status == expected

    @rule(slot=slots, chronicle=chronicles, key=keys)
    def get_attr(self, slot, chronicle, key):
        status, value = self.real[slot].GetChronicleAttr(chronicle, key)
        expected, expected_value = self._gate(slot, chronicle, key), ""
        if expected is None:
            stored = self.chronicles.get(chronicle)
            if stored is None or key not in stored["attrs"]:
                expected = NOT_EXIST
            else:
                expected, expected_value = SUCCESS, stored["attrs"][key]
        assert (status, value) == (expected, expected_value)

    @rule(slot=slots, chronicle=chronicles, key=keys, value=values,
          pythonic=faces)
    def edit_attr(self, slot, chronicle, key, value, pythonic):
        real = self.real[slot]
        status = (_status(pythonic, lambda: real.edit_chronicle_attr(
            chronicle, key, value)) if pythonic
            else real.EditChronicleAttr(chronicle, key, value))
        expected = self._gate(slot, chronicle, key, value)
        if expected is None:
            stored = self.chronicles.get(chronicle)
            if stored is None or key not in stored["attrs"]:
                expected = NOT_EXIST  # as ChronoVisor: no attribute is added
            else:
                expected = SUCCESS
                stored["attrs"][key] = value
        assert status == expected

    @rule(slot=slots)
    def show_chronicles(self, slot):
        names = self.real[slot].ShowChronicles()
        expected = (sorted(self.chronicles)
                    if self._gate(slot) is None else [])
        assert names == expected

    @rule(slot=slots, chronicle=chronicles)
    def show_stories(self, slot, chronicle):
        names = self.real[slot].ShowStories(chronicle)
        expected = []
        if self._gate(slot, chronicle) is None and \
                chronicle in self.chronicles:
            expected = sorted(self.chronicles[chronicle]["stories"])
        assert names == expected

    # -- stories ----------------------------------------------------------

    @rule(slot=slots, chronicle=chronicles, story=stories, pythonic=faces)
    def acquire(self, slot, chronicle, story, pythonic):
        client, real = self.model[slot], self.real[slot]
        if pythonic:
            try:
                status, handle = SUCCESS, real.acquire_story(chronicle, story)
            except cl.ChronologError as error:
                status, handle = error.status, None
        else:
            status, handle = real.AcquireStory(chronicle, story, {}, 0)
        expected = self._gate(slot, chronicle, story)
        if expected is None:
            expected = NOT_EXIST if chronicle not in self.chronicles \
                else SUCCESS
        assert status == expected
        if status != SUCCESS:
            assert handle is None
            return
        known = client.held.get((chronicle, story))
        if known is not None:
            assert handle is known
        else:
            assert not handle.released
            client.held[(chronicle, story)] = handle
            self.handles.append((slot, client, chronicle, story, handle))
            self.chronicles[chronicle]["stories"].setdefault(story, [])

    @rule(slot=slots, chronicle=chronicles, story=stories, pythonic=faces)
    def release(self, slot, chronicle, story, pythonic):
        client, real = self.model[slot], self.real[slot]
        status = (_status(pythonic, lambda: real.release_story(
            chronicle, story)) if pythonic
            else real.ReleaseStory(chronicle, story))
        if client.closed:
            expected = STALE
        elif chronicle == "" or story == "":
            expected = INVALID
        elif (chronicle, story) not in client.held:
            expected = NOT_ACQUIRED  # before the connection, as ChronoLog
        else:
            expected = SUCCESS
            assert client.held.pop((chronicle, story)).released
            client.pending = []
        assert status == expected

    @rule(slot=slots, chronicle=chronicles, story=stories, pythonic=faces)
    def destroy_story(self, slot, chronicle, story, pythonic):
        real = self.real[slot]
        status = (_status(pythonic, lambda: real.destroy_story(
            chronicle, story)) if pythonic
            else real.DestroyStory(chronicle, story))
        expected = self._gate(slot, chronicle, story)
        if expected is None:
            stored = self.chronicles.get(chronicle)
            if stored is None or story not in stored["stories"]:
                expected = NOT_EXIST
            elif self._held_by_anyone(chronicle, story):
                expected = ACQUIRED
            else:
                expected = SUCCESS
                del stored["stories"][story]
        assert status == expected

    # -- events -----------------------------------------------------------

    def _live(self, client, chronicle, story, handle):
        return (not client.closed and
                client.held.get((chronicle, story)) is handle)

    def _add(self, client, chronicle, story, time, record):
        assert time > client.last_time
        client.last_time = time
        event = (time, client.client_id, client.index, record)
        self.chronicles[chronicle]["stories"][story].append(event)
        client.pending.append(event)
        client.index = (client.index + 1) % 2 ** 32
        self.times.extend((time, time + 1))

    @precondition(lambda self: self.handles)
    @rule(pick=st.integers(0, 10 ** 6), record=records, pythonic=faces)
    def log(self, pick, record, pythonic):
        _, client, chronicle, story, handle = self.handles[
            pick % len(self.handles)]
        live = self._live(client, chronicle, story, handle)
        if pythonic:
            try:
                time = handle.log(record)
            except cl.StaleHandleError:
                time = 0
        else:
            time = handle.log_event(record)
        assert (time > 0) == live
        if live:
            self._add(client, chronicle, story, time, record)

    @precondition(lambda self: self.handles)
    @rule(pick=st.integers(0, 10 ** 6),
          batch=st.lists(records, max_size=5))
    def log_many(self, pick, batch):
        _, client, chronicle, story, handle = self.handles[
            pick % len(self.handles)]
        live = self._live(client, chronicle, story, handle)
        try:
            times = list(handle.log_many(batch))
        except cl.StaleHandleError:
            times = None
        assert (times is not None) == live
        if live:
            assert len(times) == len(batch)
            for time, record in zip(times, batch):
                self._add(client, chronicle, story, time, record)

    @rule(slot=slots, chronicle=chronicles, story=stories,
          first=st.integers(0, 10 ** 6), second=st.integers(0, 10 ** 6),
          reverse=st.integers(0, 7),
          how=st.sampled_from(["compatible", "list", "pages"]),
          page_size=st.integers(1, 4), held=st.integers(0, 10 ** 6))
    def replay(self, slot, chronicle, story, first, second, reverse, how,
               page_size, held):
        if self.handles and held % 4:
            # Mostly a story some client acquired at some point.
            slot, _, chronicle, story, _ = self.handles[
                held % len(self.handles)]
        client, real = self.model[slot], self.real[slot]
        times = sorted(set(self.times))
        start, end = sorted((times[first % len(times)],
                             times[second % len(times)]),
                            reverse=reverse == 0)

        events = cl.EventList()
        if how == "compatible":
            status = real.ReplayStory(chronicle, story, start, end, events)
        else:
            def run():
                if how == "list":
                    events.extend(real.replay(chronicle, story, start, end))
                else:
                    events.extend(real.iter_replay(chronicle, story, start,
                                                   end, page_size))
            status = _status(True, run)

        if client.closed:
            expected = STALE
        elif start > end:
            expected = INVALID
        elif not client.reader:
            expected = NOT_READER  # even before Connect
        elif (chronicle, story) not in client.held:
            expected = NOT_ACQUIRED  # a client not connected holds none
        else:
            expected = SUCCESS
        assert status == expected
        replayed = [(e.time(), e.client_id(), e.index(), e.record)
                    for e in events]
        event("replay: %s" % (cl.status_name(status) if status else
                              "%s events" % min(len(replayed), 2)))
        if status != SUCCESS:
            assert replayed == []
            return
        client.pending = []
        assert replayed == sorted(replayed)
        seen = set(replayed)
        stored = self.chronicles[chronicle]["stories"][story]
        in_range = sorted(e for e in stored if start <= e[0] < end)
        assert seen <= set(in_range)
        maybe = set()
        for other in self.model:
            # What another client had not flushed may be seen in part:
            # the part its flusher had written, a prefix of its events.
            written = max((n + 1 for n, e in enumerate(other.pending)
                           if e in seen), default=0)
            maybe.update(other.pending[written:])
            del other.pending[:written]
        assert [e for e in in_range if e not in maybe] == \
            [e for e in replayed if e not in maybe]


StoreMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=50, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow])

test_the_embedded_store_behaves_as_the_model = StoreMachine.TestCase
