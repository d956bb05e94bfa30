#include "chronolog/process_client.hpp"

#include <unistd.h>

#include <algorithm>
#include <exception>

#include "chronolog/endpoint.hpp"
#include "chronolog_capi.h"
#include "diagnostics.hpp"
#include "status.hpp"

namespace clc {
namespace {

bool same_endpoint(const ServiceConf &a, const ServiceConf &b) {
    return a.protocol == b.protocol && a.ip == b.ip && a.port == b.port &&
           a.provider_id == b.provider_id;
}

std::string story_label(const std::string &chronicle, const std::string &story) {
    return "story '" + story + "' of chronicle '" + chronicle + "'";
}

// "CL_ERR_NOT_EXIST (chronicle, story or attribute does not exist)".
std::string status_text(int status) {
    return std::string(status_name(status)) + " (" + status_description(status) + ")";
}

int refuse_in_forked_child() {
    return fail(CLC_ERR_FORKED,
                "this process was forked from one that had started ChronoLog's client, which "
                "cannot work in the child; ChronoLog clients must be made in a process whose "
                "parent never connected one");
}

std::map<std::string, std::string> attribute_map(const Attributes &attributes) {
    std::map<std::string, std::string> map;
    for (const auto &attribute : attributes) {
        map[attribute.first] = attribute.second;
    }
    return map;
}

}  // namespace

std::string ClientSettings::describe() const {
    std::string text = "portal " + describe_endpoint(portal);
    if (reader) {
        return text + ", reader listening on " + describe_endpoint(query);
    }
    return text + ", writer-only";
}

ProcessClient &ProcessClient::instance() {
    static ProcessClient *process_client = new ProcessClient();
    return *process_client;
}

bool ProcessClient::forked() const {
    pid_t owner = owner_pid_.load();
    return owner != 0 && owner != getpid();
}

int ProcessClient::refusal(const ClientSettings &settings) const {
    if (!settings_) {
        return CLC_SUCCESS;
    }
    const ClientSettings &started = *settings_;
    bool same_query =
        !settings.reader || (started.reader && same_endpoint(started.query, settings.query));
    if (same_endpoint(started.portal, settings.portal) && same_query) {
        return CLC_SUCCESS;
    }
    return fail(CLC_ERR_INVALID_ARG,
                "this process's ChronoLog client was started for " + started.describe() +
                    "; ChronoLog allows one client per process and cannot start another, so a "
                    "client for " +
                    settings.describe() +
                    " cannot be made in this process: use the same settings (a writer-only "
                    "client may share a reader's), or another process");
}

int ProcessClient::check_settings(const ClientSettings &settings) {
    if (forked()) {
        return refuse_in_forked_child();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    return refusal(settings);
}

int ProcessClient::start_client(const ClientSettings &settings) {
    chronolog::ClientPortalServiceConf portal;
    portal.PROTO_CONF = settings.portal.protocol;
    portal.IP = settings.portal.ip;
    portal.PORT = uint16_t(settings.portal.port);
    portal.PROVIDER_ID = uint16_t(settings.portal.provider_id);
    try {
        if (settings.reader) {
            // ChronoLog's client crashes when it cannot listen on its query endpoint.
            int status = check_can_listen(settings.query);
            if (status != CLC_SUCCESS) {
                return status;
            }
            chronolog::ClientQueryServiceConf query;
            query.PROTO_CONF = settings.query.protocol;
            query.IP = settings.query.ip;
            query.PORT = uint16_t(settings.query.port);
            query.PROVIDER_ID = uint16_t(settings.query.provider_id);
            client_.store(new chronolog::Client(portal, query));
        } else {
            client_.store(new chronolog::Client(portal));
        }
    } catch (const std::exception &error) {
        return fail(CLC_ERR_UNKNOWN, "ChronoLog's client could not start for " +
                                         settings.describe() + ": " + error.what());
    }
    settings_ = settings;
    owner_pid_.store(getpid());
    return CLC_SUCCESS;
}

int ProcessClient::connect(const ClientSettings &settings) {
    if (forked()) {
        return refuse_in_forked_child();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    int status = refusal(settings);
    if (status != CLC_SUCCESS) {
        return status;
    }
    if (connections_ > 0) {
        ++connections_;
        return CLC_SUCCESS;
    }

    // ChronoLog's Connect waits as long as the transport does; the probe bounds the common
    // failures (nothing listening, a host that does not answer).
    status = probe_portal(settings.portal);
    if (status != CLC_SUCCESS) {
        return status;
    }
    if (client_ == nullptr) {
        status = start_client(settings);
        if (status != CLC_SUCCESS) {
            return status;
        }
    }

    status = client_.load()->Connect();
    if (status != CLC_SUCCESS) {
        return fail(status, "ChronoVisor at " + describe_endpoint(settings_->portal) +
                                " refused the connection: " + status_text(status));
    }
    ++connections_;
    return CLC_SUCCESS;
}

int ProcessClient::disconnect() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (connections_ == 0 || --connections_ > 0) {
        return CLC_SUCCESS;
    }
    int status = client_.load()->Disconnect();
    if (status != CLC_SUCCESS) {
        return fail(status,
                    "ChronoVisor did not confirm the disconnection: " + status_text(status));
    }
    return CLC_SUCCESS;
}

chronolog::Client &ProcessClient::connected_client() {
    return *client_.load();
}

// ---------------------------------------------------------------------------------------------
// Chronicles and stories

int ProcessClient::create_chronicle(const std::string &chronicle, const Attributes &attributes,
                                    int &flags) {
    int status = connected_client().CreateChronicle(chronicle, attribute_map(attributes), flags);
    if (status != CLC_SUCCESS) {
        return fail(status, "cannot create chronicle '" + chronicle + "': " + status_text(status));
    }
    return CLC_SUCCESS;
}

int ProcessClient::destroy_chronicle(const std::string &chronicle) {
    int status = connected_client().DestroyChronicle(chronicle);
    if (status != CLC_SUCCESS) {
        return fail(status, "cannot destroy chronicle '" + chronicle + "': " + status_text(status));
    }
    return CLC_SUCCESS;
}

int ProcessClient::get_chronicle_attr(const std::string &chronicle, const std::string &key,
                                      std::string &value) {
    int status = connected_client().GetChronicleAttr(chronicle, key, value);
    if (status != CLC_SUCCESS) {
        return fail(status, "cannot read attribute '" + key + "' of chronicle '" + chronicle +
                                "': " + status_text(status));
    }
    return CLC_SUCCESS;
}

int ProcessClient::edit_chronicle_attr(const std::string &chronicle, const std::string &key,
                                       const std::string &value) {
    int status = connected_client().EditChronicleAttr(chronicle, key, value);
    if (status != CLC_SUCCESS) {
        return fail(status, "cannot set attribute '" + key + "' of chronicle '" + chronicle +
                                "': " + status_text(status));
    }
    return CLC_SUCCESS;
}

int ProcessClient::list_chronicles(std::vector<std::string> &names) {
    connected_client().ShowChronicles(names);
    return CLC_SUCCESS;
}

// ChronoLog lists no story for a chronicle that does not exist; that case is told apart here.
int ProcessClient::list_stories(const std::string &chronicle, std::vector<std::string> &names) {
    chronolog::Client &client = connected_client();
    client.ShowStories(chronicle, names);
    if (!names.empty()) {
        return CLC_SUCCESS;
    }
    std::vector<std::string> chronicles;
    client.ShowChronicles(chronicles);
    if (std::find(chronicles.begin(), chronicles.end(), chronicle) == chronicles.end()) {
        return fail(CLC_ERR_NOT_EXIST, "chronicle '" + chronicle + "' does not exist");
    }
    return CLC_SUCCESS;
}

int ProcessClient::destroy_story(const std::string &chronicle, const std::string &story) {
    int status = connected_client().DestroyStory(chronicle, story);
    if (status != CLC_SUCCESS) {
        return fail(status,
                    "cannot destroy " + story_label(chronicle, story) + ": " + status_text(status));
    }
    return CLC_SUCCESS;
}

int ProcessClient::acquire_story(const std::string &chronicle, const std::string &story,
                                 const Attributes &attributes, int &flags,
                                 std::shared_ptr<SharedStory> &shared) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto key = std::make_pair(chronicle, story);
    auto held = stories_.find(key);
    if (held != stories_.end()) {
        ++held->second->holders;
        shared = held->second;
        return CLC_SUCCESS;
    }

    auto acquired =
        client_.load()->AcquireStory(chronicle, story, attribute_map(attributes), flags);
    if (acquired.first != CLC_SUCCESS) {
        return fail(acquired.first, "cannot acquire " + story_label(chronicle, story) + ": " +
                                        status_text(acquired.first));
    }
    if (acquired.second == nullptr) {
        return fail(CLC_ERR_UNKNOWN, "ChronoLog acquired " + story_label(chronicle, story) +
                                         " but gave no story handle");
    }
    shared = std::make_shared<SharedStory>(chronicle, story, acquired.second);
    stories_.emplace(std::move(key), shared);
    return CLC_SUCCESS;
}

int ProcessClient::release_story(const std::shared_ptr<SharedStory> &shared) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--shared->holders > 0) {
        return CLC_SUCCESS;
    }
    stories_.erase(std::make_pair(shared->chronicle, shared->story));

    // Waits for the log calls in flight; ChronoLog frees the handle.
    std::unique_lock<std::shared_mutex> guard(shared->guard);
    shared->handle = nullptr;
    int status = client_.load()->ReleaseStory(shared->chronicle, shared->story);
    if (status != CLC_SUCCESS) {
        // ChronoLog's client has dropped the story whatever the answer; only ChronoVisor's
        // record of the acquisition may remain, which nothing here can change.
        queue_message(CLC_LOG_WARNING, story_label(shared->chronicle, shared->story) +
                                           " was released, but ChronoVisor answered " +
                                           status_text(status));
    }
    return CLC_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// Replay

int ProcessClient::replay(const std::string &chronicle, const std::string &story, uint64_t start,
                          uint64_t end, std::vector<chronolog::Event> &events) {
    chronolog::Client &client = connected_client();
    int status;
    {
        std::lock_guard<std::mutex> one_at_a_time(replay_mutex_);
        status = client.ReplayStory(chronicle, story, start, end, events);
    }
    if (status == CLC_ERR_QUERY_TIMED_OUT) {
        return fail(status, "ChronoPlayer sent no events of " + story_label(chronicle, story) +
                                " in [" + std::to_string(start) + ", " + std::to_string(end) +
                                ") within ChronoLog's query timeout of 180 s; it does not answer "
                                "while nothing of the range is archived yet");
    }
    if (status != CLC_SUCCESS) {
        return fail(status,
                    "cannot replay " + story_label(chronicle, story) + ": " + status_text(status));
    }
    return CLC_SUCCESS;
}

}  // namespace clc
