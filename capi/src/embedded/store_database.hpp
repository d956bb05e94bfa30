// One SQLite connection to the embedded store, used by one client: its operations and its
// background flushes take turns through Session.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "fork_safety.hpp"

namespace clc {

// Creates dir (mode 0700, parents as needed) when missing; throws Failure(CLC_ERR_STORE_IO).
void ensure_store_directory(const std::string &dir);

class StoreDatabase : public ForkAware {
public:
    static constexpr const char *kFileName = "chronolog.db";

    // Opens (creating) dir/chronolog.db and sets the connection's pragmas; throws
    // Failure(CLC_ERR_STORE_IO) naming the path and the cause.
    explicit StoreDatabase(const std::string &dir);
    ~StoreDatabase();
    StoreDatabase(const StoreDatabase &) = delete;
    StoreDatabase &operator=(const StoreDatabase &) = delete;

    const std::string &path() const { return path_; }

    void close_before_fork() noexcept override;

private:
    friend class Session;
    friend class Statement;

    void open_connection();
    void close_connection() noexcept;
    sqlite3_stmt *statement(const char *sql);
    [[noreturn]] void raise(const std::string &context, int code) const;

    std::string path_;
    std::mutex mutex_;
    sqlite3 *db_ = nullptr;
    std::unordered_map<const char *, sqlite3_stmt *> statements_;
};

class Statement;

// Exclusive use of the connection for one piece of work. A transaction left open when the
// session ends (an exception) is rolled back.
class Session {
public:
    explicit Session(StoreDatabase &database);
    ~Session();
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    void execute(const char *sql);
    void begin_write() { execute("BEGIN IMMEDIATE"); }
    void commit() { execute("COMMIT"); }

    // sql must be a string literal: prepared statements are cached by its address.
    Statement prepare(const char *sql);
    int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(database_.db_); }
    int changes() const { return sqlite3_changes(database_.db_); }

private:
    friend class Statement;

    std::unique_lock<std::mutex> lock_;
    SqliteSection section_;
    StoreDatabase &database_;
};

// A cached statement borrowed for one use: reset and unbound when it goes out of scope.
class Statement {
public:
    Statement(Session &session, sqlite3_stmt *statement)
        : session_(session), statement_(statement) {}
    ~Statement();
    Statement(const Statement &) = delete;
    Statement &operator=(const Statement &) = delete;

    Statement &bind(int position, int64_t value);
    Statement &bind(int position, const std::string &text);
    // The bytes must stay valid until the statement is reset.
    Statement &bind_blob(int position, const void *data, size_t length);

    // true when a row is ready, false when done; throws on error.
    bool step();
    // Ready to step again with new bindings.
    void reset() { sqlite3_reset(statement_); }

    bool is_null(int column) const {
        return sqlite3_column_type(statement_, column) == SQLITE_NULL;
    }
    int64_t column_int(int column) const { return sqlite3_column_int64(statement_, column); }
    std::string column_text(int column) const;
    const void *column_blob(int column) const { return sqlite3_column_blob(statement_, column); }
    size_t column_bytes(int column) const {
        return size_t(sqlite3_column_bytes(statement_, column));
    }

private:
    Session &session_;
    sqlite3_stmt *statement_;
};

// A connection of its own that reads one query's rows over many calls inside one read
// transaction, so that they come from one snapshot of the store however long the reading
// takes. Writers go on meanwhile (WAL), but the write-ahead log cannot be checkpointed past an
// open snapshot: the owner closes it as soon as it is done. The connection never writes and
// never checkpoints. A fork closes it (see fork_safety.hpp); the owner then learns from
// running() that the snapshot is gone and may start a new query. Every call must be made
// inside a SqliteSection, by one thread at a time.
class SnapshotReader : public ForkAware {
public:
    // Opens path (which must exist) for reading; throws Failure(CLC_ERR_STORE_IO).
    explicit SnapshotReader(std::string path);
    ~SnapshotReader();
    SnapshotReader(const SnapshotReader &) = delete;
    SnapshotReader &operator=(const SnapshotReader &) = delete;

    // Prepares sql, binds the integers to ?1, ?2, ... and steps to the first row, which starts
    // the snapshot. Returns whether a row is ready; throws Failure(CLC_ERR_STORE_IO).
    bool start(const char *sql, std::initializer_list<int64_t> parameters);
    // Steps to the next row; false once the rows are over, which also ends the snapshot.
    bool step();
    // Whether a query is open: false before start(), after the last row, after close() and
    // after a fork.
    bool running() const { return statement_ != nullptr; }
    void close() noexcept;

    int64_t column_int(int column) const { return sqlite3_column_int64(statement_, column); }
    const void *column_blob(int column) const { return sqlite3_column_blob(statement_, column); }
    size_t column_bytes(int column) const {
        return size_t(sqlite3_column_bytes(statement_, column));
    }

    void close_before_fork() noexcept override { close(); }

private:
    void open();
    [[noreturn]] void raise(const std::string &context, int code);

    std::string path_;
    sqlite3 *db_ = nullptr;
    sqlite3_stmt *statement_ = nullptr;
};

}  // namespace clc
