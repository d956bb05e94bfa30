// The limit of bulk logging to the embedded store: a C++ loop inserting the rows the store
// would hold straight into SQLite, with one prepared statement reused for every row, in large
// transactions, on a database set up exactly as the store sets up its own (same table, same
// pragmas, so the same durability). It prints one JSON object with the time taken.
//
// Usage: clc_bench_sqlite DIR EVENTS RECORD_SIZE ROWS_PER_TRANSACTION
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

// The events table of the store's schema (capi/src/embedded/embedded_backend.cpp).
constexpr const char *kEventsTable = R"sql(
CREATE TABLE events(
    story_id INTEGER NOT NULL,
    time INTEGER NOT NULL,
    client_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY(story_id, time, client_id, idx)
) WITHOUT ROWID;
)sql";

// The statement the store's writer runs for each event (capi/src/embedded/event_buffer.cpp).
constexpr const char *kInsertEvent =
    "INSERT OR IGNORE INTO events(story_id, time, client_id, idx, record) VALUES(?,?,?,?,?)";

// The store's connection settings (capi/src/embedded/store_database.cpp); a test checks that
// the two lists agree.
const char *const kStorePragmas[] = {
    "PRAGMA synchronous=NORMAL",          "PRAGMA foreign_keys=ON",  "PRAGMA cache_size=-16384",
    "PRAGMA journal_size_limit=67108864", "PRAGMA journal_mode=WAL",
};

void check(sqlite3 *db, int code, const char *what) {
    if (code != SQLITE_OK && code != SQLITE_DONE && code != SQLITE_ROW) {
        std::fprintf(stderr, "clc_bench_sqlite: %s: %s\n", what, sqlite3_errmsg(db));
        std::exit(1);
    }
}

void execute(sqlite3 *db, const char *sql) {
    check(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr), sql);
}

uint64_t realtime_ns() {
    auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s DIR EVENTS RECORD_SIZE ROWS_PER_TRANSACTION\n", argv[0]);
        return 2;
    }
    std::string dir = argv[1];
    uint64_t events = std::strtoull(argv[2], nullptr, 10);
    size_t record_size = std::strtoull(argv[3], nullptr, 10);
    uint64_t per_transaction = std::strtoull(argv[4], nullptr, 10);
    if (per_transaction == 0) {
        per_transaction = 1;
    }

    ::mkdir(dir.c_str(), 0700);
    std::string path = dir + "/limit.db";
    sqlite3 *db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    check(db, sqlite3_open_v2(path.c_str(), &db, flags, nullptr), "open");
    for (const char *pragma : kStorePragmas) {
        execute(db, pragma);
    }
    execute(db, kEventsTable);

    // Distinct records, as a program would log, all in one buffer.
    constexpr size_t kDistinct = 10000;
    std::vector<char> records(kDistinct * record_size + 1);  // + 1: never a null pointer
    for (size_t i = 0; i < records.size(); ++i) {
        records[i] = char('a' + (i * 7 + i / record_size) % 26);
    }

    sqlite3_stmt *insert = nullptr;
    check(db, sqlite3_prepare_v3(db, kInsertEvent, -1, SQLITE_PREPARE_PERSISTENT, &insert, nullptr),
          "prepare");

    auto start = std::chrono::steady_clock::now();
    uint64_t first_time = realtime_ns();
    uint64_t transactions = 0;
    for (uint64_t done = 0; done < events;) {
        execute(db, "BEGIN IMMEDIATE");
        uint64_t end = done + per_transaction < events ? done + per_transaction : events;
        for (; done < end; ++done) {
            const char *record = records.data() + (done % kDistinct) * record_size;
            sqlite3_bind_int64(insert, 1, 1);
            sqlite3_bind_int64(insert, 2, int64_t(first_time + done));
            sqlite3_bind_int64(insert, 3, 1);
            sqlite3_bind_int64(insert, 4, int64_t(done & 0xffffffffu));
            sqlite3_bind_blob64(insert, 5, record, record_size, SQLITE_STATIC);
            check(db, sqlite3_step(insert), "insert");
            sqlite3_reset(insert);
        }
        execute(db, "COMMIT");
        ++transactions;
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    sqlite3_finalize(insert);
    sqlite3_close(db);
    std::printf("{\"events\": %llu, \"transactions\": %llu, \"seconds\": %.9f}\n",
                (unsigned long long)events, (unsigned long long)transactions, seconds);
    return 0;
}
