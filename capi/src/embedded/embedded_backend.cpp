// The embedded backend: ChronoLog's semantics over one SQLite database in a directory, shared
// by every process that opens the same directory. The schema is described in
// docs/embedded-store.md.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "backend.hpp"
#include "chronolog_capi.h"
#include "diagnostics.hpp"
#include "embedded/event_buffer.hpp"
#include "embedded/store_database.hpp"

namespace clc {
namespace {

constexpr int kSchemaVersion = 1;

// Events a page makes room for at once; a larger page grows as it fills.
constexpr size_t kPageReserve = 65536;

// A paged replay of at most this many events and bytes of records is read at once on the
// client's connection, rather than on a reader connection opened for it (see EmbeddedCursor).
constexpr size_t kPrefetchEvents = 4096;
constexpr size_t kPrefetchBytes = size_t(4) << 20;

constexpr const char *kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clients(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hostname TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_start INTEGER,
    mode INTEGER NOT NULL,
    connected_ns INTEGER NOT NULL,
    disconnected_ns INTEGER
);
CREATE TABLE IF NOT EXISTS chronicles(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    flags INTEGER NOT NULL,
    created_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chronicle_attrs(
    chronicle_id INTEGER NOT NULL REFERENCES chronicles(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY(chronicle_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stories(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chronicle_id INTEGER NOT NULL REFERENCES chronicles(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    flags INTEGER NOT NULL,
    created_ns INTEGER NOT NULL,
    UNIQUE(chronicle_id, name)
);
CREATE TABLE IF NOT EXISTS acquisitions(
    story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id),
    acquired_ns INTEGER NOT NULL,
    PRIMARY KEY(story_id, client_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS acquisitions_by_client ON acquisitions(client_id);
CREATE TABLE IF NOT EXISTS events(
    story_id INTEGER NOT NULL,
    time INTEGER NOT NULL,
    client_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY(story_id, time, client_id, idx)
) WITHOUT ROWID;
)sql";

int64_t realtime_ns() {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return int64_t(now.tv_sec) * 1000000000 + now.tv_nsec;
}

// SQLite integers are signed; clock times stay far below 2^63.
int64_t sql_time(uint64_t time) {
    return time > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(time);
}

std::string host_name() {
    char name[HOST_NAME_MAX + 1] = {};
    if (gethostname(name, sizeof name - 1) != 0) {
        return "unknown";
    }
    return name;
}

// The start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), which
// tells a live process from a later one that reuses its pid.
std::optional<int64_t> process_start(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) {
        return std::nullopt;
    }
    size_t name_end = line.rfind(')');
    if (name_end == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream fields(line.substr(name_end + 1));
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i) {
        if (i == 22) {
            return std::stoll(field);
        }
    }
    return std::nullopt;
}

bool process_alive(pid_t pid, std::optional<int64_t> recorded_start) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
        return false;
    }
    if (recorded_start) {
        std::optional<int64_t> start = process_start(pid);
        if (start && *start != *recorded_start) {
            return false;
        }
    }
    return true;
}

std::string story_label(const std::string &chronicle, const std::string &story) {
    return "story '" + story + "' of chronicle '" + chronicle + "'";
}

using StoryKey = std::pair<std::string, std::string>;

// Clients freed while their store could not be written, by store directory (see
// EmbeddedBackend::mark_disconnected). The lock is taken only inside a SqliteSection, so a
// fork never finds it held.
struct Orphans {
    std::mutex mutex;
    std::map<std::string, std::set<int64_t>> by_store;
};

Orphans &orphans() {
    static Orphans *instance = new Orphans;
    return *instance;
}

class EmbeddedStoryWriter : public StoryWriter {
public:
    EmbeddedStoryWriter(std::shared_ptr<EventBuffer> buffer, std::shared_ptr<StoryState> state)
        : buffer_(std::move(buffer)), state_(std::move(state)) {}

    int log(const void *record, size_t length, uint64_t *time) override {
        return buffer_->log(*state_, record, length, time);
    }

    int log_many(const char *records, const uint64_t *lengths, size_t count, uint64_t *times,
                 size_t &logged) override {
        return buffer_->log_many(*state_, records, lengths, count, times, logged);
    }

private:
    std::shared_ptr<EventBuffer> buffer_;
    std::shared_ptr<StoryState> state_;
};

// The events of a story in [?2, ?3), in replay order.
constexpr const char *kRangeQuery =
    "SELECT time, client_id, idx, record FROM events "
    "WHERE story_id = ?1 AND time >= ?2 AND time < ?3 ORDER BY time, client_id, idx";
// The events of a story after (?2, ?3, ?4) and before time ?5, in replay order.
constexpr const char *kResumeQuery =
    "SELECT time, client_id, idx, record FROM events "
    "WHERE story_id = ?1 AND (time, client_id, idx) > (?2, ?3, ?4) AND time < ?5 "
    "ORDER BY time, client_id, idx";

// Adds the rows of a kRangeQuery statement to events. Returns false as soon as they would pass
// max_events events or max_bytes of records, events then holding a part.
bool read_rows(Statement &select, Events &events, size_t max_events = SIZE_MAX,
               size_t max_bytes = SIZE_MAX) {
    while (select.step()) {
        if (events.count() == max_events ||
            select.column_bytes(3) > max_bytes - events.record_bytes()) {
            return false;
        }
        events.add(uint64_t(select.column_int(0)), uint64_t(select.column_int(1)),
                   uint32_t(select.column_int(2)), select.column_blob(3), select.column_bytes(3));
    }
    return true;
}

// A paged replay reads one snapshot of the story, taken when it opens. A small range (up to
// kPrefetchEvents events and kPrefetchBytes of records) is read at once on the client's own
// connection and handed out from memory. A larger one is stepped through page by page with
// one query on a reader connection of its own; a fork, or a page that fails, ends that
// snapshot, and the replay then goes on after its last event handed out in a new one.
class EmbeddedCursor : public ReplayCursor {
public:
    EmbeddedCursor(const std::string &path, std::shared_ptr<StoryState> state, uint64_t start,
                   uint64_t end)
        : reader_(path), state_(std::move(state)), start_(sql_time(start)), end_(sql_time(end)) {}

    // Takes the snapshot; throws Failure(CLC_ERR_STORE_IO).
    void open(StoreDatabase &database);
    int next(size_t max_events, Events &page) override;
    uint64_t snapshots() const override { return snapshots_; }

private:
    bool prefetch(StoreDatabase &database);

    SnapshotReader reader_;
    std::shared_ptr<StoryState> state_;
    int64_t start_;
    int64_t end_;
    EventPages prefetched_;  // the whole range, when it was small
    bool from_memory_ = false;
    bool row_ready_ = false;  // the reader stands on the next event to hand out
    bool done_ = false;
    bool started_ = false;  // an event was handed out; last_* hold it
    uint64_t snapshots_ = 1;
    int64_t last_time_ = 0;
    int64_t last_client_ = 0;
    int64_t last_index_ = 0;
};

class EmbeddedBackend : public Backend {
public:
    EmbeddedBackend(std::string store_dir, int mode)
        : store_dir_(std::move(store_dir)), mode_(mode) {}

    ~EmbeddedBackend() override {
        try {
            close();
        } catch (...) {
            // The owner already reported what close() returned; nothing is left to tell.
        }
    }

    int backend_id() const override { return CLC_BACKEND_EMBEDDED; }
    int mode() const override { return mode_; }

    int connect() override;
    int disconnect() override;
    bool is_connected() const override { return database_ != nullptr; }
    int client_id(uint64_t &id) const override;
    int flush() override;
    int close() override;
    void flush_at_exit() noexcept override;

    int create_chronicle(const std::string &chronicle, const Attributes &attributes,
                         int &flags) override;
    int destroy_chronicle(const std::string &chronicle) override;
    int get_chronicle_attr(const std::string &chronicle, const std::string &key,
                           std::string &value) override;
    int edit_chronicle_attr(const std::string &chronicle, const std::string &key,
                            const std::string &value) override;
    int list_chronicles(StringList &names) override;
    int list_stories(const std::string &chronicle, StringList &names) override;

    int acquire_story(const std::string &chronicle, const std::string &story,
                      const Attributes &attributes, int &flags,
                      std::shared_ptr<StoryWriter> &writer) override;
    int release_story(const std::string &chronicle, const std::string &story) override;
    int destroy_story(const std::string &chronicle, const std::string &story) override;

    int replay(const std::string &chronicle, const std::string &story, uint64_t start, uint64_t end,
               Events &events) override;
    int open_replay(const std::string &chronicle, const std::string &story, uint64_t start,
                    uint64_t end, std::unique_ptr<ReplayCursor> &cursor) override;

private:
    void require_connection() const;
    int prepare_replay(const std::string &chronicle, const std::string &story,
                       std::shared_ptr<StoryState> &state);
    std::optional<int64_t> find_chronicle(Session &session, const std::string &chronicle);
    int64_t existing_chronicle(Session &session, const std::string &chronicle);
    std::optional<int64_t> find_story(Session &session, int64_t chronicle_id,
                                      const std::string &story);
    void create_schema(Session &session);
    int release_dead_clients(Session &session);
    int release_orphans(Session &session);
    void mark_disconnected() noexcept;

    const std::string store_dir_;
    const int mode_;
    std::unique_ptr<StoreDatabase> database_;  // set while connected
    std::shared_ptr<EventBuffer> buffer_ = std::make_shared<EventBuffer>();
    uint64_t client_id_ = 0;
    std::map<StoryKey, std::shared_ptr<StoryState>> held_;
};

// ---------------------------------------------------------------------------------------------
// Connection

void EmbeddedBackend::require_connection() const {
    if (database_ == nullptr) {
        throw Failure(CLC_ERR_NO_CONNECTION,
                      "the client is not connected to the embedded store '" + store_dir_ + "'");
    }
}

void EmbeddedBackend::create_schema(Session &session) {
    session.execute(kSchema);
    int64_t version = 0;
    {
        Statement select = session.prepare("SELECT value FROM meta WHERE key = 'schema_version'");
        if (select.step()) {
            version = std::stoll(select.column_text(0));
        }
    }
    if (version == 0) {
        session.prepare("INSERT INTO meta(key, value) VALUES('schema_version', ?)")
            .bind(1, std::to_string(kSchemaVersion))
            .step();
        session.execute("PRAGMA application_id = 1129074503");  // "CLOG"
    } else if (version > kSchemaVersion) {
        throw Failure(CLC_ERR_STORE_IO, "the embedded store '" + store_dir_ +
                                            "' has schema version " + std::to_string(version) +
                                            ", newer than this library's (" +
                                            std::to_string(kSchemaVersion) + ")");
    }
}

// Clients of this process that were freed while their store could not be written. An orphan
// is forgotten once a call finds nothing left to record for it.
int EmbeddedBackend::release_orphans(Session &session) {
    std::vector<int64_t> ids;
    {
        std::lock_guard<std::mutex> lock(orphans().mutex);
        auto found = orphans().by_store.find(store_dir_);
        if (found == orphans().by_store.end()) {
            return 0;
        }
        ids.assign(found->second.begin(), found->second.end());
    }
    int released = 0;
    std::vector<int64_t> recorded;
    for (int64_t id : ids) {
        session.prepare("DELETE FROM acquisitions WHERE client_id = ?").bind(1, id).step();
        int count = session.changes();
        session
            .prepare(
                "UPDATE clients SET disconnected_ns = ? WHERE id = ? AND "
                "disconnected_ns IS NULL")
            .bind(1, realtime_ns())
            .bind(2, id)
            .step();
        if (count == 0 && session.changes() == 0) {
            recorded.push_back(id);
        }
        if (count > 0) {
            queue_message(CLC_LOG_WARNING, "released " + std::to_string(count) +
                                               " stories held by client " + std::to_string(id) +
                                               ", which was freed while the store could not be "
                                               "written");
        }
        released += count;
    }
    std::lock_guard<std::mutex> lock(orphans().mutex);
    std::set<int64_t> &remaining = orphans().by_store[store_dir_];
    for (int64_t id : recorded) {
        remaining.erase(id);
    }
    return released;
}

// Acquisitions of clients whose process on this host is gone would otherwise keep their stories
// acquired forever. Returns how many acquisitions were dropped.
int EmbeddedBackend::release_dead_clients(Session &session) {
    int released = release_orphans(session);
    std::vector<std::pair<int64_t, pid_t>> dead;
    {
        Statement select = session.prepare(
            "SELECT id, pid, pid_start FROM clients "
            "WHERE disconnected_ns IS NULL AND hostname = ?");
        std::string host = host_name();
        select.bind(1, host);
        while (select.step()) {
            std::optional<int64_t> start;
            if (!select.is_null(2)) {
                start = select.column_int(2);
            }
            auto pid = pid_t(select.column_int(1));
            if (!process_alive(pid, start)) {
                dead.emplace_back(select.column_int(0), pid);
            }
        }
    }
    for (const auto &client : dead) {
        session.prepare("DELETE FROM acquisitions WHERE client_id = ?")
            .bind(1, client.first)
            .step();
        int count = session.changes();
        released += count;
        session.prepare("UPDATE clients SET disconnected_ns = ? WHERE id = ?")
            .bind(1, realtime_ns())
            .bind(2, client.first)
            .step();
        if (count > 0) {
            queue_message(CLC_LOG_WARNING,
                          "released " + std::to_string(count) + " stories held by client " +
                              std::to_string(client.first) + " of process " +
                              std::to_string(client.second) + ", which no longer runs");
        }
    }
    return released;
}

int EmbeddedBackend::connect() {
    if (database_ != nullptr) {
        return CLC_SUCCESS;
    }
    ensure_store_directory(store_dir_);
    auto database = std::make_unique<StoreDatabase>(store_dir_);

    uint64_t id;
    {
        Session session(*database);
        session.begin_write();
        create_schema(session);
        release_dead_clients(session);
        std::optional<int64_t> start = process_start(getpid());
        Statement insert = session.prepare(
            "INSERT INTO clients(hostname, pid, pid_start, mode, connected_ns) "
            "VALUES(?, ?, ?, ?, ?)");
        std::string host = host_name();
        insert.bind(1, host).bind(2, int64_t(getpid())).bind(4, int64_t(mode_));
        insert.bind(5, realtime_ns());
        if (start) {
            insert.bind(3, *start);
        }
        insert.step();
        id = uint64_t(session.last_insert_rowid());
        session.commit();
    }

    buffer_->start(*database, id);
    database_ = std::move(database);
    client_id_ = id;
    return CLC_SUCCESS;
}

// A disconnected client holds no story: when it is freed with stories whose release failed,
// their acquisitions go with it. When even that cannot be written, the client is remembered as
// an orphan, for the next client of the store in this process to record.
void EmbeddedBackend::mark_disconnected() noexcept {
    try {
        Session session(*database_);
        session.begin_write();
        session.prepare("DELETE FROM acquisitions WHERE client_id = ?")
            .bind(1, int64_t(client_id_))
            .step();
        session.prepare("UPDATE clients SET disconnected_ns = ? WHERE id = ?")
            .bind(1, realtime_ns())
            .bind(2, int64_t(client_id_))
            .step();
        session.commit();
        return;
    } catch (const std::exception &error) {
        queue_message(CLC_LOG_WARNING, "client " + std::to_string(client_id_) +
                                           " could not record its disconnection: " + error.what());
    }
    try {
        SqliteSection section;
        std::lock_guard<std::mutex> lock(orphans().mutex);
        orphans().by_store[store_dir_].insert(int64_t(client_id_));
    } catch (...) {
        // Out of memory: the acquisitions are dropped when this process ends.
    }
}

int EmbeddedBackend::disconnect() {
    if (database_ == nullptr) {
        return CLC_SUCCESS;
    }
    if (!held_.empty()) {
        const StoryKey &first = held_.begin()->first;
        return fail(CLC_ERR_ACQUIRED, std::to_string(held_.size()) +
                                          " stories are still acquired (" +
                                          story_label(first.first, first.second) +
                                          " among them); release them before disconnecting");
    }
    int status = buffer_->flush();
    if (status != CLC_SUCCESS) {
        return status;
    }

    buffer_->stop();
    mark_disconnected();
    database_.reset();
    return CLC_SUCCESS;
}

int EmbeddedBackend::client_id(uint64_t &id) const {
    require_connection();
    id = client_id_;
    return CLC_SUCCESS;
}

int EmbeddedBackend::flush() {
    require_connection();
    return buffer_->flush();
}

int EmbeddedBackend::close() {
    if (database_ == nullptr) {
        return CLC_SUCCESS;
    }
    int first_error = CLC_SUCCESS;
    std::string first_message;
    auto note = [&](int status) {
        if (status != CLC_SUCCESS && first_error == CLC_SUCCESS) {
            first_error = status;
            first_message = last_error();
        }
    };

    std::vector<StoryKey> stories;
    for (const auto &entry : held_) {
        stories.push_back(entry.first);
    }
    for (const StoryKey &key : stories) {
        try {
            note(release_story(key.first, key.second));
        } catch (const Failure &failure) {
            note(fail(failure.status(), failure.what()));
        }
    }
    for (auto &entry : held_) {
        buffer_->set_active(*entry.second, false);
    }
    held_.clear();

    note(disconnect());
    if (database_ != nullptr) {
        buffer_->stop();
        size_t lost = buffer_->discard();
        if (lost > 0) {
            queue_message(CLC_LOG_ERROR, "client " + std::to_string(client_id_) +
                                             " was freed "
                                             "while the store could not be written: " +
                                             std::to_string(lost) + " events are lost");
        }
        mark_disconnected();
        database_.reset();
    }
    if (first_error != CLC_SUCCESS) {
        fail(first_error, first_message);
    }
    return first_error;
}

void EmbeddedBackend::flush_at_exit() noexcept {
    if (database_ != nullptr) {
        buffer_->flush();
    }
}

// ---------------------------------------------------------------------------------------------
// Chronicles

std::optional<int64_t> EmbeddedBackend::find_chronicle(Session &session,
                                                       const std::string &chronicle) {
    Statement select = session.prepare("SELECT id FROM chronicles WHERE name = ?");
    select.bind(1, chronicle);
    if (select.step()) {
        return select.column_int(0);
    }
    return std::nullopt;
}

std::optional<int64_t> EmbeddedBackend::find_story(Session &session, int64_t chronicle_id,
                                                   const std::string &story) {
    Statement select =
        session.prepare("SELECT id FROM stories WHERE chronicle_id = ? AND name = ?");
    select.bind(1, chronicle_id).bind(2, story);
    if (select.step()) {
        return select.column_int(0);
    }
    return std::nullopt;
}

int64_t EmbeddedBackend::existing_chronicle(Session &session, const std::string &chronicle) {
    std::optional<int64_t> id = find_chronicle(session, chronicle);
    if (!id) {
        throw Failure(CLC_ERR_NOT_EXIST, "chronicle '" + chronicle + "' does not exist");
    }
    return *id;
}

int EmbeddedBackend::create_chronicle(const std::string &chronicle, const Attributes &attributes,
                                      int &flags) {
    require_connection();

    Session session(*database_);
    session.begin_write();
    if (find_chronicle(session, chronicle)) {
        return fail(CLC_ERR_CHRONICLE_EXISTS, "chronicle '" + chronicle + "' already exists");
    }
    session.prepare("INSERT INTO chronicles(name, flags, created_ns) VALUES(?, ?, ?)")
        .bind(1, chronicle)
        .bind(2, int64_t(flags))
        .bind(3, realtime_ns())
        .step();
    int64_t chronicle_id = session.last_insert_rowid();
    for (const auto &attribute : attributes) {
        session
            .prepare(
                "INSERT OR REPLACE INTO chronicle_attrs(chronicle_id, key, value) "
                "VALUES(?, ?, ?)")
            .bind(1, chronicle_id)
            .bind(2, attribute.first)
            .bind(3, attribute.second)
            .step();
    }
    session.commit();
    return CLC_SUCCESS;
}

int EmbeddedBackend::destroy_chronicle(const std::string &chronicle) {
    require_connection();

    Session session(*database_);
    session.begin_write();
    int64_t chronicle_id = existing_chronicle(session, chronicle);
    auto acquired = [&] {
        Statement select = session.prepare(
            "SELECT s.name FROM acquisitions a JOIN stories s ON s.id = a.story_id "
            "WHERE s.chronicle_id = ? LIMIT 1");
        select.bind(1, chronicle_id);
        return select.step() ? std::optional<std::string>(select.column_text(0)) : std::nullopt;
    };
    if (acquired() && (release_dead_clients(session) == 0 || acquired())) {
        std::string story = *acquired();
        session.commit();  // keeps the release of dead clients' stories
        return fail(CLC_ERR_ACQUIRED, "chronicle '" + chronicle + "' has acquired stories ('" +
                                          story + "' among them)");
    }
    session
        .prepare(
            "DELETE FROM events WHERE story_id IN "
            "(SELECT id FROM stories WHERE chronicle_id = ?)")
        .bind(1, chronicle_id)
        .step();
    session.prepare("DELETE FROM chronicles WHERE id = ?").bind(1, chronicle_id).step();
    session.commit();
    return CLC_SUCCESS;
}

int EmbeddedBackend::get_chronicle_attr(const std::string &chronicle, const std::string &key,
                                        std::string &value) {
    require_connection();

    Session session(*database_);
    int64_t chronicle_id = existing_chronicle(session, chronicle);
    Statement select =
        session.prepare("SELECT value FROM chronicle_attrs WHERE chronicle_id = ? AND key = ?");
    select.bind(1, chronicle_id).bind(2, key);
    if (!select.step()) {
        return fail(CLC_ERR_NOT_EXIST,
                    "chronicle '" + chronicle + "' has no attribute '" + key + "'");
    }
    value = select.column_text(0);
    return CLC_SUCCESS;
}

int EmbeddedBackend::edit_chronicle_attr(const std::string &chronicle, const std::string &key,
                                         const std::string &value) {
    require_connection();

    Session session(*database_);
    session.begin_write();
    int64_t chronicle_id = existing_chronicle(session, chronicle);
    // As ChronoVisor: only an existing attribute can be changed.
    session.prepare("UPDATE chronicle_attrs SET value = ? WHERE chronicle_id = ? AND key = ?")
        .bind(1, value)
        .bind(2, chronicle_id)
        .bind(3, key)
        .step();
    if (session.changes() == 0) {
        return fail(CLC_ERR_NOT_EXIST,
                    "chronicle '" + chronicle + "' has no attribute '" + key + "'");
    }
    session.commit();
    return CLC_SUCCESS;
}

int EmbeddedBackend::list_chronicles(StringList &names) {
    require_connection();

    Session session(*database_);
    Statement select = session.prepare("SELECT name FROM chronicles ORDER BY name");
    while (select.step()) {
        names.add(static_cast<const char *>(select.column_blob(0)), select.column_bytes(0));
    }
    return CLC_SUCCESS;
}

int EmbeddedBackend::list_stories(const std::string &chronicle, StringList &names) {
    require_connection();

    Session session(*database_);
    int64_t chronicle_id = existing_chronicle(session, chronicle);
    Statement select =
        session.prepare("SELECT name FROM stories WHERE chronicle_id = ? ORDER BY name");
    select.bind(1, chronicle_id);
    while (select.step()) {
        names.add(static_cast<const char *>(select.column_blob(0)), select.column_bytes(0));
    }
    return CLC_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// Stories

int EmbeddedBackend::acquire_story(const std::string &chronicle, const std::string &story,
                                   const Attributes &, int &flags,
                                   std::shared_ptr<StoryWriter> &writer) {
    require_connection();

    StoryKey key(chronicle, story);
    auto held = held_.find(key);
    if (held != held_.end()) {
        writer = std::make_shared<EmbeddedStoryWriter>(buffer_, held->second);
        return CLC_SUCCESS;
    }

    int64_t story_id;
    {
        Session session(*database_);
        session.begin_write();
        int64_t chronicle_id = existing_chronicle(session, chronicle);
        std::optional<int64_t> existing = find_story(session, chronicle_id, story);
        if (existing) {
            story_id = *existing;
        } else {
            session
                .prepare(
                    "INSERT INTO stories(chronicle_id, name, flags, created_ns) "
                    "VALUES(?, ?, ?, ?)")
                .bind(1, chronicle_id)
                .bind(2, story)
                .bind(3, int64_t(flags))
                .bind(4, realtime_ns())
                .step();
            story_id = session.last_insert_rowid();
        }
        session
            .prepare(
                "INSERT OR IGNORE INTO acquisitions(story_id, client_id, acquired_ns) "
                "VALUES(?, ?, ?)")
            .bind(1, story_id)
            .bind(2, int64_t(client_id_))
            .bind(3, realtime_ns())
            .step();
        session.commit();
    }

    auto state = std::make_shared<StoryState>(StoryState{story_id, chronicle, story, true});
    held_.emplace(key, state);
    writer = std::make_shared<EmbeddedStoryWriter>(buffer_, std::move(state));
    return CLC_SUCCESS;
}

int EmbeddedBackend::release_story(const std::string &chronicle, const std::string &story) {
    auto held = held_.find(StoryKey(chronicle, story));
    if (held == held_.end()) {
        return fail(CLC_ERR_NOT_ACQUIRED,
                    story_label(chronicle, story) + " is not acquired by this client");
    }
    StoryState &state = *held->second;

    buffer_->set_active(state, false);
    int status = buffer_->flush();
    if (status == CLC_SUCCESS) {
        try {
            Session session(*database_);
            session.prepare("DELETE FROM acquisitions WHERE story_id = ? AND client_id = ?")
                .bind(1, state.story_id)
                .bind(2, int64_t(client_id_))
                .step();
        } catch (const Failure &failure) {
            status = fail(failure.status(), failure.what());
        }
    }
    if (status != CLC_SUCCESS) {
        buffer_->set_active(state, true);
        return status;
    }
    held_.erase(held);
    return CLC_SUCCESS;
}

int EmbeddedBackend::destroy_story(const std::string &chronicle, const std::string &story) {
    require_connection();

    Session session(*database_);
    session.begin_write();
    int64_t chronicle_id = existing_chronicle(session, chronicle);
    std::optional<int64_t> story_id = find_story(session, chronicle_id, story);
    if (!story_id) {
        return fail(CLC_ERR_NOT_EXIST, story_label(chronicle, story) + " does not exist");
    }
    auto acquired = [&] {
        Statement select = session.prepare("SELECT 1 FROM acquisitions WHERE story_id = ?");
        return select.bind(1, *story_id).step();
    };
    if (acquired() && (release_dead_clients(session) == 0 || acquired())) {
        session.commit();  // keeps the release of dead clients' stories
        return fail(CLC_ERR_ACQUIRED, story_label(chronicle, story) + " is acquired");
    }
    session.prepare("DELETE FROM events WHERE story_id = ?").bind(1, *story_id).step();
    session.prepare("DELETE FROM stories WHERE id = ?").bind(1, *story_id).step();
    session.commit();
    return CLC_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// Replay

// ChronoLog checks the reader mode first, then whether this client holds the story (a client
// that is not connected holds none).
int EmbeddedBackend::prepare_replay(const std::string &chronicle, const std::string &story,
                                    std::shared_ptr<StoryState> &state) {
    if (mode_ != CLC_MODE_READER) {
        return fail(CLC_ERR_NOT_READER_MODE, "a writer-only client cannot replay stories");
    }
    auto held = held_.find(StoryKey(chronicle, story));
    if (held == held_.end()) {
        return fail(CLC_ERR_NOT_ACQUIRED, story_label(chronicle, story) +
                                              " must be acquired by this client to replay it");
    }
    state = held->second;
    return buffer_->flush();
}

int EmbeddedBackend::replay(const std::string &chronicle, const std::string &story, uint64_t start,
                            uint64_t end, Events &events) {
    std::shared_ptr<StoryState> state;
    int status = prepare_replay(chronicle, story, state);
    if (status != CLC_SUCCESS || start >= end) {
        return status;
    }

    Session session(*database_);
    Statement select = session.prepare(kRangeQuery);
    select.bind(1, state->story_id).bind(2, sql_time(start)).bind(3, sql_time(end));
    read_rows(select, events);
    return CLC_SUCCESS;
}

int EmbeddedBackend::open_replay(const std::string &chronicle, const std::string &story,
                                 uint64_t start, uint64_t end,
                                 std::unique_ptr<ReplayCursor> &cursor) {
    std::shared_ptr<StoryState> state;
    int status = prepare_replay(chronicle, story, state);
    if (status != CLC_SUCCESS) {
        return status;
    }
    auto opened = std::make_unique<EmbeddedCursor>(database_->path(), std::move(state), start, end);
    opened->open(*database_);
    cursor = std::move(opened);
    return CLC_SUCCESS;
}

void EmbeddedCursor::open(StoreDatabase &database) {
    done_ = start_ >= end_;
    if (done_ || prefetch(database)) {
        return;
    }
    SqliteSection section;
    row_ready_ = reader_.start(kRangeQuery, {state_->story_id, start_, end_});
    done_ = !row_ready_;
}

// Reads the range on the client's connection when it is small: one statement, so one
// snapshot, with no connection to open. Returns false, holding nothing, when it is not.
bool EmbeddedCursor::prefetch(StoreDatabase &database) {
    Session session(database);
    Statement select = session.prepare(kRangeQuery);
    select.bind(1, state_->story_id).bind(2, start_).bind(3, end_);
    Events events;
    if (!read_rows(select, events, kPrefetchEvents, kPrefetchBytes)) {
        return false;
    }
    prefetched_ = EventPages(std::move(events));
    from_memory_ = true;
    done_ = prefetched_.done();
    return true;
}

int EmbeddedCursor::next(size_t max_events, Events &page) {
    if (!state_->active) {
        SqliteSection section;
        reader_.close();
        return fail(CLC_ERR_STALE_HANDLE, story_label(state_->chronicle, state_->story) +
                                              " was released; its paged replay ended");
    }
    if (done_) {
        return CLC_SUCCESS;
    }
    if (from_memory_) {
        prefetched_.next(max_events, page);
        done_ = prefetched_.done();
        return CLC_SUCCESS;
    }

    SqliteSection section;
    if (!reader_.running()) {
        ++snapshots_;
        // A fork or a failed page closed the reader: go on after the last event handed out.
        row_ready_ = started_ ? reader_.start(kResumeQuery, {state_->story_id, last_time_,
                                                             last_client_, last_index_, end_})
                              : reader_.start(kRangeQuery, {state_->story_id, start_, end_});
    }
    // A page that fails midway is never handed out: the position goes back to the last event
    // of the previous page, and the next call reads on from there in a new snapshot, as after a
    // fork, rather than after events the caller never got.
    const bool was_started = started_;
    const int64_t handed_time = last_time_, handed_client = last_client_,
                  handed_index = last_index_;
    try {
        page.reserve(std::min(max_events, kPageReserve));
        size_t rows = 0;
        while (row_ready_ && rows < max_events) {
            last_time_ = reader_.column_int(0);
            last_client_ = reader_.column_int(1);
            last_index_ = reader_.column_int(2);
            page.add(uint64_t(last_time_), uint64_t(last_client_), uint32_t(last_index_),
                     reader_.column_blob(3), reader_.column_bytes(3));
            started_ = true;
            ++rows;
            row_ready_ = reader_.step();
        }
    } catch (...) {
        reader_.close();
        started_ = was_started;
        last_time_ = handed_time;
        last_client_ = handed_client;
        last_index_ = handed_index;
        throw;
    }
    done_ = !row_ready_;
    return CLC_SUCCESS;
}

}  // namespace

std::unique_ptr<Backend> make_embedded_backend(const std::string &store_dir, int mode) {
    return std::make_unique<EmbeddedBackend>(store_dir, mode);
}

}  // namespace clc
