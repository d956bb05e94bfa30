// The interface every backend implements: one client of a log store, with ChronoLog's
// operations and status codes. The exported functions check arguments that need no state
// (null pointers, empty names) before calling in; a backend does the rest, in the order the
// real ChronoLog client does. Failures set the thread's last error (clc::fail) or throw
// clc::Failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "results.hpp"

namespace clc {

using Attributes = std::vector<std::pair<std::string, std::string>>;

// An acquired story. Its methods may be called from many threads at once.
class StoryWriter {
public:
    virtual ~StoryWriter() = default;

    virtual int log(const void *record, size_t length, uint64_t *time) = 0;

    // records holds count records back to back; lengths[i] is the size of the i-th.
    // logged receives how many were logged, also on failure.
    virtual int log_many(const char *records, const uint64_t *lengths, size_t count,
                         uint64_t *times, size_t &logged) = 0;
};

// A paged replay; called with its client's calls serialised.
class ReplayCursor {
public:
    virtual ~ReplayCursor() = default;

    // Appends at most max_events events to page; none means the replay is over.
    virtual int next(size_t max_events, Events &page) = 0;
    // How many snapshots the pages handed out so far came from.
    virtual uint64_t snapshots() const { return 1; }
};

// Calls on one backend are serialised by the caller.
class Backend {
public:
    virtual ~Backend() = default;

    virtual int backend_id() const = 0;
    virtual int mode() const = 0;

    virtual int connect() = 0;
    virtual int disconnect() = 0;
    virtual bool is_connected() const = 0;
    virtual int client_id(uint64_t &id) const = 0;
    virtual int flush() = 0;

    // Releases every story, disconnects and stops background work, whatever fails on the way;
    // returns the first failure. The backend is unusable afterwards.
    virtual int close() = 0;

    // Best effort at process exit: make logged events durable without waiting on other
    // callers of this backend.
    virtual void flush_at_exit() noexcept = 0;

    virtual int create_chronicle(const std::string &chronicle, const Attributes &attributes,
                                 int &flags) = 0;
    virtual int destroy_chronicle(const std::string &chronicle) = 0;
    virtual int get_chronicle_attr(const std::string &chronicle, const std::string &key,
                                   std::string &value) = 0;
    virtual int edit_chronicle_attr(const std::string &chronicle, const std::string &key,
                                    const std::string &value) = 0;
    virtual int list_chronicles(StringList &names) = 0;
    virtual int list_stories(const std::string &chronicle, StringList &names) = 0;

    virtual int acquire_story(const std::string &chronicle, const std::string &story,
                              const Attributes &attributes, int &flags,
                              std::shared_ptr<StoryWriter> &writer) = 0;
    virtual int release_story(const std::string &chronicle, const std::string &story) = 0;
    virtual int destroy_story(const std::string &chronicle, const std::string &story) = 0;

    // start <= end here; start == end passes the same checks and gives no events.
    virtual int replay(const std::string &chronicle, const std::string &story, uint64_t start,
                       uint64_t end, Events &events) = 0;
    virtual int open_replay(const std::string &chronicle, const std::string &story, uint64_t start,
                            uint64_t end, std::unique_ptr<ReplayCursor> &cursor) = 0;
};

std::unique_ptr<Backend> make_embedded_backend(const std::string &store_dir, int mode);

struct ServiceConf {
    std::string protocol;
    std::string ip;
    int port;
    int provider_id;
};

#ifdef CLC_HAVE_CHRONOLOG
// query is null for a writer-only client.
std::unique_ptr<Backend> make_chronolog_backend(const ServiceConf &portal,
                                                const ServiceConf *query);
#endif

}  // namespace clc
