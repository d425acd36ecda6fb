#ifndef TRUSTLINK_BENCHMARKS_PEERS_DIAL_H_
#define TRUSTLINK_BENCHMARKS_PEERS_DIAL_H_

// Socket helpers the load generator and the echo server share.

#include <errno.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace trustlink::peers {

// DialLoopback connects a TCP socket (TCP_NODELAY, close-on-exec) to
// 127.0.0.1:port. Non-blocking, the connect may still be in progress. Returns
// the descriptor, or -1 with `error` naming the address and the reason.
int DialLoopback(uint16_t port, bool nonblocking, std::string* error);

// RetryEintr runs a read or write call again while a signal interrupts it, and
// returns its result (errno set as the call left it).
template <typename Call>
ssize_t RetryEintr(Call call) {
  for (;;) {
    const ssize_t n = call();
    if (n >= 0 || errno != EINTR) {
      return n;
    }
  }
}

}  // namespace trustlink::peers

#endif  // TRUSTLINK_BENCHMARKS_PEERS_DIAL_H_
