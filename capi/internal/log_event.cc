#include "capi/internal/log_event.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "trustlink/log.h"

namespace trustlink::capi::internal {
namespace {

bool IsKeyChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '-';
}

// ValueEnd returns where a quoted value that starts after `open` ends: at the
// first matching quote followed by the end, a space, ';' or ','. Reasons hold
// quotes of the other kind (client 'web1'), so the next quote alone would
// not do.
size_t ValueEnd(absl::string_view s, size_t open, char quote) {
  for (size_t i = open + 1; i < s.size(); ++i) {
    if (s[i] == quote && (i + 1 == s.size() || s[i + 1] == ' ' ||
                          s[i + 1] == ';' || s[i + 1] == ',')) {
      return i;
    }
  }
  return absl::string_view::npos;
}

int32_t LevelOf(absl::string_view kind, bool alert) {
  if (alert) {
    return TL_LOG_ALERT;
  }
  if (kind == "refused" || kind == "handshake-failed" ||
      kind == "protocol-error" || kind == "htl-down") {
    return TL_LOG_WARNING;
  }
  if (kind == "certificate-error") {
    return TL_LOG_ERROR;
  }
  return TL_LOG_INFO;
}

// The keys whose values are network addresses, in the order they are listed.
constexpr absl::string_view kAddressKeys[] = {"peer", "presented", "other"};

}  // namespace

tl_log_event ParseLogLine(absl::string_view source, absl::string_view line) {
  tl_log_event e;
  e.source = std::string(source);
  e.line = std::string(line);
  size_t pos = line.find(' ');
  absl::string_view first = line.substr(0, pos);
  bool alert = false;
  if (first == "ALERT" && pos != absl::string_view::npos) {
    // "ALERT htl client=...": the part that raised it names the kind.
    alert = true;
    const size_t start = pos + 1;
    pos = line.find(' ', start);
    e.kind = absl::StrCat(
        absl::AsciiStrToLower(line.substr(start, pos - start)), "-alert");
  } else {
    if (!first.empty() && first.back() == ':') {
      first.remove_suffix(1);
    }
    e.kind = std::string(first);
  }
  e.level = LevelOf(e.kind, alert);
  while (pos != absl::string_view::npos && pos < line.size()) {
    while (pos < line.size() && line[pos] == ' ') {
      ++pos;
    }
    size_t k = pos;
    while (k < line.size() && IsKeyChar(line[k])) {
      ++k;
    }
    if (k == pos || k >= line.size() || line[k] != '=') {
      pos = line.find(' ', pos);  // not a field: skip the word
      continue;
    }
    const absl::string_view key = line.substr(pos, k - pos);
    size_t v = k + 1;
    absl::string_view value;
    if (v < line.size() && (line[v] == '\'' || line[v] == '"')) {
      const size_t end = ValueEnd(line, v, line[v]);
      if (end == absl::string_view::npos) {
        value = line.substr(v + 1);
        pos = absl::string_view::npos;
      } else {
        value = line.substr(v + 1, end - v - 1);
        pos = end + 1;
      }
    } else {
      size_t end = v;
      while (end < line.size() && line[end] != ' ' && line[end] != ';' &&
             line[end] != ',') {
        ++end;
      }
      value = line.substr(v, end - v);
      pos = end;
    }
    e.fields.emplace_back(std::string(key), std::string(value));
    if (pos != absl::string_view::npos) {
      while (pos < line.size() && (line[pos] == ';' || line[pos] == ',')) {
        ++pos;
      }
    }
  }
  for (absl::string_view address_key : kAddressKeys) {
    for (const auto& [key, value] : e.fields) {
      if (key == address_key && !value.empty()) {
        e.addresses.push_back(value);
      }
    }
  }
  for (const auto& [key, value] : e.fields) {
    if (key == "client") {
      e.client = value;
      break;
    }
  }
  return e;
}

}  // namespace trustlink::capi::internal
