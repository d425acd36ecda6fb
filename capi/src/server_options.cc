// The server's options through the C ABI (trustlink/server.h): listener,
// threads, limits, ipcheck, and the clients of a server without a registry.
#include <string>

#include "absl/strings/str_cat.h"
#include "capi/src/log_hook.h"
#include "capi/src/server_handles.h"
#include "ntl/internal/busy_poll.h"
#include "ntl/server/admission.h"

namespace srv = trustlink::ntl::server;
using trustlink::capi::internal::Guard;
using trustlink::capi::server_internal::NullArg;

TL_DEFINE_LAST_ERROR(tl_server_options)

extern "C" {

TL_EXPORT tl_status tl_server_options_new(tl_server_options** out) noexcept {
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  auto* o = new (std::nothrow) tl_server_options();
  if (o == nullptr) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
  // Every server of the C ABI logs through tl_set_log_callback's hook (stderr
  // until one is set).
  o->options.log = [](absl::string_view line) {
    trustlink::capi::internal::LogLine("ntls", line);
  };
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
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_options handle is NULL");
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
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_options handle is NULL");
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
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_options handle is NULL");
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

TL_EXPORT tl_status tl_server_options_set_busy_poll(
    tl_server_options* opts, uint32_t budget_us) noexcept {
  if (opts == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_options handle is NULL");
  }
  return Guard(&opts->last_error, [&]() -> absl::Status {
    if (absl::Status st = trustlink::ntl::internal::CheckBusyPollBudget(
            budget_us, "a busy-poll budget");
        !st.ok()) {
      return trustlink::ntl::Error(absl::StatusCode::kInvalidArgument,
                                   TL_E_INVALID_ARGUMENT, st.message());
    }
    opts->options.busy_poll_us = budget_us;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_server_options_set_limits(
    tl_server_options* opts, uint32_t max_unauthenticated,
    uint32_t max_unauthenticated_per_ip, uint32_t handshake_timeout_ms,
    uint32_t idle_timeout_ms, uint32_t max_frame_payload) noexcept {
  if (opts == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_options handle is NULL");
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
tl_server_options_set_link_limits(tl_server_options* opts, uint32_t max_links,
                                  uint32_t max_links_per_client) noexcept {
  if (opts == nullptr) {
    return TL_E_INVALID_ARGUMENT;
  }
  srv::ServerOptions& o = opts->options;
  if (max_links != 0) o.max_links = max_links;
  if (max_links_per_client != 0) o.max_links_per_client = max_links_per_client;
  return TL_OK;
}

TL_EXPORT tl_status
tl_server_options_set_certificate(tl_server_options* opts, const char* cert_pem,
                                  const char* key_pem) noexcept {
  if (opts == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_options handle is NULL");
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
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_options handle is NULL");
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
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_options handle is NULL");
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
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_options handle is NULL");
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
}  // extern "C"
