#ifndef TRUSTLINK_NTL_REGISTRY_MODEL_H_
#define TRUSTLINK_NTL_REGISTRY_MODEL_H_

// The appliance registry's data: clients, partitions and settings, as plain
// values, plus the rules every value must satisfy (what a label or partition
// name may contain, the ranges of the settings). Storage and the Registry class
// build on these; nothing here touches disk.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/names.h"

namespace trustlink::ntl::registry {

// ClientRecord is one registered client.
// Thread safety: a plain value; a const record in a snapshot may be read from
// any thread.
struct ClientRecord {
  std::string label;  // Free text for people; unique. See ValidateLabel.
  NameKind name_kind = NameKind::kHostname;  // -hostname or -ip.
  std::string
      name;  // Canonical hostname (lower case) or IP (RFC 5952 for IPv6).
  std::string
      fingerprint;  // SHA-256 of the certificate's DER, "AB:CD:..." (95 chars).
  std::string certificate_pem;
  bool require_htl = false;
  // OTT expiry in seconds for this client; 0 means "the appliance default" (htl
  // show).
  int64_t ott_expiry_seconds = 0;
  std::vector<std::string>
      host_ips;  // Canonical IPs mapped to a hostname client.
  std::vector<std::string> partitions;  // Names of assigned partitions, sorted.
  int64_t registered_unix = 0;          // When the record was made (seconds).
  int64_t changed_unix = 0;             // When it was last changed (seconds).
};

// Partition is a named partition clients can be assigned to.
// Thread safety: a plain value.
struct Partition {
  std::string name;    // Unique. See ValidatePartitionName.
  std::string label;   // Free text for people.
  std::string serial;  // Unique decimal serial number.
  int64_t created_unix = 0;
};

// Settings are the NTLS and HTL settings of the appliance, with the documented
// defaults. Thread safety: a plain value.
struct Settings {
  std::string bind_address = "0.0.0.0";
  int32_t port = 1792;
  bool ipcheck = true;
  bool tcp_keepalive = true;
  int32_t keepalive_idle_seconds = 60;
  int32_t keepalive_interval_seconds = 10;
  int32_t keepalive_probes = 5;
  int32_t receive_timeout_ms = 20000;
  // Admitted links one client may hold at once (docs/server.md, "Connection
  // budget"); ntlsd applies a change at once.
  int32_t max_links_per_client = 256;
  int32_t htl_grace_period_seconds = 60;
  int32_t htl_default_ott_expiry_seconds = 300;
};

// Limits on field sizes; anything longer is refused before it reaches disk.
inline constexpr size_t kMaxLabelLength = 64;
inline constexpr size_t kMaxPartitionNameLength = 32;
inline constexpr size_t kMaxPartitionLabelLength = 64;
inline constexpr size_t kMaxSerialLength = 20;
inline constexpr size_t kMaxCertificatePemSize = 64 * 1024;
inline constexpr size_t kMaxHostIpsPerClient = 64;
inline constexpr size_t kMaxPartitionsPerClient = 256;
inline constexpr int64_t kMaxOttExpirySeconds = 30LL * 24 * 3600;

// ValidateLabel accepts 1..64 characters of letters, digits, space and
// "_.-@:+", not starting with '.', '-' or a space and not ending with a space.
// Labels never become paths, but "../x" and friends are still refused so that
// no tool ever has to wonder.
absl::Status ValidateLabel(absl::string_view label);

// ValidatePartitionName accepts 1..32 characters of letters, digits and "_.-",
// not starting with '.' or '-'. A partition name is a file name in the
// registry.
absl::Status ValidatePartitionName(absl::string_view name);

// ValidatePartitionLabel accepts 0..64 printable ASCII characters.
absl::Status ValidatePartitionLabel(absl::string_view label);

// ValidateSerial accepts 1..20 decimal digits.
absl::Status ValidateSerial(absl::string_view serial);

// ValidateOttExpiry accepts 0 (use the default) .. 30 days.
absl::Status ValidateOttExpiry(int64_t seconds);

// ValidateSettings checks every field's range; the message names the field and
// the range.
absl::Status ValidateSettings(const Settings& settings);

// NormalizeFingerprint turns "ab:cd:..." or "abcd..." (64 hex digits, either
// case, colons optional) into the canonical "AB:CD:..." form, or fails with
// INVALID_ARGUMENT.
absl::StatusOr<std::string> NormalizeFingerprint(absl::string_view fingerprint);

// FingerprintFileId is the 64 lower-case hex digits of a canonical fingerprint.
std::string FingerprintHex(absl::string_view canonical_fingerprint);

// ClientFileId is the file name of a client's record: 32 hex digits of
// SHA-256(label). Derived from the label, not the certificate, so replacing a
// certificate rewrites one file.
std::string ClientFileId(absl::string_view label);

// NameKindName is "hostname", "ipv4" or "ipv6".
const char* NameKindToken(NameKind kind);
absl::StatusOr<NameKind> ParseNameKindToken(absl::string_view text);

}  // namespace trustlink::ntl::registry

#endif  // TRUSTLINK_NTL_REGISTRY_MODEL_H_
