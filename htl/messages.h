#ifndef TRUSTLINK_HTL_MESSAGES_H_
#define TRUSTLINK_HTL_MESSAGES_H_

// HTL payloads (docs/htl.md, "Frames"). On an `htl/1` link they travel as the
// `data` of ntl `request` frames (op kOpEstablish / kOpHeartbeat) and
// `response` frames; on an `ntl/1` application link a LinkProof is the payload
// of the `htl-proof` frame (type 12). Decoders refuse truncated input, wrong
// lengths and trailing bytes with TL_E_PROTOCOL.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::htl {

// Request ops on an htl/1 link.
inline constexpr uint32_t kOpEstablish = 1;
inline constexpr uint32_t kOpHeartbeat = 2;

// EstablishRequest exchanges a one-time token for the first secret. `binding`
// is ComputeProof(kEstablish, token, 0, exporter): the token alone does not
// suffice, it must be used on this very TLS session.
struct EstablishRequest {
  std::string token;    // kTokenLen bytes
  std::string binding;  // kMacLen bytes
};

// HeartbeatRequest proves possession of the secret of `generation` on this
// session.
struct HeartbeatRequest {
  uint64_t generation = 0;
  std::string mac;  // ComputeProof(kHeartbeat, secret, generation, exporter)
};

// Grant is the appliance's answer to both: the next secret and when to come
// back.
struct Grant {
  uint64_t generation = 0;
  std::string secret;  // kSecretLen bytes
  uint32_t heartbeat_interval_ms =
      0;  // the agent heartbeats at least this often
};

// LinkProof is what an application link of a requirehtl client sends after
// `hello`.
struct LinkProof {
  uint64_t generation = 0;
  std::string mac;  // ComputeProof(kLinkProof, secret, generation, exporter)
};

std::string EncodeEstablishRequest(const EstablishRequest& m);
absl::StatusOr<EstablishRequest> DecodeEstablishRequest(
    absl::string_view payload);
std::string EncodeHeartbeatRequest(const HeartbeatRequest& m);
absl::StatusOr<HeartbeatRequest> DecodeHeartbeatRequest(
    absl::string_view payload);
std::string EncodeGrant(const Grant& m);
absl::StatusOr<Grant> DecodeGrant(absl::string_view payload);
std::string EncodeLinkProof(const LinkProof& m);
absl::StatusOr<LinkProof> DecodeLinkProof(absl::string_view payload);

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_MESSAGES_H_
