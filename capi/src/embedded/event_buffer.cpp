#include "embedded/event_buffer.hpp"

#include <time.h>

#include <algorithm>
#include <cstring>

#include "chronolog_capi.h"
#include "diagnostics.hpp"
#include "embedded/store_database.hpp"

namespace clc {
namespace {

constexpr const char *kInsertEvent =
    "INSERT OR IGNORE INTO events(story_id, time, client_id, idx, record) VALUES(?,?,?,?,?)";

// Capacity is kept while batches are large (no reallocation under the lock at each batch) and
// given back once a batch uses less than a quarter of it.
constexpr size_t kKeptCapacity = size_t(16) << 20;

template <class T>
void clear_keeping_useful_capacity(std::vector<T> &items) {
    bool oversized =
        items.capacity() * sizeof(T) > kKeptCapacity && items.size() < items.capacity() / 4;
    if (oversized) {
        std::vector<T>().swap(items);
    } else {
        items.clear();
    }
}

uint64_t realtime_ns() {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return uint64_t(now.tv_sec) * 1000000000u + uint64_t(now.tv_nsec);
}

}  // namespace

void EventBuffer::Batch::clear() {
    clear_keeping_useful_capacity(events);
    clear_keeping_useful_capacity(records);
}

void EventBuffer::Batch::append(const Batch &other) {
    uint64_t shift = records.size();
    records.insert(records.end(), other.records.begin(), other.records.end());
    for (PendingEvent event : other.events) {
        event.offset += shift;
        events.push_back(event);
    }
}

EventBuffer::~EventBuffer() {
    stop();
}

void EventBuffer::start(StoreDatabase &database, uint64_t client_id) {
    stop();
    database_ = &database;
    client_id_ = client_id;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = false;
    }
    flusher_ = std::thread([this] { run_flusher(); });
}

void EventBuffer::stop() noexcept {
    if (!flusher_.joinable()) {
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    flusher_wakeup_.notify_all();
    flusher_.join();
}

size_t EventBuffer::discard() noexcept {
    std::lock_guard<std::mutex> flush_lock(flush_mutex_);
    std::lock_guard<std::mutex> lock(mutex_);
    size_t dropped = filling_.events.size();
    filling_.clear();
    pending_bytes_ = 0;
    failure_.reset();
    space_freed_.notify_all();
    return dropped;
}

void EventBuffer::set_active(StoryState &story, bool active) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        story.active = active;
    }
    space_freed_.notify_all();
}

// Waits, when the buffer is full, until the flusher has made room; footprint is what the caller
// is about to add. A batch larger than the whole limit is let in once the buffer is empty.
int EventBuffer::admit(std::unique_lock<std::mutex> &lock, StoryState &story, size_t footprint) {
    for (;;) {
        if (!story.active) {
            return fail(CLC_ERR_STALE_HANDLE, "the story '" + story.story + "' of chronicle '" +
                                                  story.chronicle + "' was released");
        }
        if (failure_) {
            return fail(CLC_ERR_STORE_IO,
                        "the embedded store cannot be written, so logging "
                        "stops until a flush succeeds: " +
                            *failure_);
        }
        if (pending_bytes_ == 0 || pending_bytes_ + footprint <= limits_.max_bytes) {
            return CLC_SUCCESS;
        }
        urgent_ = true;
        flusher_wakeup_.notify_one();
        space_freed_.wait(lock);
    }
}

void EventBuffer::note_appended(size_t footprint_before) {
    if (footprint_before == 0) {
        first_pending_ = std::chrono::steady_clock::now();
        flusher_wakeup_.notify_one();
    } else if (footprint_before < limits_.flush_bytes &&
               filling_.footprint() >= limits_.flush_bytes) {
        flusher_wakeup_.notify_one();
    }
}

int EventBuffer::log(StoryState &story, const void *record, size_t length, uint64_t *time) {
    uint64_t record_length = length;
    size_t logged;
    return log_many(story, static_cast<const char *>(record), &record_length, 1, time, logged);
}

int EventBuffer::log_many(StoryState &story, const char *records, const uint64_t *lengths,
                          size_t count, uint64_t *times, size_t &logged) {
    logged = 0;
    if (count == 0) {
        return CLC_SUCCESS;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < count; ++i) {
        if (lengths[i] > SIZE_MAX - total) {
            return fail(CLC_ERR_INVALID_ARG, "the record lengths add up to more than memory");
        }
        total += lengths[i];
    }

    uint64_t now = realtime_ns();
    std::unique_lock<std::mutex> lock(mutex_);
    int status = admit(lock, story, count * sizeof(PendingEvent) + total);
    if (status != CLC_SUCCESS) {
        return status;
    }
    uint64_t first_time = append(story.story_id, records, lengths, count, total, now);
    lock.unlock();

    if (times != nullptr) {
        for (size_t i = 0; i < count; ++i) {
            times[i] = first_time + i;
        }
    }
    logged = count;
    return CLC_SUCCESS;
}

// Called with mutex_ held. Appends all the events or, when memory runs out, none; returns the
// first one's time.
uint64_t EventBuffer::append(int64_t story_id, const char *records, const uint64_t *lengths,
                             size_t count, uint64_t total, uint64_t now) {
    size_t footprint_before = filling_.footprint();
    size_t needed = filling_.events.size() + count;
    if (filling_.events.capacity() < needed) {
        filling_.events.reserve(std::max(needed, 2 * filling_.events.capacity()));
    }
    uint64_t offset = filling_.records.size();
    filling_.records.insert(filling_.records.end(), records, records + total);

    // From here on nothing allocates, so nothing can fail half-way.
    uint64_t first_time = std::max(now, last_time_ + 1);
    for (size_t i = 0; i < count; ++i) {
        filling_.events.push_back(
            PendingEvent{story_id, first_time + i, next_index_++, offset, lengths[i]});
        offset += lengths[i];
    }
    last_time_ = first_time + count - 1;
    pending_bytes_ += count * sizeof(PendingEvent) + total;
    note_appended(footprint_before);
    return first_time;
}

int EventBuffer::flush() {
    std::lock_guard<std::mutex> flush_lock(flush_mutex_);
    return write_pending();
}

// Called with flush_mutex_ held.
int EventBuffer::write_pending() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        urgent_ = false;
        if (filling_.empty()) {
            return CLC_SUCCESS;
        }
        std::swap(filling_, writing_);
    }

    try {
        write(writing_);
    } catch (const Failure &failure) {
        size_t count = writing_.events.size();
        bool first_failure;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            writing_.append(filling_);
            std::swap(filling_, writing_);
            first_failure = !failure_;
            failure_ = failure.what();
        }
        writing_.clear();
        if (first_failure) {
            queue_message(CLC_LOG_ERROR, "client " + std::to_string(client_id_) + ": writing " +
                                             std::to_string(count) +
                                             " events failed; they stay buffered and are "
                                             "retried: " +
                                             failure.what());
        }
        space_freed_.notify_all();
        return fail(CLC_ERR_STORE_IO, failure.what());
    }

    bool recovered;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        pending_bytes_ -= writing_.footprint();
        recovered = failure_.has_value();
        failure_.reset();
    }
    writing_.clear();
    space_freed_.notify_all();
    if (recovered) {
        queue_message(CLC_LOG_WARNING, "client " + std::to_string(client_id_) +
                                           ": buffered events were written after earlier "
                                           "failures");
    }
    return CLC_SUCCESS;
}

void EventBuffer::write(const Batch &batch) {
    Session session(*database_);
    session.begin_write();
    {
        Statement insert = session.prepare(kInsertEvent);
        for (const PendingEvent &event : batch.events) {
            insert.bind(1, event.story_id)
                .bind(2, int64_t(event.time))
                .bind(3, int64_t(client_id_))
                .bind(4, int64_t(event.index))
                .bind_blob(5, batch.records.data() + event.offset, event.length);
            insert.step();
            insert.reset();
        }
    }
    session.commit();
}

void EventBuffer::run_flusher() {
    auto retry_delay = std::chrono::milliseconds(10);
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
        if (filling_.empty()) {
            flusher_wakeup_.wait(lock, [this] { return stopping_ || !filling_.empty(); });
            continue;
        }
        if (failure_) {
            flusher_wakeup_.wait_for(lock, retry_delay, [this] { return stopping_; });
            retry_delay = std::min(retry_delay * 2, std::chrono::milliseconds(1000));
        } else {
            retry_delay = std::chrono::milliseconds(10);
            flusher_wakeup_.wait_until(lock, first_pending_ + limits_.flush_interval, [this] {
                return stopping_ || urgent_ || filling_.footprint() >= limits_.flush_bytes;
            });
        }
        if (stopping_) {
            break;
        }

        lock.unlock();
        {
            std::lock_guard<std::mutex> flush_lock(flush_mutex_);
            write_pending();
        }
        clear_last_error();
        lock.lock();
    }
}

}  // namespace clc
