// The NTLS server through the C ABI (trustlink/server.h).
#include "trustlink/server.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/internal/last_error.h"
#include "htl/server_gate.h"
#include "ntl/identity.h"
#include "ntl/registry/registry.h"
#include "ntl/registry/server_identity.h"
#include "ntl/server/admission.h"
#include "ntl/server/credentials.h"
#include "ntl/server/directory.h"
#include "ntl/server/registry_adapter.h"
#include "ntl/server/server.h"
#include "ntl/server/software_partition.h"
#include "ntl/status.h"

namespace srv = trustlink::ntl::server;
using trustlink::capi::internal::Guard;
using trustlink::capi::internal::Handle;

struct tl_server_options : Handle {
  srv::ServerOptions options;
  std::string cert_pem;
  std::string key_pem;
  bool ipcheck = true;
  bool listen_overridden = false;
  std::string root;
  std::string appliance_name;
  std::map<std::string, srv::ClientRecord> clients;  // by label
};

struct tl_server : Handle {
  std::unique_ptr<srv::Server> server;
  // Written by tl_server_start and read by the setters, which may run on other
  // threads.
  std::atomic<bool> started{false};
  std::string root;  // the registry root, if any (tl_server_enable_htl)
  std::atomic<bool> htl_enabled{false};
};

struct tl_server_responder {
  std::unique_ptr<srv::Responder> responder;
};

struct tl_server_stream {
  std::shared_ptr<srv::StreamSink> sink;
};

struct tl_server_status : Handle {
  srv::ServerStatus status;
};

TL_DEFINE_LAST_ERROR(tl_server_options)
TL_DEFINE_LAST_ERROR(tl_server)

namespace {

absl::Status NullArg(const char* what) {
  return trustlink::ntl::Error(absl::StatusCode::kInvalidArgument,
                               TL_E_INVALID_ARGUMENT,
                               absl::StrCat(what, " must not be NULL"));
}

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

struct CStreamCallbacks {
  tl_server_stream_open_fn open_fn;
  tl_server_stream_data_fn data_fn;
  tl_server_stream_close_fn close_fn;
  void* userdata;
};

class CStreamSession : public srv::StreamSession {
 public:
  CStreamSession(CStreamCallbacks cb, std::unique_ptr<tl_server_stream> stream,
                 void* stream_userdata)
      : cb_(cb),
        stream_(std::move(stream)),
        stream_userdata_(stream_userdata) {}
  void OnData(absl::string_view data) override {
    cb_.data_fn(cb_.userdata, stream_userdata_,
                reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
  void OnClose() override { cb_.close_fn(cb_.userdata, stream_userdata_); }

 private:
  const CStreamCallbacks cb_;
  const std::unique_ptr<tl_server_stream>
      stream_;  // freed after close_fn returned
  void* const stream_userdata_;
};

class CStreamService : public srv::StreamService {
 public:
  explicit CStreamService(CStreamCallbacks cb) : cb_(cb) {}
  absl::StatusOr<std::unique_ptr<srv::StreamSession>> Open(
      const srv::CallContext& ctx,
      std::shared_ptr<srv::StreamSink> sink) override {
    auto stream = std::make_unique<tl_server_stream>();
    stream->sink = std::move(sink);
    void* stream_userdata = nullptr;
    const std::string label(ctx.client_label);
    const std::string partition(ctx.partition);
    const tl_status st =
        cb_.open_fn(cb_.userdata, label.c_str(), partition.c_str(),
                    stream.get(), &stream_userdata);
    if (st != TL_OK) {
      return trustlink::ntl::Error(
          absl::StatusCode::kUnavailable, st,
          absl::StrCat("the stream service refused partition '", partition,
                       "' (", tl_status_name(st), ")"));
    }
    return std::unique_ptr<srv::StreamSession>(
        new CStreamSession(cb_, std::move(stream), stream_userdata));
  }

 private:
  const CStreamCallbacks cb_;
};

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_server_options_new(tl_server_options** out) noexcept {
  if (out == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  auto* o = new (std::nothrow) tl_server_options();
  if (o == nullptr) {
    return TL_E_NO_MEMORY;
  }
  *out = o;
  return TL_OK;
}

TL_EXPORT void tl_server_options_free(tl_server_options* opts) noexcept {
  delete opts;
}

TL_EXPORT tl_status tl_server_options_set_listen(tl_server_options* opts,
                                                 const char* address,
                                                 uint16_t port) noexcept {
  if (opts == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&opts->last_error, [&]() -> absl::Status {
    if (address == nullptr) {
      return NullArg("address");
    }
    opts->options.listen_address = address;
    opts->options.port = port;
    opts->listen_overridden = true;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status
tl_server_options_set_root(tl_server_options* opts, const char* root,
                           const char* appliance_name) noexcept {
  if (opts == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&opts->last_error, [&]() -> absl::Status {
    if (root == nullptr || *root == '\0') {
      return NullArg("root");
    }
    opts->root = root;
    if (appliance_name != nullptr) {
      opts->appliance_name = appliance_name;
    } else {
      char host[256] = {};
      gethostname(host, sizeof(host) - 1);
      opts->appliance_name = host;
    }
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_server_options_set_threads(tl_server_options* opts,
                                                  int32_t threads) noexcept {
  if (opts == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&opts->last_error, [&]() -> absl::Status {
    if (threads < 0 || threads > 1024) {
      return trustlink::ntl::Error(
          absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
          "threads must be between 0 (one per core) and 1024");
    }
    opts->options.threads = threads;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_server_options_set_limits(
    tl_server_options* opts, uint32_t max_unauthenticated,
    uint32_t max_unauthenticated_per_ip, uint32_t handshake_timeout_ms,
    uint32_t idle_timeout_ms, uint32_t max_frame_payload) noexcept {
  if (opts == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&opts->last_error, [&]() -> absl::Status {
    srv::ServerOptions& o = opts->options;
    if (max_frame_payload != 0 && max_frame_payload < 1024) {
      return trustlink::ntl::Error(
          absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
          "max_frame_payload must be at least 1024 bytes");
    }
    if (max_unauthenticated != 0) o.max_unauthenticated = max_unauthenticated;
    if (max_unauthenticated_per_ip != 0)
      o.max_unauthenticated_per_ip = max_unauthenticated_per_ip;
    if (handshake_timeout_ms != 0)
      o.handshake_timeout = absl::Milliseconds(handshake_timeout_ms);
    if (idle_timeout_ms != 0)
      o.idle_timeout = absl::Milliseconds(idle_timeout_ms);
    if (max_frame_payload != 0) o.max_frame_payload = max_frame_payload;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status
tl_server_options_set_certificate(tl_server_options* opts, const char* cert_pem,
                                  const char* key_pem) noexcept {
  if (opts == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&opts->last_error, [&]() -> absl::Status {
    if (cert_pem == nullptr || key_pem == nullptr) {
      return NullArg("cert_pem and key_pem");
    }
    auto cred = srv::ServerCredential::FromPem(cert_pem, key_pem);
    if (!cred.ok()) {
      return cred.status();
    }
    opts->cert_pem = cert_pem;
    opts->key_pem = key_pem;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_server_options_set_ipcheck(tl_server_options* opts,
                                                  int32_t on) noexcept {
  if (opts == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  opts->ipcheck = on != 0;
  return opts->last_error.Record(absl::OkStatus());
}

TL_EXPORT tl_status tl_server_options_add_client(tl_server_options* opts,
                                                 const char* label,
                                                 const char* cert_pem,
                                                 const char* ip,
                                                 int32_t require_htl) noexcept {
  if (opts == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&opts->last_error, [&]() -> absl::Status {
    if (label == nullptr || cert_pem == nullptr) {
      return NullArg("label and cert_pem");
    }
    bssl::UniquePtr<BIO> b(BIO_new_mem_buf(cert_pem, -1));
    bssl::UniquePtr<X509> x(
        PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
    if (!x) {
      return trustlink::ntl::Error(
          absl::StatusCode::kInvalidArgument, TL_E_CERT_INVALID,
          absl::StrCat("the certificate of client '", label,
                       "' is not a PEM certificate"));
    }
    srv::ClientRecord& r = opts->clients[label];
    r.label = label;
    r.fingerprint = srv::CertificateFingerprint(x.get());
    r.allowed_ips.clear();
    if (ip != nullptr) {
      if (srv::CanonicalIp(ip).empty()) {
        return trustlink::ntl::Error(
            absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
            absl::StrCat("'", ip, "' is not an IP address"));
      }
      r.allowed_ips.push_back(ip);
    }
    r.require_htl = require_htl != 0;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_server_options_assign_partition(
    tl_server_options* opts, const char* client_label, const char* partition,
    const char* slot_label, const char* serial) noexcept {
  if (opts == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&opts->last_error, [&]() -> absl::Status {
    if (client_label == nullptr || partition == nullptr) {
      return NullArg("client_label and partition");
    }
    auto it = opts->clients.find(client_label);
    if (it == opts->clients.end()) {
      return trustlink::ntl::Error(
          absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
          absl::StrCat(
              "client '", client_label,
              "' is not added; call tl_server_options_add_client first"));
    }
    it->second.partitions.push_back(
        {partition, slot_label ? slot_label : partition, serial ? serial : ""});
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_server_new(const tl_server_options* opts,
                                  tl_server** out) noexcept {
  if (opts == nullptr || out == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  auto* o = const_cast<tl_server_options*>(opts);
  tl_server* created = nullptr;
  tl_status st = Guard(&o->last_error, [&]() -> absl::Status {
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

TL_EXPORT void tl_server_free(tl_server* server) noexcept { delete server; }

TL_EXPORT tl_status tl_server_set_request_handler(tl_server* server,
                                                  tl_server_request_fn fn,
                                                  void* userdata) noexcept {
  if (server == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
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
  if (server == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
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

TL_EXPORT tl_status tl_server_add_stream_service(
    tl_server* server, const char* name, tl_server_stream_open_fn open_fn,
    tl_server_stream_data_fn data_fn, tl_server_stream_close_fn close_fn,
    void* userdata) noexcept {
  if (server == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&server->last_error, [&]() -> absl::Status {
    if (name == nullptr || open_fn == nullptr || data_fn == nullptr ||
        close_fn == nullptr) {
      return NullArg("name and the callbacks");
    }
    if (server->started) {
      return trustlink::ntl::Error(
          absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
          "add stream services before tl_server_start");
    }
    server->server->AddStreamService(
        name, std::make_shared<CStreamService>(
                  CStreamCallbacks{open_fn, data_fn, close_fn, userdata}));
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_server_stream_send(tl_server_stream* stream,
                                          const uint8_t* data,
                                          size_t data_len) noexcept {
  if (stream == nullptr || (data == nullptr && data_len != 0)) {
    return TL_E_INVALID_ARGUMENT;
  }
  try {
    stream->sink->Send(
        std::string(reinterpret_cast<const char*>(data), data_len));
  } catch (...) {
    return TL_E_NO_MEMORY;
  }
  return TL_OK;
}

TL_EXPORT tl_status tl_server_stream_close(tl_server_stream* stream,
                                           int32_t status,
                                           const char* message) noexcept {
  if (stream == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  try {
    stream->sink->Close(status, message ? message : "");
  } catch (...) {
    return TL_E_NO_MEMORY;
  }
  return TL_OK;
}

TL_EXPORT tl_status tl_server_start(tl_server* server) noexcept {
  if (server == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&server->last_error, [&]() -> absl::Status {
    absl::Status st = server->server->Start();
    if (st.ok()) server->started.store(true);
    return st;
  });
}

TL_EXPORT tl_status tl_server_port(const tl_server* server,
                                   uint16_t* out_port) noexcept {
  if (server == nullptr || out_port == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  *out_port = server->server->port();
  return TL_OK;
}

TL_EXPORT tl_status tl_server_stop(tl_server* server,
                                   uint32_t grace_ms) noexcept {
  if (server == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  return Guard(&server->last_error, [&]() -> absl::Status {
    server->server->Shutdown(absl::Milliseconds(grace_ms));
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_server_responder_respond(tl_server_responder* responder,
                                                int32_t status,
                                                const uint8_t* data,
                                                size_t data_len) noexcept {
  if (responder == nullptr || (data == nullptr && data_len != 0)) {
    return TL_E_INVALID_ARGUMENT;
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
