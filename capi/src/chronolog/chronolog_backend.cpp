// The ChronoLog backend: each clc client is a view of the process's one ChronoLog client
// (process_client.hpp) with its own connection state and its own set of held stories, so that
// clc clients of one process cannot disconnect or release anything under each other.
#include <algorithm>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "chronolog/endpoint.hpp"
#include "chronolog/process_client.hpp"
#include "chronolog_capi.h"
#include "diagnostics.hpp"

namespace clc {
namespace {

using StoryKey = std::pair<std::string, std::string>;

std::string story_label(const std::string &chronicle, const std::string &story) {
    return "story '" + story + "' of chronicle '" + chronicle + "'";
}

// A story as one clc client holds it. held turns false when that client releases it; it is
// read and written only with the client's calls serialised.
struct HeldStory {
    explicit HeldStory(std::shared_ptr<SharedStory> story) : shared(std::move(story)) {}

    std::shared_ptr<SharedStory> shared;
    bool held = true;
};

class ChronologStoryWriter : public StoryWriter {
public:
    explicit ChronologStoryWriter(std::shared_ptr<SharedStory> story) : story_(std::move(story)) {}

    int log(const void *record, size_t length, uint64_t *time) override {
        std::shared_lock<std::shared_mutex> guard(story_->guard);
        if (length == 0 && story_->handle != nullptr) {
            return refuse_empty("");
        }
        return log_one(static_cast<const char *>(record), length, time);
    }

    int log_many(const char *records, const uint64_t *lengths, size_t count, uint64_t *times,
                 size_t &logged) override {
        std::shared_lock<std::shared_mutex> guard(story_->guard);
        logged = 0;
        for (size_t i = 0; i < count && story_->handle != nullptr; ++i) {
            if (lengths[i] == 0) {
                return refuse_empty(" (record " + std::to_string(i) + " of " +
                                    std::to_string(count) + "; none of them was logged)");
            }
        }
        uint64_t offset = 0;
        for (logged = 0; logged < count; ++logged) {
            int status = log_one(records + offset, lengths[logged],
                                 times != nullptr ? times + logged : nullptr);
            if (status != CLC_SUCCESS) {
                return status;
            }
            offset += lengths[logged];
        }
        return CLC_SUCCESS;
    }

private:
    // ChronoLog's servers keep no event whose record is empty, yet its client answers with a
    // timestamp: refusing it is the only way not to lose it silently.
    int refuse_empty(const std::string &which) {
        return fail(CLC_ERR_INVALID_ARG,
                    "an empty record cannot be logged to " +
                        story_label(story_->chronicle, story_->story) + which +
                        ": ChronoLog's servers discard events whose record is empty");
    }

    // Called with the story's guard held in shared mode.
    int log_one(const char *record, size_t length, uint64_t *time) {
        if (story_->handle == nullptr) {
            return fail(CLC_ERR_STALE_HANDLE,
                        story_label(story_->chronicle, story_->story) + " was released");
        }
        uint64_t logged_at = story_->handle->log_event(std::string(record, length));
        if (logged_at == 0) {
            // ChronoLog's only two failures: no ChronoKeeper assigned, or the one chosen did
            // not take the event.
            return fail(CLC_ERR_NO_KEEPERS, "no ChronoKeeper took the event for " +
                                                story_label(story_->chronicle, story_->story) +
                                                " (ChronoLog's log_event returned 0)");
        }
        if (time != nullptr) {
            *time = logged_at;
        }
        return CLC_SUCCESS;
    }

    std::shared_ptr<SharedStory> story_;
};

// ChronoPlayer answers a replay in pieces, one per archive file, and ChronoLog's client takes
// whatever has arrived when it next looks; a piece that arrives later can even land in the
// next replay of the process. So events are kept only within the range asked for, then put
// in event order without duplicates.
void tidy(std::vector<chronolog::Event> &events, uint64_t start, uint64_t end) {
    auto outside = [&](const chronolog::Event &event) {
        return event.time() < start || event.time() >= end;
    };
    events.erase(std::remove_if(events.begin(), events.end(), outside), events.end());
    std::sort(events.begin(), events.end());
    events.erase(std::unique(events.begin(), events.end()), events.end());
}

void add_events(const std::vector<chronolog::Event> &from, Events &to) {
    to.reserve(from.size());
    for (const chronolog::Event &event : from) {
        const std::string &record = event.log_record();
        to.add(event.time(), event.client_id(), event.index(), record.data(), record.size());
    }
}

// The events of the whole range are fetched when the replay opens (ChronoLog answers a range
// at once, and a range with nothing archived is never answered), kept compact, then handed out
// page by page.
class ChronologCursor : public ReplayCursor {
public:
    ChronologCursor(std::shared_ptr<HeldStory> story, Events events)
        : story_(std::move(story)), pages_(std::move(events)) {}

    int next(size_t max_events, Events &page) override {
        if (!story_->held) {
            return fail(CLC_ERR_STALE_HANDLE,
                        story_label(story_->shared->chronicle, story_->shared->story) +
                            " was released; its paged replay ended");
        }
        pages_.next(max_events, page);
        return CLC_SUCCESS;
    }

private:
    std::shared_ptr<HeldStory> story_;
    EventPages pages_;
};

class ChronologBackend : public Backend {
public:
    explicit ChronologBackend(ClientSettings settings)
        : settings_(std::move(settings)), process_(ProcessClient::instance()) {}

    ~ChronologBackend() override {
        try {
            close();
        } catch (...) {
            // The owner already reported what close() returned.
        }
    }

    int backend_id() const override { return CLC_BACKEND_CHRONOLOG; }
    int mode() const override { return settings_.reader ? CLC_MODE_READER : CLC_MODE_WRITER; }

    int connect() override;
    int disconnect() override;
    bool is_connected() const override { return connected_; }
    int client_id(uint64_t &id) const override;
    int flush() override;
    int close() override;
    // log_event is one synchronous call to a ChronoKeeper: nothing waits in this process.
    void flush_at_exit() noexcept override {}

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
    int fetch(const std::string &chronicle, const std::string &story, uint64_t start, uint64_t end,
              std::shared_ptr<HeldStory> &held, std::vector<chronolog::Event> &events);

    const ClientSettings settings_;
    ProcessClient &process_;
    bool connected_ = false;
    std::map<StoryKey, std::shared_ptr<HeldStory>> held_;
};

void ChronologBackend::require_connection() const {
    if (!connected_) {
        throw Failure(CLC_ERR_NO_CONNECTION,
                      "the client is not connected to ChronoLog (" + settings_.describe() + ")");
    }
}

int ChronologBackend::connect() {
    if (connected_) {
        return CLC_SUCCESS;
    }
    int status = process_.connect(settings_);
    connected_ = status == CLC_SUCCESS;
    return status;
}

int ChronologBackend::disconnect() {
    if (!connected_) {
        return CLC_SUCCESS;
    }
    if (!held_.empty()) {
        const StoryKey &first = held_.begin()->first;
        return fail(CLC_ERR_ACQUIRED, std::to_string(held_.size()) +
                                          " stories are still acquired (" +
                                          story_label(first.first, first.second) +
                                          " among them); release them before disconnecting");
    }
    connected_ = false;
    return process_.disconnect();
}

int ChronologBackend::client_id(uint64_t &) const {
    require_connection();
    return fail(CLC_ERR_UNKNOWN,
                "ChronoLog's client does not reveal the id ChronoVisor gave it; the events "
                "this process logs carry it when they are replayed");
}

int ChronologBackend::flush() {
    require_connection();
    return CLC_SUCCESS;
}

int ChronologBackend::close() {
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
        note(release_story(key.first, key.second));
    }
    note(disconnect());
    if (first_error != CLC_SUCCESS) {
        fail(first_error, first_message);
    }
    return first_error;
}

// ---------------------------------------------------------------------------------------------
// Chronicles

int ChronologBackend::create_chronicle(const std::string &chronicle, const Attributes &attributes,
                                       int &flags) {
    require_connection();
    return process_.create_chronicle(chronicle, attributes, flags);
}

int ChronologBackend::destroy_chronicle(const std::string &chronicle) {
    require_connection();
    return process_.destroy_chronicle(chronicle);
}

int ChronologBackend::get_chronicle_attr(const std::string &chronicle, const std::string &key,
                                         std::string &value) {
    require_connection();
    return process_.get_chronicle_attr(chronicle, key, value);
}

int ChronologBackend::edit_chronicle_attr(const std::string &chronicle, const std::string &key,
                                          const std::string &value) {
    require_connection();
    return process_.edit_chronicle_attr(chronicle, key, value);
}

int ChronologBackend::list_chronicles(StringList &names) {
    require_connection();
    std::vector<std::string> found;
    int status = process_.list_chronicles(found);
    std::sort(found.begin(), found.end());
    for (const std::string &name : found) {
        names.add(name);
    }
    return status;
}

int ChronologBackend::list_stories(const std::string &chronicle, StringList &names) {
    require_connection();
    std::vector<std::string> found;
    int status = process_.list_stories(chronicle, found);
    std::sort(found.begin(), found.end());
    for (const std::string &name : found) {
        names.add(name);
    }
    return status;
}

// ---------------------------------------------------------------------------------------------
// Stories

int ChronologBackend::acquire_story(const std::string &chronicle, const std::string &story,
                                    const Attributes &attributes, int &flags,
                                    std::shared_ptr<StoryWriter> &writer) {
    require_connection();

    StoryKey key(chronicle, story);
    auto held = held_.find(key);
    if (held != held_.end()) {
        writer = std::make_shared<ChronologStoryWriter>(held->second->shared);
        return CLC_SUCCESS;
    }

    std::shared_ptr<SharedStory> shared;
    int status = process_.acquire_story(chronicle, story, attributes, flags, shared);
    if (status != CLC_SUCCESS) {
        return status;
    }
    held_.emplace(std::move(key), std::make_shared<HeldStory>(shared));
    writer = std::make_shared<ChronologStoryWriter>(std::move(shared));
    return CLC_SUCCESS;
}

// As ChronoLog: whether this client holds the story is checked first, even before Connect.
int ChronologBackend::release_story(const std::string &chronicle, const std::string &story) {
    auto held = held_.find(StoryKey(chronicle, story));
    if (held == held_.end()) {
        return fail(CLC_ERR_NOT_ACQUIRED,
                    story_label(chronicle, story) + " is not acquired by this client");
    }
    std::shared_ptr<HeldStory> story_held = held->second;
    held_.erase(held);
    story_held->held = false;
    return process_.release_story(story_held->shared);
}

int ChronologBackend::destroy_story(const std::string &chronicle, const std::string &story) {
    require_connection();
    return process_.destroy_story(chronicle, story);
}

// ---------------------------------------------------------------------------------------------
// Replay

// ChronoLog checks the reader mode, then whether the story is acquired; a client that is not
// connected holds no story.
int ChronologBackend::fetch(const std::string &chronicle, const std::string &story, uint64_t start,
                            uint64_t end, std::shared_ptr<HeldStory> &held,
                            std::vector<chronolog::Event> &events) {
    if (!settings_.reader) {
        return fail(CLC_ERR_NOT_READER_MODE, "a writer-only client cannot replay stories");
    }
    auto found = held_.find(StoryKey(chronicle, story));
    if (found == held_.end()) {
        return fail(CLC_ERR_NOT_ACQUIRED, story_label(chronicle, story) +
                                              " must be acquired by this client to replay it");
    }
    held = found->second;
    // ChronoPlayer never answers an empty range.
    if (start >= end) {
        return CLC_SUCCESS;
    }

    int status = process_.replay(chronicle, story, start, end, events);
    if (status == CLC_SUCCESS) {
        tidy(events, start, end);
    }
    return status;
}

int ChronologBackend::replay(const std::string &chronicle, const std::string &story, uint64_t start,
                             uint64_t end, Events &events) {
    std::shared_ptr<HeldStory> held;
    std::vector<chronolog::Event> found;
    int status = fetch(chronicle, story, start, end, held, found);
    if (status == CLC_SUCCESS) {
        add_events(found, events);
    }
    return status;
}

int ChronologBackend::open_replay(const std::string &chronicle, const std::string &story,
                                  uint64_t start, uint64_t end,
                                  std::unique_ptr<ReplayCursor> &cursor) {
    std::shared_ptr<HeldStory> held;
    std::vector<chronolog::Event> found;
    int status = fetch(chronicle, story, start, end, held, found);
    if (status == CLC_SUCCESS) {
        Events events;
        add_events(found, events);
        cursor = std::make_unique<ChronologCursor>(std::move(held), std::move(events));
    }
    return status;
}

}  // namespace

std::unique_ptr<Backend> make_chronolog_backend(const ServiceConf &portal,
                                                const ServiceConf *query) {
    ClientSettings settings;
    settings.portal = portal;
    check_endpoint_settings(portal, false);
    if (query != nullptr) {
        check_endpoint_settings(*query, true);
        settings.reader = true;
        settings.query = *query;
    }
    int status = ProcessClient::instance().check_settings(settings);
    if (status != CLC_SUCCESS) {
        throw Failure(status, last_error());
    }
    return std::make_unique<ChronologBackend>(std::move(settings));
}

}  // namespace clc
