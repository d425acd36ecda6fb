// Connection's HTL step: after every handshake to a server marked HTL, the
// local agent is asked for a proof bound to this session's exporter, and hello
// goes out with it. The agent is asked on a worker thread (PendingProof) so the
// loop keeps serving every other link meanwhile; without library threads it is
// asked on the thread that called Process(), as before.

#include <sys/epoll.h>

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/client/connection.h"
#include "ntl/client/htl_proof.h"
#include "ntl/client/pending_proof.h"
#include "ntl/status.h"
#include "ntl/wire/frame.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::client {

void Connection::RequestProof(absl::Time now, Completions* done) {
  missing_proof_ = absl::OkStatus();
  // The exporter is read here, on the loop: the SSL is not the worker's.
  absl::StatusOr<ProofRequest> request =
      PrepareLinkProof(ssl_.get(), settings_, server_.name, phase_deadline_);
  if (!request.ok()) {
    Fail(request.status(), now, done);
    return;
  }
  if (!settings_.use_io_thread) {
    // The embedder forbade library threads
    // (CKF_LIBRARY_CANT_CREATE_OS_THREADS), so the caller of Process() waits,
    // at most request->timeout.
    absl::StatusOr<std::string> proof = AskAgent(*request);
    if (!proof.ok()) {
      SendHelloWithoutProof(proof.status(), now, done);
      return;
    }
    SendHello(*proof, now, done);
    return;
  }
  state_ = LinkState::kAwaitingProof;
  SetInterest(EPOLLIN);
  proof_request_ = *std::move(request);
  proof_request_.cancel_fd = workers_->cancel_fd();
  proof_started_ = now;
  proof_ = PendingProof::Start(proof_request_, doorbell_, workers_);
}

void Connection::PollProof(absl::Time now, Completions* done) {
  if (state_ != LinkState::kAwaitingProof || proof_ == nullptr) {
    return;
  }
  std::optional<absl::StatusOr<std::string>> answer = proof_->Take();
  if (!answer.has_value()) {
    // The request ends by its own timeout, which is never past the phase
    // deadline but for its 50 ms floor; the link does not wait beyond it.
    if (now >= phase_deadline_) {
      Fail(ProofTimedOut(proof_request_, now - proof_started_), now, done);
    }
    return;
  }
  proof_.reset();
  if (!answer->ok()) {
    SendHelloWithoutProof(answer->status(), now, done);
    return;
  }
  SendHello(**answer, now, done);
}

void Connection::SendHelloWithoutProof(const absl::Status& why, absl::Time now,
                                       Completions* done) {
  // The agent had no proof (none running, no HTL yet). Whether that matters is
  // the appliance's to say: if it does not require HTL for this client, the
  // documented TL_E_HTL_REQUIRED_BY_CLIENT, which names the fix, is the true
  // cause, not the missing agent. So hello goes out with an empty proof, which
  // the appliance refuses without touching any HTL state, and the goaway
  // decides which of the two messages the user sees (HandleFrame).
  missing_proof_ = why;
  SendHello("", now, done);
}

absl::Status Connection::ExplainGoAway(int32_t code,
                                       const absl::Status& remote) const {
  if (missing_proof_.ok() || code == TL_E_HTL_REQUIRED_BY_CLIENT ||
      code == TL_E_UNAVAILABLE) {
    return remote;
  }
  // The appliance does require HTL: the local agent is what to fix.
  return Error(missing_proof_.code(), ToTlStatus(missing_proof_),
               absl::StrCat(missing_proof_.message(),
                            " (the appliance requires HTL for this client)"));
}

void Connection::SendHello(const std::string& proof, absl::Time now,
                           Completions* done) {
  state_ = LinkState::kAwaitingWelcome;
  last_rx_ = now;
  last_ping_ = now;
  wire::Hello hello;
  hello.software = settings_.software;
  hello.features = server_.htl ? wire::kFeatureClientRequiresHtl : 0u;
  SetInterest(EPOLLIN);
  // Both frames go into the buffer before the flush: the htl-proof must be the
  // very next frame after hello.
  wire::AppendFrame(wire::FrameType::kHello, 0, 0, wire::EncodeHello(hello),
                    &out_);
  if (server_.htl) {
    wire::AppendFrame(wire::FrameType::kHtlProof, 0, 0, proof, &out_);
  }
  Flush(done);
  // Frames that arrived while the proof was awaited, then records the
  // handshake may have left buffered in the SSL.
  if (fd_ >= 0 && !in_.empty() && !DecodeBuffered(now, done)) {
    return;
  }
  if (fd_ >= 0) {
    ReadAvailable(now, done);
  }
}

}  // namespace trustlink::ntl::client
