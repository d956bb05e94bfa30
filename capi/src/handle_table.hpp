// The table behind every handle the library gives out. A handle is a token
// (generation << 32 | slot << 8 | kind), never an address, so a stale or forged handle is
// recognised instead of dereferenced.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <vector>

namespace clc {

enum class Kind : uint8_t { client = 1, story = 2, events = 3, cursor = 4, strings = 5 };

const char *kind_name(Kind kind) noexcept;

class Object {
public:
    virtual ~Object() = default;
};

class HandleTable {
public:
    uint64_t insert(Kind kind, std::shared_ptr<Object> object);

    // CLC_SUCCESS, or CLC_ERR_INVALID_ARG (null or other kind), CLC_ERR_STALE_HANDLE,
    // CLC_ERR_FORKED, with the thread's last error set.
    int find(uint64_t token, Kind kind, std::shared_ptr<Object> &out) const;

    template <class T>
    int find_as(uint64_t token, Kind kind, std::shared_ptr<T> &out) const {
        std::shared_ptr<Object> object;
        int status = find(token, kind, object);
        if (status == 0) {
            out = std::static_pointer_cast<T>(std::move(object));
        }
        return status;
    }

    // Same checks as find; on success the slot is freed and its object handed to the caller,
    // so that the object is destroyed outside the table's lock.
    int remove(uint64_t token, Kind kind, std::shared_ptr<Object> *out = nullptr);

    // Objects of one kind created in this process, for the best-effort flush at exit.
    std::vector<std::shared_ptr<Object>> live_objects(Kind kind) const;

    void prepare_for_fork() noexcept;
    void resume_in_parent() noexcept;
    void resume_in_child() noexcept;

private:
    struct Slot {
        uint32_t generation = 1;
        Kind kind = Kind::client;
        bool forked = false;
        std::shared_ptr<Object> object;
    };

    int check(uint64_t token, Kind kind, uint32_t &slot) const;

    mutable std::shared_mutex mutex_;
    std::vector<Slot> slots_;
    std::vector<uint32_t> free_slots_;
};

// Never destroyed, so that threads still running at exit find it intact.
HandleTable &handles();

}  // namespace clc
