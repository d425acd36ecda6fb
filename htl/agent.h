#ifndef TRUSTLINK_HTL_AGENT_H_
#define TRUSTLINK_HTL_AGENT_H_

// The client's HTL agent (htlclient): it watches <client root>/htl/ for
// "<appliance>.ott", exchanges a token for the first secret, heartbeats once
// per polling interval with a proof bound to the session's exporter, and
// answers link-proof requests for the application links of HTL servers
// (docs/htl.md, "The agent").
//
// Order of effects, so a crash anywhere costs neither HTL nor a false alarm: a
// granted secret is put in the SecretStore before it is used and before the
// token file is deleted.

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "htl/clock.h"
#include "htl/messages.h"
#include "htl/secret_store.h"
#include "htl/session.h"
#include "ntl/internal/mutex.h"

namespace trustlink::htl {

enum class AgentLinkState {
  kNoToken,   // no secret and no token file: waiting for the admin to copy one
  kUp,        // the last heartbeat (or exchange) succeeded
  kRetrying,  // holding a secret, but the appliance could not be reached
  kRefused,   // the appliance refused the token or the chain (a new token is
              // needed)
};
const char* AgentLinkStateName(AgentLinkState state);

struct AgentApplianceStatus {
  std::string appliance;
  AgentLinkState state = AgentLinkState::kNoToken;
  uint64_t generation = 0;
  absl::Status last_error;
  absl::Time last_success = absl::InfinitePast();
};

struct AgentOptions {
  std::string client_root;              // tokens arrive in <client_root>/htl/
  std::vector<std::string> appliances;  // the HTL servers (ServerHtlNN = 1)
  absl::Duration poll_interval = absl::Seconds(10);
  HtlConnector* connector = nullptr;  // borrowed; outlives the agent
  SecretStore* store = nullptr;       // borrowed; outlives the agent
  Clock* clock = Clock::Real();
};

// Thread safety: all methods are safe to call from many threads; polls are
// serialised.
class Agent {
 public:
  static absl::StatusOr<std::unique_ptr<Agent>> Create(
      const AgentOptions& options);
  ~Agent();

  // PollOnce does one pass over every appliance: take up a token file, or
  // heartbeat. Per-appliance failures are recorded in Status(); it fails only
  // if the htl/ directory cannot be read.
  absl::Status PollOnce();

  // ProofFor returns the link proof for an application link to `appliance`
  // whose exporter is `exporter`. TL_E_HTL_DOWN when the agent holds no secret
  // for it.
  absl::StatusOr<LinkProof> ProofFor(absl::string_view appliance,
                                     absl::string_view exporter);

  std::vector<AgentApplianceStatus> Status() const;

  // Start runs PollOnce at once and then every poll_interval on a background
  // thread, until Stop (or destruction). Stop is idempotent.
  absl::Status Start();
  void Stop();

  // DropSession forgets the open session to `appliance` (tests: a link that
  // dropped).
  void DropSession(absl::string_view appliance);

 private:
  struct PerAppliance {
    std::unique_ptr<HtlSession> session;
    AgentApplianceStatus status;
    std::string refused_token_hash;  // don't retry a refused token file until
                                     // it changes
  };

  // TokenAttempt is what presenting <client root>/htl/<appliance>.ott came to.
  struct TokenAttempt {
    bool tried = false;  // the file decided this poll (no heartbeat follows)
    absl::Status result;
    absl::Status token_error;  // a refused file beside a chain we still hold
  };

  explicit Agent(const AgentOptions& options) : options_(options) {}
  void PollAppliance(const std::string& appliance, PerAppliance* p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(poll_mu_);
  // TryTokenFile exchanges the token file, if there is a new one, for a secret
  // (kept in the store and in `held`).
  TokenAttempt TryTokenFile(const std::string& appliance, PerAppliance* p,
                            absl::optional<HeldSecret>* held)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(poll_mu_);
  absl::StatusOr<HtlSession*> SessionFor(const std::string& appliance,
                                         PerAppliance* p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(poll_mu_);
  absl::Status Heartbeat(const std::string& appliance, PerAppliance* p,
                         const HeldSecret& held)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(poll_mu_);
  absl::Status Keep(const std::string& appliance, PerAppliance* p,
                    const Grant& grant) ABSL_EXCLUSIVE_LOCKS_REQUIRED(poll_mu_);
  void Publish(const std::string& appliance,
               const AgentApplianceStatus& status);
  void Loop();

  const AgentOptions options_;
  // poll_mu_ serialises polls (and owns the sessions); status_mu_ guards what
  // Status() and ProofFor() read, so proofs are never blocked behind a slow
  // network call.
  ntl::internal::Mutex poll_mu_;
  std::map<std::string, PerAppliance> per_ ABSL_GUARDED_BY(poll_mu_);
  // ignored_: the files of htl/ that are no appliance's token (and why), from
  // the last poll.
  std::vector<std::string> ignored_ ABSL_GUARDED_BY(poll_mu_);
  mutable ntl::internal::Mutex status_mu_;
  std::map<std::string, AgentApplianceStatus> status_
      ABSL_GUARDED_BY(status_mu_);
  bool stop_ ABSL_GUARDED_BY(status_mu_) = false;
  ntl::internal::CondVar wake_;
  std::thread thread_;
};

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_AGENT_H_
