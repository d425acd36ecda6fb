#include "ntl/registry/record_format.h"

#include <openssl/sha.h>

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ntl/status.h"

namespace trustlink::ntl::registry {
namespace {

constexpr absl::string_view kFormatVersion = "1";
constexpr absl::string_view kCertificateMarker = "certificate:";

absl::Status Damaged(absl::string_view file, int line, absl::string_view what) {
  if (line > 0) {
    return Error(
        absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
        absl::StrCat("registry file ", file, " line ", line, ": ", what,
                     "; restore it from a backup or fix it by hand"));
  }
  return Error(absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
               absl::StrCat("registry file ", file, ": ", what,
                            "; restore it from a backup or fix it by hand"));
}

struct Field {
  std::string value;
  int line;
};

// Fields holds a file's "key = value" lines. Keys listed in `repeatable` may
// occur many times; every other key at most once.
struct Fields {
  std::multimap<std::string, Field> values;
  std::string rest;  // Everything after the certificate marker line.
  int rest_line = 0;
};

absl::StatusOr<Fields> Split(absl::string_view text, absl::string_view file,
                             const std::vector<absl::string_view>& known,
                             const std::vector<absl::string_view>& repeatable,
                             bool has_certificate) {
  Fields fields;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    bool last = end == absl::string_view::npos;
    absl::string_view line =
        text.substr(pos, last ? absl::string_view::npos : end - pos);
    pos = last ? text.size() : end + 1;
    ++line_no;
    if (last && !line.empty()) {
      return Damaged(file, line_no,
                     "the file is truncated (no newline at the end)");
    }
    absl::string_view stripped = absl::StripAsciiWhitespace(line);
    if (stripped.empty() || stripped.front() == '#') {
      continue;
    }
    if (has_certificate && stripped == kCertificateMarker) {
      fields.rest = std::string(text.substr(pos));
      fields.rest_line = line_no + 1;
      return fields;
    }
    for (char c : line) {
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
        return Damaged(file, line_no, "control character in line");
      }
    }
    size_t eq = stripped.find('=');
    if (eq == absl::string_view::npos) {
      return Damaged(file, line_no,
                     absl::StrCat("expected 'key = value', found '",
                                  stripped.substr(0, 60), "'"));
    }
    std::string key(absl::StripAsciiWhitespace(stripped.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(stripped.substr(eq + 1)));
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Damaged(file, line_no,
                     absl::StrCat("unknown key '", key.substr(0, 40), "'"));
    }
    if (fields.values.count(key) > 0 &&
        std::find(repeatable.begin(), repeatable.end(), key) ==
            repeatable.end()) {
      return Damaged(file, line_no,
                     absl::StrCat("key '", key, "' appears twice"));
    }
    fields.values.emplace(key, Field{value, line_no});
  }
  if (has_certificate) {
    return Damaged(file, line_no,
                   "the 'certificate:' section is missing (file truncated?)");
  }
  return fields;
}

absl::StatusOr<Field> Required(const Fields& f, absl::string_view file,
                               const std::string& key) {
  auto it = f.values.find(key);
  if (it == f.values.end()) {
    return Damaged(file, 0,
                   absl::StrCat("required key '", key, "' is missing"));
  }
  return it->second;
}

template <typename Int>
absl::Status ParseInt(const Field& field, absl::string_view file,
                      absl::string_view key, Int* out) {
  int64_t v;
  if (!absl::SimpleAtoi(field.value, &v) ||
      v < std::numeric_limits<Int>::min() ||
      v > std::numeric_limits<Int>::max()) {
    return Damaged(file, field.line,
                   absl::StrCat("'", key, "' must be a number, found '",
                                field.value.substr(0, 30), "'"));
  }
  *out = static_cast<Int>(v);
  return absl::OkStatus();
}

absl::Status ParseBool(const Field& field, absl::string_view file,
                       absl::string_view key, bool* out) {
  if (field.value == "yes") {
    *out = true;
  } else if (field.value == "no") {
    *out = false;
  } else {
    return Damaged(file, field.line,
                   absl::StrCat("'", key, "' must be yes or no"));
  }
  return absl::OkStatus();
}

// Checked runs a validator and turns its failure into a file-and-line damage
// report.
absl::Status Checked(absl::Status st, absl::string_view file, int line) {
  if (st.ok()) {
    return st;
  }
  return Damaged(file, line, st.message());
}

#define RETURN_IF_ERROR_REG(expr) \
  do {                            \
    absl::Status _st = (expr);    \
    if (!_st.ok()) return _st;    \
  } while (0)

const char* YesNo(bool b) { return b ? "yes" : "no"; }

// WithFinalNewline returns `pem` ending in a newline (a file's last line ends
// in one; an empty PEM stays empty).
std::string WithFinalNewline(absl::string_view pem) {
  std::string out(pem);
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  return out;
}

}  // namespace

absl::StatusOr<std::string> FingerprintOfPem(absl::string_view pem) {
  constexpr absl::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr absl::string_view kEnd = "-----END CERTIFICATE-----";
  size_t b = pem.find(kBegin);
  size_t e = pem.find(kEnd);
  if (b == absl::string_view::npos || e == absl::string_view::npos || e < b ||
      pem.find(kBegin, b + 1) != absl::string_view::npos) {
    return absl::InvalidArgumentError("expected exactly one PEM certificate");
  }
  std::string b64;
  for (char c : pem.substr(b + kBegin.size(), e - b - kBegin.size())) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) {
      b64.push_back(c);
    }
  }
  std::string der;
  if (!absl::Base64Unescape(b64, &der) || der.empty()) {
    return absl::InvalidArgumentError("the certificate's base64 is damaged");
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(der.data()), der.size(), digest);
  return NormalizeFingerprint(absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest), sizeof(digest))));
}

std::string FormatClient(const ClientRecord& c) {
  std::string out =
      "# trustlink appliance client record. Change it with ntlsh, not by "
      "hand.\n";
  absl::StrAppend(&out, "format = ", kFormatVersion, "\n");
  absl::StrAppend(&out, "label = ", c.label, "\n");
  absl::StrAppend(&out, "kind = ", NameKindToken(c.name_kind), "\n");
  absl::StrAppend(&out, "name = ", c.name, "\n");
  absl::StrAppend(&out, "fingerprint = ", c.fingerprint, "\n");
  absl::StrAppend(&out, "requirehtl = ", YesNo(c.require_htl), "\n");
  absl::StrAppend(&out, "ottexpiry = ", c.ott_expiry_seconds, "\n");
  for (const std::string& ip : c.host_ips) {
    absl::StrAppend(&out, "hostip = ", ip, "\n");
  }
  for (const std::string& p : c.partitions) {
    absl::StrAppend(&out, "partition = ", p, "\n");
  }
  absl::StrAppend(&out, "registered = ", c.registered_unix, "\n");
  absl::StrAppend(&out, "changed = ", c.changed_unix, "\n");
  absl::StrAppend(&out, kCertificateMarker, "\n",
                  WithFinalNewline(c.certificate_pem));
  return out;
}

absl::StatusOr<ClientRecord> ParseClient(absl::string_view text,
                                         absl::string_view file) {
  auto fields_or =
      Split(text, file,
            {"format", "label", "kind", "name", "fingerprint", "requirehtl",
             "ottexpiry", "hostip", "partition", "registered", "changed"},
            {"hostip", "partition"}, /*has_certificate=*/true);
  if (!fields_or.ok()) return fields_or.status();
  const Fields& f = *fields_or;
  ClientRecord c;
  for (const char* key : {"format", "label", "kind", "name", "fingerprint",
                          "requirehtl", "ottexpiry", "registered", "changed"}) {
    auto field = Required(f, file, key);
    if (!field.ok()) return field.status();
    const std::string& v = field->value;
    int line = field->line;
    absl::string_view k = key;
    if (k == "format") {
      if (v != kFormatVersion) {
        return Damaged(file, line,
                       absl::StrCat("unsupported format '", v.substr(0, 10),
                                    "' (this version reads format 1)"));
      }
    } else if (k == "label") {
      RETURN_IF_ERROR_REG(Checked(ValidateLabel(v), file, line));
      c.label = v;
    } else if (k == "kind") {
      auto kind = ParseNameKindToken(v);
      if (!kind.ok()) return Damaged(file, line, kind.status().message());
      c.name_kind = *kind;
    } else if (k == "name") {
      if (v.empty() || v.size() > 253) {
        return Damaged(file, line, "'name' must be a hostname or IP address");
      }
      c.name = v;
    } else if (k == "fingerprint") {
      auto fp = NormalizeFingerprint(v);
      if (!fp.ok() || *fp != v) {
        return Damaged(file, line,
                       "'fingerprint' is not a canonical SHA-256 fingerprint");
      }
      c.fingerprint = v;
    } else if (k == "requirehtl") {
      RETURN_IF_ERROR_REG(ParseBool(*field, file, key, &c.require_htl));
    } else if (k == "ottexpiry") {
      RETURN_IF_ERROR_REG(ParseInt(*field, file, key, &c.ott_expiry_seconds));
      RETURN_IF_ERROR_REG(
          Checked(ValidateOttExpiry(c.ott_expiry_seconds), file, line));
    } else if (k == "registered") {
      RETURN_IF_ERROR_REG(ParseInt(*field, file, key, &c.registered_unix));
    } else if (k == "changed") {
      RETURN_IF_ERROR_REG(ParseInt(*field, file, key, &c.changed_unix));
    }
  }
  auto range = f.values.equal_range("hostip");
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second.value.empty() || it->second.value.size() > 45) {
      return Damaged(file, it->second.line, "'hostip' must be an IP address");
    }
    c.host_ips.push_back(it->second.value);
  }
  range = f.values.equal_range("partition");
  for (auto it = range.first; it != range.second; ++it) {
    RETURN_IF_ERROR_REG(Checked(ValidatePartitionName(it->second.value), file,
                                it->second.line));
    c.partitions.push_back(it->second.value);
  }
  std::sort(c.partitions.begin(), c.partitions.end());
  if (std::adjacent_find(c.partitions.begin(), c.partitions.end()) !=
      c.partitions.end()) {
    return Damaged(file, 0, "a partition is listed twice");
  }
  if (f.rest.size() > kMaxCertificatePemSize) {
    return Damaged(file, f.rest_line, "the certificate is too large");
  }
  auto fp = FingerprintOfPem(f.rest);
  if (!fp.ok()) {
    return Damaged(file, f.rest_line, fp.status().message());
  }
  if (*fp != c.fingerprint) {
    return Damaged(file, f.rest_line,
                   "the certificate does not match the 'fingerprint' line");
  }
  // The form FormatClient writes, so a load and a rewrite agree.
  c.certificate_pem = WithFinalNewline(f.rest);
  return c;
}

std::string FormatPartition(const Partition& p) {
  std::string out =
      "# trustlink appliance partition. Change it with ntlsh, not by hand.\n";
  absl::StrAppend(&out, "format = ", kFormatVersion, "\n");
  absl::StrAppend(&out, "name = ", p.name, "\n");
  absl::StrAppend(&out, "label = ", p.label, "\n");
  absl::StrAppend(&out, "serial = ", p.serial, "\n");
  absl::StrAppend(&out, "created = ", p.created_unix, "\n");
  return out;
}

absl::StatusOr<Partition> ParsePartition(absl::string_view text,
                                         absl::string_view file) {
  auto fields_or =
      Split(text, file, {"format", "name", "label", "serial", "created"}, {},
            /*has_certificate=*/false);
  if (!fields_or.ok()) return fields_or.status();
  Partition p;
  for (const char* key : {"format", "name", "label", "serial", "created"}) {
    auto field = Required(*fields_or, file, key);
    if (!field.ok()) return field.status();
    absl::string_view k = key;
    const std::string& v = field->value;
    if (k == "format" && v != kFormatVersion) {
      return Damaged(file, field->line,
                     "unsupported format (this version reads format 1)");
    } else if (k == "name") {
      RETURN_IF_ERROR_REG(Checked(ValidatePartitionName(v), file, field->line));
      p.name = v;
    } else if (k == "label") {
      RETURN_IF_ERROR_REG(
          Checked(ValidatePartitionLabel(v), file, field->line));
      p.label = v;
    } else if (k == "serial") {
      RETURN_IF_ERROR_REG(Checked(ValidateSerial(v), file, field->line));
      p.serial = v;
    } else if (k == "created") {
      RETURN_IF_ERROR_REG(ParseInt(*field, file, key, &p.created_unix));
    }
  }
  return p;
}

std::string FormatSettings(const Settings& s) {
  std::string out =
      "# trustlink appliance NTLS and HTL settings. Change them with ntlsh.\n";
  absl::StrAppend(&out, "format = ", kFormatVersion, "\n");
  absl::StrAppend(&out, "bind = ", s.bind_address, "\n");
  absl::StrAppend(&out, "port = ", s.port, "\n");
  absl::StrAppend(&out, "ipcheck = ", YesNo(s.ipcheck), "\n");
  absl::StrAppend(&out, "tcp_keepalive = ", YesNo(s.tcp_keepalive), "\n");
  absl::StrAppend(&out, "keepalive_idle = ", s.keepalive_idle_seconds, "\n");
  absl::StrAppend(&out, "keepalive_interval = ", s.keepalive_interval_seconds,
                  "\n");
  absl::StrAppend(&out, "keepalive_probes = ", s.keepalive_probes, "\n");
  absl::StrAppend(&out, "receive_timeout_ms = ", s.receive_timeout_ms, "\n");
  absl::StrAppend(&out, "max_links_per_client = ", s.max_links_per_client,
                  "\n");
  absl::StrAppend(&out, "htl_grace_period = ", s.htl_grace_period_seconds,
                  "\n");
  absl::StrAppend(&out,
                  "htl_default_ott_expiry = ", s.htl_default_ott_expiry_seconds,
                  "\n");
  return out;
}

absl::StatusOr<Settings> ParseSettings(absl::string_view text,
                                       absl::string_view file) {
  const std::vector<absl::string_view> keys = {"format",
                                               "bind",
                                               "port",
                                               "ipcheck",
                                               "tcp_keepalive",
                                               "keepalive_idle",
                                               "keepalive_interval",
                                               "keepalive_probes",
                                               "receive_timeout_ms",
                                               "max_links_per_client",
                                               "htl_grace_period",
                                               "htl_default_ott_expiry"};
  auto fields_or = Split(text, file, keys, {}, /*has_certificate=*/false);
  if (!fields_or.ok()) return fields_or.status();
  // Missing keys keep their defaults, so a hand-written settings file may be
  // short.
  Settings s;
  for (const auto& [key, field] : fields_or->values) {
    const std::string& v = field.value;
    if (key == "format") {
      if (v != kFormatVersion) {
        return Damaged(file, field.line,
                       "unsupported format (this version reads format 1)");
      }
    } else if (key == "bind") {
      s.bind_address = v;
    } else if (key == "port") {
      RETURN_IF_ERROR_REG(ParseInt(field, file, key, &s.port));
    } else if (key == "ipcheck") {
      RETURN_IF_ERROR_REG(ParseBool(field, file, key, &s.ipcheck));
    } else if (key == "tcp_keepalive") {
      RETURN_IF_ERROR_REG(ParseBool(field, file, key, &s.tcp_keepalive));
    } else if (key == "keepalive_idle") {
      RETURN_IF_ERROR_REG(
          ParseInt(field, file, key, &s.keepalive_idle_seconds));
    } else if (key == "keepalive_interval") {
      RETURN_IF_ERROR_REG(
          ParseInt(field, file, key, &s.keepalive_interval_seconds));
    } else if (key == "keepalive_probes") {
      RETURN_IF_ERROR_REG(ParseInt(field, file, key, &s.keepalive_probes));
    } else if (key == "receive_timeout_ms") {
      RETURN_IF_ERROR_REG(ParseInt(field, file, key, &s.receive_timeout_ms));
    } else if (key == "max_links_per_client") {
      RETURN_IF_ERROR_REG(ParseInt(field, file, key, &s.max_links_per_client));
    } else if (key == "htl_grace_period") {
      RETURN_IF_ERROR_REG(
          ParseInt(field, file, key, &s.htl_grace_period_seconds));
    } else if (key == "htl_default_ott_expiry") {
      RETURN_IF_ERROR_REG(
          ParseInt(field, file, key, &s.htl_default_ott_expiry_seconds));
    }
  }
  absl::Status st = ValidateSettings(s);
  if (!st.ok()) {
    return Damaged(file, 0, st.message());
  }
  return s;
}

}  // namespace trustlink::ntl::registry
