// The exported functions: argument checks, the exception barrier, and the mapping between
// handles and library objects. What each function does is documented in chronolog_capi.h.
#include <unistd.h>

#include <climits>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>

#include "backend.hpp"
#include "chronolog_capi.h"
#include "diagnostics.hpp"
#include "handle_table.hpp"
#include "results.hpp"
#include "status.hpp"

namespace clc {
namespace {

struct ClientObject : Object, std::enable_shared_from_this<ClientObject> {
    explicit ClientObject(std::unique_ptr<Backend> client_backend)
        : backend(std::move(client_backend)) {}

    std::mutex mutex;  // serialises the client's calls, except logging
    std::unique_ptr<Backend> backend;
    bool freed = false;
    std::map<std::pair<std::string, std::string>, uint64_t> story_handles;
};

struct StoryObject : Object {
    explicit StoryObject(std::shared_ptr<StoryWriter> story_writer)
        : writer(std::move(story_writer)) {}

    std::shared_ptr<StoryWriter> writer;
};

struct CursorObject : Object {
    CursorObject(std::shared_ptr<ClientObject> owner, std::unique_ptr<ReplayCursor> replay)
        : client(std::move(owner)), cursor(std::move(replay)) {}

    std::shared_ptr<ClientObject> client;
    std::unique_ptr<ReplayCursor> cursor;
};

static_assert(sizeof(uintptr_t) == sizeof(uint64_t), "handles are 64-bit tokens");

template <class Handle>
uint64_t token_of(Handle handle) {
    return uint64_t(reinterpret_cast<uintptr_t>(handle));
}

template <class Handle>
Handle handle_of(uint64_t token) {
    return reinterpret_cast<Handle>(uintptr_t(token));
}

// The barrier every exported function that returns a status runs its body in. Argument checks
// and handle lookups below throw Failure, so that each function body reads straight through.
template <class Body>
int guarded(const char *function, Body &&body) noexcept {
    clear_last_error();
    try {
        int status = body();
        if (status != CLC_SUCCESS && !has_last_error()) {
            fail(status, std::string(function) + ": " + status_description(status));
        }
        return status;
    } catch (const Failure &failure) {
        return fail(failure.status(), failure.what());
    } catch (const std::bad_alloc &) {
        return fail(CLC_ERR_NO_MEMORY, "out of memory");
    } catch (const std::exception &error) {
        try {
            return fail(CLC_ERR_UNKNOWN, std::string(function) + ": " + error.what());
        } catch (...) {
            return fail(CLC_ERR_UNKNOWN, error.what());
        }
    } catch (...) {
        return fail(CLC_ERR_UNKNOWN, "unexpected error of unknown type");
    }
}

[[noreturn]] void invalid(const std::string &message) {
    throw Failure(CLC_ERR_INVALID_ARG, message);
}

void require_output(const void *out) {
    if (out == nullptr) {
        invalid("the output pointer is NULL");
    }
}

// Whether text is well-formed UTF-8: no stray continuation bytes, overlong forms, surrogates or
// code points past U+10FFFF.
bool is_utf8(const char *text) {
    const auto *byte = reinterpret_cast<const unsigned char *>(text);
    while (*byte != 0) {
        unsigned lead = *byte;
        if (lead < 0x80) {
            ++byte;
            continue;
        }
        int length;
        uint32_t code;
        uint32_t smallest;
        if ((lead & 0xe0) == 0xc0) {
            length = 2, code = lead & 0x1f, smallest = 0x80;
        } else if ((lead & 0xf0) == 0xe0) {
            length = 3, code = lead & 0x0f, smallest = 0x800;
        } else if ((lead & 0xf8) == 0xf0) {
            length = 4, code = lead & 0x07, smallest = 0x10000;
        } else {
            return false;
        }
        // The terminating NUL is not a continuation byte, so nothing past it is read.
        for (int i = 1; i < length; ++i) {
            if ((byte[i] & 0xc0) != 0x80) {
                return false;
            }
            code = (code << 6) | (byte[i] & 0x3f);
        }
        if (code < smallest || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
            return false;
        }
        byte += length;
    }
    return true;
}

void require_text(const char *text, const char *what) {
    if (text == nullptr) {
        invalid(std::string(what) + " is NULL");
    }
    if (!is_utf8(text)) {
        invalid(std::string(what) + " is not valid UTF-8");
    }
}

// Names of chronicles, stories and attributes: UTF-8 and not empty.
void require_name(const char *name, const char *what) {
    require_text(name, what);
    if (*name == '\0') {
        invalid(std::string(what) + " is empty");
    }
}

// A file system path, in whatever encoding the file system uses.
void require_path(const char *path, const char *what) {
    if (path == nullptr) {
        invalid(std::string(what) + " is NULL");
    }
    if (*path == '\0') {
        invalid(std::string(what) + " is empty");
    }
}

Attributes read_attributes(const char *const *keys, const char *const *values, size_t count) {
    if (count > 0 && (keys == nullptr || values == nullptr)) {
        invalid("attribute arrays are NULL but attr_count is " + std::to_string(count));
    }
    Attributes attributes;
    for (size_t i = 0; i < count; ++i) {
        if (keys[i] == nullptr || values[i] == nullptr) {
            invalid("attribute " + std::to_string(i) + " has a NULL key or value");
        }
        if (!is_utf8(keys[i]) || !is_utf8(values[i])) {
            invalid("attribute " + std::to_string(i) + " has a key or value that is not UTF-8");
        }
        attributes.emplace_back(keys[i], values[i]);
    }
    return attributes;
}

ServiceConf read_service(const clc_service_conf *conf, const std::string &what) {
    if (conf->protocol == nullptr || *conf->protocol == '\0') {
        invalid(what + " protocol is NULL or empty");
    }
    if (conf->ip == nullptr || *conf->ip == '\0') {
        invalid(what + " ip is NULL or empty");
    }
    if (conf->port < 0 || conf->port > 65535) {
        invalid(what + " port " + std::to_string(conf->port) + " is not in 0..65535");
    }
    if (conf->provider_id < 0 || conf->provider_id > 65535) {
        invalid(what + " provider id " + std::to_string(conf->provider_id) + " is not in 0..65535");
    }
    return ServiceConf{conf->protocol, conf->ip, conf->port, conf->provider_id};
}

template <class T, class Handle>
std::shared_ptr<T> lookup(Handle handle, Kind kind) {
    std::shared_ptr<T> object;
    int status = handles().find_as(token_of(handle), kind, object);
    if (status != CLC_SUCCESS) {
        throw Failure(status, last_error());
    }
    return object;
}

template <class Handle>
Handle publish(Kind kind, std::shared_ptr<Object> object) {
    return handle_of<Handle>(handles().insert(kind, std::move(object)));
}

// Runs action(client) with the client's calls serialised.
template <class Action>
int with_client(clc_client_t handle, Action &&action) {
    auto client = lookup<ClientObject>(handle, Kind::client);
    std::lock_guard<std::mutex> lock(client->mutex);
    if (client->freed) {
        return fail(CLC_ERR_STALE_HANDLE, "the client handle was already freed");
    }
    return action(*client);
}

template <class Handle>
int free_handle(Handle handle, Kind kind) {
    return handle == nullptr ? CLC_SUCCESS : handles().remove(token_of(handle), kind);
}

// The store directory as an absolute path without empty or "." components and without a
// trailing slash, so that "store/" and "store/." name the directory that is created owner-only
// rather than one of its missing parents. ".." is kept: it depends on symbolic links.
std::string store_path(const std::string &path) {
    std::string absolute = path;
    char cwd[PATH_MAX];
    if (path.front() != '/' && getcwd(cwd, sizeof cwd) != nullptr) {
        absolute = std::string(cwd) + "/" + path;
    }

    std::string normal = absolute.front() == '/' ? "/" : "";
    size_t start = 0;
    while (start < absolute.size()) {
        size_t end = absolute.find('/', start);
        if (end == std::string::npos) {
            end = absolute.size();
        }
        std::string part = absolute.substr(start, end - start);
        if (!part.empty() && part != ".") {
            if (!normal.empty() && normal.back() != '/') {
                normal += '/';
            }
            normal += part;
        }
        start = end + 1;
    }
    return normal.empty() ? "." : normal;
}

// Events logged by clients the program never freed are written when the process exits
// normally. A client busy in another thread at that moment is skipped rather than waited for.
struct FlushAtExit {
    ~FlushAtExit() {
        try {
            for (const auto &object : handles().live_objects(Kind::client)) {
                auto client = std::static_pointer_cast<ClientObject>(object);
                std::unique_lock<std::mutex> lock(client->mutex, std::try_to_lock);
                if (lock.owns_lock() && !client->freed) {
                    client->backend->flush_at_exit();
                }
            }
        } catch (...) {
            // Nothing can be reported at exit.
        }
    }
} g_flush_at_exit;

void check_replay_arguments(const char *chronicle, const char *story, uint64_t start, uint64_t end,
                            const void *out) {
    require_output(out);
    if (chronicle == nullptr || story == nullptr) {
        invalid("chronicle or story name is NULL");
    }
    require_text(chronicle, "chronicle name");
    require_text(story, "story name");
    if (start > end) {
        invalid("replay range start " + std::to_string(start) + " is after its end " +
                std::to_string(end));
    }
}

}  // namespace
}  // namespace clc

using namespace clc;

// ------------------------------------------------------------------------------------------
// Library information and diagnostics

uint32_t clc_abi_version(void) {
    return (uint32_t(CLC_ABI_VERSION_MAJOR) << 16) | uint32_t(CLC_ABI_VERSION_MINOR);
}

const char *clc_library_version(void) {
    return CLC_LIBRARY_VERSION;
}

int clc_backends(void) {
    int backends = CLC_BACKEND_EMBEDDED;
#ifdef CLC_HAVE_CHRONOLOG
    backends |= CLC_BACKEND_CHRONOLOG;
#endif
    return backends;
}

const char *clc_status_name(int status) {
    return status_name(status);
}

const char *clc_status_description(int status) {
    return status_description(status);
}

const char *clc_last_error(void) {
    return last_error();
}

void clc_log_set_level(int min_level) {
    set_message_level(min_level);
}

int clc_log_next(int *level, char *buf, size_t cap, size_t *len) {
    try {
        int message_level;
        std::string text;
        if (!next_message(message_level, text)) {
            return 0;
        }
        if (level != nullptr) {
            *level = message_level;
        }
        if (len != nullptr) {
            *len = text.size();
        }
        if (buf != nullptr && cap > 0) {
            size_t copied = std::min(text.size(), cap - 1);
            std::memcpy(buf, text.data(), copied);
            buf[copied] = '\0';
        }
        return 1;
    } catch (...) {
        return 0;
    }
}

// ------------------------------------------------------------------------------------------
// Clients

int clc_client_create(const clc_service_conf *portal, const clc_service_conf *query,
                      clc_client_t *out) {
    return guarded(__func__, [&]() -> int {
        require_output(out);
        if (portal == nullptr) {
            invalid("portal settings are NULL");
        }
        ServiceConf portal_conf = read_service(portal, "portal");
        std::unique_ptr<ServiceConf> query_conf;
        if (query != nullptr) {
            query_conf = std::make_unique<ServiceConf>(read_service(query, "query"));
        }
#ifdef CLC_HAVE_CHRONOLOG
        auto backend = make_chronolog_backend(portal_conf, query_conf.get());
        *out =
            publish<clc_client_t>(Kind::client, std::make_shared<ClientObject>(std::move(backend)));
        return CLC_SUCCESS;
#else
        return fail(CLC_ERR_BACKEND_UNAVAILABLE,
                    "this libchronolog_capi was built without the ChronoLog backend; rebuild it "
                    "with -DCLC_WITH_CHRONOLOG=ON and CHRONOLOG_ROOT set to the install prefix "
                    "of a ChronoLog client, or use the embedded store");
#endif
    });
}

int clc_client_open_embedded(const char *store_dir, int mode, clc_client_t *out) {
    return guarded(__func__, [&]() -> int {
        require_output(out);
        require_path(store_dir, "store_dir");
        if (mode != CLC_MODE_WRITER && mode != CLC_MODE_READER) {
            invalid("mode " + std::to_string(mode) +
                    " is neither CLC_MODE_WRITER nor CLC_MODE_READER");
        }

        auto backend = make_embedded_backend(store_path(store_dir), mode);
        *out =
            publish<clc_client_t>(Kind::client, std::make_shared<ClientObject>(std::move(backend)));
        return CLC_SUCCESS;
    });
}

int clc_client_free(clc_client_t handle) {
    return guarded(__func__, [&]() -> int {
        if (handle == nullptr) {
            return CLC_SUCCESS;
        }
        std::shared_ptr<Object> object;
        int status = handles().remove(token_of(handle), Kind::client, &object);
        if (status != CLC_SUCCESS) {
            return status;
        }

        auto client = std::static_pointer_cast<ClientObject>(object);
        std::lock_guard<std::mutex> lock(client->mutex);
        client->freed = true;
        status = client->backend->close();
        for (const auto &story : client->story_handles) {
            handles().remove(story.second, Kind::story);
        }
        client->story_handles.clear();
        return status;
    });
}

int clc_client_connect(clc_client_t handle) {
    return guarded(__func__, [&]() -> int {
        return with_client(handle, [](ClientObject &client) { return client.backend->connect(); });
    });
}

int clc_client_disconnect(clc_client_t handle) {
    return guarded(__func__, [&]() -> int {
        return with_client(handle,
                           [](ClientObject &client) { return client.backend->disconnect(); });
    });
}

int clc_client_is_connected(clc_client_t handle, int *out) {
    return guarded(__func__, [&]() -> int {
        require_output(out);
        return with_client(handle, [&](ClientObject &client) -> int {
            *out = client.backend->is_connected() ? 1 : 0;
            return CLC_SUCCESS;
        });
    });
}

int clc_client_id(clc_client_t handle, uint64_t *out) {
    return guarded(__func__, [&]() -> int {
        require_output(out);
        return with_client(handle, [&](ClientObject &client) {
            uint64_t id;
            int status = client.backend->client_id(id);
            if (status == CLC_SUCCESS) {
                *out = id;
            }
            return status;
        });
    });
}

int clc_client_info(clc_client_t handle, int *backend, int *mode) {
    return guarded(__func__, [&]() -> int {
        return with_client(handle, [&](ClientObject &client) -> int {
            if (backend != nullptr) {
                *backend = client.backend->backend_id();
            }
            if (mode != nullptr) {
                *mode = client.backend->mode();
            }
            return CLC_SUCCESS;
        });
    });
}

int clc_client_flush(clc_client_t handle) {
    return guarded(__func__, [&]() -> int {
        return with_client(handle, [](ClientObject &client) { return client.backend->flush(); });
    });
}

// ------------------------------------------------------------------------------------------
// Chronicles

int clc_chronicle_create(clc_client_t handle, const char *chronicle, const char *const *attr_keys,
                         const char *const *attr_values, size_t attr_count, int *flags) {
    return guarded(__func__, [&]() -> int {
        require_name(chronicle, "chronicle name");
        Attributes attributes = read_attributes(attr_keys, attr_values, attr_count);

        return with_client(handle, [&](ClientObject &client) {
            int value = flags != nullptr ? *flags : 0;
            int status = client.backend->create_chronicle(chronicle, attributes, value);
            if (status == CLC_SUCCESS && flags != nullptr) {
                *flags = value;
            }
            return status;
        });
    });
}

int clc_chronicle_destroy(clc_client_t handle, const char *chronicle) {
    return guarded(__func__, [&]() -> int {
        require_name(chronicle, "chronicle name");
        return with_client(handle, [&](ClientObject &client) {
            return client.backend->destroy_chronicle(chronicle);
        });
    });
}

int clc_chronicle_get_attr(clc_client_t handle, const char *chronicle, const char *key,
                           clc_strings_t *out) {
    return guarded(__func__, [&]() -> int {
        require_output(out);
        require_name(chronicle, "chronicle name");
        require_name(key, "attribute key");

        return with_client(handle, [&](ClientObject &client) -> int {
            std::string value;
            int status = client.backend->get_chronicle_attr(chronicle, key, value);
            if (status != CLC_SUCCESS) {
                return status;
            }
            auto list = std::make_shared<StringList>();
            list->add(value);
            *out = publish<clc_strings_t>(Kind::strings, std::move(list));
            return CLC_SUCCESS;
        });
    });
}

int clc_chronicle_edit_attr(clc_client_t handle, const char *chronicle, const char *key,
                            const char *value) {
    return guarded(__func__, [&]() -> int {
        require_name(chronicle, "chronicle name");
        require_name(key, "attribute key");
        require_name(value, "attribute value");
        return with_client(handle, [&](ClientObject &client) {
            return client.backend->edit_chronicle_attr(chronicle, key, value);
        });
    });
}

int clc_chronicle_list(clc_client_t handle, clc_strings_t *out) {
    return guarded(__func__, [&]() -> int {
        require_output(out);
        return with_client(handle, [&](ClientObject &client) -> int {
            auto list = std::make_shared<StringList>();
            int status = client.backend->list_chronicles(*list);
            if (status == CLC_SUCCESS) {
                *out = publish<clc_strings_t>(Kind::strings, std::move(list));
            }
            return status;
        });
    });
}

// ------------------------------------------------------------------------------------------
// Stories

int clc_story_list(clc_client_t handle, const char *chronicle, clc_strings_t *out) {
    return guarded(__func__, [&]() -> int {
        require_output(out);
        require_name(chronicle, "chronicle name");
        return with_client(handle, [&](ClientObject &client) -> int {
            auto list = std::make_shared<StringList>();
            int status = client.backend->list_stories(chronicle, *list);
            if (status == CLC_SUCCESS) {
                *out = publish<clc_strings_t>(Kind::strings, std::move(list));
            }
            return status;
        });
    });
}

int clc_story_acquire(clc_client_t handle, const char *chronicle, const char *story,
                      const char *const *attr_keys, const char *const *attr_values,
                      size_t attr_count, int *flags, clc_story_t *out) {
    return guarded(__func__, [&]() -> int {
        require_output(out);
        require_name(chronicle, "chronicle name");
        require_name(story, "story name");
        Attributes attributes = read_attributes(attr_keys, attr_values, attr_count);

        return with_client(handle, [&](ClientObject &client) -> int {
            auto key = std::make_pair(std::string(chronicle), std::string(story));
            auto held = client.story_handles.find(key);
            if (held != client.story_handles.end()) {
                *out = handle_of<clc_story_t>(held->second);
                return CLC_SUCCESS;
            }

            int value = flags != nullptr ? *flags : 0;
            std::shared_ptr<StoryWriter> writer;
            int status = client.backend->acquire_story(chronicle, story, attributes, value, writer);
            if (status != CLC_SUCCESS) {
                return status;
            }
            auto story_handle =
                publish<clc_story_t>(Kind::story, std::make_shared<StoryObject>(std::move(writer)));
            client.story_handles.emplace(std::move(key), token_of(story_handle));
            if (flags != nullptr) {
                *flags = value;
            }
            *out = story_handle;
            return CLC_SUCCESS;
        });
    });
}

int clc_story_release(clc_client_t handle, const char *chronicle, const char *story) {
    return guarded(__func__, [&]() -> int {
        require_name(chronicle, "chronicle name");
        require_name(story, "story name");

        return with_client(handle, [&](ClientObject &client) {
            int status = client.backend->release_story(chronicle, story);
            auto held = client.story_handles.find(std::make_pair(chronicle, story));
            if (status == CLC_SUCCESS && held != client.story_handles.end()) {
                handles().remove(held->second, Kind::story);
                client.story_handles.erase(held);
            }
            return status;
        });
    });
}

int clc_story_destroy(clc_client_t handle, const char *chronicle, const char *story) {
    return guarded(__func__, [&]() -> int {
        require_name(chronicle, "chronicle name");
        require_name(story, "story name");
        return with_client(handle, [&](ClientObject &client) {
            return client.backend->destroy_story(chronicle, story);
        });
    });
}

int clc_story_log(clc_story_t handle, const void *record, size_t len, uint64_t *time_out) {
    return guarded(__func__, [&]() -> int {
        if (record == nullptr && len > 0) {
            invalid("record is NULL but len is " + std::to_string(len));
        }
        return lookup<StoryObject>(handle, Kind::story)->writer->log(record, len, time_out);
    });
}

int64_t clc_story_log_event(clc_story_t handle, const void *record, size_t len) {
    uint64_t time = 0;
    int status = guarded(__func__, [&]() -> int {
        if (record == nullptr && len > 0) {
            invalid("record is NULL but len is " + std::to_string(len));
        }
        int logged = lookup<StoryObject>(handle, Kind::story)->writer->log(record, len, &time);
        if (logged == CLC_SUCCESS && time > uint64_t(INT64_MAX)) {
            return fail(CLC_ERR_UNKNOWN, "the event's timestamp does not fit in an int64_t");
        }
        return logged;
    });
    return status == CLC_SUCCESS ? int64_t(time) : int64_t(status);
}

int clc_story_log_many(clc_story_t handle, const void *records, const uint64_t *lengths,
                       size_t count, uint64_t *times_out, size_t *logged_out) {
    size_t logged = 0;
    int result = guarded(__func__, [&]() -> int {
        if (count > 0 && lengths == nullptr) {
            invalid("lengths is NULL but count is " + std::to_string(count));
        }
        for (size_t i = 0; records == nullptr && i < count; ++i) {
            if (lengths[i] > 0) {
                invalid("records is NULL but record " + std::to_string(i) + " has length " +
                        std::to_string(lengths[i]));
            }
        }
        auto story = lookup<StoryObject>(handle, Kind::story);
        return story->writer->log_many(static_cast<const char *>(records), lengths, count,
                                       times_out, logged);
    });
    if (logged_out != nullptr) {
        *logged_out = logged;
    }
    return result;
}

// ------------------------------------------------------------------------------------------
// Replay

int clc_replay(clc_client_t handle, const char *chronicle, const char *story, uint64_t start,
               uint64_t end, clc_events_t *out) {
    return guarded(__func__, [&]() -> int {
        check_replay_arguments(chronicle, story, start, end, out);
        return with_client(handle, [&](ClientObject &client) -> int {
            auto events = std::make_shared<Events>();
            int status = client.backend->replay(chronicle, story, start, end, *events);
            if (status == CLC_SUCCESS) {
                *out = publish<clc_events_t>(Kind::events, std::move(events));
            }
            return status;
        });
    });
}

int clc_replay_open(clc_client_t handle, const char *chronicle, const char *story, uint64_t start,
                    uint64_t end, clc_cursor_t *out) {
    return guarded(__func__, [&]() -> int {
        check_replay_arguments(chronicle, story, start, end, out);
        return with_client(handle, [&](ClientObject &client) -> int {
            std::unique_ptr<ReplayCursor> cursor;
            int status = client.backend->open_replay(chronicle, story, start, end, cursor);
            if (status == CLC_SUCCESS) {
                auto object =
                    std::make_shared<CursorObject>(client.shared_from_this(), std::move(cursor));
                *out = publish<clc_cursor_t>(Kind::cursor, std::move(object));
            }
            return status;
        });
    });
}

int clc_cursor_next(clc_cursor_t handle, size_t max_events, clc_events_t *out) {
    return guarded(__func__, [&]() -> int {
        require_output(out);
        if (max_events == 0) {
            invalid("max_events is 0");
        }
        auto cursor = lookup<CursorObject>(handle, Kind::cursor);

        std::lock_guard<std::mutex> lock(cursor->client->mutex);
        if (cursor->client->freed) {
            return fail(CLC_ERR_STALE_HANDLE, "the client of this paged replay was freed");
        }
        auto page = std::make_shared<Events>();
        int status = cursor->cursor->next(max_events, *page);
        if (status == CLC_SUCCESS) {
            *out = publish<clc_events_t>(Kind::events, std::move(page));
        }
        return status;
    });
}

int clc_cursor_snapshots(clc_cursor_t handle, uint64_t *count) {
    return guarded(__func__, [&]() -> int {
        require_output(count);
        auto cursor = lookup<CursorObject>(handle, Kind::cursor);
        std::lock_guard<std::mutex> lock(cursor->client->mutex);
        *count = cursor->cursor->snapshots();
        return CLC_SUCCESS;
    });
}

int clc_cursor_free(clc_cursor_t handle) {
    return guarded(__func__, [&] { return free_handle(handle, Kind::cursor); });
}

int clc_events_size(clc_events_t handle, size_t *count, size_t *record_bytes) {
    return guarded(__func__, [&]() -> int {
        auto events = lookup<Events>(handle, Kind::events);
        if (count != nullptr) {
            *count = events->count();
        }
        if (record_bytes != nullptr) {
            *record_bytes = events->record_bytes();
        }
        return CLC_SUCCESS;
    });
}

int clc_events_export(clc_events_t handle, uint64_t *times, uint64_t *client_ids, uint32_t *indexes,
                      uint64_t *offsets, void *records, size_t records_cap) {
    return guarded(__func__, [&]() -> int {
        auto events = lookup<Events>(handle, Kind::events);
        if (records != nullptr && records_cap < events->record_bytes()) {
            return fail(CLC_ERR_BUFFER_TOO_SMALL,
                        "the records need " + std::to_string(events->record_bytes()) +
                            " bytes; records_cap is " + std::to_string(records_cap));
        }
        events->export_to(times, client_ids, indexes, offsets, records);
        return CLC_SUCCESS;
    });
}

int clc_events_free(clc_events_t handle) {
    return guarded(__func__, [&] { return free_handle(handle, Kind::events); });
}

// ------------------------------------------------------------------------------------------
// Lists of strings

int clc_strings_size(clc_strings_t handle, size_t *count, size_t *total_bytes) {
    return guarded(__func__, [&]() -> int {
        auto list = lookup<StringList>(handle, Kind::strings);
        if (count != nullptr) {
            *count = list->count();
        }
        if (total_bytes != nullptr) {
            *total_bytes = list->total_bytes();
        }
        return CLC_SUCCESS;
    });
}

int clc_strings_export(clc_strings_t handle, uint64_t *offsets, void *bytes, size_t cap) {
    return guarded(__func__, [&]() -> int {
        auto list = lookup<StringList>(handle, Kind::strings);
        if (bytes != nullptr && cap < list->total_bytes()) {
            return fail(CLC_ERR_BUFFER_TOO_SMALL, "the strings need " +
                                                      std::to_string(list->total_bytes()) +
                                                      " bytes; cap is " + std::to_string(cap));
        }
        list->export_to(offsets, bytes);
        return CLC_SUCCESS;
    });
}

int clc_strings_free(clc_strings_t handle) {
    return guarded(__func__, [&] { return free_handle(handle, Kind::strings); });
}
