#include "ntl/client/htl_proof.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "htl/exporter.h"
#include "htl/messages.h"
#include "htl/proof_service.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

absl::Status ForServer(absl::string_view server, const absl::Status& agent) {
  return Error(agent.code(), ToTlStatus(agent),
               absl::StrCat("server '", server,
                            "' is marked for HTL (ServerHtl = 1) and needs a "
                            "proof from the local HTL agent: ",
                            agent.message()));
}

}  // namespace

absl::StatusOr<ProofRequest> PrepareLinkProof(const SSL* ssl,
                                              const ClientSettings& settings,
                                              absl::string_view server,
                                              absl::Time deadline) {
  absl::StatusOr<std::string> exporter = htl::ExportHtlBinding(ssl);
  if (!exporter.ok()) {
    return exporter.status();
  }
  ProofRequest r;
  r.socket_path = settings.htl_proof_socket.empty()
                      ? htl::DefaultProofSocketPath()
                      : settings.htl_proof_socket;
  r.server = std::string(server);
  r.exporter = *std::move(exporter);
  // Never past the caller's deadline, and never 0: a connect phase that is
  // about to expire still gets a short, bounded try.
  r.timeout =
      std::max(std::min(settings.htl_proof_timeout, deadline - absl::Now()),
               absl::Milliseconds(50));
  return r;
}

absl::StatusOr<std::string> AskAgent(const ProofRequest& request) {
  absl::StatusOr<htl::LinkProof> proof = htl::RequestLinkProof(
      request.socket_path, request.server, request.exporter, request.timeout,
      request.cancel_fd);
  if (!proof.ok()) {
    return ForServer(request.server, proof.status());
  }
  return htl::EncodeLinkProof(*proof);
}

absl::Status ProofTimedOut(const ProofRequest& request, absl::Duration waited) {
  return ForServer(
      request.server,
      htl::AgentUnavailable(
          request.socket_path,
          absl::StrCat("no answer within ", absl::FormatDuration(waited))));
}

absl::StatusOr<std::string> LinkProofFor(const SSL* ssl,
                                         const ClientSettings& settings,
                                         absl::string_view server,
                                         absl::Time deadline) {
  absl::StatusOr<ProofRequest> request =
      PrepareLinkProof(ssl, settings, server, deadline);
  if (!request.ok()) {
    return request.status();
  }
  return AskAgent(*request);
}

}  // namespace trustlink::ntl::client
