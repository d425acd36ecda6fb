#include "ntl/registry/model.h"

#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ntl/status.h"

namespace trustlink::ntl::registry {
namespace {

absl::Status NameError(absl::string_view what, absl::string_view value,
                       absl::string_view rule) {
  std::string shown(value.substr(0, 80));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = '?';
    }
  }
  return Error(absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
               absl::StrCat(what, " '", shown, "' is not allowed: ", rule));
}

bool AllOf(absl::string_view s, absl::string_view extra) {
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        extra.find(c) == absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status ValidateLabel(absl::string_view label) {
  constexpr absl::string_view kRule =
      "use 1-64 letters, digits, spaces or _.-@:+, not starting with '.', '-' "
      "or a space";
  if (label.empty() || label.size() > kMaxLabelLength ||
      !AllOf(label, " _.-@:+") || label.front() == '.' ||
      label.front() == '-' || label.front() == ' ' || label.back() == ' ') {
    return NameError("client label", label, kRule);
  }
  return absl::OkStatus();
}

absl::Status ValidatePartitionName(absl::string_view name) {
  constexpr absl::string_view kRule =
      "use 1-32 letters, digits or _.-, not starting with '.' or '-'";
  if (name.empty() || name.size() > kMaxPartitionNameLength ||
      !AllOf(name, "_.-") || name.front() == '.' || name.front() == '-') {
    return NameError("partition name", name, kRule);
  }
  return absl::OkStatus();
}

absl::Status ValidatePartitionLabel(absl::string_view label) {
  if (label.size() > kMaxPartitionLabelLength) {
    return NameError("partition label", label,
                     "use at most 64 printable characters");
  }
  for (char c : label) {
    if (c < 0x20 || c > 0x7e) {
      return NameError("partition label", label,
                       "use printable ASCII characters only");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSerial(absl::string_view serial) {
  if (serial.empty() || serial.size() > kMaxSerialLength ||
      !AllOf(serial, "") ||
      !std::all_of(serial.begin(), serial.end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c));
      })) {
    return NameError("partition serial", serial, "use 1-20 decimal digits");
  }
  return absl::OkStatus();
}

absl::Status ValidateOttExpiry(int64_t seconds) {
  if (seconds < 0 || seconds > kMaxOttExpirySeconds) {
    return Error(
        absl::StatusCode::kOutOfRange, TL_E_OUT_OF_RANGE,
        absl::StrCat(
            "OTT expiry ", seconds,
            " s is out of range; use 1 to 2592000 seconds (30 days), or 0 "
            "for the appliance default"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSettings(const Settings& s) {
  auto range = [](absl::string_view field, int64_t value, int64_t lo,
                  int64_t hi) -> absl::Status {
    if (value < lo || value > hi) {
      return Error(absl::StatusCode::kOutOfRange, TL_E_OUT_OF_RANGE,
                   absl::StrCat(field, " ", value, " is out of range; use ", lo,
                                " to ", hi));
    }
    return absl::OkStatus();
  };
  absl::Status st;
  if (!(st = range("port", s.port, 1, 65535)).ok()) return st;
  if (!(st = range("keep-alive idle", s.keepalive_idle_seconds, 1, 7200)).ok())
    return st;
  if (!(st =
            range("keep-alive interval", s.keepalive_interval_seconds, 1, 3600))
           .ok()) {
    return st;
  }
  if (!(st = range("keep-alive probes", s.keepalive_probes, 1, 100)).ok())
    return st;
  if (!(st = range("receive timeout (ms)", s.receive_timeout_ms, 100, 3600000))
           .ok()) {
    return st;
  }
  if (!(st = range("max links per client", s.max_links_per_client, 1, 1000000))
           .ok()) {
    return st;
  }
  if (!(st = range("HTL grace period", s.htl_grace_period_seconds, 1, 86400))
           .ok()) {
    return st;
  }
  if (!(st = range("default OTT expiry", s.htl_default_ott_expiry_seconds, 1,
                   kMaxOttExpirySeconds))
           .ok()) {
    return st;
  }
  if (s.bind_address.empty() || s.bind_address.size() > 64) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 "bind address must be an IP address");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeFingerprint(
    absl::string_view fingerprint) {
  std::string hex;
  hex.reserve(64);
  for (char c : fingerprint) {
    if (c == ':') {
      continue;
    }
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) ||
        hex.size() == 64) {
      return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                   "a SHA-256 fingerprint is 64 hex digits, optionally "
                   "separated by ':'");
    }
    hex.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 64) {
    return Error(
        absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
        "a SHA-256 fingerprint is 64 hex digits, optionally separated by ':'");
  }
  std::string out;
  out.reserve(95);
  for (size_t i = 0; i < 64; i += 2) {
    if (i > 0) {
      out.push_back(':');
    }
    out.append(hex, i, 2);
  }
  return out;
}

std::string FingerprintHex(absl::string_view canonical_fingerprint) {
  std::string hex;
  hex.reserve(64);
  for (char c : canonical_fingerprint) {
    if (c != ':') {
      hex.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    }
  }
  return hex;
}

std::string ClientFileId(absl::string_view label) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(label.data()), label.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

const char* NameKindToken(NameKind kind) {
  switch (kind) {
    case NameKind::kHostname:
      return "hostname";
    case NameKind::kIPv4:
      return "ipv4";
    case NameKind::kIPv6:
      return "ipv6";
  }
  return "hostname";
}

absl::StatusOr<NameKind> ParseNameKindToken(absl::string_view text) {
  if (text == "hostname") return NameKind::kHostname;
  if (text == "ipv4") return NameKind::kIPv4;
  if (text == "ipv6") return NameKind::kIPv6;
  return absl::InvalidArgumentError(
      absl::StrCat("name kind '", text, "' is not hostname, ipv4 or ipv6"));
}

}  // namespace trustlink::ntl::registry
