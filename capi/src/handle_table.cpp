#include "handle_table.hpp"

#include <mutex>
#include <new>
#include <string>

#include "chronolog_capi.h"
#include "diagnostics.hpp"

namespace clc {
namespace {

constexpr uint32_t kMaxSlots = 1u << 24;

uint64_t make_token(uint32_t generation, uint32_t slot, Kind kind) {
    return (uint64_t(generation) << 32) | (uint64_t(slot) << 8) | uint64_t(kind);
}

}  // namespace

const char *kind_name(Kind kind) noexcept {
    switch (kind) {
    case Kind::client: return "client";
    case Kind::story: return "story";
    case Kind::events: return "replay result";
    case Kind::cursor: return "paged replay";
    case Kind::strings: return "string list";
    }
    return "unknown";
}

uint64_t HandleTable::insert(Kind kind, std::shared_ptr<Object> object) {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    uint32_t slot;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        if (slots_.size() >= kMaxSlots) {
            throw Failure(CLC_ERR_NO_MEMORY,
                          "too many live handles (" + std::to_string(kMaxSlots) + ")");
        }
        slot = uint32_t(slots_.size());
        slots_.emplace_back();
    }
    Slot &entry = slots_[slot];
    entry.kind = kind;
    entry.object = std::move(object);
    return make_token(entry.generation, slot, kind);
}

int HandleTable::check(uint64_t token, Kind kind, uint32_t &slot) const {
    if (token == 0) {
        return fail(CLC_ERR_INVALID_ARG, std::string("NULL ") + kind_name(kind) + " handle");
    }
    auto token_kind = Kind(token & 0xff);
    if (token_kind != kind) {
        bool known = token_kind >= Kind::client && token_kind <= Kind::strings;
        return fail(CLC_ERR_INVALID_ARG,
                    std::string("expected a ") + kind_name(kind) + " handle, got " +
                        (known ? std::string("a ") + kind_name(token_kind) + " handle"
                               : std::string("something that is not a handle")));
    }
    slot = uint32_t((token >> 8) & 0xffffff);
    auto generation = uint32_t(token >> 32);
    if (slot >= slots_.size() || slots_[slot].generation != generation || !slots_[slot].object) {
        return fail(CLC_ERR_STALE_HANDLE, std::string("the ") + kind_name(kind) +
                                              " handle was already freed or released");
    }
    if (slots_[slot].forked) {
        return fail(CLC_ERR_FORKED, std::string("the ") + kind_name(kind) +
                                        " handle was created in the parent of this forked "
                                        "process; create a new client here");
    }
    return CLC_SUCCESS;
}

int HandleTable::find(uint64_t token, Kind kind, std::shared_ptr<Object> &out) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    uint32_t slot;
    int status = check(token, kind, slot);
    if (status == CLC_SUCCESS) {
        out = slots_[slot].object;
    }
    return status;
}

int HandleTable::remove(uint64_t token, Kind kind, std::shared_ptr<Object> *out) {
    std::shared_ptr<Object> object;
    {
        std::unique_lock<std::shared_mutex> lock(mutex_);
        uint32_t slot;
        int status = check(token, kind, slot);
        if (status != CLC_SUCCESS) {
            return status;
        }
        Slot &entry = slots_[slot];
        object = std::move(entry.object);
        entry.object.reset();
        entry.generation = entry.generation == UINT32_MAX ? 1 : entry.generation + 1;
        free_slots_.push_back(slot);
    }
    if (out != nullptr) {
        *out = std::move(object);
    }
    return CLC_SUCCESS;
}

std::vector<std::shared_ptr<Object>> HandleTable::live_objects(Kind kind) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    std::vector<std::shared_ptr<Object>> objects;
    for (const Slot &entry : slots_) {
        if (entry.object && entry.kind == kind && !entry.forked) {
            objects.push_back(entry.object);
        }
    }
    return objects;
}

void HandleTable::prepare_for_fork() noexcept {
    mutex_.lock();
}

void HandleTable::resume_in_parent() noexcept {
    mutex_.unlock();
}

void HandleTable::resume_in_child() noexcept {
    // The child owns copies of the parent's objects but none of their threads; they are kept
    // (never destroyed, their slots never reused) and refused from now on.
    for (Slot &entry : slots_) {
        if (entry.object) {
            entry.forked = true;
        }
    }
    // Made anew rather than unlocked: the lock's owner is recorded by thread id, and the
    // child's thread has a new one.
    new (&mutex_) std::shared_mutex;
}

HandleTable &handles() {
    static HandleTable *instance = new HandleTable;
    return *instance;
}

}  // namespace clc
