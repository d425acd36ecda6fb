#include "ntl/client/htl_proof.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "htl/exporter.h"
#include "htl/messages.h"
#include "htl/proof_service.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

absl::StatusOr<std::string> LinkProofFor(const SSL* ssl,
                                         const ClientSettings& settings,
                                         absl::string_view server,
                                         absl::Time deadline) {
  absl::StatusOr<std::string> exporter = htl::ExportHtlBinding(ssl);
  if (!exporter.ok()) {
    return exporter.status();
  }
  const std::string path = settings.htl_proof_socket.empty()
                               ? htl::DefaultProofSocketPath()
                               : settings.htl_proof_socket;
  // Never past the caller's deadline, and never 0: a connect phase that is
  // about to expire still gets a short, bounded try.
  const absl::Duration timeout =
      std::max(std::min(settings.htl_proof_timeout, deadline - absl::Now()),
               absl::Milliseconds(50));
  absl::StatusOr<htl::LinkProof> proof =
      htl::RequestLinkProof(path, server, *exporter, timeout);
  if (!proof.ok()) {
    return Error(proof.status().code(), ToTlStatus(proof.status()),
                 absl::StrCat("server '", server,
                              "' is marked for HTL (ServerHtl = 1) and needs a "
                              "proof from the local HTL agent: ",
                              proof.status().message()));
  }
  return htl::EncodeLinkProof(*proof);
}

}  // namespace trustlink::ntl::client
