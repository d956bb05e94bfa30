#include "status.hpp"

#include "chronolog_capi.h"

namespace clc {
namespace {

struct StatusInfo {
    int status;
    const char *name;
    const char *description;
};

// ChronoLog's codes keep ChronoLog's names (CL_...); the shim's own are CLC_....
constexpr StatusInfo kStatuses[] = {
    {CLC_SUCCESS, "CL_SUCCESS", "Success."},
    {CLC_ERR_UNKNOWN, "CL_ERR_UNKNOWN", "Generic error."},
    {CLC_ERR_INVALID_ARG, "CL_ERR_INVALID_ARG", "Invalid argument."},
    {CLC_ERR_NOT_EXIST, "CL_ERR_NOT_EXIST", "The chronicle, story or attribute does not exist."},
    {CLC_ERR_ACQUIRED, "CL_ERR_ACQUIRED",
     "The story is acquired: it cannot be destroyed, and disconnecting is unsafe."},
    {CLC_ERR_NOT_ACQUIRED, "CL_ERR_NOT_ACQUIRED", "The story is not acquired by this client."},
    {CLC_ERR_CHRONICLE_EXISTS, "CL_ERR_CHRONICLE_EXISTS", "The chronicle already exists."},
    {CLC_ERR_NO_KEEPERS, "CL_ERR_NO_KEEPERS", "No ChronoKeeper is available."},
    {CLC_ERR_NO_CONNECTION, "CL_ERR_NO_CONNECTION", "The client is not connected."},
    {CLC_ERR_NOT_AUTHORIZED, "CL_ERR_NOT_AUTHORIZED", "The operation is not authorized."},
    {CLC_ERR_NO_PLAYERS, "CL_ERR_NO_PLAYERS", "No ChronoPlayer is available."},
    {CLC_ERR_NOT_READER_MODE, "CL_ERR_NOT_READER_MODE",
     "A writer-only client cannot replay stories."},
    {CLC_ERR_QUERY_TIMED_OUT, "CL_ERR_QUERY_TIMED_OUT", "The replay query timed out."},
    {CLC_ERR_PROTOCOL_VERSION_MISMATCH, "CL_ERR_PROTOCOL_VERSION_MISMATCH",
     "The client and the server speak different wire-protocol versions."},
    {CLC_ERR_BACKEND_UNAVAILABLE, "CLC_ERR_BACKEND_UNAVAILABLE",
     "The requested backend is not compiled into this library."},
    {CLC_ERR_STALE_HANDLE, "CLC_ERR_STALE_HANDLE",
     "The handle was freed, released or disconnected."},
    {CLC_ERR_FORKED, "CLC_ERR_FORKED",
     "The handle was inherited from the parent of a forked process."},
    {CLC_ERR_STORE_IO, "CLC_ERR_STORE_IO", "The embedded store cannot be read or written."},
    {CLC_ERR_NO_MEMORY, "CLC_ERR_NO_MEMORY", "Memory allocation failed."},
    {CLC_ERR_BUFFER_TOO_SMALL, "CLC_ERR_BUFFER_TOO_SMALL",
     "A caller-provided buffer is too small."},
    {CLC_ERR_ABI_MISMATCH, "CLC_ERR_ABI_MISMATCH",
     "The caller and the library were built for different ABI versions."},
};

const StatusInfo *find_status(int status) {
    for (const StatusInfo &info : kStatuses) {
        if (info.status == status) {
            return &info;
        }
    }
    return nullptr;
}

}  // namespace

const char *status_name(int status) noexcept {
    const StatusInfo *info = find_status(status);
    return info != nullptr ? info->name : "CLC_UNKNOWN_STATUS";
}

const char *status_description(int status) noexcept {
    const StatusInfo *info = find_status(status);
    return info != nullptr ? info->description : "Not a status code of this library.";
}

}  // namespace clc
