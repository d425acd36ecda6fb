#include "ntl/client/pending_proof.h"

#include <utility>

#include "ntl/status.h"

namespace trustlink::ntl::client {

std::shared_ptr<PendingProof> PendingProof::Start(
    ProofRequest request, std::shared_ptr<Doorbell> doorbell,
    Workers* workers) {
  auto pending = std::make_shared<PendingProof>();
  // The connection may close while the agent is still being asked; the
  // worker keeps only shared state alive, and the Client joins it.
  workers->Run([pending, request = std::move(request),
                doorbell = std::move(doorbell)]() {
    pending->Finish(AskAgent(request));
    doorbell->Ring();
  });
  return pending;
}

void PendingProof::Finish(const absl::StatusOr<std::string>& result) {
  internal::MutexLock lock(&mu_);
  done_ = true;
  if (result.ok()) {
    proof_ = *result;
  } else {
    error_code_ = static_cast<int>(result.status().code());
    error_tl_ = static_cast<int>(ToTlStatus(result.status()));
    error_message_ = std::string(result.status().message());
  }
}

std::optional<absl::StatusOr<std::string>> PendingProof::Take() {
  internal::MutexLock lock(&mu_);
  if (!done_) {
    return std::nullopt;
  }
  if (error_code_ != 0) {
    return absl::StatusOr<std::string>(
        Error(static_cast<absl::StatusCode>(error_code_),
              static_cast<tl_status>(error_tl_), error_message_));
  }
  return absl::StatusOr<std::string>(proof_);
}

}  // namespace trustlink::ntl::client
