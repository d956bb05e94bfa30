#include "chronolog/endpoint.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "chronolog_capi.h"
#include "diagnostics.hpp"

namespace clc {
namespace {

// Closes the socket when the scope ends.
class Socket {
public:
    Socket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
    ~Socket() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Socket(const Socket &) = delete;
    Socket &operator=(const Socket &) = delete;

    int fd() const { return fd_; }

private:
    int fd_;
};

sockaddr_in socket_address(const ServiceConf &conf) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(conf.port));
    ::inet_pton(AF_INET, conf.ip.c_str(), &address.sin_addr);
    return address;
}

std::string os_error(int error) {
    return std::strerror(error);
}

// Waits for a non-blocking connect to finish; returns 0 or the errno it ended with.
int finish_connect(int fd, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return ETIMEDOUT;
        }
        pollfd waiting{fd, POLLOUT, 0};
        int ready = ::poll(&waiting, 1, int(left.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready < 0) {
            return errno;
        }
        if (ready == 0) {
            return ETIMEDOUT;
        }
        int error = 0;
        socklen_t size = sizeof error;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) {
            return errno;
        }
        return error;
    }
}

}  // namespace

std::string describe_endpoint(const ServiceConf &conf) {
    return conf.protocol + "://" + conf.ip + ":" + std::to_string(conf.port) + " (provider " +
           std::to_string(conf.provider_id) + ")";
}

bool is_tcp_protocol(const std::string &protocol) {
    return protocol.find("tcp") != std::string::npos ||
           protocol.find("sockets") != std::string::npos;
}

void check_endpoint_settings(const ServiceConf &conf, bool is_query) {
    const char *what = is_query ? "query" : "portal";
    if (is_tcp_protocol(conf.protocol)) {
        in_addr parsed;
        if (::inet_pton(AF_INET, conf.ip.c_str(), &parsed) != 1) {
            throw Failure(CLC_ERR_INVALID_ARG,
                          std::string(what) + " ip '" + conf.ip + "' is not an IPv4 address in " +
                              "dotted form, which protocol " + conf.protocol + " needs");
        }
    }
    if (is_query && conf.port == 0) {
        throw Failure(CLC_ERR_INVALID_ARG,
                      "query port 0 cannot be used: ChronoPlayer sends replay results to the "
                      "port given here, so it must be a fixed port");
    }
}

int probe_portal(const ServiceConf &portal) {
    if (!is_tcp_protocol(portal.protocol)) {
        return CLC_SUCCESS;
    }
    Socket socket;
    if (socket.fd() < 0) {
        return fail(CLC_ERR_UNKNOWN, "cannot create a socket: " + os_error(errno));
    }
    int flags = ::fcntl(socket.fd(), F_GETFL, 0);
    ::fcntl(socket.fd(), F_SETFL, flags | O_NONBLOCK);

    sockaddr_in address = socket_address(portal);
    int error = 0;
    if (::connect(socket.fd(), reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
        error = errno == EINPROGRESS ? finish_connect(socket.fd(), kPortalProbeTimeout) : errno;
    }
    if (error == 0) {
        return CLC_SUCCESS;
    }

    std::string reason =
        error == ETIMEDOUT
            ? "no answer within " + std::to_string(kPortalProbeTimeout.count()) + " ms"
            : os_error(error);
    return fail(CLC_ERR_NO_CONNECTION,
                "no ChronoVisor answers at " + describe_endpoint(portal) + ": " + reason);
}

int check_can_listen(const ServiceConf &query) {
    if (!is_tcp_protocol(query.protocol)) {
        return CLC_SUCCESS;
    }
    Socket socket;
    if (socket.fd() < 0) {
        return fail(CLC_ERR_UNKNOWN, "cannot create a socket: " + os_error(errno));
    }
    // As the transport will: a port left in TIME_WAIT by an earlier reader is usable.
    int reuse = 1;
    ::setsockopt(socket.fd(), SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);

    sockaddr_in address = socket_address(query);
    if (::bind(socket.fd(), reinterpret_cast<sockaddr *>(&address), sizeof address) == 0) {
        return CLC_SUCCESS;
    }
    int error = errno;
    std::string hint = error == EADDRINUSE
                           ? ": another process (a reader client?) listens there; give each "
                             "reader process its own query port"
                           : "";
    return fail(CLC_ERR_INVALID_ARG, "this reader client cannot listen for replay results on " +
                                         describe_endpoint(query) + ": " + os_error(error) + hint);
}

}  // namespace clc
