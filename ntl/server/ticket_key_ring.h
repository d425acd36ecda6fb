#ifndef TRUSTLINK_NTL_SERVER_TICKET_KEY_RING_H_
#define TRUSTLINK_NTL_SERVER_TICKET_KEY_RING_H_

// TicketKeyRing: the server's session-ticket master keys, shared by the ticket
// rings of every server certificate (ticket_keys.h derives each
// certificate's own keys from them). A key seals tickets for one rotation
// interval and opens them for one more, and is never used past that lifetime.
//
// With a directory the keys survive a restart (ticket_key_file.h), so a
// reconnect storm after ntlsd restarts resumes instead of paying a full
// handshake per link. A writer thread rotates them: it writes the new key to
// the file first and only then seals with it, so no ticket is ever sealed
// under a key that a crash could lose, and no event loop ever waits for a
// disk. Private to ntl/server.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/ticket_key_file.h"

namespace trustlink::ntl::server::internal_engine {

struct TicketKeyRingOptions {
  absl::Duration rotation = absl::Hours(6);
  // dir holds the key file; empty keeps the keys in memory only (they die
  // with the process, as an embedder without a root expects).
  std::string dir;
  std::function<void(absl::string_view line)> log;
};

// Thread safety: ForSealing and ForOpening are safe from any thread.
class TicketKeyRing {
 public:
  // Open loads the keys in options.dir, drops those past their lifetime (or
  // dated in the future: the clock was set back), rotates if the current one
  // is due, and starts the writer. A file it cannot use (unreadable,
  // malformed, readable by others) is replaced with new keys, with a log line
  // saying why; a directory it cannot write leaves the keys in memory, with a
  // log line saying so. It never fails the server's start.
  static std::unique_ptr<TicketKeyRing> Open(TicketKeyRingOptions options,
                                             absl::Time now);
  ~TicketKeyRing();
  TicketKeyRing(const TicketKeyRing&) = delete;
  TicketKeyRing& operator=(const TicketKeyRing&) = delete;

  // ForSealing returns the key new tickets are sealed with. Without a
  // directory it rotates here when due; with one the writer rotates, and
  // this only steps in (in memory) if the writer is a minute late.
  TicketKey ForSealing(absl::Time now);
  // ForOpening returns the key named `id` if it is still within its lifetime.
  std::optional<TicketKey> ForOpening(uint32_t id, absl::Time now);

  absl::Duration rotation() const { return options_.rotation; }
  absl::Duration lifetime() const { return 2 * options_.rotation; }
  // persisted says whether the keys are in the file (false: memory only).
  bool persisted() const;

  // RotateNowForTest rotates at once; with a directory it returns once the
  // writer has written the new keys.
  void RotateNowForTest();

 private:
  explicit TicketKeyRing(TicketKeyRingOptions options);
  void Log(absl::string_view line) const;
  std::string FilePath() const;
  // Usable says whether `k` may still seal or open tickets at `now`.
  bool Usable(const TicketKey& k, absl::Time now) const;
  // Load returns the usable stored keys, or nothing (logging why).
  std::optional<StoredTicketKeys> Load(absl::Time now);
  // Persist writes `keys`; false (logged) when it cannot.
  bool Persist(const StoredTicketKeys& keys);
  // Rotated is `keys` with a new current key created at `now`.
  static StoredTicketKeys Rotated(const StoredTicketKeys& keys, absl::Time now);
  void RunWriter();

  const TicketKeyRingOptions options_;
  mutable internal::Mutex mu_;
  internal::CondVar cv_;
  StoredTicketKeys keys_ ABSL_GUARDED_BY(mu_);
  bool persisted_ ABSL_GUARDED_BY(mu_) = false;
  // dirty_: keys_ changed without the writer (ForSealing's late rotation) and
  // must be written as they are.
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  bool force_rotation_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t writes_ ABSL_GUARDED_BY(mu_) = 0;  // rotations the writer finished
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace trustlink::ntl::server::internal_engine

#endif  // TRUSTLINK_NTL_SERVER_TICKET_KEY_RING_H_
