#include "ntl/server/ticket_key_file.h"

#include <openssl/rand.h>

#include <cstring>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/status.h"

namespace trustlink::ntl::server::internal_engine {
namespace {

constexpr absl::string_view kHeader = "trustlink ticket keys v1";
constexpr size_t kMaxFileSize = 4096;

std::string FormatKey(const TicketKey& k) {
  uint8_t id[4];
  std::memcpy(id, &k.id, sizeof(id));
  return absl::StrCat(
      absl::BytesToHexString(
          absl::string_view(reinterpret_cast<const char*>(id), sizeof(id))),
      " ", absl::ToUnixSeconds(k.created), " ",
      absl::BytesToHexString(absl::string_view(
          reinterpret_cast<const char*>(k.bytes.data()), k.bytes.size())),
      "\n");
}

bool IsHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<TicketKey> ParseKey(absl::string_view line, int number) {
  std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
  int64_t created = 0;
  if (f.size() != 3 || f[0].size() != 8 || !IsHex(f[0]) || f[2].size() != 64 ||
      !IsHex(f[2]) || !absl::SimpleAtoi(f[1], &created)) {
    return Error(absl::StatusCode::kDataLoss, TL_E_PARSE,
                 absl::StrCat("line ", number,
                              " is not \"<id> <created> <key>\" in hex"));
  }
  TicketKey k;
  const std::string id = absl::HexStringToBytes(f[0]);
  std::memcpy(&k.id, id.data(), sizeof(k.id));
  const std::string bytes = absl::HexStringToBytes(f[2]);
  std::memcpy(k.bytes.data(), bytes.data(), k.bytes.size());
  k.created = absl::FromUnixSeconds(created);
  return k;
}

}  // namespace

TicketKey NewTicketKey(absl::Time now) {
  TicketKey k;
  RAND_bytes(reinterpret_cast<uint8_t*>(&k.id), sizeof(k.id));
  RAND_bytes(k.bytes.data(), k.bytes.size());
  k.created = now;
  return k;
}

std::string FormatTicketKeys(const StoredTicketKeys& keys) {
  std::string out = absl::StrCat(kHeader, "\n", FormatKey(keys.current));
  if (keys.previous) {
    absl::StrAppend(&out, FormatKey(*keys.previous));
  }
  return out;
}

absl::StatusOr<StoredTicketKeys> ParseTicketKeys(absl::string_view text) {
  std::vector<absl::string_view> lines =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.empty() || lines[0] != kHeader) {
    return Error(absl::StatusCode::kDataLoss, TL_E_PARSE,
                 absl::StrCat("the first line is not \"", kHeader, "\""));
  }
  if (lines.size() < 2 || lines.size() > 3) {
    return Error(absl::StatusCode::kDataLoss, TL_E_PARSE,
                 absl::StrCat("it holds ", lines.size() - 1,
                              " keys; one or two were expected"));
  }
  StoredTicketKeys keys;
  auto current = ParseKey(lines[1], 2);
  if (!current.ok()) {
    return current.status();
  }
  keys.current = *current;
  if (lines.size() == 3) {
    auto previous = ParseKey(lines[2], 3);
    if (!previous.ok()) {
      return previous.status();
    }
    keys.previous = *previous;
  }
  return keys;
}

absl::StatusOr<StoredTicketKeys> ReadTicketKeyFile(const std::string& dir) {
  auto d = internal::SafeDir::Open(dir, false);
  if (!d.ok()) {
    return d.status();
  }
  // The private-file read checks the mode on the descriptor it reads, so the
  // file checked is the file read.
  auto text = d->ReadPrivateFile(kTicketKeyFileName, kMaxFileSize);
  if (!text.ok()) {
    return text.status();
  }
  auto keys = ParseTicketKeys(*text);
  if (!keys.ok()) {
    return Error(keys.status().code(), TL_E_PARSE,
                 absl::StrCat(d->PathOf(kTicketKeyFileName), ": ",
                              keys.status().message()));
  }
  return keys;
}

absl::Status WriteTicketKeyFile(const std::string& dir,
                                const StoredTicketKeys& keys) {
  auto d = internal::SafeDir::Open(dir, false);
  if (!d.ok()) {
    return d.status();
  }
  return d->WriteFileAtomic(kTicketKeyFileName, FormatTicketKeys(keys), 0600);
}

}  // namespace trustlink::ntl::server::internal_engine
