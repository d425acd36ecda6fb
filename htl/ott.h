#ifndef TRUSTLINK_HTL_OTT_H_
#define TRUSTLINK_HTL_OTT_H_

// One-time tokens (docs/htl.md, "Tokens"). A token is 256 random bits. The
// appliance writes it once, into the token file the admin copies to the client,
// and keeps only its SHA-256 hash and expiry; the client's agent keeps it only
// until it has been exchanged.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace trustlink::htl {

inline constexpr absl::string_view kTokenFileSuffix = ".ott";
inline constexpr size_t kMaxTokenFileSize = 4096;

// OttRecord is what the appliance stores about a client's latest token.
struct OttRecord {
  std::string hash;  // SHA-256 of the token; never the token itself
  absl::Time generated_at = absl::InfinitePast();
  absl::Time expires_at = absl::InfinitePast();
  bool consumed = false;
  absl::Time consumed_at = absl::InfinitePast();
};

// NewOtt is a freshly generated token and the record to store for it.
struct NewOtt {
  std::string token;  // kTokenLen raw bytes; goes only into the token file
  OttRecord record;
};

// GenerateOtt draws a token from RAND_bytes and returns it with its record.
NewOtt GenerateOtt(absl::Time now, absl::Duration expiry);

// FormatTokenFile returns the token file's contents: a header line naming the
// format, the client the token is for (for the admin's eyes only; the appliance
// does not trust it), and the token in hex.
std::string FormatTokenFile(absl::string_view token,
                            absl::string_view client_name);

// ParseTokenFile returns the raw token from a token file's contents; `what`
// names the file in errors (TL_E_OTT_INVALID for anything malformed).
absl::StatusOr<std::string> ParseTokenFile(absl::string_view contents,
                                           absl::string_view what);

// TokenFileName returns "<name>.ott" after checking that `name` (a client host
// name or IP on the appliance, an appliance host name or IP on the client) is a
// plain file name.
absl::StatusOr<std::string> TokenFileName(absl::string_view name);

// TokenMatches reports whether `token` hashes to `record.hash`, comparing in
// constant time.
bool TokenMatches(const OttRecord& record, absl::string_view token);

// CheckUnconsumedOtt refuses an expired token (TL_E_OTT_EXPIRED) and a consumed
// one (TL_E_OTT_USED), each with a message saying which and what to do.
// `record` must already match the token.
absl::Status CheckUnconsumedOtt(const OttRecord& record, absl::Time now,
                                absl::string_view client);

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_OTT_H_
