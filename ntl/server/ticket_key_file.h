#ifndef TRUSTLINK_NTL_SERVER_TICKET_KEY_FILE_H_
#define TRUSTLINK_NTL_SERVER_TICKET_KEY_FILE_H_

// The session-ticket master keys on disk (docs/server.md, "Session tickets"):
// `<appliance root>/server/ticketKeys`, mode 0600, replaced atomically (temp
// file, fsync, rename, fsync of the directory), so a kill at any step leaves
// the old keys or the new ones. Private to ntl/server.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace trustlink::ntl::server::internal_engine {

// kTicketKeyFileName is the file's name in its directory.
inline constexpr absl::string_view kTicketKeyFileName = "ticketKeys";

// TicketKey is one master key: tickets name it by `id`; `created` starts its
// lifetime (two rotation intervals).
struct TicketKey {
  uint32_t id = 0;
  std::array<uint8_t, 32> bytes{};
  absl::Time created = absl::InfinitePast();
};

// StoredTicketKeys is what the file holds: the key tickets are sealed with,
// and the one before it, still accepted.
struct StoredTicketKeys {
  TicketKey current;
  std::optional<TicketKey> previous;
};

// NewTicketKey makes a random key created at `now`.
TicketKey NewTicketKey(absl::Time now);

// FormatTicketKeys and ParseTicketKeys are the file's text form: a header
// line, then one line per key (id, creation time in Unix seconds, key, in
// hex), current first. Parse errors name the line.
std::string FormatTicketKeys(const StoredTicketKeys& keys);
absl::StatusOr<StoredTicketKeys> ParseTicketKeys(absl::string_view text);

// ReadTicketKeyFile reads and parses `dir`/ticketKeys. NOT_FOUND when there is
// none; TL_E_KEY_PERMISSIONS when group or others may read it (its keys may
// be known to others, so they must not be used).
absl::StatusOr<StoredTicketKeys> ReadTicketKeyFile(const std::string& dir);

// WriteTicketKeyFile replaces `dir`/ticketKeys atomically with mode 0600.
absl::Status WriteTicketKeyFile(const std::string& dir,
                                const StoredTicketKeys& keys);

}  // namespace trustlink::ntl::server::internal_engine

#endif  // TRUSTLINK_NTL_SERVER_TICKET_KEY_FILE_H_
