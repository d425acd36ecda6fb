#include "ntl/names.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

absl::Status Invalid(absl::string_view name, absl::string_view why) {
  return Error(absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
               absl::StrCat("name '", name, "' ", why));
}

absl::Status CheckHostname(absl::string_view name) {
  if (name.size() > internal::kMaxNameLength) {
    return Invalid(name, "is longer than 253 characters");
  }
  std::vector<absl::string_view> labels = absl::StrSplit(name, '.');
  for (absl::string_view label : labels) {
    if (label.empty()) {
      return Invalid(
          name,
          "has an empty label (two dots in a row, or a leading or trailing "
          "dot); give the host name without a trailing dot");
    }
    if (label.size() > 63)
      return Invalid(name, "has a label longer than 63 characters");
    if (label.front() == '-' || label.back() == '-') {
      return Invalid(name, "has a label that starts or ends with '-'");
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return Invalid(
            name, absl::StrCat("contains '", absl::string_view(&c, 1),
                               "'; host names use letters, digits, '-' and '.' "
                               "only"));
      }
    }
  }
  // An all-numeric last label would make the name look like a (malformed) IPv4
  // address.
  absl::string_view last = labels.back();
  bool all_digits = true;
  for (char c : last)
    all_digits =
        all_digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  if (all_digits) {
    return Invalid(
        name,
        "is neither a valid IPv4 address nor a host name (its last label is "
        "all digits)");
  }
  return absl::OkStatus();
}

}  // namespace

const char* NameKindName(NameKind kind) {
  switch (kind) {
    case NameKind::kHostname:
      return "hostname";
    case NameKind::kIPv4:
      return "IPv4";
    case NameKind::kIPv6:
      return "IPv6";
  }
  return "unknown";
}

std::string FormatIPv6(const unsigned char addr[16]) {
  unsigned words[8];
  for (int i = 0; i < 8; ++i) words[i] = (addr[2 * i] << 8) | addr[2 * i + 1];
  // RFC 5952 4.2: compress the longest run of two or more zero words, the first
  // if tied.
  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (words[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && words[j] == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best_start = -1;
  // RFC 5952 5: IPv4-mapped addresses keep their dotted-quad tail.
  bool mapped = words[0] == 0 && words[1] == 0 && words[2] == 0 &&
                words[3] == 0 && words[4] == 0 && words[5] == 0xffff;
  std::string out;
  char buf[16];
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (mapped && i == 6) {
      if (!out.empty() && out.back() != ':') out += ':';
      std::snprintf(buf, sizeof(buf), "%u.%u", addr[12], addr[13]);
      out += buf;
      std::snprintf(buf, sizeof(buf), ".%u.%u", addr[14], addr[15]);
      out += buf;
      break;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof(buf), "%x", words[i]);
    out += buf;
  }
  return out;
}

absl::StatusOr<CanonicalName> CanonicalizeNameWithHost(
    absl::string_view name, absl::string_view local_host) {
  absl::Status valid = internal::ValidateName(name, "name");
  if (!valid.ok()) return valid;
  CanonicalName out;
  out.as_typed = std::string(name);
  std::string text(name);

  unsigned char addr[16];
  if (::inet_pton(AF_INET, text.c_str(), addr) == 1) {
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, addr, buf, sizeof(buf));
    out.kind = NameKind::kIPv4;
    out.canonical = buf;
    return out;
  }
  std::string v6 = text;
  if (v6.size() > 2 && v6.front() == '[' && v6.back() == ']')
    v6 = v6.substr(1, v6.size() - 2);
  if (v6.find(':') != std::string::npos) {
    if (::inet_pton(AF_INET6, v6.c_str(), addr) != 1) {
      return Invalid(name, "is not a valid IPv6 address");
    }
    out.kind = NameKind::kIPv6;
    out.canonical = FormatIPv6(addr);
    if (out.canonical != text) {
      out.warnings.push_back(absl::StrCat(
          "IPv6 address '", text,
          "' is not in canonical form; trustlink uses '", out.canonical,
          "'. The reference product compares IPv6 addresses as typed, so use "
          "this form "
          "everywhere (in the appliance's registration too)"));
    }
    return out;
  }
  absl::Status host = CheckHostname(name);
  if (!host.ok()) return host;
  out.kind = NameKind::kHostname;
  out.canonical = absl::AsciiStrToLower(name);
  if (!local_host.empty() && absl::EqualsIgnoreCase(name, local_host) &&
      name != local_host) {
    out.warnings.push_back(absl::StrCat(
        "name '", name, "' differs from this host's name '", local_host,
        "' only by case; trustlink ignores case, but the reference product "
        "compared names "
        "letter for letter"));
  }
  return out;
}

absl::StatusOr<CanonicalName> CanonicalizeName(absl::string_view name) {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return CanonicalizeNameWithHost(name, host);
}

std::string FileStem(const CanonicalName& name) {
  return name.kind == NameKind::kHostname ? name.as_typed : name.canonical;
}

bool SameName(absl::string_view a, absl::string_view b) {
  absl::StatusOr<CanonicalName> ca = CanonicalizeNameWithHost(a, "");
  absl::StatusOr<CanonicalName> cb = CanonicalizeNameWithHost(b, "");
  return ca.ok() && cb.ok() && ca->kind == cb->kind &&
         ca->canonical == cb->canonical;
}

}  // namespace trustlink::ntl
