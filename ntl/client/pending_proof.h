#ifndef TRUSTLINK_NTL_CLIENT_PENDING_PROOF_H_
#define TRUSTLINK_NTL_CLIENT_PENDING_PROOF_H_

// PendingProof: one request to the local HTL agent for a link proof, run on a
// short-lived worker thread the Client owns (workers.h) so the client's I/O
// loop (every other link, every pipelined call) never waits on the agent. The
// worker rings the loop's doorbell when it has the answer; the connection picks
// it up on its next pass (Connection::PollProof), as it does a name lookup
// (resolver.h).

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "ntl/client/doorbell.h"
#include "ntl/client/htl_proof.h"
#include "ntl/client/workers.h"
#include "ntl/internal/mutex.h"

namespace trustlink::ntl::client {

// Thread safety: all methods are safe from any thread. The worker holds a
// reference to it and to the doorbell, so it may outlive the connection that
// started it (a link closed mid-request simply drops its reference), but not
// the Client, which joins it; it ends within request.timeout.
class PendingProof {
 public:
  // Start runs AskAgent(request) on a worker of `workers` and rings
  // `doorbell` when done.
  static std::shared_ptr<PendingProof> Start(ProofRequest request,
                                             std::shared_ptr<Doorbell> doorbell,
                                             Workers* workers);

  // Take returns the encoded proof or the failure once the request has
  // finished (each time it is asked), or nullopt while it still runs.
  std::optional<absl::StatusOr<std::string>> Take();

 private:
  void Finish(const absl::StatusOr<std::string>& result);

  internal::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::string proof_ ABSL_GUARDED_BY(mu_);
  // The failure as plain data: an absl::Status made on the worker and read on
  // the loop would share a representation across threads (fresh_status.h).
  int error_code_ ABSL_GUARDED_BY(mu_) = 0;  // absl::StatusCode, 0 = OK
  int error_tl_ ABSL_GUARDED_BY(mu_) = 0;
  std::string error_message_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_PENDING_PROOF_H_
