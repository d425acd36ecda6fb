#ifndef TRUSTLINK_NTL_SERVER_CONN_H_
#define TRUSTLINK_NTL_SERVER_CONN_H_

// Conn: one client connection's state, shared by the files that implement
// Loop (event_loop.cc, conn_io.cc, handshake.cc, htl_link.cc, ...). Private
// to ntl/server.

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "ntl/internal/byte_buffer.h"
#include "ntl/server/admission.h"
#include "ntl/server/event_loop.h"
#include "ntl/server/handler.h"
#include "ntl/stats/server_stats.h"

namespace trustlink::ntl::server::internal_engine {

// Conn is one client connection, owned by its loop.
struct Conn {
  // kAwaitHtlProof: hello asked for HTL, the htl-proof frame must come next.
  // kCheckingHtl: the HTL worker is checking that proof; reading is paused.
  enum class State {
    kHandshake,
    kAwaitHello,
    kAwaitHtlProof,
    kCheckingHtl,
    kOpen,
    kDraining
  };
  struct Pending {
    std::string partition;
    uint64_t seq;
  };
  struct Stream {
    std::string partition;  // empty for a client-wide stream
    // The partitions it covers (CallContext::partitions); it ends when any is
    // unassigned.
    std::vector<std::string> partitions;
    uint64_t seq;
    std::unique_ptr<StreamSession> session;
  };

  Loop* loop = nullptr;
  std::shared_ptr<stats::ServerShard> stats;  // its loop's counters
  uint64_t id = 0;
  int fd = -1;
  bssl::UniquePtr<SSL> ssl;
  std::shared_ptr<TlsContext> tls;
  std::string peer_ip;
  std::string peer;  // ip:port for logs
  State state = State::kHandshake;
  bool unauthenticated = true;
  // The pre-authentication pool's ticket (preauth_pool.h), and whether the
  // pool protects this connection from eviction (a registered certificate).
  uint64_t pool_ticket = 0;
  bool pool_protected = false;
  bool dead = false;
  bool processing = false;
  bool want_write = false;
  bool read_paused = false;
  bool finish_then_close = false;
  bool refusal_logged = false;
  bool registered = false;
  bool flush_queued = false;  // in the loop's flush_later_ list
  uint32_t events = 0;
  absl::Time deadline;
  absl::Time last_active;
  // Ciphertext: `src` is what the BIO reads from during one drive; leftovers
  // wait in cipher_pending.
  const char* src = nullptr;
  size_t src_len = 0;
  std::string cipher_pending;
  // Plaintext both ways. Frames are decoded in place from `in`; `out` holds
  // encoded frames until SSL_write takes them. Both lend their storage back to
  // the loop's pool when empty (Loop::ReleaseBuffers), so an idle link holds
  // none and a busy one reuses warm pages.
  internal::ByteBuffer in;
  internal::ByteBuffer out;
  Admission admission;
  std::string fingerprint;
  std::unordered_map<uint32_t, Pending> pending;
  std::unordered_map<uint32_t, Stream> streams;
  // HTL (htl_link.cc). An htl/1 connection is kOpen with htl_link set; an
  // ntl/1 link admitted with an HTL proof has htl_proven set.
  bool htl_link = false;
  bool htl_proven = false;
  std::string htl_link_id;     // htl/1: the id the gate knows this link by
  std::string htl_binding;     // the exporter value proofs are bound to
  std::string software;        // from hello, for the admission log line
  uint64_t htl_check_seq = 0;  // the proof check in flight
  // htl/1 after HTL went Down: answer the requests in flight (the heartbeat
  // that detected a clone gets its TL_E_HTL_CLONE_DETECTED), then goaway.
  int32_t htl_goaway_code = 0;
  std::string htl_goaway_message;
  // Hostname admission (hostname_admission.cc). While `resolving`, the
  // handshake is paused in the verify callback and reading is paused; the
  // answer (or the lookup deadline) resumes it. `answer` is kept for the
  // checks after the handshake and after registry changes, so the link is
  // judged by the addresses it was admitted with.
  bool resolving = false;
  std::string resolving_host;
  uint64_t lookup_seq = 0;  // the lookup in flight; stale answers are dropped
  absl::Time lookup_deadline;
  std::string answer_host;
  std::optional<Resolution> answer;
};

// HasPartition says whether `partition` is assigned to `record` (calls.cc).
bool HasPartition(const ClientRecord& record, absl::string_view partition);
// FirstUnassigned returns the first of `partitions` that is no longer assigned
// to `record`, or nullptr when all still are.
const std::string* FirstUnassigned(const ClientRecord& record,
                                   const std::vector<std::string>& partitions);

// IsCurrentLoop says whether the calling thread is `loop`'s own, so an answer
// may go to it directly instead of through its mailbox (event_loop.cc).
bool IsCurrentLoop(const Loop* loop);

}  // namespace trustlink::ntl::server::internal_engine

#endif  // TRUSTLINK_NTL_SERVER_CONN_H_
