/*
 * Throughput of the embedded backend through the C ABI. Not a test: it prints rates.
 * Usage: capi_bench [events]   (default 1000000)
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chronolog_capi.h"

enum { kRecordSize = 64, kBatch = 10000 };

static void check(int status, const char *what) {
    if (status != CLC_SUCCESS) {
        fprintf(stderr, "%s: %s: %s\n", what, clc_status_name(status), clc_last_error());
        exit(1);
    }
}

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *ftw) {
    (void)info;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void report(const char *what, size_t events, double elapsed) {
    printf("%-44s %9zu events %8.3f s %12.0f events/s %8.1f MB/s\n", what, events, elapsed,
           (double)events / elapsed, (double)events * kRecordSize / elapsed / 1e6);
}

int main(int argc, char **argv) {
    size_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    char root[] = "/tmp/clc-bench-XXXXXX";
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }

    clc_client_t client;
    clc_story_t story;
    check(clc_client_open_embedded(root, CLC_MODE_READER, &client), "open");
    check(clc_client_connect(client), "connect");
    check(clc_chronicle_create(client, "bench", NULL, NULL, 0, NULL), "create");

    char *records = malloc((size_t)kBatch * kRecordSize);
    uint64_t *lengths = malloc(kBatch * sizeof(uint64_t));
    for (size_t i = 0; i < (size_t)kBatch * kRecordSize; ++i) {
        records[i] = (char)('a' + i % 26);
    }
    for (int i = 0; i < kBatch; ++i) {
        lengths[i] = kRecordSize;
    }

    check(clc_story_acquire(client, "bench", "bulk", NULL, NULL, 0, NULL, &story), "acquire");
    double start = seconds();
    for (size_t done = 0; done < total; done += kBatch) {
        size_t count = total - done < kBatch ? total - done : kBatch;
        check(clc_story_log_many(story, records, lengths, count, NULL, NULL), "log_many");
    }
    double logged = seconds();
    check(clc_client_flush(client), "flush");
    double durable = seconds();
    report("log_many x10000, until returned", total, logged - start);
    report("log_many x10000, until durable (flush)", total, durable - start);

    check(clc_story_acquire(client, "bench", "single", NULL, NULL, 0, NULL, &story), "acquire");
    start = seconds();
    for (size_t i = 0; i < total; ++i) {
        check(clc_story_log(story, records + (i % kBatch) * kRecordSize, kRecordSize, NULL), "log");
    }
    logged = seconds();
    check(clc_client_flush(client), "flush");
    durable = seconds();
    report("log, until returned", total, logged - start);
    report("log, until durable (flush)", total, durable - start);

    clc_events_t events;
    start = seconds();
    check(clc_replay(client, "bench", "bulk", 0, UINT64_MAX, &events), "replay");
    double replayed = seconds();
    size_t count, bytes;
    check(clc_events_size(events, &count, &bytes), "size");
    uint64_t *times = malloc(count * sizeof(uint64_t));
    uint64_t *ids = malloc(count * sizeof(uint64_t));
    uint32_t *indexes = malloc(count * sizeof(uint32_t));
    uint64_t *offsets = malloc((count + 1) * sizeof(uint64_t));
    char *all = malloc(bytes);
    double export_start = seconds();
    check(clc_events_export(events, times, ids, indexes, offsets, all, bytes), "export");
    double exported = seconds();
    report("replay (query into a result)", count, replayed - start);
    report("events_export", count, exported - export_start);
    check(clc_events_free(events), "free");

    check(clc_client_free(client), "free client");
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
