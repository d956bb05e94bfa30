"""Bad input of every kind, through both faces and straight into the C ABI.

The Pythonic methods raise an exception that names the argument at fault;
the compatible methods return the status (``CL_ERR_INVALID_ARG``) and
never raise; the library itself answers a status for anything a C caller
can pass, and never crashes.
"""

import ctypes
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chronolog_ctypes as cl
from chronolog_ctypes import _native

INVALID = cl.CL_ERR_INVALID_ARG
UINT64_MAX = 2 ** 64 - 1

WRONG_TYPES = [None, 7, 1.5, b"bytes", ["x"], {"x": "y"}, object()]

# (Pythonic call, compatible call, the argument's name, failure result of
# the compatible call) for every name argument of every method.
NAME_ARGUMENTS = [
    (lambda c, v: c.create_chronicle(v),
     lambda c, v: c.CreateChronicle(v, {}, 0), "name", INVALID),
    (lambda c, v: c.destroy_chronicle(v),
     lambda c, v: c.DestroyChronicle(v), "name", INVALID),
    (lambda c, v: c.get_chronicle_attr(v, "k"),
     lambda c, v: c.GetChronicleAttr(v, "k"), "chronicle", (INVALID, "")),
    (lambda c, v: c.get_chronicle_attr("chron", v),
     lambda c, v: c.GetChronicleAttr("chron", v), "key", (INVALID, "")),
    (lambda c, v: c.edit_chronicle_attr(v, "k", "v"),
     lambda c, v: c.EditChronicleAttr(v, "k", "v"), "chronicle", INVALID),
    (lambda c, v: c.edit_chronicle_attr("chron", v, "v"),
     lambda c, v: c.EditChronicleAttr("chron", v, "v"), "key", INVALID),
    (lambda c, v: c.edit_chronicle_attr("chron", "k", v),
     lambda c, v: c.EditChronicleAttr("chron", "k", v), "value", INVALID),
    (lambda c, v: c.stories(v),
     lambda c, v: c.ShowStories(v), "chronicle", []),
    (lambda c, v: c.acquire_story(v, "s"),
     lambda c, v: c.AcquireStory(v, "s", {}, 0), "chronicle",
     (INVALID, None)),
    (lambda c, v: c.acquire_story("chron", v),
     lambda c, v: c.AcquireStory("chron", v, {}, 0), "story",
     (INVALID, None)),
    (lambda c, v: c.release_story(v, "story"),
     lambda c, v: c.ReleaseStory(v, "story"), "chronicle", INVALID),
    (lambda c, v: c.release_story("chron", v),
     lambda c, v: c.ReleaseStory("chron", v), "story", INVALID),
    (lambda c, v: c.destroy_story(v, "s"),
     lambda c, v: c.DestroyStory(v, "s"), "chronicle", INVALID),
    (lambda c, v: c.destroy_story("chron", v),
     lambda c, v: c.DestroyStory("chron", v), "story", INVALID),
    (lambda c, v: c.replay(v, "story"),
     lambda c, v: c.ReplayStory(v, "story", 0, 9, []), "chronicle",
     INVALID),
    (lambda c, v: c.replay("chron", v),
     lambda c, v: c.ReplayStory("chron", v, 0, 9, []), "story", INVALID),
    (lambda c, v: c.iter_replay(v, "story"), None, "chronicle", None),
    (lambda c, v: c.iter_replay("chron", v), None, "story", None),
]
NAME_IDS = ["%d-%s" % (i, entry[2]) for i, entry in enumerate(NAME_ARGUMENTS)]


def _unchanged(reader):
    """What every refused call must leave as it was."""
    return (reader.chronicles(), reader.stories("chron"),
            [e.record for e in reader.replay("chron", "story")])


@pytest.mark.parametrize("pythonic, compatible, argument, refused",
                         NAME_ARGUMENTS, ids=NAME_IDS)
def test_a_name_of_the_wrong_type_is_refused_naming_it(
        reader, story, pythonic, compatible, argument, refused):
    story.log(b"kept")
    before = _unchanged(reader)
    for value in WRONG_TYPES:
        with pytest.raises(TypeError) as caught:
            pythonic(reader, value)
        assert str(caught.value).startswith(argument + " must be a str"), \
            caught.value
        if compatible is not None:
            assert compatible(reader, value) == refused, value
    assert _unchanged(reader) == before


@pytest.mark.parametrize("pythonic, compatible, argument, refused",
                         NAME_ARGUMENTS, ids=NAME_IDS)
@pytest.mark.parametrize("value", ["a\0b", "\0", "\ud800", "x\udcff"])
def test_a_name_with_nul_or_no_utf8_form_is_refused_naming_it(
        reader, story, pythonic, compatible, argument, refused, value):
    with pytest.raises(cl.InvalidArgumentError) as caught:
        pythonic(reader, value)
    assert caught.value.status == INVALID
    assert caught.value.message.startswith(argument + " ")
    assert isinstance(caught.value, ValueError)
    if compatible is not None:
        assert compatible(reader, value) == refused


EMPTY_NAME_CALLS = [
    ("CreateChronicle", lambda c: c.CreateChronicle("", {}, 0), INVALID),
    ("DestroyChronicle", lambda c: c.DestroyChronicle(""), INVALID),
    ("GetChronicleAttr", lambda c: c.GetChronicleAttr("", "k"),
     (INVALID, "")),
    ("GetChronicleAttr key", lambda c: c.GetChronicleAttr("chron", ""),
     (INVALID, "")),
    ("EditChronicleAttr", lambda c: c.EditChronicleAttr("", "k", "v"),
     INVALID),
    ("EditChronicleAttr key",
     lambda c: c.EditChronicleAttr("chron", "", "v"), INVALID),
    ("EditChronicleAttr value",
     lambda c: c.EditChronicleAttr("chron", "k", ""), INVALID),
    ("AcquireStory", lambda c: c.AcquireStory("", "s", {}, 0),
     (INVALID, None)),
    ("AcquireStory story", lambda c: c.AcquireStory("chron", "", {}, 0),
     (INVALID, None)),
    ("ReleaseStory", lambda c: c.ReleaseStory("chron", ""), INVALID),
    ("DestroyStory", lambda c: c.DestroyStory("", "s"), INVALID),
    ("DestroyStory story", lambda c: c.DestroyStory("chron", ""), INVALID),
    # A story with an empty name cannot be held (ChronoLog's order).
    ("ReplayStory", lambda c: c.ReplayStory("chron", "", 0, 9, []),
     cl.CL_ERR_NOT_ACQUIRED),
]


@pytest.mark.parametrize("call, refused",
                         [entry[1:] for entry in EMPTY_NAME_CALLS],
                         ids=[entry[0] for entry in EMPTY_NAME_CALLS])
def test_empty_names_get_the_status_chronolog_gives(reader, story, call,
                                                    refused):
    before = _unchanged(reader)
    assert call(reader) == refused
    assert _unchanged(reader) == before


STRANGE_NAMES = [
    "it's", 'say "hi"', "a/b", "/", "..", "../../escape", "./x", "~",
    "x'); DROP TABLE events; --", "' OR '1'='1", "%s%n%d", "\\", "*?[]",
    "name\nwith\nlines", "\t \r", "żółw", "名前", "🙂🙃", "\u202eevil",
    "\x01\x1f\x7f", "NULL", "chronolog.db",
]


def test_strange_names_are_names_never_paths_or_sql(store, reader,
                                                    tmp_path,
                                                    monkeypatch):
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    for index, name in enumerate(STRANGE_NAMES):
        reader.create_chronicle(name, {name: name, "k" + name: ""}, index)
        reader.edit_chronicle_attr(name, "k" + name, name + "v")
        story = reader.acquire_story(name, name)
        story.log(name.encode("utf-8"))
        story.log_many([name, b"\0"])

    assert reader.chronicles() == sorted(STRANGE_NAMES)
    for name in STRANGE_NAMES:
        assert reader.stories(name) == [name]
        assert reader.get_chronicle_attr(name, name) == name
        assert reader.get_chronicle_attr(name, "k" + name) == name + "v"
        assert [e.record for e in reader.replay(name, name)] == [
            name.encode("utf-8")] * 2 + [b"\0"]

    # Nothing but the database was made, here or anywhere near.
    assert sorted(os.listdir(store)) == [
        "chronolog.db", "chronolog.db-shm", "chronolog.db-wal"]
    assert os.listdir(str(workdir)) == []
    assert sorted(os.listdir(str(tmp_path))) == ["cwd", "store"]

    for name in STRANGE_NAMES:
        reader.release_story(name, name)
        reader.destroy_story(name, name)
        reader.destroy_chronicle(name)
    assert reader.chronicles() == []


def test_names_of_one_mebibyte_round_trip(reader):
    name = "n" * (1 << 20)
    key = "k" * (1 << 20)
    value = "é" * (1 << 19)
    reader.create_chronicle(name, {key: value})
    story = reader.acquire_story(name, name)
    story.log(b"long names")
    assert reader.chronicles() == [name]
    assert reader.stories(name) == [name]
    assert reader.get_chronicle_attr(name, key) == value
    assert reader.ReleaseStory(name, name) == cl.CL_SUCCESS
    assert reader.AcquireStory(name, name, {}, 0)[0] == cl.CL_SUCCESS
    assert [e.record for e in reader.replay(name, name)] == [b"long names"]
    # One character more is another name.
    assert reader.GetChronicleAttr(name + "n", key) == (
        cl.CL_ERR_NOT_EXIST, "")


@pytest.mark.parametrize("attrs", [["k", "v"], ("k", "v"), "kv", 5,
                                   {"k"}, b"k"])
def test_attrs_that_are_not_a_dict_are_refused(reader, story, attrs):
    with pytest.raises(TypeError, match="^attrs must be a dict"):
        reader.create_chronicle("c2", attrs)
    with pytest.raises(TypeError, match="^attrs must be a dict"):
        reader.acquire_story("chron", "s2", attrs)
    assert reader.CreateChronicle("c2", attrs, 0) == INVALID
    assert reader.AcquireStory("chron", "s2", attrs, 0) == (INVALID, None)
    assert reader.chronicles() == ["chron"]
    assert reader.stories("chron") == ["story"]


@pytest.mark.parametrize("attrs, argument", [
    ({1: "v"}, "attrs key"), ({None: "v"}, "attrs key"),
    ({b"k": "v"}, "attrs key"), ({("k",): "v"}, "attrs key"),
    ({"k": 1}, "attrs['k']"), ({"k": None}, "attrs['k']"),
    ({"k": b"v"}, "attrs['k']"), ({"k": ["v"]}, "attrs['k']"),
])
def test_attribute_keys_and_values_must_be_str(reader, story, attrs,
                                               argument):
    with pytest.raises(TypeError) as caught:
        reader.create_chronicle("c2", attrs)
    assert str(caught.value).startswith(argument + " must be a str")
    with pytest.raises(TypeError):
        reader.acquire_story("chron", "s2", attrs)
    assert reader.CreateChronicle("c2", attrs, 0) == INVALID
    assert reader.AcquireStory("chron", "s2", attrs, 0) == (INVALID, None)
    assert reader.chronicles() == ["chron"]


def test_attribute_keys_and_values_with_nul_are_refused(reader, chronicle):
    for attrs in ({"k\0": "v"}, {"k": "v\0"}):
        with pytest.raises(cl.InvalidArgumentError, match="must not contain"):
            reader.create_chronicle("c2", attrs)
        assert reader.CreateChronicle("c2", attrs, 0) == INVALID
    assert reader.chronicles() == ["chron"]


@pytest.mark.parametrize("flags", [2 ** 31, -2 ** 31 - 1, 2 ** 63, 2 ** 64,
                                   -2 ** 64, 10 ** 30])
def test_flags_outside_the_c_int_range_are_refused(reader, story, flags):
    with pytest.raises(cl.InvalidArgumentError) as caught:
        reader.create_chronicle("c2", None, flags)
    assert caught.value.message.startswith("flags must be within")
    with pytest.raises(cl.InvalidArgumentError,
                       match="^CL_ERR_INVALID_ARG: flags"):
        reader.acquire_story("chron", "s2", None, flags)
    assert reader.CreateChronicle("c2", {}, flags) == INVALID
    assert reader.AcquireStory("chron", "s2", {}, flags) == (INVALID, None)
    assert reader.chronicles() == ["chron"]
    assert reader.stories("chron") == ["story"]


@pytest.mark.parametrize("flags", ["1", 1.0, None, [1], b"\x01"])
def test_flags_that_are_not_ints_are_refused(reader, story, flags):
    with pytest.raises(TypeError, match="^flags must be an int"):
        reader.create_chronicle("c2", None, flags)
    assert reader.CreateChronicle("c2", {}, flags) == INVALID
    assert reader.AcquireStory("chron", "s2", {}, flags) == (INVALID, None)


@pytest.mark.parametrize("flags", [-1, -2 ** 31, 2 ** 31 - 1, True])
def test_negative_and_extreme_c_int_flags_are_accepted(reader, flags):
    assert reader.CreateChronicle("c%d" % flags, {}, flags) == cl.CL_SUCCESS
    status, story = reader.AcquireStory("c%d" % flags, "s", {}, flags)
    assert status == cl.CL_SUCCESS and story.log(b"x") > 0


@pytest.mark.parametrize("conf", [cl.ClientPortalServiceConf,
                                  cl.ClientQueryServiceConf])
@pytest.mark.parametrize("field", ["port", "provider_id"])
@pytest.mark.parametrize("number", [-1, 65536, 2 ** 31, 2 ** 64, -2 ** 63])
def test_ports_and_provider_ids_outside_16_bits_are_refused(conf, field,
                                                            number):
    with pytest.raises(cl.InvalidArgumentError) as caught:
        conf(**{field: number})
    assert caught.value.message.startswith(field + " must be within 0..65535")


@pytest.mark.parametrize("conf", [cl.ClientPortalServiceConf,
                                  cl.ClientQueryServiceConf])
@pytest.mark.parametrize("field, value", [
    ("port", "5555"), ("port", 5555.0), ("port", None),
    ("provider_id", "55"), ("provider_id", [55]),
    ("proto", 1), ("proto", None), ("proto", b"ofi+sockets"),
    ("ip", 127), ("ip", None),
])
def test_settings_of_the_wrong_type_are_refused_naming_them(conf, field,
                                                            value):
    with pytest.raises(TypeError) as caught:
        conf(**{field: value})
    assert str(caught.value).startswith(field + " must be")


@pytest.mark.parametrize("field, value", [("proto", ""), ("ip", ""),
                                          ("ip", "127.0.0.1\0"),
                                          ("proto", "\ud800")])
def test_empty_or_unencodable_settings_are_refused(field, value):
    with pytest.raises(cl.InvalidArgumentError) as caught:
        cl.ClientPortalServiceConf(**{field: value})
    assert caught.value.message.startswith(field + " ")


@pytest.mark.parametrize("edges", [(0, 65535), (65535, 0)])
def test_ports_at_the_edges_are_accepted(edges):
    conf = cl.ClientQueryServiceConf("p", "h", *edges)
    assert (conf.port, conf.provider_id) == edges


@pytest.mark.parametrize("store_dir, error", [
    (None, TypeError), (5, TypeError), (["s"], TypeError),
    ("a\0b", cl.InvalidArgumentError), (b"a\0b", cl.InvalidArgumentError),
    ("", cl.InvalidArgumentError),
])
def test_bad_store_directories_are_refused(store_dir, error):
    with pytest.raises(error) as caught:
        cl.Client.embedded(store_dir)
    assert "store_dir" in str(caught.value)


@pytest.fixture
def logged(reader, story):
    return [story.log(b"%d" % i) for i in range(5)]


@pytest.mark.parametrize("start, end, argument", [
    (-1, 10, "start"), (0, -1, "end"), (2 ** 64, UINT64_MAX, "start"),
    (0, 2 ** 64, "end"), (-2 ** 70, 0, "start"), (0, 10 ** 40, "end"),
])
def test_replay_bounds_outside_uint64_are_refused_naming_them(
        reader, logged, start, end, argument):
    for call in (reader.replay, reader.iter_replay):
        with pytest.raises(cl.InvalidArgumentError) as caught:
            call("chron", "story", start, end)
        assert caught.value.message.startswith(argument + " must be within")
    events = cl.EventList()
    assert reader.ReplayStory("chron", "story", start, end,
                              events) == INVALID
    assert events == []


@pytest.mark.parametrize("start, end", [(1.0, 5), (0, "9"), (None, 5),
                                        (0, None), ([0], 5)])
def test_replay_bounds_that_are_not_ints_are_refused(reader, logged, start,
                                                     end):
    with pytest.raises(TypeError, match="^(start|end) must be an int"):
        reader.replay("chron", "story", start, end)
    events = []
    assert reader.ReplayStory("chron", "story", start, end, events) == INVALID
    assert events == []


def test_reversed_replay_bounds_are_refused(reader, logged):
    for start, end in [(1, 0), (logged[-1], logged[0]), (UINT64_MAX, 0)]:
        with pytest.raises(cl.InvalidArgumentError) as caught:
            reader.replay("chron", "story", start, end)
        assert "after its end" in caught.value.message
        with pytest.raises(cl.InvalidArgumentError):
            reader.iter_replay("chron", "story", start, end)
        events = cl.EventList()
        assert reader.ReplayStory("chron", "story", start, end,
                                  events) == INVALID
        assert events == []
    assert len(reader.replay("chron", "story", 0, UINT64_MAX)) == 5


@pytest.mark.parametrize("page_size", [0, -1, 2 ** 31, "10", None])
def test_bad_page_sizes_are_refused_naming_them(reader, logged, page_size):
    with pytest.raises((TypeError, ValueError),
                       match=r"^(CL_ERR_INVALID_ARG: )?page_size"):
        reader.iter_replay("chron", "story", page_size=page_size)


@pytest.mark.parametrize("event_list", [None, 5, "text", (), frozenset()])
def test_replay_into_something_that_cannot_grow(reader, logged, event_list):
    assert reader.ReplayStory("chron", "story", 0, UINT64_MAX,
                              event_list) == INVALID


BAD_RECORDS = [None, 5, 1.5, ["x"], {"x": 1}, object(), True]


def test_records_that_are_not_str_or_bytes_are_refused(reader, story):
    for record in BAD_RECORDS:
        with pytest.raises(TypeError, match="^record must be bytes or str"):
            story.log(record)
        assert story.log_event(record) == 0
        with pytest.raises(TypeError, match="^record must be bytes or str"):
            story.log_many([b"fine", record])
    with pytest.raises(cl.InvalidArgumentError,
                       match="^CL_ERR_INVALID_ARG: record"):
        story.log("\ud800")
    assert story.log_event("\ud800") == 0
    with pytest.raises(TypeError):
        story.log_many(5)
    assert reader.replay("chron", "story") == []


def test_empty_records_of_every_type_are_kept(reader, story):
    times = [story.log(b""), story.log(""), story.log_event(b"")]
    times += story.log_many([b"", "", bytearray(), memoryview(b"")])
    times.append(story.log(b"x"))
    events = reader.replay("chron", "story")
    assert [e.time() for e in events] == times
    assert [e.record for e in events] == [b""] * 7 + [b"x"]


def test_records_of_64_mib_round_trip(reader, story):
    big = os.urandom(1 << 16) * 1024
    assert len(big) == 64 << 20
    first = story.log(big)
    second, = story.log_many([b"after"])
    assert first < second
    events = reader.replay("chron", "story")
    assert [len(e.record) for e in events] == [64 << 20, 5]
    assert events[0].record == big
    del events
    assert [len(e.record) for e in reader.iter_replay(
        "chron", "story", page_size=1)] == [64 << 20, 5]


# ---------------------------------------------------------------------------
# Straight into the C ABI: anything a C caller can pass gives a status
# ---------------------------------------------------------------------------

HANDLE_TYPES = {
    "client": _native.ClientHandle, "story": _native.StoryHandleRef,
    "events": _native.EventsHandle, "cursor": _native.CursorHandle,
    "strings": _native.StringsHandle,
}


def _handle_calls(library):
    """One call per function taking a handle: kind -> [call(handle)]."""
    out_client = _native.ClientHandle()
    size = ctypes.c_size_t()
    number = ctypes.c_int()
    u64 = ctypes.c_uint64()
    return {
        "client": [
            library.clc_client_connect, library.clc_client_disconnect,
            library.clc_client_flush,
            lambda h: library.clc_client_is_connected(h, ctypes.byref(number)),
            lambda h: library.clc_client_id(h, ctypes.byref(u64)),
            lambda h: library.clc_client_info(h, None, None),
            lambda h: library.clc_chronicle_create(h, b"c", None, None, 0,
                                                   None),
            lambda h: library.clc_chronicle_destroy(h, b"c"),
            lambda h: library.clc_story_release(h, b"c", b"s"),
            lambda h: library.clc_story_destroy(h, b"c", b"s"),
            lambda h: library.clc_replay(h, b"c", b"s", 0, 1, ctypes.byref(
                _native.EventsHandle())),
            lambda h: library.clc_chronicle_list(h, ctypes.byref(
                _native.StringsHandle())),
            lambda h: library.clc_story_acquire(
                h, b"c", b"s", None, None, 0, None,
                ctypes.byref(_native.StoryHandleRef())),
            library.clc_client_free,
        ],
        "story": [
            lambda h: library.clc_story_log(h, b"x", 1, None),
            lambda h: library.clc_story_log_many(
                h, b"x", (ctypes.c_uint64 * 1)(1), 1, None, None),
        ],
        "events": [
            lambda h: library.clc_events_size(h, ctypes.byref(size), None),
            lambda h: library.clc_events_export(h, None, None, None, None,
                                                None, 0),
            library.clc_events_free,
        ],
        "cursor": [
            lambda h: library.clc_cursor_next(h, 1, ctypes.byref(
                _native.EventsHandle())),
            library.clc_cursor_free,
        ],
        "strings": [
            lambda h: library.clc_strings_size(h, ctypes.byref(size), None),
            lambda h: library.clc_strings_export(h, None, None, 0),
            library.clc_strings_free,
        ],
        "_out": out_client,
    }


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.one_of(st.integers(1, 2 ** 64 - 1),
                       st.integers(1, 2 ** 32).map(lambda n: n << 8 | 1),
                       st.integers(0, 5).map(lambda k: 1 << 32 | k)))
def test_any_64_bit_value_as_a_handle_gives_a_status(library, reader,
                                                     token):
    # reader keeps live handles in the table, so some slots exist.
    calls = _handle_calls(library)
    for kind, functions in calls.items():
        if kind == "_out":
            continue
        handle = HANDLE_TYPES[kind](token)
        for function in functions:
            status = function(handle)
            assert status in (INVALID, cl.CLC_ERR_STALE_HANDLE), (
                kind, token, status)
            assert library.last_error()
    assert reader.is_connected


def test_null_handles_give_invalid_arg_and_null_frees_succeed(library):
    calls = _handle_calls(library)
    frees = [library.clc_client_free, library.clc_events_free,
             library.clc_cursor_free, library.clc_strings_free]
    for kind, functions in calls.items():
        if kind == "_out":
            continue
        for function in functions:
            status = function(HANDLE_TYPES[kind]())
            freeing = any(function is free for free in frees)
            expected = cl.CL_SUCCESS if freeing else INVALID
            assert status == expected, (kind, status)


def test_a_handle_of_one_kind_is_refused_as_another(library, reader, story):
    calls = _handle_calls(library)
    client = reader._handle.value
    ref = story._token
    for kind, functions in calls.items():
        if kind == "_out":
            continue
        wrong = ref if kind == "client" else client
        for function in functions:
            assert function(HANDLE_TYPES[kind](wrong)) == INVALID
            assert "expected a" in library.last_error()
    assert story.log(b"still fine") > 0
    assert reader.is_connected


def _chronicle_calls(library, handle, name):
    strings = ctypes.byref(_native.StringsHandle())
    return [
        library.clc_chronicle_create(handle, name, None, None, 0, None),
        library.clc_chronicle_destroy(handle, name),
        library.clc_chronicle_get_attr(handle, name, b"k", strings),
        library.clc_chronicle_get_attr(handle, b"chron", name, strings),
        library.clc_chronicle_edit_attr(handle, name, b"k", b"v"),
        library.clc_chronicle_edit_attr(handle, b"chron", b"k", name),
        library.clc_story_list(handle, name, strings),
        library.clc_story_acquire(handle, name, b"s", None, None, 0, None,
                                  ctypes.byref(_native.StoryHandleRef())),
        library.clc_story_acquire(handle, b"chron", name, None, None, 0,
                                  None,
                                  ctypes.byref(_native.StoryHandleRef())),
        library.clc_story_release(handle, name, b"story"),
        library.clc_story_destroy(handle, b"chron", name),
        library.clc_replay(handle, name, b"story", 0, 9,
                           ctypes.byref(_native.EventsHandle())),
        library.clc_replay_open(handle, b"chron", name, 0, 9,
                                ctypes.byref(_native.CursorHandle())),
    ]


@pytest.mark.parametrize("name", [
    None, b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
    b"abc\xe2\x82", b"\x80", b"ok\xf8\x88\x80\x80\x80",
])
def test_the_library_refuses_null_and_ill_formed_names(library, reader,
                                                       story, name):
    handle = reader._handle
    statuses = _chronicle_calls(library, handle, name)
    assert statuses == [INVALID] * len(statuses), statuses
    assert reader.chronicles() == ["chron"]
    assert reader.stories("chron") == ["story"]


def test_the_library_accepts_well_formed_utf8_of_every_length(library,
                                                              reader):
    for name in ("a", "é", "€", "𝄞", "a€𝄞é\U0010ffff"):
        encoded = name.encode("utf-8")
        assert library.clc_chronicle_create(reader._handle, encoded, None,
                                            None, 0, None) == cl.CL_SUCCESS
    assert len(reader.chronicles()) == 5


def test_the_library_refuses_bad_attribute_arrays(library, reader):
    handle = reader._handle
    keys = (ctypes.c_char_p * 2)(b"k", None)
    values = (ctypes.c_char_p * 2)(b"v", b"w")
    bad_utf8 = (ctypes.c_char_p * 1)(b"\xff")
    assert library.clc_chronicle_create(handle, b"c", None, None, 3,
                                        None) == INVALID
    assert library.clc_chronicle_create(handle, b"c", keys, values, 2,
                                        None) == INVALID
    assert "NULL key or value" in library.last_error()
    assert library.clc_chronicle_create(handle, b"c", bad_utf8, values, 1,
                                        None) == INVALID
    assert library.clc_chronicle_create(handle, b"c", values, bad_utf8, 1,
                                        None) == INVALID
    assert reader.chronicles() == []


def test_the_library_refuses_bad_modes_and_null_outputs(library, store):
    out = _native.ClientHandle()
    for mode in (-1, 2, 7, 2 ** 31 - 1, -2 ** 31):
        assert library.clc_client_open_embedded(
            store.encode(), mode, ctypes.byref(out)) == INVALID
        assert str(mode) in library.last_error()
    assert library.clc_client_open_embedded(store.encode(), 0,
                                            None) == INVALID
    assert library.clc_client_open_embedded(None, 0,
                                            ctypes.byref(out)) == INVALID
    assert out.value is None
    assert not os.path.exists(store)


def test_the_library_refuses_bad_service_settings(library):
    out = _native.ClientHandle()
    Conf = _native.ServiceConfStruct
    for conf in (Conf(b"ofi", b"ip", -1, 1), Conf(b"ofi", b"ip", 65536, 1),
                 Conf(b"ofi", b"ip", 1, -5), Conf(b"ofi", b"ip", 1, 1 << 20),
                 Conf(None, b"ip", 1, 1), Conf(b"ofi", b"", 1, 1)):
        assert library.clc_client_create(ctypes.byref(conf), None,
                                         ctypes.byref(out)) == INVALID
        good = Conf(b"ofi", b"ip", 1, 1)
        assert library.clc_client_create(ctypes.byref(good),
                                         ctypes.byref(conf),
                                         ctypes.byref(out)) == INVALID
    assert out.value is None


def test_the_library_refuses_inconsistent_record_arguments(library, story):
    ref = _native.StoryHandleRef(story._token)
    lengths = (ctypes.c_uint64 * 2)(3, 2 ** 64 - 2)
    logged = ctypes.c_size_t(99)
    assert library.clc_story_log(ref, None, 5, None) == INVALID
    assert library.clc_story_log_many(ref, b"x", None, 2, None,
                                      ctypes.byref(logged)) == INVALID
    assert logged.value == 0
    assert library.clc_story_log_many(ref, None, lengths, 1, None,
                                      None) == INVALID
    # Lengths that add up past memory are refused before anything is read.
    logged.value = 99
    assert library.clc_story_log_many(ref, b"abc", lengths, 2, None,
                                      ctypes.byref(logged)) == INVALID
    assert logged.value == 0
    # Nothing at all is a success that logs nothing.
    assert library.clc_story_log(ref, None, 0, None) == cl.CL_SUCCESS
    assert library.clc_story_log_many(ref, None, None, 0, None,
                                      None) == cl.CL_SUCCESS


def test_the_library_refuses_a_zero_page_and_small_buffers(library, reader,
                                                           story):
    story.log(b"0123456789")
    cursor = _native.CursorHandle()
    events = _native.EventsHandle()
    assert library.clc_replay_open(reader._handle, b"chron", b"story", 0,
                                   UINT64_MAX,
                                   ctypes.byref(cursor)) == cl.CL_SUCCESS
    try:
        assert library.clc_cursor_next(cursor, 0,
                                       ctypes.byref(events)) == INVALID
        assert library.clc_cursor_next(cursor, 2 ** 64 - 1,
                                       None) == INVALID
        assert library.clc_cursor_next(cursor, 2 ** 64 - 1, ctypes.byref(
            events)) == cl.CL_SUCCESS
        record = ctypes.create_string_buffer(9)
        assert library.clc_events_export(
            events, None, None, None, None, record,
            9) == cl.CLC_ERR_BUFFER_TOO_SMALL
        assert "10 bytes" in library.last_error()
        assert library.clc_events_free(events) == cl.CL_SUCCESS
        assert library.clc_events_free(events) == cl.CLC_ERR_STALE_HANDLE
    finally:
        assert library.clc_cursor_free(cursor) == cl.CL_SUCCESS
    assert library.clc_cursor_free(cursor) == cl.CLC_ERR_STALE_HANDLE


@settings(max_examples=200, deadline=None, database=None)
@given(st.integers(-2 ** 31, 2 ** 31 - 1))
def test_every_int_has_a_status_name_and_description(library, status):
    name = library.clc_status_name(status)
    description = library.clc_status_description(status)
    assert name and description
    assert (name == b"CLC_UNKNOWN_STATUS") == (
        cl.status_name(status) == "CLC_UNKNOWN_STATUS")


def test_a_bad_record_after_a_full_batch_says_what_was_logged(
        reader, story, monkeypatch):
    from chronolog_ctypes import client as client_module
    monkeypatch.setattr(client_module, "LOG_MANY_MAX_RECORDS", 4)
    records = [b"%d" % i for i in range(10)] + [None, b"never"]
    with pytest.raises(TypeError, match="^record must be bytes or str") \
            as caught:
        story.log_many(records)
    # Two full batches went to the library before the bad record was met:
    # the caller learns which, so it can log the rest without duplicates.
    logged = list(caught.value.timestamps)
    assert len(logged) == 8
    events = reader.replay("chron", "story")
    assert [e.time() for e in events] == logged
    assert [e.record for e in events] == records[:8]
    with pytest.raises(cl.InvalidArgumentError) as caught:
        story.log_many(["ok"] * 5 + ["\ud800"])
    assert len(caught.value.timestamps) == 4
