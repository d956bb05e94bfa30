/*
 * chronolog_capi.h - the C ABI of chronolog-ctypes.
 *
 * This header is the whole contract between the shim library
 * (libchronolog_capi.so) and its callers, the Python package among them.
 * Everything exported by the library is declared here, with the prefix
 * `clc_` for functions and types and `CLC_` for constants.
 *
 * General rules, true for every function unless its comment says otherwise:
 *
 * - Every function returns an `int` status: CLC_SUCCESS (0) or a negative
 *   code. Codes -1 to -13 are ChronoLog's own values; codes from -1000 down
 *   are conditions of the shim itself. No C++ exception ever leaves the
 *   library.
 * - When a function fails, a message for the calling thread is available
 *   from clc_last_error() until the thread's next call into the library.
 *   Only the functions returning a status clear or set it; the functions
 *   of "Library information and diagnostics" leave it as it is, so that
 *   clc_status_name() may be called between a failure and clc_last_error().
 * - Handles are opaque tokens, never pointers into library memory. A handle
 *   that was freed, released or disconnected is refused with
 *   CLC_ERR_STALE_HANDLE; freeing a handle twice is harmless. A handle used
 *   in a process forked after it was created is refused with
 *   CLC_ERR_FORKED.
 * - Names (chronicles, stories, attribute keys and values) are
 *   NUL-terminated UTF-8; one that is not well-formed UTF-8 is refused with
 *   CLC_ERR_INVALID_ARG. Records are any bytes: pointer plus length.
 * - Memory the library hands out (replay results, name lists) belongs to a
 *   library object and is freed only by that object's free function.
 * - Output parameters are written only on success unless stated otherwise.
 * - Thread safety: every function may be called from several threads at
 *   once. Calls on one client are serialised inside the library, except
 *   clc_story_log, clc_story_log_event and clc_story_log_many, which run
 *   concurrently.
 */
#ifndef CHRONOLOG_CAPI_H
#define CHRONOLOG_CAPI_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define CLC_EXPORT __declspec(dllexport)
#else
#define CLC_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version: the major part changes when an existing declaration
 * changes; the minor part when declarations are added. A caller built for
 * MAJOR.MINOR accepts a library with the same MAJOR and a MINOR at least as
 * high. */
#define CLC_ABI_VERSION_MAJOR 1
#define CLC_ABI_VERSION_MINOR 2

/* ------------------------------------------------------------------------
 * Status codes
 * --------------------------------------------------------------------- */

typedef enum clc_status {
    /* ChronoLog's client error codes, same values. */
    CLC_SUCCESS = 0,
    CLC_ERR_UNKNOWN = -1,
    CLC_ERR_INVALID_ARG = -2,
    CLC_ERR_NOT_EXIST = -3,
    CLC_ERR_ACQUIRED = -4,
    CLC_ERR_NOT_ACQUIRED = -5,
    CLC_ERR_CHRONICLE_EXISTS = -6,
    CLC_ERR_NO_KEEPERS = -7,
    CLC_ERR_NO_CONNECTION = -8,
    CLC_ERR_NOT_AUTHORIZED = -9,
    CLC_ERR_NO_PLAYERS = -10,
    CLC_ERR_NOT_READER_MODE = -11,
    CLC_ERR_QUERY_TIMED_OUT = -12,
    CLC_ERR_PROTOCOL_VERSION_MISMATCH = -13,

    /* Conditions of the shim itself. */
    CLC_ERR_BACKEND_UNAVAILABLE = -1001, /* backend not compiled into this library */
    CLC_ERR_STALE_HANDLE = -1002,        /* handle freed, released or disconnected */
    CLC_ERR_FORKED = -1003,              /* handle inherited across fork() */
    CLC_ERR_STORE_IO = -1004,            /* embedded store cannot be read or written */
    CLC_ERR_NO_MEMORY = -1005,           /* allocation failed */
    CLC_ERR_BUFFER_TOO_SMALL = -1006,    /* caller-provided array too small */
    CLC_ERR_ABI_MISMATCH = -1007         /* caller and library ABI versions differ */
} clc_status;

/* ------------------------------------------------------------------------
 * Handles: distinct opaque types, one per kind of object.
 * --------------------------------------------------------------------- */

typedef struct clc_client_s *clc_client_t;   /* a client (either backend) */
typedef struct clc_story_s *clc_story_t;     /* an acquired story */
typedef struct clc_events_s *clc_events_t;   /* a replay result */
typedef struct clc_cursor_s *clc_cursor_t;   /* a paged replay */
typedef struct clc_strings_s *clc_strings_t; /* a list of names or values */

/* Backends, as bits of clc_backends(). */
#define CLC_BACKEND_EMBEDDED 1
#define CLC_BACKEND_CHRONOLOG 2

/* Modes of clc_client_open_embedded(). */
#define CLC_MODE_WRITER 0
#define CLC_MODE_READER 1 /* writer and reader */

/* Levels of the library's message queue; the values are Python's. */
#define CLC_LOG_DEBUG 10
#define CLC_LOG_INFO 20
#define CLC_LOG_WARNING 30
#define CLC_LOG_ERROR 40

/* Settings of one ChronoLog service endpoint. port and provider_id must be
 * within 0..65535; protocol and ip must be non-empty. */
typedef struct clc_service_conf {
    const char *protocol; /* e.g. "ofi+sockets" */
    const char *ip;       /* e.g. "127.0.0.1" */
    int32_t port;
    int32_t provider_id;
} clc_service_conf;

/* ------------------------------------------------------------------------
 * Library information and diagnostics
 * --------------------------------------------------------------------- */

/* (CLC_ABI_VERSION_MAJOR << 16) | CLC_ABI_VERSION_MINOR of the library. */
CLC_EXPORT uint32_t clc_abi_version(void);

/* The library's release, e.g. "0.1.0". Static string. */
CLC_EXPORT const char *clc_library_version(void);

/* Bitmask of CLC_BACKEND_* compiled into this library. */
CLC_EXPORT int clc_backends(void);

/* Name of a status code, e.g. "CL_ERR_NOT_EXIST" for -3 (ChronoLog's name
 * for ChronoLog's codes, "CLC_ERR_..." for the shim's). "CLC_UNKNOWN_STATUS"
 * for a value that is not a status. Static string, never NULL. */
CLC_EXPORT const char *clc_status_name(int status);

/* One-sentence description of a status code. Static string, never NULL. */
CLC_EXPORT const char *clc_status_description(int status);

/* The message of the calling thread's last failed call, or "" when its
 * last call succeeded. Owned by the library; valid until the thread's next
 * call into the library. Never NULL. */
CLC_EXPORT const char *clc_last_error(void);

/* The library keeps a bounded queue of messages (warnings from background
 * flushes, for instance) instead of printing them. Messages below
 * min_level are not queued; the default is CLC_LOG_WARNING. */
CLC_EXPORT void clc_log_set_level(int min_level);

/* Pops the oldest queued message. Returns 1 and fills *level and buf (at
 * most cap bytes including the NUL; longer messages are cut) when there was
 * one, 0 when the queue is empty. *len receives the full length of the
 * message. Any output pointer may be NULL. */
CLC_EXPORT int clc_log_next(int *level, char *buf, size_t cap, size_t *len);

/* ------------------------------------------------------------------------
 * Clients
 * --------------------------------------------------------------------- */

/* Creates a client of the real ChronoLog deployment. query == NULL makes a
 * writer-only client; otherwise query is the endpoint this client listens
 * on for replay results (not ChronoPlayer's address: two reader processes
 * on one host need two ports). The client is not connected.
 * ChronoLog allows one client per process: the first connect of the
 * process starts it with that client's settings, for the life of the
 * process, and every client of the process shares it (one connection, one
 * client id). A client whose settings differ (another portal; for a
 * reader, another query endpoint or a writer-only start) is refused with
 * CLC_ERR_INVALID_ARG, here when the process's ChronoLog client already
 * runs, else at connect; a writer-only client may share a reader's.
 * Returns CLC_ERR_BACKEND_UNAVAILABLE when the library was built without
 * ChronoLog, CLC_ERR_INVALID_ARG for bad settings (for TCP-based
 * protocols the ip must be a dotted IPv4 address; a query port must not
 * be 0), CLC_ERR_FORKED in a process forked from one whose ChronoLog
 * client had started. */
CLC_EXPORT int clc_client_create(const clc_service_conf *portal, const clc_service_conf *query,
                                 clc_client_t *out);

/* Creates a client of the embedded store in directory store_dir (created,
 * owner-only, when missing). mode is CLC_MODE_WRITER or CLC_MODE_READER.
 * The client is not connected; the store is opened by clc_client_connect.
 * Returns CLC_ERR_INVALID_ARG for an empty path or a bad mode. */
CLC_EXPORT int clc_client_open_embedded(const char *store_dir, int mode, clc_client_t *out);

/* Releases every story the client holds, disconnects and frees the client.
 * Every handle derived from it (stories, paged replays) becomes stale;
 * results already returned (clc_events_t, clc_strings_t) stay valid. NULL
 * and an already freed handle are accepted (CLC_SUCCESS and
 * CLC_ERR_STALE_HANDLE, no effect). Returns the first error met while
 * releasing or disconnecting; the client is freed in every case. A handle
 * inherited across fork() gets CLC_ERR_FORKED and nothing is touched. */
CLC_EXPORT int clc_client_free(clc_client_t client);

/* Connects (embedded: opens the store and registers a client id; a client
 * connecting again after Disconnect gets a new id). Connecting a connected
 * client returns CLC_SUCCESS. Embedded: CLC_ERR_STORE_IO when the store
 * cannot be created or opened, with a message naming the path.
 * ChronoLog: unless another client of the process is connected, first
 * opens a TCP connection to the portal (TCP-based protocols), and returns
 * CLC_ERR_NO_CONNECTION when it is refused or not accepted within 5 s;
 * the first connect of the process then starts ChronoLog's client (about
 * 0.1 s), which a reader cannot do while another process listens on its
 * query endpoint (CLC_ERR_INVALID_ARG). ChronoLog's own answer is returned
 * otherwise. */
CLC_EXPORT int clc_client_connect(clc_client_t client);

/* Disconnects. CLC_SUCCESS when not connected. CLC_ERR_ACQUIRED when a
 * story is still acquired: the client then stays connected. Flushes
 * buffered events first. */
CLC_EXPORT int clc_client_disconnect(clc_client_t client);

/* Whether the client is connected (1) or not (0), in *out. */
CLC_EXPORT int clc_client_is_connected(clc_client_t client, int *out);

/* The client id given at Connect. CLC_ERR_NO_CONNECTION before.
 * ChronoLog: CLC_ERR_UNKNOWN, as its client does not reveal the id. */
CLC_EXPORT int clc_client_id(clc_client_t client, uint64_t *out);

/* The backend (CLC_BACKEND_EMBEDDED or CLC_BACKEND_CHRONOLOG) and mode
 * (CLC_MODE_WRITER or CLC_MODE_READER) of the client. Either may be NULL. */
CLC_EXPORT int clc_client_info(clc_client_t client, int *backend, int *mode);

/* Makes every event this client has logged durable (embedded: written to
 * the store; ChronoLog: nothing to do, as logging waits for ChronoKeeper).
 * Replay, release and disconnect do this themselves. */
CLC_EXPORT int clc_client_flush(clc_client_t client);

/* ------------------------------------------------------------------------
 * Chronicles
 *
 * Attributes pass as two arrays of attr_count NUL-terminated strings; both
 * may be NULL when attr_count is 0. flags may be NULL; when given, it is
 * read and may be updated, as ChronoLog's int& flags.
 * Every function here returns CLC_ERR_INVALID_ARG for an empty chronicle
 * name and CLC_ERR_NO_CONNECTION before Connect.
 * --------------------------------------------------------------------- */

/* Creates a chronicle. CLC_ERR_CHRONICLE_EXISTS when it exists. */
CLC_EXPORT int clc_chronicle_create(clc_client_t client, const char *chronicle,
                                    const char *const *attr_keys, const char *const *attr_values,
                                    size_t attr_count, int *flags);

/* Destroys a chronicle, its stories and their events.
 * CLC_ERR_NOT_EXIST when missing; CLC_ERR_ACQUIRED when one of its stories
 * is acquired by any client. */
CLC_EXPORT int clc_chronicle_destroy(clc_client_t client, const char *chronicle);

/* Reads attribute key of a chronicle into a new one-element list *out.
 * CLC_ERR_INVALID_ARG for an empty key; CLC_ERR_NOT_EXIST when the
 * chronicle or the key is missing. */
CLC_EXPORT int clc_chronicle_get_attr(clc_client_t client, const char *chronicle, const char *key,
                                      clc_strings_t *out);

/* Changes the value of attribute key of a chronicle. As ChronoVisor, only
 * an existing attribute can be changed: none is added.
 * CLC_ERR_INVALID_ARG for an empty key or value; CLC_ERR_NOT_EXIST when
 * the chronicle or the key is missing. */
CLC_EXPORT int clc_chronicle_edit_attr(clc_client_t client, const char *chronicle,
                                       const char *key, const char *value);

/* The names of every chronicle, sorted, as a new list *out. */
CLC_EXPORT int clc_chronicle_list(clc_client_t client, clc_strings_t *out);

/* ------------------------------------------------------------------------
 * Stories
 * --------------------------------------------------------------------- */

/* The names of the stories of a chronicle, sorted, as a new list *out.
 * CLC_ERR_NOT_EXIST when the chronicle is missing. */
CLC_EXPORT int clc_story_list(clc_client_t client, const char *chronicle, clc_strings_t *out);

/* Acquires a story, creating it when missing, and returns its handle.
 * Acquiring a story this client already holds returns the same handle.
 * CLC_ERR_INVALID_ARG for an empty name; CLC_ERR_NO_CONNECTION before
 * Connect; CLC_ERR_NOT_EXIST when the chronicle is missing. */
CLC_EXPORT int clc_story_acquire(clc_client_t client, const char *chronicle, const char *story,
                                 const char *const *attr_keys, const char *const *attr_values,
                                 size_t attr_count, int *flags, clc_story_t *out);

/* Releases a story this client holds, after flushing its events. Its
 * handle becomes stale. CLC_ERR_NOT_ACQUIRED when this client does not
 * hold it, also before Connect (as ChronoLog checks this first). When the
 * flush fails the story stays acquired. ChronoLog: the story is released
 * in ChronoLog when the last client of the process that holds it releases
 * it; waits for log calls in progress on it. */
CLC_EXPORT int clc_story_release(clc_client_t client, const char *chronicle, const char *story);

/* Destroys a story and its events. CLC_ERR_NOT_EXIST when missing;
 * CLC_ERR_ACQUIRED when any client holds it. */
CLC_EXPORT int clc_story_destroy(clc_client_t client, const char *chronicle, const char *story);

/* Logs one event whose record is the len bytes at record (record may be
 * NULL when len is 0). An empty record is kept and replayed as empty by
 * the embedded store; ChronoLog's servers would discard it, so the
 * ChronoLog backend refuses it with CLC_ERR_INVALID_ARG (nothing logged)
 * rather than answer with a timestamp for an event that is never stored.
 * *time_out receives the event's timestamp in nanoseconds since the Unix
 * epoch. Embedded: timestamps one client gives
 * are strictly increasing. ChronoLog: the clock is read at each call, so
 * they increase along one thread, and one round trip to a ChronoKeeper is
 * made; CL_ERR_NO_KEEPERS when ChronoLog could not deliver the event
 * (its log_event returned 0). May be called from several threads at
 * once. */
CLC_EXPORT int clc_story_log(clc_story_t story, const void *record, size_t len,
                             uint64_t *time_out);

/* Logs one event as clc_story_log does, and returns its timestamp (a positive number) or, when
 * it fails, a negative status (the message is in clc_last_error()). One result in place of an
 * output parameter makes each call cheaper for a caller such as Python's ctypes. Timestamps fit
 * in an int64_t until the year 2262. May be called from several threads at once. Since ABI 1.1. */
CLC_EXPORT int64_t clc_story_log_event(clc_story_t story, const void *record, size_t len);

/* Logs count events in one call. The records lie back to back in the
 * buffer records; lengths[i] is the size of the i-th. times_out, when not
 * NULL, receives count timestamps. *logged_out, when not NULL, receives
 * how many events were logged (all of them on success; the ones before the
 * failure otherwise). The ChronoLog backend refuses a call that holds an
 * empty record with CLC_ERR_INVALID_ARG before logging any of it. */
CLC_EXPORT int clc_story_log_many(clc_story_t story, const void *records,
                                  const uint64_t *lengths, size_t count, uint64_t *times_out,
                                  size_t *logged_out);

/* ------------------------------------------------------------------------
 * Replay
 *
 * Replay returns the events of a story with start <= time < end, ordered by
 * (time, client_id, index). start == end is an empty range: CLC_SUCCESS
 * and no events. CLC_ERR_INVALID_ARG when start > end;
 * CLC_ERR_NOT_READER_MODE for a writer-only client; CLC_ERR_NOT_ACQUIRED
 * when this client does not hold the story (also before Connect: a client
 * that is not connected holds none). Buffered events of this client are
 * flushed first.
 * The checks run in ChronoLog's order: start > end and NULL names first,
 * then reader mode (a writer-only client gets CLC_ERR_NOT_READER_MODE even
 * before Connect), then the acquisition.
 *
 * ChronoLog: events are replayable seconds after they are logged, once the
 * servers have archived them, and part of a range may come before the
 * rest. ChronoPlayer does not answer a range of which it has archived
 * nothing (a story archived nothing yet, or a range with no event): the
 * call then returns CL_ERR_QUERY_TIMED_OUT after ChronoLog's fixed 180 s.
 * A process runs one replay at a time (ChronoLog's client has one query
 * slot); the others wait for it. */

/* Replays a time range into a new result *out. */
CLC_EXPORT int clc_replay(clc_client_t client, const char *chronicle, const char *story,
                          uint64_t start, uint64_t end, clc_events_t *out);

/* Opens a paged replay of a time range: the same checks as clc_replay.
 * The pages together hold exactly what clc_replay would have returned at
 * this moment: one snapshot of the story, whatever other clients commit
 * while the pages are read.
 * Embedded store: the snapshot is an open read transaction on a connection
 * of the cursor's own; writers are not held up, but the store's
 * write-ahead log cannot be checkpointed past it, so free a cursor once it
 * is no longer read. A fork() in the middle ends the snapshot: the rest of
 * the range is then read from a new one.
 * ChronoLog: the whole range is fetched here and kept in memory until the
 * cursor is freed, as ChronoLog answers a range at once and never answers
 * an empty one. */
CLC_EXPORT int clc_replay_open(clc_client_t client, const char *chronicle, const char *story,
                               uint64_t start, uint64_t end, clc_cursor_t *out);

/* The next page of at most max_events events (max_events > 0) as a new
 * result *out; a result of 0 events means the replay is over.
 * Embedded store: a page that fails (CLC_ERR_STORE_IO) hands out none of
 * its events, and the next call reads on after the last page returned, in
 * a new snapshot.
 * CLC_ERR_STALE_HANDLE once the story was released or the client freed. */
CLC_EXPORT int clc_cursor_next(clc_cursor_t cursor, size_t max_events, clc_events_t *out);

/* *count receives how many snapshots the pages handed out so far came
 * from: 1, unless a fork() or a failed page made the cursor go on in a new
 * snapshot (embedded store only). A caller that needs the range as one
 * snapshot reads it again when this is more than 1. Since ABI 1.2. */
CLC_EXPORT int clc_cursor_snapshots(clc_cursor_t cursor, uint64_t *count);

/* Frees a paged replay. NULL or a stale handle: no effect (CLC_SUCCESS and
 * CLC_ERR_STALE_HANDLE, as clc_client_free); the same for every free
 * function below. */
CLC_EXPORT int clc_cursor_free(clc_cursor_t cursor);

/* Number of events in a result and total size of their records. Either
 * pointer may be NULL. */
CLC_EXPORT int clc_events_size(clc_events_t events, size_t *count, size_t *record_bytes);

/* Copies a whole result into caller arrays in one call. Each array may be
 * NULL to skip it. times, client_ids and indexes hold count elements;
 * offsets holds count + 1 elements: record i is
 * records[offsets[i] .. offsets[i + 1]). records_cap is the size of
 * records; CLC_ERR_BUFFER_TOO_SMALL when it is below record_bytes. */
CLC_EXPORT int clc_events_export(clc_events_t events, uint64_t *times, uint64_t *client_ids,
                                 uint32_t *indexes, uint64_t *offsets, void *records,
                                 size_t records_cap);

/* Frees a result. NULL or a stale handle: no effect. */
CLC_EXPORT int clc_events_free(clc_events_t events);

/* ------------------------------------------------------------------------
 * Lists of strings (names, attribute values)
 * --------------------------------------------------------------------- */

/* Number of strings and their total size in bytes (no NULs counted). */
CLC_EXPORT int clc_strings_size(clc_strings_t strings, size_t *count, size_t *total_bytes);

/* Copies the strings back to back into bytes (capacity cap) with
 * count + 1 offsets, as clc_events_export does for records. */
CLC_EXPORT int clc_strings_export(clc_strings_t strings, uint64_t *offsets, void *bytes,
                                  size_t cap);

/* Frees a list. NULL or a stale handle: no effect. */
CLC_EXPORT int clc_strings_free(clc_strings_t strings);

#ifdef __cplusplus
}
#endif

#endif /* CHRONOLOG_CAPI_H */
