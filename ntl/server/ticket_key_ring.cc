#include "ntl/server/ticket_key_ring.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace trustlink::ntl::server::internal_engine {
namespace {

// A key dated further ahead than this was made under a clock since set back
// (or the file was forged); its lifetime cannot be trusted.
constexpr absl::Duration kClockSkew = absl::Minutes(1);
// How late the writer may be with a rotation before sealing rotates in memory
// (a disk stuck for that long must not stretch a key's life).
constexpr absl::Duration kWriterSlack = absl::Minutes(1);

}  // namespace

TicketKeyRing::TicketKeyRing(TicketKeyRingOptions options)
    : options_(std::move(options)) {}

std::unique_ptr<TicketKeyRing> TicketKeyRing::Open(TicketKeyRingOptions options,
                                                   absl::Time now) {
  std::unique_ptr<TicketKeyRing> ring(new TicketKeyRing(std::move(options)));
  const bool on_disk = !ring->options_.dir.empty();
  std::optional<StoredTicketKeys> loaded;
  if (on_disk) {
    loaded = ring->Load(now);
  }
  StoredTicketKeys keys =
      loaded ? *loaded : StoredTicketKeys{NewTicketKey(now), std::nullopt};
  bool changed = !loaded;
  if (now - keys.current.created >= ring->rotation()) {
    keys = Rotated(keys, now);
    changed = true;
  }
  bool persisted = false;
  if (on_disk) {
    persisted = !changed || ring->Persist(keys);
    if (loaded) {
      ring->Log(absl::StrCat(
          "ticket-keys loaded path=", ring->FilePath(),
          " age=", absl::ToInt64Seconds(now - loaded->current.created), "s",
          changed ? " rotated=yes" : ""));
    } else if (persisted) {
      ring->Log(absl::StrCat("ticket-keys new path=", ring->FilePath()));
    }
  }
  {
    internal::MutexLock lock(&ring->mu_);
    ring->keys_ = keys;
    ring->persisted_ = persisted;
  }
  if (on_disk) {
    ring->writer_ = std::thread([r = ring.get()] { r->RunWriter(); });
  }
  return ring;
}

TicketKeyRing::~TicketKeyRing() {
  {
    internal::MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  if (writer_.joinable()) {
    writer_.join();
  }
}

void TicketKeyRing::Log(absl::string_view line) const {
  if (options_.log) {
    options_.log(line);
  }
}

std::string TicketKeyRing::FilePath() const {
  return absl::StrCat(options_.dir, "/", kTicketKeyFileName);
}

bool TicketKeyRing::Usable(const TicketKey& k, absl::Time now) const {
  return k.created <= now + kClockSkew && now - k.created < lifetime();
}

std::optional<StoredTicketKeys> TicketKeyRing::Load(absl::Time now) {
  auto stored = ReadTicketKeyFile(options_.dir);
  if (absl::IsNotFound(stored.status())) {
    return std::nullopt;
  }
  if (!stored.ok()) {
    Log(absl::StrCat("ticket-keys-discarded path=", FilePath(), " reason=\"",
                     stored.status().message(),
                     "\"; new keys replace them, so tickets issued before "
                     "this start make a full handshake"));
    return std::nullopt;
  }
  if (!Usable(stored->current, now)) {
    Log(absl::StrCat("ticket-keys-discarded path=", FilePath(),
                     " reason=\"the keys were made ",
                     absl::FormatDuration(now - stored->current.created),
                     " ago, outside their lifetime of ",
                     absl::FormatDuration(lifetime()),
                     " (or the clock was set back)\"; new keys replace them"));
    return std::nullopt;
  }
  if (stored->previous && !Usable(*stored->previous, now)) {
    stored->previous.reset();
  }
  return *stored;
}

bool TicketKeyRing::Persist(const StoredTicketKeys& keys) {
  absl::Status st = WriteTicketKeyFile(options_.dir, keys);
  if (!st.ok()) {
    Log(absl::StrCat("ticket-keys-not-saved path=", FilePath(), " reason=\"",
                     st.message(),
                     "\"; the keys stay in memory, so tickets will not "
                     "survive a restart; check the directory's owner, mode "
                     "and free space"));
    return false;
  }
  return true;
}

StoredTicketKeys TicketKeyRing::Rotated(const StoredTicketKeys& keys,
                                        absl::Time now) {
  return StoredTicketKeys{NewTicketKey(now), keys.current};
}

void TicketKeyRing::RunWriter() {
  for (;;) {
    StoredTicketKeys next;
    bool rotate = false;
    {
      internal::MutexLock lock(&mu_);
      for (;;) {
        if (stopping_) {
          return;
        }
        const absl::Time due = keys_.current.created + rotation();
        if (dirty_ || force_rotation_ || absl::Now() >= due) {
          break;
        }
        cv_.WaitWithDeadline(&mu_, due);
      }
      rotate = !dirty_ || force_rotation_;
      next = rotate ? Rotated(keys_, absl::Now()) : keys_;
      dirty_ = false;
      force_rotation_ = false;
    }
    // Written outside the lock: the loops keep sealing with the current key
    // meanwhile, however slow the disk.
    const bool ok = Persist(next);
    internal::MutexLock lock(&mu_);
    if (rotate && keys_.current.id == next.previous->id) {
      keys_ = next;  // written first, then used: a crash cannot lose it
      persisted_ = ok;
    } else if (!rotate && keys_.current.id == next.current.id) {
      persisted_ = ok;
    }
    // Otherwise sealing rotated meanwhile and set dirty_: the next pass
    // writes its keys.
    ++writes_;
    cv_.SignalAll();
  }
}

TicketKey TicketKeyRing::ForSealing(absl::Time now) {
  internal::MutexLock lock(&mu_);
  const bool on_disk = !options_.dir.empty();
  const absl::Duration slack = on_disk ? kWriterSlack : absl::ZeroDuration();
  if (now - keys_.current.created >= rotation() + slack) {
    keys_ = Rotated(keys_, now);
    if (on_disk) {
      dirty_ = true;
      cv_.SignalAll();
    }
  }
  return keys_.current;
}

std::optional<TicketKey> TicketKeyRing::ForOpening(uint32_t id,
                                                   absl::Time now) {
  internal::MutexLock lock(&mu_);
  if (keys_.current.id == id && Usable(keys_.current, now)) {
    return keys_.current;
  }
  if (keys_.previous && keys_.previous->id == id &&
      Usable(*keys_.previous, now)) {
    return *keys_.previous;
  }
  return std::nullopt;
}

bool TicketKeyRing::persisted() const {
  internal::MutexLock lock(&mu_);
  return persisted_;
}

void TicketKeyRing::RotateNowForTest() {
  internal::MutexLock lock(&mu_);
  if (options_.dir.empty()) {
    keys_ = Rotated(keys_, absl::Now());
    return;
  }
  const uint64_t target = writes_ + 1;
  force_rotation_ = true;
  cv_.SignalAll();
  while (writes_ < target && !stopping_) {
    cv_.Wait(&mu_);
  }
}

}  // namespace trustlink::ntl::server::internal_engine
