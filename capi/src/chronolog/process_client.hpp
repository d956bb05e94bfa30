// The one ChronoLog client of this process, shared by every clc client of the ChronoLog backend.
//
// ChronoLog's client library keeps a single client implementation per process: every
// chronolog::Client object is a view of it, deleting one deletes the shared implementation
// under the others, and a new one cannot be made afterwards. So this library makes exactly one
// chronolog::Client, on the first connect of the process, and never deletes it. Its settings
// (portal, and query endpoint for a reader) are fixed from then on.
//
// On top of it this class keeps what ChronoLog's client cannot: how many clc clients are
// connected (the real Disconnect happens when the last one disconnects), and how many hold
// each story (the real ReleaseStory, which frees ChronoLog's StoryHandle, happens when the last
// one releases it). A StoryHandle is used only under its story's guard, and only while the
// story is held, so no thread ever touches a freed one.
#pragma once

#include <chronolog_client.h>
#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "backend.hpp"

namespace clc {

// What a clc client of the ChronoLog backend asks for.
struct ClientSettings {
    ServiceConf portal;
    bool reader = false;
    ServiceConf query;  // used when reader

    std::string describe() const;
};

// A story acquired through ChronoLog's client, shared by the clc clients that hold it.
struct SharedStory {
    SharedStory(std::string chronicle_name, std::string story_name,
                chronolog::StoryHandle *story_handle)
        : chronicle(std::move(chronicle_name)),
          story(std::move(story_name)),
          handle(story_handle) {}

    const std::string chronicle;
    const std::string story;
    std::shared_mutex guard;         // shared while logging, exclusive while releasing
    chronolog::StoryHandle *handle;  // guarded by guard; null once released
    int holders = 1;                 // guarded by the ProcessClient's mutex
};

class ProcessClient {
public:
    // The process's instance; never destroyed, so that threads still running at exit find it.
    static ProcessClient &instance();

    // CL_SUCCESS when a client with these settings can share this process's ChronoLog client
    // (always, before it exists); CL_ERR_INVALID_ARG or CLC_ERR_FORKED otherwise.
    int check_settings(const ClientSettings &settings);

    // Counted: the first connect makes (once per process) and connects ChronoLog's client,
    // after probing the portal; the last disconnect disconnects it.
    int connect(const ClientSettings &settings);
    int disconnect();

    // These need a connected client (the caller checks its own connection first); they do not
    // wait for the connect, acquire and release calls of other clients.
    int create_chronicle(const std::string &chronicle, const Attributes &attributes, int &flags);
    int destroy_chronicle(const std::string &chronicle);
    int get_chronicle_attr(const std::string &chronicle, const std::string &key,
                           std::string &value);
    int edit_chronicle_attr(const std::string &chronicle, const std::string &key,
                            const std::string &value);
    int list_chronicles(std::vector<std::string> &names);
    int list_stories(const std::string &chronicle, std::vector<std::string> &names);
    int destroy_story(const std::string &chronicle, const std::string &story);

    int acquire_story(const std::string &chronicle, const std::string &story,
                      const Attributes &attributes, int &flags,
                      std::shared_ptr<SharedStory> &shared);
    // Drops one holder; the last one releases the story in ChronoLog.
    int release_story(const std::shared_ptr<SharedStory> &shared);

    // One replay at a time per process: ChronoLog's client matches every answer of
    // ChronoPlayer to a single query slot. Events are appended in ChronoLog's order.
    int replay(const std::string &chronicle, const std::string &story, uint64_t start, uint64_t end,
               std::vector<chronolog::Event> &events);

private:
    ProcessClient() = default;

    bool forked() const;
    chronolog::Client &connected_client();
    int start_client(const ClientSettings &settings);
    int refusal(const ClientSettings &settings) const;

    // Set once and never deleted (see the file comment), so read without the mutex; the process
    // that started it, read without the mutex, which a thread of the parent may have held when
    // a child was forked.
    std::atomic<chronolog::Client *> client_{nullptr};
    std::atomic<pid_t> owner_pid_{0};

    std::mutex mutex_;  // guards every member below up to replay_mutex_; held while connecting,
                        // acquiring and releasing
    std::optional<ClientSettings> settings_;  // set once ChronoLog's client exists
    int connections_ = 0;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<SharedStory>> stories_;

    std::mutex replay_mutex_;
};

}  // namespace clc
