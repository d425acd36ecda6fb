#ifndef TRUSTLINK_HTL_PROOF_SERVICE_H_
#define TRUSTLINK_HTL_PROOF_SERVICE_H_

// The agent's local proof service (docs/htl.md, "Local proof socket").
// Applications on the client ask the agent for the HTL proof of their link:
// "MAC over this exporter value for appliance A". It listens on an AF_UNIX
// stream socket in a 0700 directory owned by the user, the socket itself is
// 0600, and every connection's SO_PEERCRED uid must equal the agent's: only the
// same user can reach it.
//
// Request  (u32 length, then): u8 version (1), string appliance, string
// exporter Response (u32 length, then): i32 tl_status, string data (an encoded
// LinkProof, or the
//                              error message)

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "htl/messages.h"

namespace trustlink::htl {

using Prover = std::function<absl::StatusOr<LinkProof>(
    absl::string_view appliance, absl::string_view exporter)>;

// DefaultProofSocketPath returns $XDG_RUNTIME_DIR/trustlink/htl-agent.sock, or
// /tmp/trustlink-<uid>/htl-agent.sock when XDG_RUNTIME_DIR is unset.
std::string DefaultProofSocketPath();

// Thread safety: Stop and the destructor may be called from any one thread.
class ProofService {
 public:
  // Start creates the socket's directory (0700; an existing one must be owned
  // by this user and not reachable by others), replaces a stale socket,
  // listens, and serves requests on a background thread by calling `prover`.
  static absl::StatusOr<std::unique_ptr<ProofService>> Start(
      const std::string& socket_path, Prover prover);
  ~ProofService();
  void Stop();
  const std::string& path() const { return path_; }
  // refused_peers counts connections refused for a foreign uid (for tests and
  // logs).
  int refused_peers() const;

 private:
  ProofService(std::string path, int listen_fd, int stop_fd, Prover prover)
      : path_(std::move(path)),
        listen_fd_(listen_fd),
        stop_fd_(stop_fd),
        prover_(std::move(prover)) {}
  void Serve();
  void HandleConnection(int fd);

  const std::string path_;
  int listen_fd_;
  int stop_fd_;  // eventfd that wakes the accept loop
  Prover prover_;
  std::thread thread_;
  std::atomic<int> refused_{0};
};

// AgentUnavailable is RequestLinkProof's "no agent" failure:
// TL_E_HTL_AGENT_UNAVAILABLE, naming `socket_path`, `why`, and the fix (start
// htlclient). Callers that give up waiting themselves report it too.
absl::Status AgentUnavailable(absl::string_view socket_path,
                              absl::string_view why);

// RequestLinkProof asks the agent at `socket_path` for the proof of a link to
// `appliance` with exporter `exporter`. The whole exchange, connect included,
// ends within `timeout`: a listener whose backlog stays full, or one that
// accepts and never answers, costs at most that. When no agent answers there:
// TL_E_HTL_AGENT_UNAVAILABLE (AgentUnavailable). The agent's own refusals come
// back with their codes (TL_E_HTL_DOWN, ...). A readable `cancel_fd` (when
// >= 0; the client's, as it closes) ends the wait at once, as unavailable.
// Blocking; thread-safe.
absl::StatusOr<LinkProof> RequestLinkProof(
    const std::string& socket_path, absl::string_view appliance,
    absl::string_view exporter, absl::Duration timeout = absl::Seconds(5),
    int cancel_fd = -1);

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_PROOF_SERVICE_H_
