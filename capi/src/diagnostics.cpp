#include "diagnostics.hpp"

#include <atomic>
#include <deque>
#include <mutex>
#include <new>

#include "chronolog_capi.h"

namespace clc {
namespace {

thread_local std::string t_last_error;

constexpr size_t kQueueCapacity = 1000;

struct Message {
    int level;
    std::string text;
};

struct MessageQueue {
    std::mutex mutex;
    std::deque<Message> messages;
    size_t dropped = 0;
    std::atomic<int> min_level{CLC_LOG_WARNING};
};

// Never destroyed: background threads may still queue messages while the process exits.
MessageQueue &queue() {
    static MessageQueue *instance = new MessageQueue;
    return *instance;
}

}  // namespace

int fail(int status, std::string_view message) noexcept {
    try {
        t_last_error = message;
    } catch (...) {
        t_last_error.clear();
    }
    return status;
}

void clear_last_error() noexcept {
    t_last_error.clear();
}

bool has_last_error() noexcept {
    return !t_last_error.empty();
}

const char *last_error() noexcept {
    return t_last_error.c_str();
}

void queue_message(int level, const std::string &text) noexcept {
    MessageQueue &q = queue();
    if (level < q.min_level.load(std::memory_order_relaxed)) {
        return;
    }
    try {
        std::lock_guard<std::mutex> lock(q.mutex);
        if (q.messages.size() >= kQueueCapacity) {
            q.messages.pop_front();
            ++q.dropped;
        }
        q.messages.push_back(Message{level, text});
    } catch (...) {
        // A message that cannot be stored is lost; the caller's own status is what matters.
    }
}

void set_message_level(int min_level) noexcept {
    queue().min_level.store(min_level, std::memory_order_relaxed);
}

bool next_message(int &level, std::string &text) {
    MessageQueue &q = queue();
    std::lock_guard<std::mutex> lock(q.mutex);
    if (q.dropped > 0) {
        level = CLC_LOG_WARNING;
        text = std::to_string(q.dropped) + " older library messages were dropped (queue full)";
        q.dropped = 0;
        return true;
    }
    if (q.messages.empty()) {
        return false;
    }
    level = q.messages.front().level;
    text = std::move(q.messages.front().text);
    q.messages.pop_front();
    return true;
}

void prepare_messages_for_fork() noexcept {
    queue().mutex.lock();
}

void resume_messages_after_fork() noexcept {
    queue().mutex.unlock();
}

// The parent reports its own messages; the child would only repeat them.
void reset_messages_in_child() noexcept {
    MessageQueue &q = queue();
    new (&q.mutex) std::mutex;
    q.messages.clear();
    q.dropped = 0;
}

}  // namespace clc
