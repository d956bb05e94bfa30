#include "embedded/store_database.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "chronolog_capi.h"
#include "diagnostics.hpp"

namespace clc {
namespace {

constexpr int kBusyTimeoutMs = 10000;

// Runs a pragma whose answer is not needed. Stepping to the end also covers pragmas that
// answer with a row.
int run_pragma(sqlite3 *db, const char *sql) {
    sqlite3_stmt *statement = nullptr;
    int code = sqlite3_prepare_v2(db, sql, -1, &statement, nullptr);
    while (code == SQLITE_OK || code == SQLITE_ROW) {
        code = sqlite3_step(statement);
    }
    sqlite3_finalize(statement);
    return code == SQLITE_DONE ? SQLITE_OK : code;
}

std::string pragma_text(sqlite3 *db, const char *sql) {
    sqlite3_stmt *statement = nullptr;
    std::string answer;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(statement, 0);
        answer = text != nullptr ? reinterpret_cast<const char *>(text) : "";
    }
    sqlite3_finalize(statement);
    return answer;
}

// "store 'path': context: what SQLite says (what the system says)".
std::string failure_message(const std::string &path, const std::string &context, sqlite3 *db,
                            int code) {
    std::string message = "store '" + path + "': " + context + ": ";
    message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
    int os_error = db != nullptr ? sqlite3_system_errno(db) : 0;
    if (os_error != 0) {
        message += std::string(" (") + std::strerror(os_error) + ")";
    }
    return message;
}

}  // namespace

void ensure_store_directory(const std::string &dir) {
    struct stat info;
    if (::stat(dir.c_str(), &info) == 0) {
        if (!S_ISDIR(info.st_mode)) {
            throw Failure(CLC_ERR_STORE_IO, "store path '" + dir + "' is not a directory");
        }
        return;
    }
    // Parents get the default mode, as mkdir -p -m 0700 would give them.
    for (size_t slash = dir.find('/', 1); slash != std::string::npos;
         slash = dir.find('/', slash + 1)) {
        std::string parent = dir.substr(0, slash);
        if (::mkdir(parent.c_str(), 0777) != 0 && errno != EEXIST) {
            throw Failure(CLC_ERR_STORE_IO, "cannot create directory '" + parent +
                                                "' of the store: " + std::strerror(errno));
        }
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        throw Failure(CLC_ERR_STORE_IO,
                      "cannot create store directory '" + dir + "': " + std::strerror(errno));
    }
}

StoreDatabase::StoreDatabase(const std::string &dir)
    : path_(dir + (dir.back() == '/' ? "" : "/") + kFileName) {
    {
        SqliteSection section;
        open_connection();
    }
    register_fork_aware(this);
}

StoreDatabase::~StoreDatabase() {
    unregister_fork_aware(this);
    std::lock_guard<std::mutex> lock(mutex_);
    SqliteSection section;
    close_connection();
}

void StoreDatabase::open_connection() {
    int code =
        sqlite3_open_v2(path_.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (code != SQLITE_OK) {
        std::string message =
            "cannot open the store database '" + path_ + "': " + sqlite3_errstr(code);
        int os_error = db_ != nullptr ? sqlite3_system_errno(db_) : 0;
        if (os_error != 0) {
            message += std::string(" (") + std::strerror(os_error) + ")";
        }
        close_connection();
        throw Failure(CLC_ERR_STORE_IO, message);
    }
    // SQLite falls back to read-only when the file cannot be written. Going on would create the
    // companion files with the database's read-only mode, and they would keep the store
    // read-only after its permissions are fixed.
    if (sqlite3_db_readonly(db_, "main") == 1) {
        std::string message = "the store database '" + path_ + "' cannot be opened for writing";
        if (::access(path_.c_str(), W_OK) != 0) {
            message += std::string(": ") + std::strerror(errno);
        }
        close_connection();
        throw Failure(CLC_ERR_STORE_IO, message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);

    const char *pragmas[] = {
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA cache_size=-16384",
        "PRAGMA journal_size_limit=67108864",
    };
    for (const char *pragma : pragmas) {
        code = run_pragma(db_, pragma);
        if (code != SQLITE_OK) {
            std::string message = "cannot set up the store database '" + path_ + "': " + pragma +
                                  ": " + sqlite3_errmsg(db_);
            close_connection();
            throw Failure(CLC_ERR_STORE_IO, message);
        }
    }
    // A database of another program is left exactly as it is: switching it to WAL would change
    // its file. Ours carry the application id "CLOG"; a new database has no table yet.
    std::string application = pragma_text(db_, "PRAGMA application_id");
    std::string tables = pragma_text(db_, "SELECT count(*) FROM sqlite_master");
    if (!application.empty() && application != "1129074503" && !tables.empty() && tables != "0") {
        std::string message = "'" + path_ +
                              "' is a SQLite database of another program, not a chronolog "
                              "store; it was left unchanged";
        close_connection();
        throw Failure(CLC_ERR_STORE_IO, message);
    }
    std::string mode = pragma_text(db_, "PRAGMA journal_mode=WAL");
    if (mode != "wal") {
        int error = sqlite3_errcode(db_);
        std::string cause =
            error != SQLITE_OK ? sqlite3_errmsg(db_) : "the journal mode stayed '" + mode + "'";
        std::string message =
            "cannot switch the store database '" + path_ + "' to write-ahead logging: " + cause;
        close_connection();
        throw Failure(CLC_ERR_STORE_IO, message);
    }
}

void StoreDatabase::close_connection() noexcept {
    for (auto &entry : statements_) {
        sqlite3_finalize(entry.second);
    }
    statements_.clear();
    if (db_ != nullptr) {
        sqlite3_close_v2(db_);
        db_ = nullptr;
    }
}

void StoreDatabase::close_before_fork() noexcept {
    // A checkpoint here would make fork() wait for disk I/O; the next connection does it.
    if (db_ != nullptr) {
        sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    }
    close_connection();
}

sqlite3_stmt *StoreDatabase::statement(const char *sql) {
    auto found = statements_.find(sql);
    if (found != statements_.end()) {
        return found->second;
    }
    sqlite3_stmt *prepared = nullptr;
    int code = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &prepared, nullptr);
    if (code != SQLITE_OK) {
        raise(std::string("preparing '") + sql + "'", code);
    }
    statements_.emplace(sql, prepared);
    return prepared;
}

void StoreDatabase::raise(const std::string &context, int code) const {
    throw Failure(CLC_ERR_STORE_IO, failure_message(path_, context, db_, code));
}

Session::Session(StoreDatabase &database) : lock_(database.mutex_), database_(database) {
    if (database_.db_ == nullptr) {
        database_.open_connection();
    }
}

Session::~Session() {
    if (database_.db_ != nullptr && sqlite3_get_autocommit(database_.db_) == 0) {
        sqlite3_exec(database_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

void Session::execute(const char *sql) {
    int code = sqlite3_exec(database_.db_, sql, nullptr, nullptr, nullptr);
    if (code != SQLITE_OK) {
        database_.raise(sql, code);
    }
}

Statement Session::prepare(const char *sql) {
    return Statement(*this, database_.statement(sql));
}

Statement::~Statement() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
}

Statement &Statement::bind(int position, int64_t value) {
    sqlite3_bind_int64(statement_, position, value);
    return *this;
}

Statement &Statement::bind(int position, const std::string &text) {
    sqlite3_bind_text(statement_, position, text.data(), int(text.size()), SQLITE_STATIC);
    return *this;
}

Statement &Statement::bind_blob(int position, const void *data, size_t length) {
    // A null pointer would bind SQL NULL; an empty record is an empty blob.
    static const char empty = 0;
    sqlite3_bind_blob64(statement_, position, length > 0 ? data : &empty, length, SQLITE_STATIC);
    return *this;
}

bool Statement::step() {
    int code = sqlite3_step(statement_);
    if (code == SQLITE_ROW) {
        return true;
    }
    if (code == SQLITE_DONE) {
        return false;
    }
    session_.database_.raise(std::string("running '") + sqlite3_sql(statement_) + "'", code);
}

std::string Statement::column_text(int column) const {
    const unsigned char *text = sqlite3_column_text(statement_, column);
    return text != nullptr ? std::string(reinterpret_cast<const char *>(text),
                                         size_t(sqlite3_column_bytes(statement_, column)))
                           : std::string();
}

SnapshotReader::SnapshotReader(std::string path) : path_(std::move(path)) {
    register_fork_aware(this);
}

SnapshotReader::~SnapshotReader() {
    unregister_fork_aware(this);
    SqliteSection section;
    close();
}

void SnapshotReader::open() {
    int code =
        sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (code != SQLITE_OK) {
        raise("opening a reader", code);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // The client's own connection checkpoints; a reader closing must not make anyone wait.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    code = run_pragma(db_, "PRAGMA query_only=1");
    if (code != SQLITE_OK) {
        raise("PRAGMA query_only=1", code);
    }
}

bool SnapshotReader::start(const char *sql, std::initializer_list<int64_t> parameters) {
    close();
    open();
    int code = sqlite3_prepare_v2(db_, sql, -1, &statement_, nullptr);
    if (code != SQLITE_OK) {
        raise(std::string("preparing '") + sql + "'", code);
    }
    int position = 0;
    for (int64_t value : parameters) {
        sqlite3_bind_int64(statement_, ++position, value);
    }
    return step();
}

bool SnapshotReader::step() {
    int code = sqlite3_step(statement_);
    if (code == SQLITE_ROW) {
        return true;
    }
    if (code == SQLITE_DONE) {
        close();
        return false;
    }
    raise(std::string("running '") + sqlite3_sql(statement_) + "'", code);
}

void SnapshotReader::close() noexcept {
    if (statement_ != nullptr) {
        sqlite3_finalize(statement_);
        statement_ = nullptr;
    }
    if (db_ != nullptr) {
        sqlite3_close_v2(db_);
        db_ = nullptr;
    }
}

void SnapshotReader::raise(const std::string &context, int code) {
    std::string message = failure_message(path_, context, db_, code);
    close();
    throw Failure(CLC_ERR_STORE_IO, message);
}

}  // namespace clc
