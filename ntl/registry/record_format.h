#ifndef TRUSTLINK_NTL_REGISTRY_RECORD_FORMAT_H_
#define TRUSTLINK_NTL_REGISTRY_RECORD_FORMAT_H_

// The text format of the registry's files (docs/appliance.md, "Storage"). Every
// file is "key = value" lines, with '#' comments; a client file ends with its
// certificate in PEM after a "certificate:" line. Parse errors name the file
// and the line, so a registry edited by hand and damaged says where. Parsing is
// strict: unknown keys, repeated keys, missing keys and values out of range are
// all errors, never skipped.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/registry/model.h"

namespace trustlink::ntl::registry {

std::string FormatClient(const ClientRecord& client);
// ParseClient parses `text`; `file` is the name used in messages
// ("clients/ab12..."). It checks every field, and that the fingerprint matches
// the certificate's DER.
absl::StatusOr<ClientRecord> ParseClient(absl::string_view text,
                                         absl::string_view file);

std::string FormatPartition(const Partition& partition);
absl::StatusOr<Partition> ParsePartition(absl::string_view text,
                                         absl::string_view file);

std::string FormatSettings(const Settings& settings);
absl::StatusOr<Settings> ParseSettings(absl::string_view text,
                                       absl::string_view file);

// FingerprintOfPem computes the canonical SHA-256 fingerprint of the single
// certificate in `pem` without a full X.509 parse (base64 decode and hash),
// which keeps loading 100,000 clients cheap.
absl::StatusOr<std::string> FingerprintOfPem(absl::string_view pem);

}  // namespace trustlink::ntl::registry

#endif  // TRUSTLINK_NTL_REGISTRY_RECORD_FORMAT_H_
