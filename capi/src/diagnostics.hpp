// Error reporting of the shim: the calling thread's last error message, the exception that
// carries a status through internal code, and the bounded queue of messages the library keeps
// instead of printing.
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace clc {

// Thrown inside the library where unwinding is simpler than returning a status; the barrier
// around every exported function turns it back into status + message.
class Failure : public std::exception {
public:
    Failure(int status, std::string message) : status_(status), message_(std::move(message)) {}

    int status() const noexcept { return status_; }
    const char *what() const noexcept override { return message_.c_str(); }

private:
    int status_;
    std::string message_;
};

// Sets the calling thread's last error and returns status, so that `return fail(...)` reads
// as one step.
int fail(int status, std::string_view message) noexcept;
void clear_last_error() noexcept;
bool has_last_error() noexcept;
const char *last_error() noexcept;

void queue_message(int level, const std::string &text) noexcept;
void set_message_level(int min_level) noexcept;
bool next_message(int &level, std::string &text);

void prepare_messages_for_fork() noexcept;
void resume_messages_after_fork() noexcept;
void reset_messages_in_child() noexcept;

}  // namespace clc
