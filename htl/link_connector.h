#ifndef TRUSTLINK_HTL_LINK_CONNECTOR_H_
#define TRUSTLINK_HTL_LINK_CONNECTOR_H_

// NewLinkConnector: the HtlConnector the C ABI's agent uses: real htl/1 TLS
// sessions (ntl::client::FramedSession) made with the client's certificate and
// pinned to the server certificate registered in the client's trust store,
// exactly like the application links (docs/htl.md, "Integration").
//
// A session's Exporter() is ExportHtlBinding of its TLS connection, and Call
// is one request/response pair. A Call that gets no answer in time closes its
// session: the agent then proves with the secret it still holds (the
// appliance's `previous`), and a grant it already gave up on can never be read
// later (which would make it hold a secret the appliance has retired).

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "htl/session.h"
#include "ntl/client/settings.h"

namespace trustlink::htl {

// NewLinkConnector reads `client_root` (trustlink.conf, the client identity
// and the trust store) at every Connect, so a server added or re-registered
// while the agent runs is picked up. Connect and each Call are bounded by the
// configured ConnectTimeout.
std::unique_ptr<HtlConnector> NewLinkConnector(const std::string& client_root);

// NewLinkConnectorForSettings uses fixed settings (tests, embedders that build
// their own); each Call waits at most `call_timeout`.
std::unique_ptr<HtlConnector> NewLinkConnectorForSettings(
    ntl::client::ClientSettings settings, absl::Duration call_timeout);

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_LINK_CONNECTOR_H_
