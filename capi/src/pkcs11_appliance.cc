// The appliance half of trustlink/pkcs11.h: the token store (tl_p11_tokens)
// and the "pkcs11" stream service (tl_p11_service) over ntl/pkcs11.
//
// The service reaches the server through the public stream-service callbacks
// (tl_server_add_stream_service), so the C++ LinkPkcs11Service adapter runs
// behind the same interface any embedder's service would.

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/internal/last_error.h"
#include "ntl/internal/mutex.h"
#include "ntl/pkcs11/ha/cloning_key_file.h"
#include "ntl/pkcs11/link_service.h"
#include "ntl/pkcs11/service.h"
#include "ntl/pkcs11/token_store.h"
#include "ntl/server/handler.h"
#include "ntl/status.h"
#include "trustlink/pkcs11.h"
#include "trustlink/pkcs11_ha.h"
#include "trustlink/server.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::NullArgument;
using trustlink::ntl::Error;
namespace p11 = trustlink::ntl::pkcs11;
namespace srv = trustlink::ntl::server;
namespace internal = trustlink::ntl::internal;

struct tl_p11_tokens : trustlink::capi::internal::Handle {
  std::unique_ptr<p11::TokenStore> store;
};

struct tl_p11_service : trustlink::capi::internal::Handle {
  // Destroyed in reverse order: the adapter before the service it borrows.
  std::unique_ptr<p11::Pkcs11Service> service;
  std::unique_ptr<p11::LinkPkcs11Service> link;
};

TL_DEFINE_LAST_ERROR(tl_p11_tokens)
TL_DEFINE_LAST_ERROR(tl_p11_service)

namespace {

absl::Status NotOpen(const char* what) {
  return Error(absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
               absl::StrCat(what, " is not open; call ", what,
                            "_open with the appliance root first"));
}

// CSink sends through a tl_server_stream, which the server frees once the
// close callback has returned. The service's pump thread may still send after
// that, so the close callback detaches the sink first and later calls are
// dropped.
class CSink : public srv::StreamSink {
 public:
  explicit CSink(tl_server_stream* stream) : stream_(stream) {}
  void Send(std::string data) override {
    internal::MutexLock lock(&mu_);
    if (stream_ != nullptr) {
      tl_server_stream_send(
          stream_, reinterpret_cast<const uint8_t*>(data.data()), data.size());
    }
  }
  void Close(int32_t status, std::string message) override {
    internal::MutexLock lock(&mu_);
    if (stream_ != nullptr) {
      tl_server_stream_close(stream_, status, message.c_str());
    }
  }
  void Detach() {
    internal::MutexLock lock(&mu_);
    stream_ = nullptr;
  }

 private:
  internal::Mutex mu_;
  tl_server_stream* stream_ ABSL_GUARDED_BY(mu_);
};

// OpenStream is what the server keeps per stream. `session` is null when the
// open failed and the stream is being closed with the reason.
struct OpenStream {
  std::shared_ptr<CSink> sink;
  std::unique_ptr<srv::StreamSession> session;
};

tl_status OnOpen(void* userdata, const char* client_label,
                 const char* partition, tl_server_stream* stream,
                 void** out_stream_userdata) {
  auto* service = static_cast<tl_p11_service*>(userdata);
  auto open = std::make_unique<OpenStream>();
  open->sink = std::make_shared<CSink>(stream);
  std::vector<std::string> partitions;
  size_t n = 0;
  tl_server_stream_num_partitions(stream, &n);
  for (size_t i = 0; i < n; ++i) {
    const char* p = nullptr;
    if (tl_server_stream_partition(stream, i, &p) == TL_OK) {
      partitions.emplace_back(p);
    }
  }
  srv::CallContext ctx{client_label, "", partition, partitions};
  absl::StatusOr<std::unique_ptr<srv::StreamSession>> session =
      service->link->Open(ctx, open->sink);
  if (session.ok()) {
    open->session = std::move(*session);
  } else {
    // Accept, then close with the full reason: a refused open would reach the
    // client as a bare status code.
    open->sink->Close(trustlink::ntl::ToTlStatus(session.status()),
                      std::string(session.status().message()));
  }
  *out_stream_userdata = open.release();
  return TL_OK;
}

void OnData(void*, void* stream_userdata, const uint8_t* data,
            size_t data_len) {
  auto* open = static_cast<OpenStream*>(stream_userdata);
  if (open->session != nullptr) {
    open->session->OnData(
        absl::string_view(reinterpret_cast<const char*>(data), data_len));
  }
}

void OnClose(void*, void* stream_userdata) {
  std::unique_ptr<OpenStream> open(static_cast<OpenStream*>(stream_userdata));
  open->sink->Detach();
  if (open->session != nullptr) {
    open->session->OnClose();
  }
}

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_p11_tokens_new(tl_p11_tokens** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

TL_EXPORT void tl_p11_tokens_free(tl_p11_tokens* tokens) noexcept {
  delete tokens;
}

TL_EXPORT tl_status tl_p11_tokens_open(tl_p11_tokens* tokens,
                                       const char* appliance_root) noexcept {
  if (tokens == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_tokens handle is NULL");
  }
  return Guard(&tokens->last_error, [&]() -> absl::Status {
    if (appliance_root == nullptr) {
      return NullArgument("appliance_root");
    }
    absl::StatusOr<p11::TokenStore> store =
        p11::OpenApplianceTokens(appliance_root);
    if (!store.ok()) {
      return store.status();
    }
    tokens->store = std::make_unique<p11::TokenStore>(std::move(*store));
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_tokens_create(tl_p11_tokens* tokens,
                                         const char* partition,
                                         const char* so_pin,
                                         const char* user_pin) noexcept {
  if (tokens == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_tokens handle is NULL");
  }
  return Guard(&tokens->last_error, [&]() -> absl::Status {
    if (partition == nullptr || so_pin == nullptr || user_pin == nullptr) {
      return NullArgument(partition == nullptr ? "partition"
                          : so_pin == nullptr  ? "so_pin"
                                               : "user_pin");
    }
    if (tokens->store == nullptr) {
      return NotOpen("tl_p11_tokens");
    }
    return tokens->store->Create(partition, so_pin, user_pin);
  });
}

TL_EXPORT tl_status tl_p11_tokens_join_cloning_domain(
    tl_p11_tokens* tokens, const char* partition, const char* so_pin,
    const char* key_file, int32_t* out_created) noexcept {
  if (tokens == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_tokens handle is NULL");
  }
  return Guard(&tokens->last_error, [&]() -> absl::Status {
    if (partition == nullptr || so_pin == nullptr || key_file == nullptr ||
        out_created == nullptr) {
      return NullArgument(partition == nullptr  ? "partition"
                          : so_pin == nullptr   ? "so_pin"
                          : key_file == nullptr ? "key_file"
                                                : "out_created");
    }
    if (tokens->store == nullptr) {
      return NotOpen("tl_p11_tokens");
    }
    bool created = false;
    absl::StatusOr<std::string> key =
        p11::ha::ReadOrCreateCloningKeyFile(key_file, &created);
    if (!key.ok()) {
      return key.status();
    }
    *out_created = created ? 1 : 0;
    absl::Status s =
        p11::ha::InstallCloningKey(*tokens->store, partition, so_pin, *key);
    std::fill(key->begin(), key->end(), '\0');
    return s;
  });
}

TL_EXPORT tl_status tl_p11_tokens_remove(tl_p11_tokens* tokens,
                                         const char* partition) noexcept {
  if (tokens == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_tokens handle is NULL");
  }
  return Guard(&tokens->last_error, [&]() -> absl::Status {
    if (partition == nullptr) {
      return NullArgument("partition");
    }
    if (tokens->store == nullptr) {
      return NotOpen("tl_p11_tokens");
    }
    return tokens->store->Remove(partition);
  });
}

TL_EXPORT tl_status tl_p11_tokens_exists(const tl_p11_tokens* tokens,
                                         const char* partition,
                                         int32_t* out_exists) noexcept {
  if (tokens == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_tokens handle is NULL");
  }
  auto* t = const_cast<tl_p11_tokens*>(tokens);  // for its last error only
  return Guard(&t->last_error, [&]() -> absl::Status {
    if (partition == nullptr || out_exists == nullptr) {
      return NullArgument(partition == nullptr ? "partition" : "out_exists");
    }
    if (tokens->store == nullptr) {
      return NotOpen("tl_p11_tokens");
    }
    absl::StatusOr<p11::PartitionToken> found = tokens->store->Find(partition);
    if (!found.ok() && !absl::IsNotFound(found.status())) {
      return found.status();
    }
    *out_exists = found.ok() ? 1 : 0;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_service_new(tl_p11_service** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

TL_EXPORT void tl_p11_service_free(tl_p11_service* service) noexcept {
  delete service;
}

TL_EXPORT tl_status tl_p11_service_open(tl_p11_service* service,
                                        const char* appliance_root) noexcept {
  if (service == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_service handle is NULL");
  }
  return Guard(&service->last_error, [&]() -> absl::Status {
    if (appliance_root == nullptr) {
      return NullArgument("appliance_root");
    }
    if (service->service != nullptr) {
      return Error(absl::StatusCode::kFailedPrecondition,
                   TL_E_FAILED_PRECONDITION,
                   "the pkcs11 service is already open; make a new one for "
                   "another appliance root");
    }
    absl::StatusOr<p11::TokenStore> store =
        p11::OpenApplianceTokens(appliance_root);
    if (!store.ok()) {
      return store.status();
    }
    service->service = std::make_unique<p11::Pkcs11Service>(std::move(*store));
    service->link =
        std::make_unique<p11::LinkPkcs11Service>(service->service.get());
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_service_add_to_server(tl_p11_service* service,
                                                 tl_server* server) noexcept {
  if (service == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_service handle is NULL");
  }
  return Guard(&service->last_error, [&]() -> absl::Status {
    if (server == nullptr) {
      return NullArgument("server");
    }
    if (service->service == nullptr) {
      return NotOpen("tl_p11_service");
    }
    tl_status s = tl_server_add_stream_service(
        server, p11::kServiceName, OnOpen, OnData, OnClose, service);
    if (s != TL_OK) {
      char message[TL_ERROR_MESSAGE_MAX] = "";
      size_t len = 0;
      tl_server_last_error(server, message, sizeof(message), &len);
      return Error(absl::StatusCode::kFailedPrecondition, s,
                   absl::StrCat("cannot add the pkcs11 service: ", message));
    }
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_service_close_partition(
    tl_p11_service* service, const char* partition, tl_status status,
    const char* message, size_t* out_num_closed) noexcept {
  if (service == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_service handle is NULL");
  }
  return Guard(&service->last_error, [&]() -> absl::Status {
    if (partition == nullptr || out_num_closed == nullptr) {
      return NullArgument(partition == nullptr ? "partition"
                                               : "out_num_closed");
    }
    if (service->service == nullptr) {
      return NotOpen("tl_p11_service");
    }
    *out_num_closed = service->service->ClosePartition(
        partition, status,
        message != nullptr
            ? std::string(message)
            : absl::StrCat("partition '", partition, "' was closed"));
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_service_num_live(tl_p11_service* service,
                                            size_t* out) noexcept {
  if (service == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_service handle is NULL");
  }
  return Guard(&service->last_error, [&]() -> absl::Status {
    if (out == nullptr) {
      return NullArgument("out");
    }
    *out = service->service == nullptr ? 0 : service->service->live_sessions();
    return absl::OkStatus();
  });
}

}  // extern "C"
