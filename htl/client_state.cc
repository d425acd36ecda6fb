#include "htl/client_state.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "htl/crypto.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

constexpr absl::string_view kHeader = "trustlink-htl-client v1";

std::string TimeText(absl::Time t) {
  if (t == absl::InfinitePast()) return "never";
  return absl::StrCat(absl::ToUnixNanos(t));
}

bool ParseTime(absl::string_view s, absl::Time* out) {
  if (s == "never") {
    *out = absl::InfinitePast();
    return true;
  }
  int64_t ns = 0;
  if (!absl::SimpleAtoi(s, &ns)) return false;
  *out = absl::FromUnixNanos(ns);
  return true;
}

const char* ChainText(Chain c) {
  switch (c) {
    case Chain::kNone:
      return "none";
    case Chain::kAlive:
      return "alive";
    case Chain::kDown:
      return "down";
  }
  return "none";
}

// An entry is "<generation> <secret hex> <source hex> <issued_at>"; the source
// is hex so that any address text survives the space-separated form.
std::string EntryText(const SecretEntry& e) {
  return absl::StrCat(e.generation, " ", HexEncode(e.secret), " ",
                      HexEncode(e.source), " ", TimeText(e.issued_at));
}

bool ParseEntry(absl::string_view s, SecretEntry* e) {
  std::vector<absl::string_view> f = absl::StrSplit(s, ' ');
  if (f.size() != 4 || !absl::SimpleAtoi(f[0], &e->generation)) return false;
  absl::StatusOr<std::string> secret = HexDecode(f[1], "secret");
  absl::StatusOr<std::string> source = HexDecode(f[2], "source");
  if (!secret.ok() || secret->size() != kSecretLen || !source.ok())
    return false;
  e->secret = *std::move(secret);
  e->source = *std::move(source);
  return ParseTime(f[3], &e->issued_at);
}

}  // namespace

std::string ClientFileName(absl::string_view client) {
  return absl::StrCat(kClientFilePrefix,
                      HexEncode(Sha256(client)).substr(0, 40));
}

std::string SerializeClientState(const ClientState& s) {
  std::string out = absl::StrCat(kHeader, "\n");
  auto line = [&out](absl::string_view k, absl::string_view v) {
    absl::StrAppend(&out, k, " ", v, "\n");
  };
  line("client", HexEncode(s.client));
  line("chain", ChainText(s.chain));
  line("down_reason", HexEncode(s.down_reason));
  line("next_generation", absl::StrCat(s.next_generation));
  if (s.has_current) line("current", EntryText(s.current));
  if (s.has_previous) line("previous", EntryText(s.previous));
  for (const SecretEntry& e : s.retired) line("retired", EntryText(e));
  line("confirmed", s.confirmed ? "1" : "0");
  if (s.has_ott) {
    line("ott_hash", HexEncode(s.ott.hash));
    line("ott_generated_at", TimeText(s.ott.generated_at));
    line("ott_expires_at", TimeText(s.ott.expires_at));
    line("ott_consumed", s.ott.consumed ? "1" : "0");
    line("ott_consumed_at", TimeText(s.ott.consumed_at));
  }
  if (!s.voided_ott_hash.empty())
    line("voided_ott_hash", HexEncode(s.voided_ott_hash));
  line("ott_expiry_override_s", absl::StrCat(s.ott_expiry_override_s));
  line("link_up", s.link_up ? "1" : "0");
  line("link_boot", HexEncode(s.link_boot));
  line("link_source", HexEncode(s.link_source));
  line("last_seen", TimeText(s.last_seen));
  line("link_down_at", TimeText(s.link_down_at));
  out += "end\n";
  return out;
}

absl::StatusOr<ClientState> ParseClientState(absl::string_view text,
                                             absl::string_view what) {
  auto corrupt = [&](absl::string_view why) {
    return ntl::Error(
        absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
        absl::StrCat(
            "HTL state file ", what, " is corrupt (", why,
            "); restore it from backup or clear the client's HTL state "
            "(tl_htl_clear)"));
  };
  std::vector<absl::string_view> lines =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.empty() || lines[0] != kHeader) return corrupt("bad header");
  if (lines.back() != "end") return corrupt("truncated");
  ClientState s;
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(lines[i], absl::MaxSplits(' ', 1));
    const absl::string_view k = kv.first;
    const absl::string_view v = kv.second;
    bool ok = true;
    auto hex = [&](std::string* out) {
      absl::StatusOr<std::string> b = HexDecode(v, k);
      if (!b.ok()) {
        ok = false;
        return;
      }
      *out = *std::move(b);
    };
    auto flag = [&](bool* out) {
      ok = v == "0" || v == "1";
      *out = v == "1";
    };
    if (k == "client") {
      hex(&s.client);
    } else if (k == "chain") {
      if (v == "none") {
        s.chain = Chain::kNone;
      } else if (v == "alive") {
        s.chain = Chain::kAlive;
      } else if (v == "down") {
        s.chain = Chain::kDown;
      } else {
        ok = false;
      }
    } else if (k == "down_reason") {
      hex(&s.down_reason);
    } else if (k == "next_generation") {
      ok = absl::SimpleAtoi(v, &s.next_generation);
    } else if (k == "current") {
      s.has_current = ok = ParseEntry(v, &s.current);
    } else if (k == "previous") {
      s.has_previous = ok = ParseEntry(v, &s.previous);
    } else if (k == "retired") {
      SecretEntry e;
      ok = ParseEntry(v, &e) && s.retired.size() < kMaxRetired;
      s.retired.push_back(std::move(e));
    } else if (k == "confirmed") {
      flag(&s.confirmed);
    } else if (k == "ott_hash") {
      s.has_ott = true;
      hex(&s.ott.hash);
      ok = ok && s.ott.hash.size() == 32;
    } else if (k == "ott_generated_at") {
      ok = ParseTime(v, &s.ott.generated_at);
    } else if (k == "ott_expires_at") {
      ok = ParseTime(v, &s.ott.expires_at);
    } else if (k == "ott_consumed") {
      flag(&s.ott.consumed);
    } else if (k == "ott_consumed_at") {
      ok = ParseTime(v, &s.ott.consumed_at);
    } else if (k == "voided_ott_hash") {
      hex(&s.voided_ott_hash);
    } else if (k == "ott_expiry_override_s") {
      ok = absl::SimpleAtoi(v, &s.ott_expiry_override_s);
    } else if (k == "link_up") {
      flag(&s.link_up);
    } else if (k == "link_boot") {
      hex(&s.link_boot);
    } else if (k == "link_source") {
      hex(&s.link_source);
    } else if (k == "last_seen") {
      ok = ParseTime(v, &s.last_seen);
    } else if (k == "link_down_at") {
      ok = ParseTime(v, &s.link_down_at);
    } else {
      return corrupt(absl::StrCat("unknown key '", k, "'"));
    }
    if (!ok) return corrupt(absl::StrCat("bad value for '", k, "'"));
  }
  if (s.client.empty()) return corrupt("no client");
  return s;
}

}  // namespace trustlink::htl
