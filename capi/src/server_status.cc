// The running server's status through the C ABI (trustlink/server.h): the
// listen address, connection counts and connected clients, as one snapshot.
#include <memory>
#include <string>

#include "capi/src/server_handles.h"

namespace srv = trustlink::ntl::server;
using trustlink::capi::internal::Guard;

extern "C" {

TL_EXPORT tl_status tl_server_status_new(tl_server* server,
                                         tl_server_status** out) noexcept {
  if (server == nullptr || out == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  tl_server_status* created = nullptr;
  tl_status st = Guard(&server->last_error, [&]() -> absl::Status {
    auto s = std::make_unique<tl_server_status>();
    s->status = server->server->GetStatus();
    created = s.release();
    return absl::OkStatus();
  });
  if (st == TL_OK) {
    *out = created;
  }
  return st;
}

TL_EXPORT void tl_server_status_free(tl_server_status* status) noexcept {
  delete status;
}

TL_EXPORT tl_status tl_server_status_listen(const tl_server_status* status,
                                            const char** out_listen) noexcept {
  if (status == nullptr || out_listen == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  *out_listen = status->status.listen.c_str();
  return TL_OK;
}

TL_EXPORT tl_status tl_server_status_connections(
    const tl_server_status* status, uint32_t* out_admitted,
    uint32_t* out_unauthenticated) noexcept {
  if (status == nullptr || out_admitted == nullptr ||
      out_unauthenticated == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  *out_admitted = static_cast<uint32_t>(status->status.connections);
  *out_unauthenticated = static_cast<uint32_t>(status->status.unauthenticated);
  return TL_OK;
}

TL_EXPORT tl_status tl_server_status_num_clients(const tl_server_status* status,
                                                 size_t* out) noexcept {
  if (status == nullptr || out == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  *out = status->status.clients.size();
  return TL_OK;
}

TL_EXPORT tl_status tl_server_status_client(
    const tl_server_status* status, size_t i, const char** out_label,
    const char** out_fingerprint, uint32_t* out_connections) noexcept {
  if (status == nullptr || out_label == nullptr || out_fingerprint == nullptr ||
      out_connections == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  if (i >= status->status.clients.size()) {
    return TL_E_OUT_OF_RANGE;
  }
  const srv::ClientStatus& c = status->status.clients[i];
  *out_label = c.label.c_str();
  *out_fingerprint = c.fingerprint.c_str();
  *out_connections = static_cast<uint32_t>(c.connections);
  return TL_OK;
}
}  // extern "C"
