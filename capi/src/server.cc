// The NTLS server's life through the C ABI (trustlink/server.h): create it
// from options (a registry root or clients given in memory), plug in the
// request handler and HTL, start, stop. Options, streams and status live in
// server_options.cc, server_streams.cc and server_status.cc.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "capi/src/server_handles.h"
#include "htl/server_gate.h"
#include "ntl/identity.h"
#include "ntl/registry/registry.h"
#include "ntl/registry/server_identity.h"
#include "ntl/server/admission.h"
#include "ntl/server/credentials.h"
#include "ntl/server/registry_adapter.h"
#include "ntl/server/software_partition.h"

namespace srv = trustlink::ntl::server;
using trustlink::capi::internal::Guard;
using trustlink::capi::internal::GuardThreadOnly;
using trustlink::capi::server_internal::NullArg;

TL_DEFINE_LAST_ERROR(tl_server)

namespace {

// CHandler adapts a C callback to the PartitionHandler interface.
class CHandler : public srv::PartitionHandler {
 public:
  CHandler(tl_server_request_fn fn, void* userdata)
      : fn_(fn), userdata_(userdata) {}
  void HandleRequest(const srv::CallContext& ctx, uint32_t op,
                     absl::string_view data,
                     std::unique_ptr<srv::Responder> responder) override {
    auto* r = new tl_server_responder{std::move(responder)};
    const std::string label(ctx.client_label);
    const std::string partition(ctx.partition);
    fn_(userdata_, label.c_str(), partition.c_str(), op,
        reinterpret_cast<const uint8_t*>(data.data()), data.size(), r);
  }

 private:
  const tl_server_request_fn fn_;
  void* const userdata_;
};

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_server_new(const tl_server_options* opts,
                                  tl_server** out) noexcept {
  if (opts == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_options handle is NULL");
  }
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  const tl_server_options* o = opts;
  tl_server* created = nullptr;
  // The failure goes to the calling thread only (tl_last_error): options may be
  // read by tl_server_new on several threads at once.
  tl_status st = GuardThreadOnly([&]() -> absl::Status {
    if (!o->root.empty()) {
      if (!o->clients.empty() || !o->cert_pem.empty()) {
        return trustlink::ntl::Error(
            absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
            "with a registry root, clients and the certificate come from the "
            "registry; do "
            "not also add them with tl_server_options_add_client or "
            "set_certificate");
      }
      auto reg = trustlink::ntl::registry::Registry::Open(o->root, true);
      if (!reg.ok()) {
        return reg.status();
      }
      auto ids = trustlink::ntl::registry::EnsureServerIdentity(
          o->root, o->appliance_name, trustlink::ntl::kDefaultKeyType, nullptr);
      if (!ids.ok()) {
        return ids.status();
      }
      std::shared_ptr<trustlink::ntl::registry::Registry> shared(
          std::move(*reg));
      auto dir = std::make_shared<srv::RegistryDirectory>(shared);
      auto creds = srv::RegistryCredentials::Create(dir, o->root);
      if (!creds.ok()) {
        return creds.status();
      }
      srv::ServerOptions options = o->options;
      srv::ApplySettings(shared->Snapshot()->settings(), &options);
      if (o->listen_overridden) {
        options.listen_address = o->options.listen_address;
        options.port = o->options.port;
      }
      // Beside the server's own key: tickets then survive ntlsd restarts.
      options.ticket_key_dir = o->root + "/server";
      auto server = srv::Server::Create(options, dir, *creds);
      if (!server.ok()) {
        return server.status();
      }
      auto h = std::make_unique<tl_server>();
      h->server = std::move(*server);
      h->root = o->root;
      h->server->SetPartitionHandler(
          std::make_shared<srv::SoftwarePartitionHandler>());
      created = h.release();
      return absl::OkStatus();
    }
    if (o->cert_pem.empty()) {
      return trustlink::ntl::Error(absl::StatusCode::kFailedPrecondition,
                                   TL_E_FAILED_PRECONDITION,
                                   "the server has no certificate; call "
                                   "tl_server_options_set_certificate");
    }
    auto cred = srv::ServerCredential::FromPem(o->cert_pem, o->key_pem);
    if (!cred.ok()) {
      return cred.status();
    }
    auto dir = std::make_shared<srv::InMemoryDirectory>();
    dir->SetIpCheck(o->ipcheck);
    for (const auto& [label, rec] : o->clients) {
      dir->Put(rec);
    }
    auto server = srv::Server::Create(
        o->options, dir, std::make_shared<srv::StaticCredentials>(*cred));
    if (!server.ok()) {
      return server.status();
    }
    auto h = std::make_unique<tl_server>();
    h->server = std::move(*server);
    h->server->SetPartitionHandler(
        std::make_shared<srv::SoftwarePartitionHandler>());
    created = h.release();
    return absl::OkStatus();
  });
  if (st == TL_OK) {
    *out = created;
  }
  return st;
}

TL_EXPORT void tl_server_free(tl_server* server) noexcept {
  if (server != nullptr && server->owner.InForkedChild() &&
      server->started.load()) {
    // A fork() child closes only its copies of the descriptors (the listener
    // above all, so the parent can restart on its port); the links and the
    // loops stay the parent's (capi/internal/fork_owner.h).
    server->server->CloseDescriptorsInForkedChild();
    trustlink::capi::internal::KeepForever(server->server.release());
  }
  delete server;
}

TL_EXPORT tl_status tl_server_set_request_handler(tl_server* server,
                                                  tl_server_request_fn fn,
                                                  void* userdata) noexcept {
  TL_SERVER_USABLE(server);
  return Guard(&server->last_error, [&]() -> absl::Status {
    if (fn == nullptr) {
      return NullArg("fn");
    }
    if (server->started) {
      return trustlink::ntl::Error(
          absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
          "set the request handler before tl_server_start");
    }
    server->server->SetPartitionHandler(
        std::make_shared<CHandler>(fn, userdata));
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_server_enable_htl(tl_server* server,
                                         const char* root) noexcept {
  TL_SERVER_USABLE(server);
  return Guard(&server->last_error, [&]() -> absl::Status {
    const std::string dir = root != nullptr ? std::string(root) : server->root;
    if (dir.empty()) {
      return trustlink::ntl::Error(
          absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
          "tl_server_enable_htl needs the appliance root: pass it, or build "
          "the server with tl_server_options_set_root");
    }
    if (server->started || server->htl_enabled.exchange(true)) {
      return trustlink::ntl::Error(absl::StatusCode::kFailedPrecondition,
                                   TL_E_FAILED_PRECONDITION,
                                   "enable HTL once, before tl_server_start");
    }
    auto gate = trustlink::htl::OpenDaemonGate(dir);
    if (!gate.ok()) {
      server->htl_enabled = false;
      return gate.status();
    }
    server->server->SetHtlGate(*std::move(gate));
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_server_start(tl_server* server) noexcept {
  TL_SERVER_USABLE(server);
  return Guard(&server->last_error, [&]() -> absl::Status {
    absl::Status st = server->server->Start();
    if (st.ok()) server->started.store(true);
    return st;
  });
}

TL_EXPORT tl_status tl_server_port(const tl_server* server,
                                   uint16_t* out_port) noexcept {
  TL_SERVER_USABLE(server);
  if (out_port == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_port is NULL");
  }
  *out_port = server->server->port();
  return TL_OK;
}

TL_EXPORT tl_status tl_server_stop(tl_server* server,
                                   uint32_t grace_ms) noexcept {
  TL_SERVER_USABLE(server);
  return Guard(&server->last_error, [&]() -> absl::Status {
    server->server->Shutdown(absl::Milliseconds(grace_ms));
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_server_responder_respond(tl_server_responder* responder,
                                                int32_t status,
                                                const uint8_t* data,
                                                size_t data_len) noexcept {
  if (responder == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_responder handle is NULL");
  }
  if (data == nullptr && data_len != 0) {
    return TL_ARGUMENT_ERROR(nullptr, "data is NULL but data_len is not 0");
  }
  try {
    std::string payload(reinterpret_cast<const char*>(data), data_len);
    responder->responder->Respond(status, std::move(payload));
  } catch (...) {
    delete responder;  // the Responder's destructor answers TL_E_INTERNAL
    return TL_E_NO_MEMORY;
  }
  delete responder;
  return TL_OK;
}
}  // extern "C"
