#ifndef TRUSTLINK_NTL_CLIENT_SLOT_NUMBERS_H_
#define TRUSTLINK_NTL_CLIENT_SLOT_NUMBERS_H_

// Slot numbers that outlive a process (docs/client.md, "Slot numbers"). A
// PKCS#11 application stores a slot number, and `vtl call -slot N` is typed
// from memory, so a partition must keep its number across processes while it
// stays assigned. The numbers live in <client root>/slots.conf, one line per
// partition: "<slot> <server> <partition>". The first process that sees a
// partition gives it the lowest number nobody uses; a partition its server no
// longer lists gives its number up. Writers take an OFD lock and replace the
// file atomically, so concurrent client processes agree.

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::ntl::client {

inline constexpr absl::string_view kSlotNumbersFile = "slots.conf";

// SlotKey is (server name in lower case, partition name).
using SlotKey = std::pair<std::string, std::string>;

// NumberSlots records that `server` now lists `partitions`, in the file
// `file_name` of the directory `dir`, and returns the numbers of those
// partitions. Numbers in `taken` (used in this process by other partitions)
// are not handed out. Entries of other servers are kept. When the file cannot
// be locked for writing (a read-only root), the recorded numbers are still
// used and new partitions get the lowest free numbers for this process only.
// Fails if the directory or the file cannot be read; the caller then numbers
// in memory.
absl::StatusOr<std::map<std::string, int>> NumberSlots(
    const std::string& dir, absl::string_view server,
    const std::vector<std::string>& partitions, const std::set<int>& taken);

// ServerPartitions is a server's name and the partitions it now lists.
using ServerPartitions = std::pair<std::string, std::vector<std::string>>;

// NumberServersSlots is NumberSlots for several servers at once, with one
// lock, one read and at most one write of the file: a client whose links come
// up together (1,000 links opened at once) pays one file replacement per
// batch, not one per link. The result is keyed by (server in lower case,
// partition).
absl::StatusOr<std::map<SlotKey, int>> NumberServersSlots(
    const std::string& dir, const std::vector<ServerPartitions>& servers,
    const std::set<int>& taken);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_SLOT_NUMBERS_H_
