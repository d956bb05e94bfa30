/*
 * Tests of libchronolog_capi through its C ABI only: every exported function, every status
 * the embedded backend can give, threads, fork and a failing store. Any failed check prints
 * where it failed, the status and the library's message, and exits with status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chronolog_capi.h"

/* ------------------------------------------------------------------------------------------
 * Checks */

static void fail_check(const char *file, int line, const char *what, const char *detail) {
    fprintf(stderr, "%s:%d: check failed: %s%s\n  last library error: \"%s\"\n", file, line, what,
            detail, clc_last_error());
    exit(1);
}

#define CHECK(cond)                                    \
    do {                                               \
        if (!(cond)) {                                 \
            fail_check(__FILE__, __LINE__, #cond, ""); \
        }                                              \
    } while (0)

#define EXPECT(expected, call)                                                \
    do {                                                                      \
        int got_ = (call);                                                    \
        if (got_ != (expected)) {                                             \
            char detail_[160];                                                \
            snprintf(detail_, sizeof detail_, "\n  expected %s, got %s (%d)", \
                     clc_status_name(expected), clc_status_name(got_), got_); \
            fail_check(__FILE__, __LINE__, #call, detail_);                   \
        }                                                                     \
    } while (0)

#define OK(call) EXPECT(CLC_SUCCESS, call)

static char g_root[64];

static char *path_in_root(const char *name) {
    static char paths[16][256];
    static int next;
    char *path = paths[next++ % 16];
    snprintf(path, 256, "%s/%s", g_root, name);
    return path;
}

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *ftw) {
    (void)info;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* ------------------------------------------------------------------------------------------
 * Helpers over the ABI */

typedef struct {
    size_t count;
    size_t record_bytes;
    uint64_t *times;
    uint64_t *client_ids;
    uint32_t *indexes;
    uint64_t *offsets;
    char *records;
} event_arrays;

static void export_events(clc_events_t events, event_arrays *out) {
    OK(clc_events_size(events, &out->count, &out->record_bytes));
    out->times = malloc((out->count + 1) * sizeof(uint64_t));
    out->client_ids = malloc((out->count + 1) * sizeof(uint64_t));
    out->indexes = malloc((out->count + 1) * sizeof(uint32_t));
    out->offsets = malloc((out->count + 1) * sizeof(uint64_t));
    out->records = malloc(out->record_bytes + 1);
    CHECK(out->times && out->client_ids && out->indexes && out->offsets && out->records);
    OK(clc_events_export(events, out->times, out->client_ids, out->indexes, out->offsets,
                         out->records, out->record_bytes));
}

static void free_arrays(event_arrays *arrays) {
    free(arrays->times);
    free(arrays->client_ids);
    free(arrays->indexes);
    free(arrays->offsets);
    free(arrays->records);
}

static void replay_into(clc_client_t client, const char *chronicle, const char *story,
                        uint64_t start, uint64_t end, event_arrays *out) {
    clc_events_t events = NULL;
    OK(clc_replay(client, chronicle, story, start, end, &events));
    export_events(events, out);
    OK(clc_events_free(events));
}

static int record_equals(const event_arrays *arrays, size_t i, const void *bytes, size_t len) {
    return arrays->offsets[i + 1] - arrays->offsets[i] == len &&
           memcmp(arrays->records + arrays->offsets[i], bytes, len) == 0;
}

/* The strings of a list joined with '|'. */
static char *joined(clc_strings_t list) {
    size_t count, total;
    OK(clc_strings_size(list, &count, &total));
    uint64_t *offsets = malloc((count + 1) * sizeof(uint64_t));
    char *bytes = malloc(total + 1);
    char *text = malloc(total + count + 1);
    OK(clc_strings_export(list, offsets, bytes, total));
    CHECK(offsets[0] == 0 && offsets[count] == total);
    size_t at = 0;
    for (size_t i = 0; i < count; ++i) {
        if (i > 0) {
            text[at++] = '|';
        }
        memcpy(text + at, bytes + offsets[i], offsets[i + 1] - offsets[i]);
        at += offsets[i + 1] - offsets[i];
    }
    text[at] = '\0';
    free(offsets);
    free(bytes);
    return text;
}

static clc_client_t open_client(const char *store, int mode) {
    clc_client_t client = NULL;
    OK(clc_client_open_embedded(store, mode, &client));
    CHECK(client != NULL);
    return client;
}

static clc_client_t connected_client(const char *store, int mode) {
    clc_client_t client = open_client(store, mode);
    OK(clc_client_connect(client));
    return client;
}

static clc_story_t acquire(clc_client_t client, const char *chronicle, const char *story) {
    clc_story_t handle = NULL;
    OK(clc_story_acquire(client, chronicle, story, NULL, NULL, 0, NULL, &handle));
    CHECK(handle != NULL);
    return handle;
}

static int message_containing(const char *needle, int *level) {
    char text[1024];
    size_t len;
    while (clc_log_next(level, text, sizeof text, &len)) {
        if (strstr(text, needle) != NULL) {
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Tests */

static void test_library_information(void) {
    CHECK(clc_abi_version() == ((CLC_ABI_VERSION_MAJOR << 16) | CLC_ABI_VERSION_MINOR));
    CHECK(strlen(clc_library_version()) > 0);
    CHECK(clc_backends() & CLC_BACKEND_EMBEDDED);

    static const struct {
        int status;
        const char *name;
    } names[] = {
        {0, "CL_SUCCESS"},
        {-1, "CL_ERR_UNKNOWN"},
        {-2, "CL_ERR_INVALID_ARG"},
        {-3, "CL_ERR_NOT_EXIST"},
        {-4, "CL_ERR_ACQUIRED"},
        {-5, "CL_ERR_NOT_ACQUIRED"},
        {-6, "CL_ERR_CHRONICLE_EXISTS"},
        {-7, "CL_ERR_NO_KEEPERS"},
        {-8, "CL_ERR_NO_CONNECTION"},
        {-9, "CL_ERR_NOT_AUTHORIZED"},
        {-10, "CL_ERR_NO_PLAYERS"},
        {-11, "CL_ERR_NOT_READER_MODE"},
        {-12, "CL_ERR_QUERY_TIMED_OUT"},
        {-13, "CL_ERR_PROTOCOL_VERSION_MISMATCH"},
        {-1001, "CLC_ERR_BACKEND_UNAVAILABLE"},
        {-1002, "CLC_ERR_STALE_HANDLE"},
        {-1003, "CLC_ERR_FORKED"},
        {-1004, "CLC_ERR_STORE_IO"},
        {-1005, "CLC_ERR_NO_MEMORY"},
        {-1006, "CLC_ERR_BUFFER_TOO_SMALL"},
        {-1007, "CLC_ERR_ABI_MISMATCH"},
        {1, "CLC_UNKNOWN_STATUS"},
        {-14, "CLC_UNKNOWN_STATUS"},
        {-1000, "CLC_UNKNOWN_STATUS"},
        {-1008, "CLC_UNKNOWN_STATUS"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        if (strcmp(clc_status_name(names[i].status), names[i].name) != 0) {
            fprintf(stderr, "status %d is named %s, expected %s\n", names[i].status,
                    clc_status_name(names[i].status), names[i].name);
            exit(1);
        }
        CHECK(strlen(clc_status_description(names[i].status)) > 5);
    }
    CHECK(strcmp(clc_status_description(-3), clc_status_description(-4)) != 0);
}

static void test_argument_checks(void) {
    clc_client_t client = NULL;
    EXPECT(CLC_ERR_INVALID_ARG, clc_client_open_embedded(NULL, CLC_MODE_READER, &client));
    CHECK(strstr(clc_last_error(), "store_dir") != NULL);
    EXPECT(CLC_ERR_INVALID_ARG, clc_client_open_embedded("", CLC_MODE_READER, &client));
    EXPECT(CLC_ERR_INVALID_ARG, clc_client_open_embedded(g_root, 7, &client));
    EXPECT(CLC_ERR_INVALID_ARG, clc_client_open_embedded(g_root, CLC_MODE_READER, NULL));
    CHECK(client == NULL);

    clc_service_conf portal = {"ofi+sockets", "127.0.0.1", 5555, 55};
    clc_service_conf bad_port = {"ofi+sockets", "127.0.0.1", 70000, 55};
    clc_service_conf no_ip = {"ofi+sockets", "", 5557, 57};
    EXPECT(CLC_ERR_INVALID_ARG, clc_client_create(NULL, NULL, &client));
    EXPECT(CLC_ERR_INVALID_ARG, clc_client_create(&bad_port, NULL, &client));
    CHECK(strstr(clc_last_error(), "70000") != NULL);
    EXPECT(CLC_ERR_INVALID_ARG, clc_client_create(&portal, &no_ip, &client));
    if (!(clc_backends() & CLC_BACKEND_CHRONOLOG)) {
        EXPECT(CLC_ERR_BACKEND_UNAVAILABLE, clc_client_create(&portal, NULL, &client));
        CHECK(strstr(clc_last_error(), "CLC_WITH_CHRONOLOG") != NULL);
        CHECK(client == NULL);
    }

    /* A success clears the previous message. */
    CHECK(clc_last_error()[0] != '\0');
    client = open_client(path_in_root("args"), CLC_MODE_READER);
    CHECK(clc_last_error()[0] == '\0');

    EXPECT(CLC_ERR_INVALID_ARG, clc_client_connect(NULL));
    EXPECT(CLC_ERR_INVALID_ARG, clc_client_is_connected(client, NULL));
    EXPECT(CLC_ERR_INVALID_ARG, clc_chronicle_create(client, NULL, NULL, NULL, 0, NULL));
    EXPECT(CLC_ERR_INVALID_ARG, clc_chronicle_create(client, "c", NULL, NULL, 2, NULL));
    EXPECT(CLC_ERR_INVALID_ARG, clc_story_log(NULL, "x", 1, NULL));
    EXPECT(CLC_ERR_INVALID_ARG, clc_story_log((clc_story_t)client, "x", 1, NULL));
    CHECK(strstr(clc_last_error(), "expected a story handle, got a client handle") != NULL);
    EXPECT(CLC_ERR_INVALID_ARG, clc_events_free((clc_events_t)client));
    EXPECT(CLC_ERR_STALE_HANDLE, clc_client_connect((clc_client_t)(uintptr_t)0x7777777700000101u));
    OK(clc_client_free(client));
}

static void test_before_connect(void) {
    const char *store = path_in_root("before");
    clc_client_t reader = open_client(store, CLC_MODE_READER);
    clc_client_t writer = open_client(store, CLC_MODE_WRITER);
    clc_strings_t list = NULL;
    clc_story_t story = NULL;
    clc_events_t events = NULL;
    clc_cursor_t cursor = NULL;
    uint64_t id = 77;
    int connected = 5, backend = 0, mode = -1;

    /* Nothing is created until Connect. */
    struct stat info;
    CHECK(stat(store, &info) != 0);

    OK(clc_client_is_connected(reader, &connected));
    CHECK(connected == 0);
    OK(clc_client_info(reader, &backend, &mode));
    CHECK(backend == CLC_BACKEND_EMBEDDED && mode == CLC_MODE_READER);
    OK(clc_client_info(writer, NULL, &mode));
    CHECK(mode == CLC_MODE_WRITER);
    OK(clc_client_info(writer, NULL, NULL));

    EXPECT(CLC_ERR_NO_CONNECTION, clc_client_id(reader, &id));
    CHECK(id == 77);
    EXPECT(CLC_ERR_NO_CONNECTION, clc_client_flush(reader));
    EXPECT(CLC_ERR_NO_CONNECTION, clc_chronicle_create(reader, "c", NULL, NULL, 0, NULL));
    EXPECT(CLC_ERR_NO_CONNECTION, clc_chronicle_destroy(reader, "c"));
    EXPECT(CLC_ERR_NO_CONNECTION, clc_chronicle_get_attr(reader, "c", "k", &list));
    EXPECT(CLC_ERR_NO_CONNECTION, clc_chronicle_edit_attr(reader, "c", "k", "v"));
    EXPECT(CLC_ERR_NO_CONNECTION, clc_chronicle_list(reader, &list));
    EXPECT(CLC_ERR_NO_CONNECTION, clc_story_list(reader, "c", &list));
    EXPECT(CLC_ERR_NO_CONNECTION, clc_story_acquire(reader, "c", "s", NULL, NULL, 0, NULL, &story));
    EXPECT(CLC_ERR_NO_CONNECTION, clc_story_destroy(reader, "c", "s"));
    CHECK(list == NULL && story == NULL);

    /* ChronoLog checks names before the connection, and reports an unheld story as such. */
    EXPECT(CLC_ERR_INVALID_ARG, clc_chronicle_create(reader, "", NULL, NULL, 0, NULL));
    EXPECT(CLC_ERR_INVALID_ARG, clc_chronicle_get_attr(reader, "c", "", &list));
    EXPECT(CLC_ERR_INVALID_ARG, clc_chronicle_edit_attr(reader, "c", "k", ""));
    EXPECT(CLC_ERR_INVALID_ARG, clc_story_acquire(reader, "c", "", NULL, NULL, 0, NULL, &story));
    EXPECT(CLC_ERR_INVALID_ARG, clc_story_list(reader, "", &list));
    EXPECT(CLC_ERR_NOT_ACQUIRED, clc_story_release(reader, "c", "s"));

    /* Replay: range, then reader mode, then the acquisition (none before Connect). */
    EXPECT(CLC_ERR_INVALID_ARG, clc_replay(reader, "c", "s", 5, 4, &events));
    EXPECT(CLC_ERR_NOT_READER_MODE, clc_replay(writer, "c", "s", 0, 10, &events));
    EXPECT(CLC_ERR_NOT_ACQUIRED, clc_replay(reader, "c", "s", 0, 10, &events));
    EXPECT(CLC_ERR_NOT_ACQUIRED, clc_replay_open(reader, "c", "s", 0, 10, &cursor));
    CHECK(events == NULL && cursor == NULL);

    OK(clc_client_disconnect(reader));
    OK(clc_client_free(reader));
    OK(clc_client_free(writer));
    EXPECT(CLC_ERR_STALE_HANDLE, clc_client_free(writer));
    EXPECT(CLC_ERR_STALE_HANDLE, clc_client_connect(writer));
    OK(clc_client_free(NULL));
}

static void test_connect_failures(void) {
    /* A store path below a regular file cannot be created. */
    const char *file = path_in_root("plain-file");
    FILE *created = fopen(file, "w");
    CHECK(created != NULL);
    fclose(created);
    char below[300];
    snprintf(below, sizeof below, "%s/store", file);
    clc_client_t client = open_client(below, CLC_MODE_READER);
    EXPECT(CLC_ERR_STORE_IO, clc_client_connect(client));
    CHECK(strstr(clc_last_error(), below) != NULL);
    CHECK(strstr(clc_last_error(), "Not a directory") != NULL);
    int connected = 1;
    OK(clc_client_is_connected(client, &connected));
    CHECK(connected == 0);
    OK(clc_client_free(client));

    /* The store path itself is a file. */
    client = open_client(file, CLC_MODE_READER);
    EXPECT(CLC_ERR_STORE_IO, clc_client_connect(client));
    CHECK(strstr(clc_last_error(), "not a directory") != NULL);
    OK(clc_client_free(client));

    /* The database file cannot be opened (it is a directory). */
    const char *store = path_in_root("db-is-dir");
    CHECK(mkdir(store, 0700) == 0);
    char database[300];
    snprintf(database, sizeof database, "%s/chronolog.db", store);
    CHECK(mkdir(database, 0700) == 0);
    client = open_client(store, CLC_MODE_READER);
    EXPECT(CLC_ERR_STORE_IO, clc_client_connect(client));
    CHECK(strstr(clc_last_error(), database) != NULL);
    OK(clc_client_free(client));

    /* A new store directory is owner-only; a relative path is resolved at creation. */
    store = path_in_root("fresh/nested/store");
    client = connected_client(store, CLC_MODE_READER);
    struct stat info;
    CHECK(stat(store, &info) == 0 && (info.st_mode & 0777) == 0700);
    OK(clc_client_free(client));
}

static void test_chronicles(void) {
    clc_client_t client = connected_client(path_in_root("chronicles"), CLC_MODE_READER);
    const char *keys[] = {"owner", "unit"};
    const char *values[] = {"lab", "ns"};
    int flags = 3;
    clc_strings_t list = NULL;

    OK(clc_chronicle_create(client, "beta", keys, values, 2, &flags));
    CHECK(flags == 3);
    EXPECT(CLC_ERR_CHRONICLE_EXISTS, clc_chronicle_create(client, "beta", NULL, NULL, 0, NULL));
    OK(clc_chronicle_create(client, "alpha", NULL, NULL, 0, NULL));
    OK(clc_chronicle_create(client, "Zulu", NULL, NULL, 0, NULL));

    OK(clc_chronicle_list(client, &list));
    char *names = joined(list);
    CHECK(strcmp(names, "Zulu|alpha|beta") == 0);
    free(names);
    OK(clc_strings_free(list));
    EXPECT(CLC_ERR_STALE_HANDLE, clc_strings_free(list));

    OK(clc_chronicle_get_attr(client, "beta", "owner", &list));
    size_t count = 0, total = 0;
    OK(clc_strings_size(list, &count, &total));
    CHECK(count == 1 && total == 3);
    char small[2];
    uint64_t offsets[2];
    EXPECT(CLC_ERR_BUFFER_TOO_SMALL, clc_strings_export(list, offsets, small, sizeof small));
    names = joined(list);
    CHECK(strcmp(names, "lab") == 0);
    free(names);
    OK(clc_strings_free(list));

    list = NULL;
    EXPECT(CLC_ERR_NOT_EXIST, clc_chronicle_get_attr(client, "beta", "missing", &list));
    CHECK(strstr(clc_last_error(), "missing") != NULL);
    EXPECT(CLC_ERR_NOT_EXIST, clc_chronicle_get_attr(client, "nope", "owner", &list));
    CHECK(list == NULL);

    /* As ChronoVisor: an attribute is edited, never added. */
    OK(clc_chronicle_edit_attr(client, "beta", "owner", "ops"));
    EXPECT(CLC_ERR_NOT_EXIST, clc_chronicle_edit_attr(client, "beta", "new", "value"));
    EXPECT(CLC_ERR_NOT_EXIST, clc_chronicle_edit_attr(client, "nope", "k", "v"));
    OK(clc_chronicle_get_attr(client, "beta", "owner", &list));
    names = joined(list);
    CHECK(strcmp(names, "ops") == 0);
    free(names);
    OK(clc_strings_free(list));
    EXPECT(CLC_ERR_NOT_EXIST, clc_chronicle_get_attr(client, "beta", "new", &list));

    EXPECT(CLC_ERR_NOT_EXIST, clc_chronicle_destroy(client, "nope"));
    OK(clc_chronicle_destroy(client, "alpha"));
    EXPECT(CLC_ERR_NOT_EXIST, clc_chronicle_destroy(client, "alpha"));
    OK(clc_chronicle_list(client, &list));
    names = joined(list);
    CHECK(strcmp(names, "Zulu|beta") == 0);
    free(names);
    OK(clc_strings_free(list));

    /* A chronicle with an acquired story cannot be destroyed; after release it can. */
    acquire(client, "beta", "s1");
    EXPECT(CLC_ERR_ACQUIRED, clc_chronicle_destroy(client, "beta"));
    OK(clc_story_release(client, "beta", "s1"));
    OK(clc_chronicle_destroy(client, "beta"));
    OK(clc_chronicle_create(client, "beta", NULL, NULL, 0, NULL));
    EXPECT(CLC_ERR_NOT_EXIST, clc_chronicle_get_attr(client, "beta", "owner", &list));
    OK(clc_story_list(client, "beta", &list));
    OK(clc_strings_size(list, &count, &total));
    CHECK(count == 0 && total == 0);
    OK(clc_strings_free(list));

    OK(clc_client_free(client));
}

static void test_stories(void) {
    const char *store = path_in_root("stories");
    clc_client_t client = connected_client(store, CLC_MODE_READER);
    clc_client_t other = connected_client(store, CLC_MODE_WRITER);
    clc_strings_t list = NULL;
    clc_story_t story = NULL;

    EXPECT(CLC_ERR_NOT_EXIST, clc_story_acquire(client, "c", "s", NULL, NULL, 0, NULL, &story));
    EXPECT(CLC_ERR_NOT_EXIST, clc_story_list(client, "c", &list));
    CHECK(story == NULL && list == NULL);
    OK(clc_chronicle_create(client, "c", NULL, NULL, 0, NULL));

    const char *keys[] = {"k"};
    const char *values[] = {"v"};
    int flags = 1;
    OK(clc_story_acquire(client, "c", "s2", keys, values, 1, &flags, &story));
    clc_story_t again = NULL;
    OK(clc_story_acquire(client, "c", "s2", NULL, NULL, 0, NULL, &again));
    CHECK(again == story);
    clc_story_t s1 = acquire(client, "c", "s1");
    CHECK(s1 != story);

    OK(clc_story_list(client, "c", &list));
    char *names = joined(list);
    CHECK(strcmp(names, "s1|s2") == 0);
    free(names);
    OK(clc_strings_free(list));

    /* Held by this client or another one: not destroyable. */
    EXPECT(CLC_ERR_ACQUIRED, clc_story_destroy(client, "c", "s1"));
    clc_story_t shared = acquire(other, "c", "s1");
    CHECK(shared != s1);
    OK(clc_story_release(client, "c", "s1"));
    EXPECT(CLC_ERR_STALE_HANDLE, clc_story_log(s1, "x", 1, NULL));
    EXPECT(CLC_ERR_NOT_ACQUIRED, clc_story_release(client, "c", "s1"));
    EXPECT(CLC_ERR_ACQUIRED, clc_story_destroy(client, "c", "s1"));
    OK(clc_story_log(shared, "y", 1, NULL));
    OK(clc_story_release(other, "c", "s1"));
    OK(clc_story_destroy(client, "c", "s1"));
    EXPECT(CLC_ERR_NOT_EXIST, clc_story_destroy(client, "c", "s1"));
    EXPECT(CLC_ERR_NOT_EXIST, clc_story_destroy(client, "nope", "s1"));
    EXPECT(CLC_ERR_NOT_ACQUIRED, clc_story_release(client, "c", "never"));

    /* A story acquired again after release has a new handle and its old events. */
    uint64_t first_time = 0;
    OK(clc_story_log(story, "one", 3, &first_time));
    OK(clc_story_release(client, "c", "s2"));
    clc_story_t renewed = acquire(client, "c", "s2");
    CHECK(renewed != story);
    EXPECT(CLC_ERR_STALE_HANDLE, clc_story_log(story, "x", 1, NULL));
    event_arrays events;
    replay_into(client, "c", "s2", 0, UINT64_MAX, &events);
    CHECK(events.count == 1 && events.times[0] == first_time);
    CHECK(record_equals(&events, 0, "one", 3));
    free_arrays(&events);

    /* Disconnect refuses while a story is held, and the client stays usable. */
    EXPECT(CLC_ERR_ACQUIRED, clc_client_disconnect(client));
    CHECK(strstr(clc_last_error(), "s2") != NULL);
    int connected = 0;
    OK(clc_client_is_connected(client, &connected));
    CHECK(connected == 1);
    OK(clc_story_log(renewed, "two", 3, NULL));
    OK(clc_story_release(client, "c", "s2"));

    uint64_t id_before = 0, id_after = 0;
    OK(clc_client_id(client, &id_before));
    OK(clc_client_disconnect(client));
    OK(clc_client_disconnect(client));
    OK(clc_client_is_connected(client, &connected));
    CHECK(connected == 0);
    EXPECT(CLC_ERR_NO_CONNECTION, clc_client_id(client, &id_after));
    OK(clc_client_connect(client));
    OK(clc_client_connect(client));
    OK(clc_client_id(client, &id_after));
    CHECK(id_after > id_before);

    /* Freeing a client releases its stories: another client may then destroy them. */
    clc_story_t held = acquire(client, "c", "s2");
    OK(clc_client_free(client));
    EXPECT(CLC_ERR_STALE_HANDLE, clc_story_log(held, "x", 1, NULL));
    OK(clc_story_destroy(other, "c", "s2"));
    OK(clc_chronicle_destroy(other, "c"));
    OK(clc_client_free(other));
}

static void test_log_and_replay(void) {
    clc_client_t client = connected_client(path_in_root("replay"), CLC_MODE_READER);
    OK(clc_chronicle_create(client, "c", NULL, NULL, 0, NULL));
    clc_story_t story = acquire(client, "c", "s");

    static const unsigned char binary[] = {0x00, 0xff, 0x00, 'a', 0x80};
    const void *records[] = {"first", binary, "", "last"};
    const size_t lengths[] = {5, sizeof binary, 0, 4};
    uint64_t times[4];
    for (int i = 0; i < 4; ++i) {
        OK(clc_story_log(story, records[i], lengths[i], &times[i]));
        CHECK(i == 0 || times[i] > times[i - 1]);
    }
    OK(clc_story_log(story, NULL, 0, NULL));
    EXPECT(CLC_ERR_INVALID_ARG, clc_story_log(story, NULL, 3, NULL));

    uint64_t id = 0;
    OK(clc_client_id(client, &id));
    event_arrays events;
    replay_into(client, "c", "s", 0, UINT64_MAX, &events);
    CHECK(events.count == 5);
    CHECK(events.record_bytes == 5 + sizeof binary + 4);
    for (int i = 0; i < 4; ++i) {
        CHECK(events.times[i] == times[i]);
        CHECK(events.client_ids[i] == id);
        CHECK(events.indexes[i] == events.indexes[0] + (uint32_t)i);
        CHECK(record_equals(&events, (size_t)i, records[i], lengths[i]));
    }
    CHECK(events.offsets[0] == 0 && events.offsets[5] == events.record_bytes);
    free_arrays(&events);

    /* Ranges are half-open. */
    replay_into(client, "c", "s", times[1], times[3], &events);
    CHECK(events.count == 2 && events.times[0] == times[1] && events.times[1] == times[2]);
    free_arrays(&events);
    replay_into(client, "c", "s", times[3], times[3], &events);
    CHECK(events.count == 0 && events.record_bytes == 0);
    free_arrays(&events);
    replay_into(client, "c", "s", times[3], times[3] + 1, &events);
    CHECK(events.count == 1 && record_equals(&events, 0, "last", 4));
    free_arrays(&events);

    /* Export: any array may be skipped; a short record buffer is refused. */
    clc_events_t result = NULL;
    OK(clc_replay(client, "c", "s", 0, UINT64_MAX, &result));
    OK(clc_events_export(result, NULL, NULL, NULL, NULL, NULL, 0));
    char too_small[4];
    EXPECT(CLC_ERR_BUFFER_TOO_SMALL,
           clc_events_export(result, NULL, NULL, NULL, NULL, too_small, sizeof too_small));
    OK(clc_events_size(result, NULL, NULL));
    OK(clc_events_free(result));
    EXPECT(CLC_ERR_STALE_HANDLE, clc_events_size(result, NULL, NULL));
    OK(clc_events_free(NULL));

    /* log_many: one packed buffer, consecutive times. */
    const char packed[] = "abcdefghij";
    const uint64_t many_lengths[] = {1, 0, 3, 6};
    uint64_t many_times[4] = {0};
    size_t logged = 99;
    OK(clc_story_log_many(story, packed, many_lengths, 4, many_times, &logged));
    CHECK(logged == 4);
    CHECK(many_times[0] > times[3]);
    for (int i = 1; i < 4; ++i) {
        CHECK(many_times[i] == many_times[i - 1] + 1);
    }
    OK(clc_story_log_many(story, NULL, NULL, 0, NULL, &logged));
    CHECK(logged == 0);
    EXPECT(CLC_ERR_INVALID_ARG, clc_story_log_many(story, packed, NULL, 2, NULL, &logged));
    EXPECT(CLC_ERR_INVALID_ARG, clc_story_log_many(story, NULL, many_lengths, 4, NULL, NULL));
    replay_into(client, "c", "s", many_times[0], UINT64_MAX, &events);
    CHECK(events.count == 4);
    CHECK(record_equals(&events, 0, "a", 1) && record_equals(&events, 1, "", 0));
    CHECK(record_equals(&events, 2, "bcd", 3) && record_equals(&events, 3, "efghij", 6));
    free_arrays(&events);

    /* Replay needs the story held by this client, and reader mode. */
    EXPECT(CLC_ERR_NOT_ACQUIRED, clc_replay(client, "c", "other", 0, 10, &result));
    EXPECT(CLC_ERR_NOT_ACQUIRED, clc_replay(client, "", "", 0, 10, &result));
    clc_client_t writer = connected_client(path_in_root("replay"), CLC_MODE_WRITER);
    acquire(writer, "c", "s");
    EXPECT(CLC_ERR_NOT_READER_MODE, clc_replay(writer, "c", "s", 0, 10, &result));
    OK(clc_client_free(writer));

    OK(clc_story_release(client, "c", "s"));
    EXPECT(CLC_ERR_NOT_ACQUIRED, clc_replay(client, "c", "s", 0, UINT64_MAX, &result));
    OK(clc_client_free(client));
}

/* clc_story_log_event: the timestamp as the result, or a negative status. */
static void test_log_event(void) {
    clc_client_t client = connected_client(path_in_root("log_event"), CLC_MODE_READER);
    OK(clc_chronicle_create(client, "c", NULL, NULL, 0, NULL));
    clc_story_t story = acquire(client, "c", "s");

    uint64_t before = 0;
    OK(clc_story_log(story, "before", 6, &before));
    int64_t first = clc_story_log_event(story, "by result", 9);
    CHECK(first > 0 && (uint64_t)first > before);
    int64_t second = clc_story_log_event(story, "", 0);
    CHECK(second > first);
    CHECK(clc_story_log_event(story, NULL, 3) == CLC_ERR_INVALID_ARG);
    CHECK(strstr(clc_last_error(), "NULL") != NULL);
    CHECK(clc_story_log_event(NULL, "x", 1) == CLC_ERR_INVALID_ARG);

    event_arrays events;
    replay_into(client, "c", "s", 0, UINT64_MAX, &events);
    CHECK(events.count == 3);
    CHECK(events.times[1] == (uint64_t)first);
    CHECK(record_equals(&events, 1, "by result", 9));
    CHECK(events.times[2] == (uint64_t)second && record_equals(&events, 2, "", 0));
    free_arrays(&events);

    OK(clc_story_release(client, "c", "s"));
    CHECK(clc_story_log_event(story, "x", 1) == CLC_ERR_STALE_HANDLE);
    OK(clc_client_free(client));
}

static void test_cursor(void) {
    clc_client_t client = connected_client(path_in_root("cursor"), CLC_MODE_READER);
    OK(clc_chronicle_create(client, "c", NULL, NULL, 0, NULL));
    clc_story_t story = acquire(client, "c", "s");
    uint64_t times[10];
    for (int i = 0; i < 10; ++i) {
        char record[8];
        snprintf(record, sizeof record, "r%d", i);
        OK(clc_story_log(story, record, strlen(record), &times[i]));
    }

    clc_cursor_t cursor = NULL;
    OK(clc_replay_open(client, "c", "s", times[1], times[9], &cursor));
    clc_events_t page = NULL;
    EXPECT(CLC_ERR_INVALID_ARG, clc_cursor_next(cursor, 0, &page));
    size_t seen = 0, pages = 0;
    for (;;) {
        OK(clc_cursor_next(cursor, 3, &page));
        event_arrays events;
        export_events(page, &events);
        OK(clc_events_free(page));
        if (events.count == 0) {
            free_arrays(&events);
            break;
        }
        ++pages;
        CHECK(events.count <= 3);
        for (size_t i = 0; i < events.count; ++i) {
            char expected[8];
            snprintf(expected, sizeof expected, "r%zu", seen + 1);
            CHECK(events.times[i] == times[seen + 1]);
            CHECK(record_equals(&events, i, expected, strlen(expected)));
            ++seen;
        }
        free_arrays(&events);
    }
    CHECK(seen == 8 && pages == 3);
    OK(clc_cursor_next(cursor, 3, &page));
    size_t count = 1;
    OK(clc_events_size(page, &count, NULL));
    CHECK(count == 0);
    OK(clc_events_free(page));
    OK(clc_cursor_free(cursor));
    EXPECT(CLC_ERR_STALE_HANDLE, clc_cursor_free(cursor));
    OK(clc_cursor_free(NULL));

    /* An empty range gives one empty page; a released story ends the cursor. */
    OK(clc_replay_open(client, "c", "s", times[2], times[2], &cursor));
    OK(clc_cursor_next(cursor, 5, &page));
    OK(clc_events_size(page, &count, NULL));
    CHECK(count == 0);
    OK(clc_events_free(page));
    OK(clc_cursor_free(cursor));
    OK(clc_replay_open(client, "c", "s", 0, UINT64_MAX, &cursor));
    OK(clc_story_release(client, "c", "s"));
    EXPECT(CLC_ERR_STALE_HANDLE, clc_cursor_next(cursor, 5, &page));
    OK(clc_client_free(client));
    EXPECT(CLC_ERR_STALE_HANDLE, clc_cursor_next(cursor, 5, &page));
    OK(clc_cursor_free(cursor));
}

typedef struct {
    clc_story_t story;
    int thread;
    int count;
} logging_job;

static void *log_from_thread(void *argument) {
    logging_job *job = argument;
    for (int i = 0; i < job->count; ++i) {
        char record[32];
        int len = snprintf(record, sizeof record, "t%d-%d", job->thread, i);
        if (i % 100 == 0) {
            const uint64_t lengths[] = {(uint64_t)len, (uint64_t)len};
            char pair[64];
            memcpy(pair, record, (size_t)len);
            memcpy(pair + len, record, (size_t)len);
            size_t logged = 0;
            OK(clc_story_log_many(job->story, pair, lengths, 2, NULL, &logged));
            CHECK(logged == 2);
        } else {
            OK(clc_story_log(job->story, record, (size_t)len, NULL));
        }
    }
    return NULL;
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void test_threads(void) {
    clc_client_t client = connected_client(path_in_root("threads"), CLC_MODE_READER);
    OK(clc_chronicle_create(client, "c", NULL, NULL, 0, NULL));
    clc_story_t story = acquire(client, "c", "s");

    enum { kThreads = 4, kPerThread = 5000 };
    pthread_t threads[kThreads];
    logging_job jobs[kThreads];
    for (int t = 0; t < kThreads; ++t) {
        jobs[t] = (logging_job){story, t, kPerThread};
        CHECK(pthread_create(&threads[t], NULL, log_from_thread, &jobs[t]) == 0);
    }
    for (int t = 0; t < kThreads; ++t) {
        CHECK(pthread_join(threads[t], NULL) == 0);
    }

    event_arrays events;
    replay_into(client, "c", "s", 0, UINT64_MAX, &events);
    size_t expected = kThreads * (kPerThread + kPerThread / 100);
    CHECK(events.count == expected);
    for (size_t i = 1; i < events.count; ++i) {
        CHECK(events.times[i] > events.times[i - 1]);
    }
    uint64_t *indexes = malloc(events.count * sizeof(uint64_t));
    for (size_t i = 0; i < events.count; ++i) {
        indexes[i] = events.indexes[i];
    }
    qsort(indexes, events.count, sizeof(uint64_t), compare_u64);
    for (size_t i = 1; i < events.count; ++i) {
        CHECK(indexes[i] == indexes[i - 1] + 1);
    }
    free(indexes);
    free_arrays(&events);
    OK(clc_client_free(client));
}

typedef struct {
    clc_story_t story;
    long logged;
} racing_job;

static void *log_until_released(void *argument) {
    racing_job *job = argument;
    for (;;) {
        int status = clc_story_log(job->story, "race", 4, NULL);
        if (status == CLC_ERR_STALE_HANDLE) {
            return NULL;
        }
        OK(status);
        ++job->logged;
    }
}

/* Every log call that succeeded before a concurrent release is in the store. */
static void test_release_while_logging(void) {
    clc_client_t client = connected_client(path_in_root("race"), CLC_MODE_READER);
    OK(clc_chronicle_create(client, "c", NULL, NULL, 0, NULL));
    clc_story_t story = acquire(client, "c", "s");

    enum { kThreads = 3 };
    pthread_t threads[kThreads];
    racing_job jobs[kThreads];
    for (int t = 0; t < kThreads; ++t) {
        jobs[t] = (racing_job){story, 0};
        CHECK(pthread_create(&threads[t], NULL, log_until_released, &jobs[t]) == 0);
    }
    usleep(20000);
    OK(clc_story_release(client, "c", "s"));
    long total = 0;
    for (int t = 0; t < kThreads; ++t) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        total += jobs[t].logged;
    }
    CHECK(total > 0);

    acquire(client, "c", "s");
    event_arrays events;
    replay_into(client, "c", "s", 0, UINT64_MAX, &events);
    CHECK(events.count == (size_t)total);
    free_arrays(&events);
    OK(clc_client_free(client));
}

static void test_binary_and_large_records(void) {
    clc_client_t client = connected_client(path_in_root("large"), CLC_MODE_READER);
    OK(clc_chronicle_create(client, "c", NULL, NULL, 0, NULL));
    clc_story_t story = acquire(client, "c", "s");

    size_t size = (size_t)64 << 20;
    unsigned char *big = malloc(size);
    CHECK(big != NULL);
    for (size_t i = 0; i < size; ++i) {
        big[i] = (unsigned char)(i * 2654435761u >> 13);
    }
    big[0] = 0;
    big[size - 1] = 0xff;
    uint64_t time = 0;
    OK(clc_story_log(story, big, size, &time));
    OK(clc_client_flush(client));

    event_arrays events;
    replay_into(client, "c", "s", time, time + 1, &events);
    CHECK(events.count == 1 && events.record_bytes == size);
    CHECK(memcmp(events.records, big, size) == 0);
    free_arrays(&events);
    free(big);
    OK(clc_client_free(client));
}

/* Runs body in a child process and checks that it exited with status 0. */
static void in_child(void (*body)(void *), void *argument) {
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        body(argument);
        _exit(0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

typedef struct {
    clc_client_t inherited;
    clc_story_t inherited_story;
    const char *store;
} fork_scene;

static void use_store_in_child(void *argument) {
    fork_scene *scene = argument;
    EXPECT(CLC_ERR_FORKED, clc_client_connect(scene->inherited));
    CHECK(strstr(clc_last_error(), "forked") != NULL);
    EXPECT(CLC_ERR_FORKED, clc_story_log(scene->inherited_story, "x", 1, NULL));
    EXPECT(CLC_ERR_FORKED, clc_client_flush(scene->inherited));
    EXPECT(CLC_ERR_FORKED, clc_client_free(scene->inherited));

    clc_client_t own = connected_client(scene->store, CLC_MODE_WRITER);
    clc_story_t story = acquire(own, "c", "s");
    OK(clc_story_log(story, "from child", 10, NULL));
    OK(clc_client_free(own));
}

static void test_fork(void) {
    fork_scene scene = {NULL, NULL, path_in_root("fork")};
    scene.inherited = connected_client(scene.store, CLC_MODE_READER);
    OK(clc_chronicle_create(scene.inherited, "c", NULL, NULL, 0, NULL));
    scene.inherited_story = acquire(scene.inherited, "c", "s");
    OK(clc_story_log(scene.inherited_story, "from parent", 11, NULL));

    in_child(use_store_in_child, &scene);

    /* The parent's client goes on (its connection is reopened after the fork). */
    OK(clc_story_log(scene.inherited_story, "after fork", 10, NULL));
    event_arrays events;
    replay_into(scene.inherited, "c", "s", 0, UINT64_MAX, &events);
    CHECK(events.count == 3);
    CHECK(record_equals(&events, 0, "from parent", 11));
    int child_first = record_equals(&events, 1, "from child", 10);
    CHECK(child_first || record_equals(&events, 2, "from child", 10));
    free_arrays(&events);
    OK(clc_client_free(scene.inherited));
}

static void die_holding_story(void *argument) {
    clc_client_t client = connected_client(argument, CLC_MODE_WRITER);
    clc_story_t story = acquire(client, "c", "held");
    OK(clc_story_log(story, "last words", 10, NULL));
    OK(clc_client_flush(client));
    raise(SIGKILL);
}

/* A process that connects to store, acquires story "held" of chronicle "c", and is killed. */
static void kill_a_holder(const char *store) {
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        die_holding_story((void *)store);
        _exit(3);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void test_dead_process_releases(void) {
    const char *store = path_in_root("dead");
    clc_client_t client = connected_client(store, CLC_MODE_READER);
    OK(clc_chronicle_create(client, "c", NULL, NULL, 0, NULL));
    kill_a_holder(store);
    while (clc_log_next(NULL, NULL, 0, NULL)) {
    }

    /* What the dead process flushed is there. */
    acquire(client, "c", "held");
    event_arrays events;
    replay_into(client, "c", "held", 0, UINT64_MAX, &events);
    CHECK(events.count == 1 && record_equals(&events, 0, "last words", 10));
    free_arrays(&events);
    OK(clc_story_release(client, "c", "held"));
    CHECK(clc_log_next(NULL, NULL, 0, NULL) == 0);

    /* The next Connect on the store drops the dead holder's acquisition. */
    clc_client_t late = connected_client(store, CLC_MODE_WRITER);
    int level = 0;
    CHECK(message_containing("no longer runs", &level));
    CHECK(level == CLC_LOG_WARNING);
    OK(clc_story_destroy(client, "c", "held"));
    CHECK(clc_log_next(NULL, NULL, 0, NULL) == 0);
    OK(clc_client_free(late));
    OK(clc_client_free(client));
}

static void test_message_queue(void) {
    int level = -1;
    char text[8];
    size_t len = 0;
    while (clc_log_next(NULL, NULL, 0, NULL)) {
    }
    CHECK(clc_log_next(&level, text, sizeof text, &len) == 0);
    CHECK(level == -1);

    /* A killed holder of a story leaves a warning when its acquisition is dropped. */
    const char *store = path_in_root("queue");
    clc_client_t client = connected_client(store, CLC_MODE_WRITER);
    OK(clc_chronicle_create(client, "c", NULL, NULL, 0, NULL));
    kill_a_holder(store);

    clc_log_set_level(CLC_LOG_ERROR);
    OK(clc_story_destroy(client, "c", "held"));
    CHECK(clc_log_next(&level, NULL, 0, NULL) == 0);

    kill_a_holder(store);
    clc_log_set_level(CLC_LOG_WARNING);
    OK(clc_story_destroy(client, "c", "held"));
    CHECK(clc_log_next(&level, text, sizeof text, &len) == 1);
    CHECK(level == CLC_LOG_WARNING);
    CHECK(len > sizeof text && strlen(text) == sizeof text - 1);
    CHECK(strncmp(text, "release", sizeof text - 1) == 0);

    /* A refused destroy still drops a dead holder, once: the second one has nothing to say. */
    kill_a_holder(store);
    acquire(client, "c", "held");
    EXPECT(CLC_ERR_ACQUIRED, clc_story_destroy(client, "c", "held"));
    CHECK(message_containing("no longer runs", &level));
    EXPECT(CLC_ERR_ACQUIRED, clc_story_destroy(client, "c", "held"));
    CHECK(clc_log_next(&level, NULL, 0, NULL) == 0);
    OK(clc_story_release(client, "c", "held"));
    OK(clc_story_destroy(client, "c", "held"));
    CHECK(clc_log_next(&level, NULL, 0, NULL) == 0);
    OK(clc_client_free(client));
}

static void fill_until_store_fails(void *argument) {
    const char *store = argument;
    clc_client_t client = connected_client(store, CLC_MODE_READER);
    OK(clc_chronicle_create(client, "c", NULL, NULL, 0, NULL));
    clc_story_t story = acquire(client, "c", "s");
    OK(clc_client_flush(client));

    /* Files of this process may not grow past 1 MiB from now on. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit;
    CHECK(getrlimit(RLIMIT_FSIZE, &limit) == 0);
    struct rlimit low = {(rlim_t)1 << 20, limit.rlim_max};
    CHECK(setrlimit(RLIMIT_FSIZE, &low) == 0);

    /* One call, so that a background flush failing early cannot refuse part of it. */
    enum { kRecords = 64, kRecordSize = 64 << 10 };
    static char records[kRecords * kRecordSize];
    uint64_t lengths[kRecords];
    for (int i = 0; i < kRecords; ++i) {
        lengths[i] = kRecordSize;
    }
    memset(records, 'x', sizeof records);
    size_t logged = 0;
    OK(clc_story_log_many(story, records, lengths, kRecords, NULL, &logged));
    CHECK(logged == kRecords);
    EXPECT(CLC_ERR_STORE_IO, clc_client_flush(client));
    CHECK(strstr(clc_last_error(), "chronolog.db") != NULL);
    EXPECT(CLC_ERR_STORE_IO, clc_story_log(story, "x", 1, NULL));
    EXPECT(CLC_ERR_STORE_IO, clc_story_release(client, "c", "s"));
    int level = 0;
    CHECK(message_containing("stay buffered", &level));
    CHECK(level == CLC_LOG_ERROR);

    /* Once the store can grow again nothing was lost. */
    CHECK(setrlimit(RLIMIT_FSIZE, &limit) == 0);
    OK(clc_client_flush(client));
    OK(clc_story_log(story, "x", 1, NULL));
    event_arrays events;
    replay_into(client, "c", "s", 0, UINT64_MAX, &events);
    CHECK(events.count == kRecords + 1);
    free_arrays(&events);
    OK(clc_client_free(client));
}

static void test_failing_store(void) {
    in_child(fill_until_store_fails, path_in_root("full"));
}

/* With arguments, runs only the tests whose name contains one of them. */
static int selected(const char *name, int argc, char **argv) {
    for (int i = 1; i < argc; ++i) {
        if (strstr(name, argv[i]) != NULL) {
            return 1;
        }
    }
    return argc < 2;
}

int main(int argc, char **argv) {
    strcpy(g_root, "/tmp/clc-capi-test-XXXXXX");
    CHECK(mkdtemp(g_root) != NULL);

    struct {
        const char *name;
        void (*run)(void);
    } tests[] = {
        {"library information", test_library_information},
        {"argument checks", test_argument_checks},
        {"before connect", test_before_connect},
        {"connect failures", test_connect_failures},
        {"chronicles", test_chronicles},
        {"stories", test_stories},
        {"log and replay", test_log_and_replay},
        {"log_event", test_log_event},
        {"paged replay", test_cursor},
        {"threads", test_threads},
        {"release while logging", test_release_while_logging},
        {"binary and large records", test_binary_and_large_records},
        {"fork", test_fork},
        {"dead process", test_dead_process_releases},
        {"message queue", test_message_queue},
        {"failing store", test_failing_store},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; ++i) {
        if (!selected(tests[i].name, argc, argv)) {
            continue;
        }
        printf("%-28s", tests[i].name);
        fflush(stdout);
        tests[i].run();
        printf("ok\n");
    }

    nftw(g_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
