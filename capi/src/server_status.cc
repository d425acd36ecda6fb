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
  TL_SERVER_USABLE(server);
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(&server->last_error, "out is NULL");
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
  if (status == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_status handle is NULL");
  }
  if (out_listen == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_listen is NULL");
  }
  *out_listen = status->status.listen.c_str();
  return TL_OK;
}

TL_EXPORT tl_status tl_server_status_connections(
    const tl_server_status* status, uint32_t* out_admitted,
    uint32_t* out_unauthenticated) noexcept {
  if (status == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_status handle is NULL");
  }
  if (out_admitted == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_admitted is NULL");
  }
  if (out_unauthenticated == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_unauthenticated is NULL");
  }
  *out_admitted = static_cast<uint32_t>(status->status.connections);
  *out_unauthenticated = static_cast<uint32_t>(status->status.unauthenticated);
  return TL_OK;
}

TL_EXPORT tl_status tl_server_status_num_clients(const tl_server_status* status,
                                                 size_t* out) noexcept {
  if (status == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_status handle is NULL");
  }
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  *out = status->status.clients.size();
  return TL_OK;
}

TL_EXPORT tl_status tl_server_status_client(
    const tl_server_status* status, size_t i, const char** out_label,
    const char** out_fingerprint, uint32_t* out_connections) noexcept {
  if (status == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_status handle is NULL");
  }
  if (out_label == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_label is NULL");
  }
  if (out_fingerprint == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_fingerprint is NULL");
  }
  if (out_connections == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_connections is NULL");
  }
  if (i >= status->status.clients.size()) {
    return trustlink::capi::internal::IndexOutOfRange(
        __func__, "index", i, "the tl_server_status",
        status->status.clients.size(), "client");
  }
  const srv::ClientStatus& c = status->status.clients[i];
  *out_label = c.label.c_str();
  *out_fingerprint = c.fingerprint.c_str();
  *out_connections = static_cast<uint32_t>(c.connections);
  return TL_OK;
}
}  // extern "C"
