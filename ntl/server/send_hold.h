#ifndef TRUSTLINK_NTL_SERVER_SEND_HOLD_H_
#define TRUSTLINK_NTL_SERVER_SEND_HOLD_H_

// SendHold (tests only): linking it interposes send(), so a test can stop a
// server thread just after a send() has put bytes on the wire and before the
// code after it runs: what a loaded machine does at random, made certain.
// Only sends to one peer address are held, so the test's own clients (whose
// peer is the server) never are.

#include <string>

#include "absl/time/time.h"

namespace trustlink::ntl::server::testing {

// HoldNextSendTo arms the hold: the next send() on a socket connected to
// `peer_ip` (IPv4 text) is held once it has sent, until ReleaseHeldSend or
// 10 s (so a failing test cannot hang the server).
void HoldNextSendTo(const std::string& peer_ip);
// SendHeld waits until a send is held; false after `limit`.
bool SendHeld(absl::Duration limit);
// ReleaseHeldSend lets the held send return, or disarms an unused hold.
void ReleaseHeldSend();

}  // namespace trustlink::ntl::server::testing

#endif  // TRUSTLINK_NTL_SERVER_SEND_HOLD_H_
