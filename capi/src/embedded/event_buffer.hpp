// The events a client of the embedded store has logged but not yet written. Logging appends to
// memory under one short lock; a background thread writes the buffer to the store in large
// transactions, and synchronous flushes (release, disconnect, replay, clc_client_flush) write
// it at once. A failed write keeps the events and is retried; until a write succeeds again,
// logging and flushing report CLC_ERR_STORE_IO.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace clc {

class StoreDatabase;

// An acquired story as the buffer sees it. active is guarded by the buffer's lock.
struct StoryState {
    int64_t story_id;
    std::string chronicle;
    std::string story;
    bool active = true;
};

class EventBuffer {
public:
    // A bound of 16 MiB writes as fast as 64 MiB did (SQLite is the bottleneck either way) and
    // keeps a bulk writer's memory at a third: the two batches' arrays can take twice the bound.
    struct Limits {
        size_t max_bytes = size_t(16) << 20;   // logging waits beyond this
        size_t flush_bytes = size_t(4) << 20;  // the flusher starts at once beyond this
        std::chrono::milliseconds flush_interval{5};
    };

    EventBuffer() = default;
    explicit EventBuffer(Limits limits) : limits_(limits) {}
    ~EventBuffer();
    EventBuffer(const EventBuffer &) = delete;
    EventBuffer &operator=(const EventBuffer &) = delete;

    // Starts the background flusher writing for client_id to database.
    void start(StoreDatabase &database, uint64_t client_id);
    // Stops the flusher; buffered events stay buffered.
    void stop() noexcept;
    // Drops buffered events (the client is going away) and returns how many.
    size_t discard() noexcept;

    int log(StoryState &story, const void *record, size_t length, uint64_t *time);
    int log_many(StoryState &story, const char *records, const uint64_t *lengths, size_t count,
                 uint64_t *times, size_t &logged);

    // Writes every event logged before the call; CLC_ERR_STORE_IO when that fails.
    int flush();

    void set_active(StoryState &story, bool active);

private:
    struct PendingEvent {
        int64_t story_id;
        uint64_t time;
        uint32_t index;
        uint64_t offset;
        uint64_t length;
    };

    struct Batch {
        std::vector<PendingEvent> events;
        std::vector<char> records;

        size_t footprint() const { return events.size() * sizeof(PendingEvent) + records.size(); }
        bool empty() const { return events.empty(); }
        void clear();
        void append(const Batch &other);
    };

    int admit(std::unique_lock<std::mutex> &lock, StoryState &story, size_t footprint);
    uint64_t append(int64_t story_id, const char *records, const uint64_t *lengths, size_t count,
                    uint64_t total, uint64_t now);
    void note_appended(size_t footprint_before);
    int write_pending();
    void write(const Batch &batch);
    void run_flusher();

    const Limits limits_;

    std::mutex mutex_;  // guards everything below up to flush_mutex_
    std::condition_variable flusher_wakeup_;
    std::condition_variable space_freed_;
    Batch filling_;
    size_t pending_bytes_ = 0;  // filling_ plus the batch being written
    std::chrono::steady_clock::time_point first_pending_;
    uint64_t last_time_ = 0;
    uint32_t next_index_ = 0;
    bool urgent_ = false;
    bool stopping_ = false;
    std::optional<std::string> failure_;

    std::mutex flush_mutex_;  // one writer at a time; guards writing_
    Batch writing_;

    StoreDatabase *database_ = nullptr;
    uint64_t client_id_ = 0;
    std::thread flusher_;
};

}  // namespace clc
