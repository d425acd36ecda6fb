#ifndef TRUSTLINK_HTL_CLIENT_STATE_H_
#define TRUSTLINK_HTL_CLIENT_STATE_H_

// ClientState: what the appliance persists about one client's Host Trust Link,
// and its on-disk text form (one "key value" per line, secrets in hex, file
// mode 0600). The file is replaced atomically on every change, so a crash
// leaves the old or the new state, never a mix (docs/htl.md, "Persistence
// order").

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "htl/ott.h"

namespace trustlink::htl {

// kMaxRetired bounds the retired secrets kept for clone detection: a proof
// under one of them proves that some copy of the client once held it. Older
// secrets are forgotten; a proof under one of those is refused as invalid,
// without an alarm.
inline constexpr size_t kMaxRetired = 16;

enum class Chain {
  kNone,   // never established, or cleared: HTL status Unknown
  kAlive,  // a secret chain exists: Up or Grace Period
  kDown,   // clone detected or grace expired: a new OTT is needed
};

// SecretEntry is one issued secret: its generation (never reused for a client),
// the secret, and where and when it was issued (for the clone alert).
struct SecretEntry {
  uint64_t generation = 0;
  std::string secret;
  std::string source;
  absl::Time issued_at = absl::InfinitePast();
};

struct ClientState {
  std::string client;  // the registry's label for the client
  Chain chain = Chain::kNone;
  std::string down_reason;
  uint64_t next_generation = 1;
  bool has_current = false;
  SecretEntry current;
  bool has_previous = false;  // the secret `current` was issued in exchange for
  SecretEntry previous;
  std::vector<SecretEntry> retired;  // newest first, at most kMaxRetired
  // confirmed turns true at the first heartbeat after establishment; until then
  // the consumed token may be presented again (a lost or crashed establish
  // reply).
  bool confirmed = false;
  bool has_ott = false;
  OttRecord ott;
  std::string voided_ott_hash;         // the token the current one replaced
  int64_t ott_expiry_override_s = -1;  // -1: the default OTT expiry applies
  // The HTL link as the daemon last recorded it. `link_boot` names the daemon
  // run that recorded link_up; after a daemon restart the link counts as
  // dropped at boot time.
  bool link_up = false;
  std::string link_boot;
  std::string link_source;
  absl::Time last_seen = absl::InfinitePast();
  absl::Time link_down_at = absl::InfinitePast();
};

std::string SerializeClientState(const ClientState& state);
// ParseClientState refuses unknown keys, bad numbers and bad hex with
// TL_E_DATA_LOSS naming `what` (the file).
absl::StatusOr<ClientState> ParseClientState(absl::string_view text,
                                             absl::string_view what);

// ClientFileName maps a client label (free text) to a safe, fixed-length file
// name, so a label never becomes a path.
std::string ClientFileName(absl::string_view client);
inline constexpr absl::string_view kClientFilePrefix = "client-";

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_CLIENT_STATE_H_
