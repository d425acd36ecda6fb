// The C ABI of trustlink/trust_store.h over //ntl:trust_store.
#include "ntl/trust_store.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "capi/internal/last_error.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/status.h"
#include "trustlink/trust_store.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::Handle;
using trustlink::capi::internal::NullArgument;
namespace ntl = trustlink::ntl;

struct tl_trust_store : Handle {
  absl::optional<ntl::TrustStore> store;
};

struct tl_server_cert_list : Handle {
  struct Item {
    std::string name, fingerprint, pem, der;
  };
  std::vector<Item> items;
};

TL_DEFINE_LAST_ERROR(tl_trust_store)

namespace {

absl::Status NotOpen() {
  return ntl::Error(
      absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
      "the trust store is not open; call tl_trust_store_open first");
}

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_trust_store_new(tl_trust_store** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

TL_EXPORT void tl_trust_store_free(tl_trust_store* store) noexcept {
  delete store;
}

TL_EXPORT tl_status tl_trust_store_open(tl_trust_store* store,
                                        const char* client_root,
                                        int32_t create) noexcept {
  if (store == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_trust_store handle is NULL");
  }
  return Guard(&store->last_error, [&]() -> absl::Status {
    if (client_root == nullptr) return NullArgument("client_root");
    absl::StatusOr<ntl::internal::SafeDir> root =
        ntl::internal::SafeDir::Open(client_root, create != 0, 0755);
    if (!root.ok()) return root.status();
    absl::StatusOr<ntl::TrustStore> opened =
        ntl::TrustStore::Open(*root, create != 0);
    if (!opened.ok()) return opened.status();
    store->store.emplace(*std::move(opened));
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_trust_store_add_server(tl_trust_store* store,
                                              const char* name, const char* pem,
                                              size_t pem_len, int32_t replace,
                                              char* out_fingerprint,
                                              size_t fingerprint_len) noexcept {
  if (store == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_trust_store handle is NULL");
  }
  return Guard(&store->last_error, [&]() -> absl::Status {
    if (!store->store) return NotOpen();
    if (name == nullptr || pem == nullptr) return NullArgument("name and pem");
    if (out_fingerprint != nullptr &&
        fingerprint_len < TL_FINGERPRINT_LEN + 1) {
      return ntl::Error(
          absl::StatusCode::kInvalidArgument, TL_E_BUFFER_TOO_SMALL,
          "the fingerprint buffer needs TL_FINGERPRINT_LEN + 1 bytes");
    }
    absl::StatusOr<ntl::AddResult> added =
        store->store->Add(name, absl::string_view(pem, pem_len), replace != 0);
    if (!added.ok()) return added.status();
    if (out_fingerprint != nullptr) {
      std::memcpy(out_fingerprint, added->server.fingerprint.c_str(),
                  added->server.fingerprint.size() + 1);
    }
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_trust_store_remove_server(tl_trust_store* store,
                                                 const char* name) noexcept {
  if (store == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_trust_store handle is NULL");
  }
  return Guard(&store->last_error, [&]() -> absl::Status {
    if (!store->store) return NotOpen();
    if (name == nullptr) return NullArgument("name");
    return store->store->Remove(name).status();
  });
}

TL_EXPORT tl_status tl_trust_store_load_pinned(
    tl_trust_store* store, tl_server_cert_list** out) noexcept {
  if (store == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_trust_store handle is NULL");
  }
  return Guard(&store->last_error, [&]() -> absl::Status {
    if (!store->store) return NotOpen();
    if (out == nullptr) return NullArgument("out");
    absl::StatusOr<std::vector<ntl::ServerCert>> pinned =
        store->store->LoadPinned();
    if (!pinned.ok()) return pinned.status();
    auto* list = new tl_server_cert_list();
    for (const ntl::ServerCert& s : *pinned) {
      list->items.push_back(
          {s.name, s.fingerprint, s.cert.Pem(), s.cert.Der()});
    }
    *out = list;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_trust_store_check(tl_trust_store* store) noexcept {
  if (store == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_trust_store handle is NULL");
  }
  return Guard(&store->last_error, [&]() -> absl::Status {
    if (!store->store) return NotOpen();
    absl::StatusOr<ntl::VerifyReport> report = store->store->Verify();
    if (!report.ok()) return report.status();
    if (!report->cafile_error.empty()) {
      return ntl::Error(absl::StatusCode::kFailedPrecondition,
                        TL_E_TRUST_STORE_INCONSISTENT, report->cafile_error);
    }
    for (const ntl::VerifyEntry& e : report->entries) {
      if (e.state != ntl::EntryState::kOk) {
        return ntl::Error(absl::StatusCode::kFailedPrecondition,
                          e.state == ntl::EntryState::kExpired
                              ? TL_E_CERT_EXPIRED
                              : TL_E_TRUST_STORE_INCONSISTENT,
                          e.message);
      }
    }
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_trust_store_repair(tl_trust_store* store,
                                          size_t* out_num_changes) noexcept {
  if (store == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_trust_store handle is NULL");
  }
  return Guard(&store->last_error, [&]() -> absl::Status {
    if (!store->store) return NotOpen();
    if (out_num_changes == nullptr) return NullArgument("out_num_changes");
    absl::StatusOr<std::vector<std::string>> changes = store->store->Repair();
    if (!changes.ok()) return changes.status();
    *out_num_changes = changes->size();
    return absl::OkStatus();
  });
}

TL_EXPORT void tl_server_cert_list_free(tl_server_cert_list* list) noexcept {
  delete list;
}

TL_EXPORT size_t
tl_server_cert_list_count(const tl_server_cert_list* list) noexcept {
  return list == nullptr ? 0 : list->items.size();
}

#define TL_CERT_LIST_GETTER(field)                                        \
  TL_EXPORT tl_status tl_server_cert_list_##field(                        \
      const tl_server_cert_list* list, size_t index,                      \
      const char** out) noexcept {                                        \
    if (list == nullptr) {                                                \
      return TL_ARGUMENT_ERROR(nullptr,                                   \
                               "the tl_server_cert_list handle is NULL"); \
    }                                                                     \
    if (out == nullptr) {                                                 \
      return TL_ARGUMENT_ERROR(nullptr, "out is NULL");                   \
    }                                                                     \
    if (index >= list->items.size()) {                                    \
      return trustlink::capi::internal::IndexOutOfRange(                  \
          __func__, "index", index, "the tl_server_cert_list",            \
          list->items.size(), "certificate");                             \
    }                                                                     \
    *out = list->items[index].field.c_str();                              \
    return TL_OK;                                                         \
  }

TL_CERT_LIST_GETTER(name)
TL_CERT_LIST_GETTER(fingerprint)
TL_CERT_LIST_GETTER(pem)

TL_EXPORT tl_status tl_server_cert_list_der(const tl_server_cert_list* list,
                                            size_t index, const uint8_t** out,
                                            size_t* out_len) noexcept {
  if (list == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_cert_list handle is NULL");
  }
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  if (out_len == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_len is NULL");
  }
  if (index >= list->items.size()) {
    return trustlink::capi::internal::IndexOutOfRange(
        __func__, "index", index, "the tl_server_cert_list", list->items.size(),
        "certificate");
  }
  *out = reinterpret_cast<const uint8_t*>(list->items[index].der.data());
  *out_len = list->items[index].der.size();
  return TL_OK;
}

}  // extern "C"
