#include "ntl/client/slot_numbers.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

constexpr absl::string_view kLockFile = ".slots.lock";
constexpr size_t kMaxFileSize = 1 << 20;
constexpr int kMaxSlot = 1 << 20;

// Parse reads the file; a line that does not parse is dropped (its partition
// gets a new number), since refusing to open the link over it would be worse.
std::map<SlotKey, int> Parse(absl::string_view text) {
  std::map<SlotKey, int> out;
  std::set<int> used;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f =
        absl::StrSplit(line, ' ', absl::SkipWhitespace());
    int slot = 0;
    if (f.size() != 3 || !absl::SimpleAtoi(f[0], &slot) || slot < 0 ||
        slot >= kMaxSlot || !used.insert(slot).second) {
      continue;
    }
    out[{absl::AsciiStrToLower(f[1]), f[2]}] = slot;
  }
  return out;
}

// LockBriefly takes the write lock on `name` in `dir`, giving up after
// kLockWait. This runs on the client's I/O loop: a process stopped while it
// holds the lock must not stall every link, so the caller then only reads.
absl::StatusOr<internal::FileLock> LockBriefly(const internal::SafeDir& dir,
                                               absl::string_view name) {
  constexpr absl::Duration kLockWait = absl::Milliseconds(500);
  int fd = ::openat(dir.fd(), std::string(name).c_str(),
                    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error(absl::StatusCode::kPermissionDenied, TL_E_PERMISSION_DENIED,
                 absl::StrCat("cannot open ", dir.PathOf(name), ": ",
                              std::strerror(errno)));
  }
  internal::FileLock lock(fd);
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  const absl::Time deadline = absl::Now() + kLockWait;
  while (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
      return Error(absl::StatusCode::kInternal, TL_E_IO,
                   absl::StrCat("cannot lock ", dir.PathOf(name), ": ",
                                std::strerror(errno)));
    }
    if (absl::Now() >= deadline) {
      return Error(absl::StatusCode::kUnavailable, TL_E_UNAVAILABLE,
                   absl::StrCat(dir.PathOf(name), " stayed locked"));
    }
    absl::SleepFor(absl::Milliseconds(5));  // another process holds it
  }
  return lock;
}

std::string Serialize(const std::map<SlotKey, int>& numbers) {
  std::map<int, SlotKey> by_slot;
  for (const auto& [key, slot] : numbers) by_slot[slot] = key;
  std::string out =
      "# Slot numbers of this client's partitions, kept by the trustlink "
      "client library.\n# <slot> <server> <partition>; a partition keeps its "
      "number while it stays assigned.\n";
  for (const auto& [slot, key] : by_slot) {
    absl::StrAppend(&out, slot, " ", key.first, " ", key.second, "\n");
  }
  return out;
}

}  // namespace

absl::StatusOr<std::map<std::string, int>> NumberSlots(
    const std::string& dir, absl::string_view server,
    const std::vector<std::string>& partitions, const std::set<int>& taken) {
  absl::StatusOr<std::map<SlotKey, int>> all = NumberServersSlots(
      dir, {ServerPartitions(std::string(server), partitions)}, taken);
  if (!all.ok()) return all.status();
  std::map<std::string, int> out;
  for (auto& [key, slot] : *all) out[key.second] = slot;
  return out;
}

absl::StatusOr<std::map<SlotKey, int>> NumberServersSlots(
    const std::string& dir, const std::vector<ServerPartitions>& servers,
    const std::set<int>& taken) {
  absl::StatusOr<internal::SafeDir> root = internal::SafeDir::Open(dir, false);
  if (!root.ok()) return root.status();
  // A process that may not write the root (an application running as another
  // user than the root's owner), or that finds the lock held too long, still
  // reads the recorded numbers: the file is only ever replaced atomically, so
  // an unlocked read sees a whole version.
  absl::StatusOr<internal::FileLock> lock = LockBriefly(*root, kLockFile);
  const bool read_only = !lock.ok();
  absl::StatusOr<std::string> text =
      root->ReadFile(kSlotNumbersFile, kMaxFileSize);
  if (!text.ok() && !absl::IsNotFound(text.status())) return text.status();
  std::map<SlotKey, int> numbers = Parse(text.ok() ? *text : "");
  // What each server lists now; a partition it no longer lists gives its
  // number up.
  std::map<std::string, std::set<std::string>> listed;
  bool changed = false;
  for (const auto& [server, partitions] : servers) {
    listed[absl::AsciiStrToLower(server)].insert(partitions.begin(),
                                                 partitions.end());
    changed = changed || (!text.ok() && !partitions.empty());
  }
  for (auto it = numbers.begin(); it != numbers.end();) {
    auto l = listed.find(it->first.first);
    it = l != listed.end() && l->second.count(it->first.second) == 0
             ? numbers.erase(it)
             : std::next(it);
  }
  std::set<int> used = taken;
  for (const auto& [key, slot] : numbers) used.insert(slot);
  std::map<SlotKey, int> out;
  // The lowest free number, searched from where the last search ended: the
  // numbers a batch hands out only grow, so a batch of N costs O(N), not N^2.
  int next_free = 0;
  for (const auto& [server, partitions] : servers) {
    const std::string srv = absl::AsciiStrToLower(server);
    for (const std::string& p : partitions) {
      auto it = numbers.find({srv, p});
      if (it == numbers.end()) {
        while (used.count(next_free) != 0) ++next_free;
        used.insert(next_free);
        it = numbers.emplace(SlotKey{srv, p}, next_free).first;
        changed = true;
      }
      out[it->first] = it->second;
    }
  }
  if (read_only) return out;
  std::string serialized = Serialize(numbers);
  if (changed || (text.ok() && serialized != *text)) {
    absl::Status written =
        root->WriteFileAtomic(kSlotNumbersFile, serialized, 0644);
    if (!written.ok()) return written;
  }
  return out;
}

}  // namespace trustlink::ntl::client
