#ifndef TRUSTLINK_NTL_NAMES_H_
#define TRUSTLINK_NTL_NAMES_H_

// Host names and IP addresses as the standards compare them: host names without
// regard to case (RFC 4343), IPv6 in its canonical text form (RFC 5952). The
// reference product compared names letter for letter, so where it would have
// failed we keep going but warn.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::ntl {

enum class NameKind { kHostname, kIPv4, kIPv6 };

// NameKindName returns "hostname", "IPv4" or "IPv6".
const char* NameKindName(NameKind kind);

// CanonicalName is a name after canonicalisation.
// Thread safety: a plain value; copy it freely.
struct CanonicalName {
  NameKind kind = NameKind::kHostname;
  // canonical: lower-case host name, dotted-quad IPv4, or RFC 5952 IPv6. Use
  // this for files, certificates and comparisons.
  std::string canonical;
  // as_typed: what the user gave.
  std::string as_typed;
  // warnings: things that would have failed in the reference product, for the
  // user to see.
  std::vector<std::string> warnings;
};

// CanonicalizeName parses `name` as an IPv4 address, an IPv6 address
// (optionally in brackets) or an LDH host name (labels of letters, digits and
// inner hyphens, at most 63 characters each, 253 in all). Errors carry
// TL_E_NAME_INVALID and say what is wrong.
absl::StatusOr<CanonicalName> CanonicalizeName(absl::string_view name);

// CanonicalizeNameWithHost is CanonicalizeName with the local host name given
// (for tests); CanonicalizeName uses gethostname().
absl::StatusOr<CanonicalName> CanonicalizeNameWithHost(
    absl::string_view name, absl::string_view local_host);

// FileStem returns the form of `name` used in file names: a host name as it
// was typed (letter case kept, so `myClient1` stays `myClient1.pem`, as the
// reference product writes it) and an address in its canonical form. Look
// such files up without regard to case (SameName, or the canonical form of
// the stem), since a name may be typed in another case later.
std::string FileStem(const CanonicalName& name);

// SameName reports whether `a` and `b` name the same host or address. Names
// that do not parse are never the same as anything.
bool SameName(absl::string_view a, absl::string_view b);

// FormatIPv6 returns the RFC 5952 text of a 16-byte IPv6 address.
std::string FormatIPv6(const unsigned char addr[16]);

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_NAMES_H_
