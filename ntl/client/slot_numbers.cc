#include "ntl/client/slot_numbers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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
  absl::StatusOr<internal::SafeDir> root = internal::SafeDir::Open(dir, false);
  if (!root.ok()) return root.status();
  // A process that may not write the root (an application running as another
  // user than the root's owner) still reads the recorded numbers: the file is
  // only ever replaced atomically, so an unlocked read sees a whole version.
  absl::StatusOr<internal::FileLock> lock = root->Lock(kLockFile);
  const bool read_only = !lock.ok();
  absl::StatusOr<std::string> text =
      root->ReadFile(kSlotNumbersFile, kMaxFileSize);
  if (!text.ok() && !absl::IsNotFound(text.status())) return text.status();
  std::map<SlotKey, int> numbers = Parse(text.ok() ? *text : "");
  const std::string srv = absl::AsciiStrToLower(server);
  const std::set<std::string> listed(partitions.begin(), partitions.end());
  for (auto it = numbers.begin(); it != numbers.end();) {
    it = it->first.first == srv && listed.count(it->first.second) == 0
             ? numbers.erase(it)
             : std::next(it);
  }
  std::set<int> used = taken;
  for (const auto& [key, slot] : numbers) used.insert(slot);
  std::map<std::string, int> out;
  bool changed = !text.ok() && !partitions.empty();
  for (const std::string& p : partitions) {
    auto it = numbers.find({srv, p});
    if (it == numbers.end()) {
      int slot = 0;
      while (used.count(slot) != 0) ++slot;
      used.insert(slot);
      it = numbers.emplace(SlotKey{srv, p}, slot).first;
      changed = true;
    }
    out[p] = it->second;
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
