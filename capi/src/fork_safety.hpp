// What makes fork() safe for the parent and the child.
//
// SQLite must not be in use in any thread when the process forks, and a child must not inherit
// open connections: SQLite's per-file lock bookkeeping is process-wide, so a connection the
// child opens to the same store would share the inherited (and in the child, untrue) lock
// state. Therefore every call into SQLite happens inside a SqliteSection, and just before a
// fork, with every section finished and new ones held back, each registered store connection is
// closed; its owner reopens it lazily in the parent. The child starts with no connection at
// all, and the handle table refuses the objects it inherited.
#pragma once

namespace clc {

// Shared hold of the process-wide fork guard; sections nest within one thread.
class SqliteSection {
public:
    SqliteSection();
    ~SqliteSection();
    SqliteSection(const SqliteSection &) = delete;
    SqliteSection &operator=(const SqliteSection &) = delete;
};

// An owner of SQLite connections. close_before_fork runs while no SqliteSection is active.
class ForkAware {
public:
    virtual void close_before_fork() noexcept = 0;

protected:
    ~ForkAware() = default;
};

void register_fork_aware(ForkAware *owner);
void unregister_fork_aware(ForkAware *owner) noexcept;

}  // namespace clc
