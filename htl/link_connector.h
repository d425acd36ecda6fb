#ifndef TRUSTLINK_HTL_LINK_CONNECTOR_H_
#define TRUSTLINK_HTL_LINK_CONNECTOR_H_

// NewLinkConnector: the HtlConnector the C ABI's agent uses, i.e. real htl/1
// TLS sessions made with the client's certificate and pinned to the registered
// server certificate.
//
// INTEGRATION POINT: until the NTLA client link (ntl/client) lands, this
// returns a connector whose Connect fails with TL_E_UNIMPLEMENTED. The lead
// replaces link_connector.cc with an adapter over ntl/client (docs/htl.md,
// "Integration").

#include <memory>
#include <string>

#include "htl/session.h"

namespace trustlink::htl {

// `client_root` is where the client's configuration and certificates live.
std::unique_ptr<HtlConnector> NewLinkConnector(const std::string& client_root);

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_LINK_CONNECTOR_H_
