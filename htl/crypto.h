#ifndef TRUSTLINK_HTL_CRYPTO_H_
#define TRUSTLINK_HTL_CRYPTO_H_

// The HTL's cryptographic building blocks (docs/htl.md, "Keys and proofs"):
// random tokens and secrets, SHA-256, HMAC-SHA-256, constant-time comparison
// and the three proof MACs. Every proof is bound to one TLS session through its
// exporter value, so a proof recorded on one link is worthless on any other.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::htl {

inline constexpr size_t kTokenLen = 32;     // 256-bit one-time token
inline constexpr size_t kSecretLen = 32;    // 256-bit HTL secret
inline constexpr size_t kMacLen = 32;       // HMAC-SHA-256
inline constexpr size_t kExporterLen = 32;  // TLS exporter output per link
// kExporterLabel is the RFC 5705 / RFC 8446 exporter label both ends use.
inline constexpr absl::string_view kExporterLabel = "EXPORTER-trustlink-htl";

// RandomBytes returns `n` bytes from BoringSSL's RAND_bytes (which aborts
// rather than fail).
std::string RandomBytes(size_t n);

// Sha256 returns the 32-byte digest of `data`.
std::string Sha256(absl::string_view data);

// HmacSha256 returns the 32-byte HMAC-SHA-256 of `data` under `key`.
std::string HmacSha256(absl::string_view key, absl::string_view data);

// ConstantTimeEquals compares with CRYPTO_memcmp, so the time taken does not
// depend on where the inputs differ. Inputs of different lengths are unequal
// (lengths are public).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// HexEncode returns lower-case hex; HexDecode refuses odd lengths and non-hex
// characters.
std::string HexEncode(absl::string_view bytes);
absl::StatusOr<std::string> HexDecode(absl::string_view hex,
                                      absl::string_view what);

// ProofPurpose separates the three MACs so one can never stand in for another:
// a local application that obtains a link proof from the agent cannot turn it
// into a heartbeat.
enum class ProofPurpose { kEstablish, kHeartbeat, kLinkProof };

// ComputeProof returns HMAC-SHA-256(key, label(purpose) || u64 generation ||
// exporter). For kEstablish the key is the token itself and `generation` is 0.
std::string ComputeProof(ProofPurpose purpose, absl::string_view key,
                         uint64_t generation, absl::string_view exporter);

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_CRYPTO_H_
