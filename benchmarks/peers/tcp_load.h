#ifndef TRUSTLINK_BENCHMARKS_PEERS_TCP_LOAD_H_
#define TRUSTLINK_BENCHMARKS_PEERS_TCP_LOAD_H_

// The workloads over a plain TCP connection carrying echo frames
// (framing.h): to peer_echo_server directly, or to stunnel's client port,
// which tunnels them to the same server.

#include <cstdint>
#include <string>
#include <vector>

#include "benchmarks/peers/load.h"

namespace trustlink::peers {

// Calls per second, one call at a time on one connection.
Result TcpRoundTrips(uint16_t port, const Work& w);
// Calls per second with w.depth calls always in flight on one connection.
Result TcpInFlight(uint16_t port, const Work& w);
// Payload megabytes (10^6) per second echoed, one w.size call at a time.
Result TcpBulk(uint16_t port, const Work& w);

// TcpLinks opens w.count connections at once, each answering one echo call,
// and returns the seconds until the last answered; the connections stay open
// in `*fds` (closed by CloseAll).
Result TcpOpenLinks(uint16_t port, const Work& w, std::vector<int>* fds);
void CloseAll(std::vector<int>* fds);

}  // namespace trustlink::peers

#endif  // TRUSTLINK_BENCHMARKS_PEERS_TCP_LOAD_H_
