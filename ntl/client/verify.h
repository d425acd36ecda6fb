#ifndef TRUSTLINK_NTL_CLIENT_VERIFY_H_
#define TRUSTLINK_NTL_CLIENT_VERIFY_H_

// Verify (vtl verify): connect once to every configured server and say, per
// server, what happened, as data: a tl_status plus a message naming the likely
// cause and the fix.
//
//   TL_OK                          admitted, with the visible slots
//   TL_E_CONNECTION_REFUSED        nothing listens at host:port
//   TL_E_DEADLINE_EXCEEDED         no answer in time (firewall, wrong host)
//   TL_E_CERT_PIN_MISMATCH         the server's certificate is not the pinned
//   one (both
//                                  fingerprints in the message)
//   TL_E_NOT_REGISTERED            alert certificate_unknown: client not
//   registered TL_E_IP_MISMATCH               alert access_denied: wrong source
//   address (ipcheck) TL_E_NO_PARTITIONS             admitted, but no partition
//   is assigned TL_E_HTL_REQUIRED_BY_APPLIANCE / TL_E_HTL_REQUIRED_BY_CLIENT
//   HTL on one side only TL_E_TRUST_STORE_INCONSISTENT  the server is not in
//   CAFile.pem (never contacted) anything else                  a TLS or
//   protocol failure, described in the message

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ntl/client/settings.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::client {

struct VerifyResult {
  std::string server;
  std::string host;
  uint16_t port = 0;
  tl_status code = TL_OK;
  std::string message;  // "" when OK
  std::vector<wire::SlotInfo> slots;
};

// Verify probes every server in `settings` at once, waiting at most `timeout`.
// It fails only when the settings themselves are unusable (no servers, bad
// client key).
absl::StatusOr<std::vector<VerifyResult>> Verify(ClientSettings settings,
                                                 absl::Duration timeout);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_VERIFY_H_
