/*
 * Bulk and per-event logging driven from C through the ABI, as the Python package drives it:
 * the limit the Python figures are compared with. The library is loaded with dlopen from the
 * path given, so that both sides measure the same file. It prints one JSON object.
 *
 * Usage: clc_bench_abi LIBRARY STORE_DIR bulk EVENTS BATCH RECORD_SIZE
 *        clc_bench_abi LIBRARY STORE_DIR single EVENTS CHUNK RECORD_SIZE
 *
 * bulk: clc_story_log_many with BATCH records per call, then clc_client_flush; the time runs
 * from the first call until the flush returns (every event durable).
 * single: clc_story_log once per event, timed in chunks of CHUNK events with a flush between
 * chunks that is not timed; the time is the sum of the chunks.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chronolog_capi.h"

/* Pointers to the library's functions, typed from the header's declarations. */
#define CLC_FUNCTION(name) static __typeof__(name) *p_##name
CLC_FUNCTION(clc_status_name);
CLC_FUNCTION(clc_last_error);
CLC_FUNCTION(clc_client_open_embedded);
CLC_FUNCTION(clc_client_connect);
CLC_FUNCTION(clc_client_flush);
CLC_FUNCTION(clc_client_free);
CLC_FUNCTION(clc_chronicle_create);
CLC_FUNCTION(clc_story_acquire);
CLC_FUNCTION(clc_story_log);
CLC_FUNCTION(clc_story_log_many);

static void *resolve(void *library, const char *name) {
    void *function = dlsym(library, name);
    if (function == NULL) {
        fprintf(stderr, "clc_bench_abi: %s is not in the library\n", name);
        exit(1);
    }
    return function;
}

#define CLC_RESOLVE(library, name) *(void **)(&p_##name) = resolve(library, #name)

static void load(const char *path) {
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        fprintf(stderr, "clc_bench_abi: %s\n", dlerror());
        exit(1);
    }
    CLC_RESOLVE(library, clc_status_name);
    CLC_RESOLVE(library, clc_last_error);
    CLC_RESOLVE(library, clc_client_open_embedded);
    CLC_RESOLVE(library, clc_client_connect);
    CLC_RESOLVE(library, clc_client_flush);
    CLC_RESOLVE(library, clc_client_free);
    CLC_RESOLVE(library, clc_chronicle_create);
    CLC_RESOLVE(library, clc_story_acquire);
    CLC_RESOLVE(library, clc_story_log);
    CLC_RESOLVE(library, clc_story_log_many);
}

static void check(int status, const char *what) {
    if (status != CLC_SUCCESS) {
        fprintf(stderr, "clc_bench_abi: %s: %s: %s\n", what, p_clc_status_name(status),
                p_clc_last_error());
        exit(1);
    }
}

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static double log_bulk(clc_client_t client, clc_story_t story, size_t events, size_t batch,
                       const char *records, const uint64_t *lengths) {
    double start = seconds();
    for (size_t done = 0; done < events; done += batch) {
        size_t count = events - done < batch ? events - done : batch;
        check(p_clc_story_log_many(story, records, lengths, count, NULL, NULL), "log_many");
    }
    check(p_clc_client_flush(client), "flush");
    return seconds() - start;
}

static double log_single(clc_client_t client, clc_story_t story, size_t events, size_t chunk,
                         const char *records, size_t record_size) {
    double total = 0;
    uint64_t time;
    for (size_t done = 0; done < events; done += chunk) {
        size_t count = events - done < chunk ? events - done : chunk;
        double start = seconds();
        for (size_t i = 0; i < count; ++i) {
            check(p_clc_story_log(story, records + i * record_size, record_size, &time), "log");
        }
        total += seconds() - start;
        check(p_clc_client_flush(client), "flush");
    }
    return total;
}

int main(int argc, char **argv) {
    if (argc != 7 || (strcmp(argv[3], "bulk") != 0 && strcmp(argv[3], "single") != 0)) {
        fprintf(stderr, "usage: %s LIBRARY STORE_DIR bulk|single EVENTS BATCH RECORD_SIZE\n",
                argv[0]);
        return 2;
    }
    load(argv[1]);
    size_t events = strtoull(argv[4], NULL, 10);
    size_t batch = strtoull(argv[5], NULL, 10);
    size_t record_size = strtoull(argv[6], NULL, 10);
    if (batch == 0) {
        batch = 1;
    }

    /* Distinct records, all in one buffer, as run.py packs a batch. */
    char *records = malloc(batch * record_size + 1);
    uint64_t *lengths = malloc(batch * sizeof *lengths);
    if (records == NULL || lengths == NULL) {
        fprintf(stderr, "clc_bench_abi: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < batch * record_size; ++i) {
        records[i] = (char)('a' + (i * 7 + i / (record_size ? record_size : 1)) % 26);
    }
    for (size_t i = 0; i < batch; ++i) {
        lengths[i] = record_size;
    }

    clc_client_t client;
    clc_story_t story;
    check(p_clc_client_open_embedded(argv[2], CLC_MODE_WRITER, &client), "open");
    check(p_clc_client_connect(client), "connect");
    check(p_clc_chronicle_create(client, "bench", NULL, NULL, 0, NULL), "create");
    check(p_clc_story_acquire(client, "bench", "limit", NULL, NULL, 0, NULL, &story), "acquire");

    double elapsed = strcmp(argv[3], "bulk") == 0
                         ? log_bulk(client, story, events, batch, records, lengths)
                         : log_single(client, story, events, batch, records, record_size);

    check(p_clc_client_free(client), "free");
    free(records);
    free(lengths);
    printf("{\"events\": %zu, \"seconds\": %.9f}\n", events, elapsed);
    return 0;
}
