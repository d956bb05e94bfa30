#include "fork_safety.hpp"

#include <pthread.h>

#include <mutex>
#include <new>
#include <set>

#include "diagnostics.hpp"
#include "handle_table.hpp"

namespace clc {
namespace {

// A pthread rwlock rather than std::shared_mutex: it must prefer the writer (the fork) so that
// a stream of background flushes cannot starve a fork.
void init_fork_guard(pthread_rwlock_t *lock) {
    pthread_rwlockattr_t attributes;
    pthread_rwlockattr_init(&attributes);
    pthread_rwlockattr_setkind_np(&attributes, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(lock, &attributes);
    pthread_rwlockattr_destroy(&attributes);
}

pthread_rwlock_t *fork_guard() {
    static pthread_rwlock_t *guard = [] {
        auto *lock = new pthread_rwlock_t;
        init_fork_guard(lock);
        return lock;
    }();
    return guard;
}

thread_local int t_section_depth = 0;

struct Registry {
    std::mutex mutex;
    std::set<ForkAware *> owners;
};

Registry &registry() {
    static Registry *instance = new Registry;
    return *instance;
}

void prepare_fork() {
    pthread_rwlock_wrlock(fork_guard());
    Registry &owners = registry();
    owners.mutex.lock();
    for (ForkAware *owner : owners.owners) {
        owner->close_before_fork();
    }
    handles().prepare_for_fork();
    prepare_messages_for_fork();
}

void resume_parent() {
    resume_messages_after_fork();
    handles().resume_in_parent();
    registry().mutex.unlock();
    pthread_rwlock_unlock(fork_guard());
}

// Locks are made anew rather than unlocked: glibc identifies a write owner by thread id, and
// the child's thread has a new one.
void resume_child() {
    reset_messages_in_child();
    handles().resume_in_child();
    // The registered owners belong to the parent's objects, which the child never touches.
    Registry &owners = registry();
    owners.owners.clear();
    new (&owners.mutex) std::mutex;
    init_fork_guard(fork_guard());
}

const bool g_fork_handlers_installed = [] {
    fork_guard();
    registry();
    handles();
    return pthread_atfork(prepare_fork, resume_parent, resume_child) == 0;
}();

}  // namespace

SqliteSection::SqliteSection() {
    if (t_section_depth++ == 0) {
        pthread_rwlock_rdlock(fork_guard());
    }
}

SqliteSection::~SqliteSection() {
    if (--t_section_depth == 0) {
        pthread_rwlock_unlock(fork_guard());
    }
}

void register_fork_aware(ForkAware *owner) {
    (void)g_fork_handlers_installed;
    std::lock_guard<std::mutex> lock(registry().mutex);
    registry().owners.insert(owner);
}

void unregister_fork_aware(ForkAware *owner) noexcept {
    std::lock_guard<std::mutex> lock(registry().mutex);
    registry().owners.erase(owner);
}

}  // namespace clc
