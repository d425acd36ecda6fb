#ifndef TRUSTLINK_BENCHMARKS_PEERS_HANDSHAKE_LOAD_H_
#define TRUSTLINK_BENCHMARKS_PEERS_HANDSHAKE_LOAD_H_

// New and resumed mutual-TLS handshakes plus one round trip, against a TLS
// server: ntlsd, stunnel's server side or openssl s_server. One client for all
// three, so the servers are compared on the same work: BoringSSL with the
// link's own policy (ntl/tls/policy.h), the client's registered certificate,
// and the server certificate pinned by its bytes, as the NTLA pins it.

#include <cstdint>
#include <string>

#include "benchmarks/peers/load.h"

namespace trustlink::peers {

// The round trip after the handshake.
enum class Exchange {
  kNtlHello,  // trustlink: hello, answered by welcome (the link's first call)
  kEcho,      // stunnel: a 64-byte echo frame through to peer_echo_server
  kLine,      // openssl s_server -rev: a line, answered reversed
};

struct TlsTarget {
  uint16_t port = 0;
  Exchange exchange = Exchange::kNtlHello;
  std::string cert_file, key_file;  // the client's certificate and key (PEM)
  std::string pin_file;             // the server certificate to accept (PEM)
};

// Handshakes runs connect + handshake + round trip + close for w.seconds and
// returns handshakes per second. With `resume`, each handshake offers the
// ticket of the one before; it fails when the server resumes fewer than 9 in
// 10. `*cipher` gets the negotiated version and suite.
Result Handshakes(const TlsTarget& t, bool resume, const Work& w,
                  std::string* cipher);

}  // namespace trustlink::peers

#endif  // TRUSTLINK_BENCHMARKS_PEERS_HANDSHAKE_LOAD_H_
