// Checks of ChronoLog endpoint settings made before ChronoLog's client sees them. The client
// crashes on an address its transport cannot resolve and on a query endpoint it cannot listen
// on, and its Connect has no timeout of its own; these checks turn those cases into statuses.
#pragma once

#include <chrono>
#include <string>

#include "backend.hpp"

namespace clc {

// How long a probe of the portal waits for the TCP handshake.
constexpr std::chrono::milliseconds kPortalProbeTimeout{5000};

// "ofi+sockets://127.0.0.1:5555 (provider 55)".
std::string describe_endpoint(const ServiceConf &conf);

// Whether the protocol runs over TCP/IP (ofi+sockets, ofi+tcp, ...), so that the address is
// an IPv4 address and a port this library can check.
bool is_tcp_protocol(const std::string &protocol);

// Throws Failure(CL_ERR_INVALID_ARG) when a TCP-based endpoint has no numeric IPv4 address, or
// when a query endpoint has port 0 (ChronoPlayer could not send results back to it).
void check_endpoint_settings(const ServiceConf &conf, bool is_query);

// Opens and closes a TCP connection to the portal. CL_SUCCESS when something accepts it,
// CL_ERR_NO_CONNECTION (with the reason) when it is refused or does not answer within
// kPortalProbeTimeout. Protocols that are not TCP-based are not probed.
int probe_portal(const ServiceConf &portal);

// CL_SUCCESS when this process can listen on the query endpoint, CL_ERR_INVALID_ARG with the
// reason (address in use by another reader, address not of this host) otherwise.
int check_can_listen(const ServiceConf &query);

}  // namespace clc
