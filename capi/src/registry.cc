// tl_registry: opening, watching and the client half of trustlink/registry.h.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "absl/strings/str_cat.h"
#include "capi/src/registry_handles.h"
#include "ntl/registry/model.h"
#include "ntl/status.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::NullArgument;
using trustlink::capi::internal::Str;
namespace reg = trustlink::ntl::registry;

TL_DEFINE_LAST_ERROR(tl_registry)
TL_DEFINE_LAST_ERROR(tl_client_registration)

namespace {

std::string DefaultRoot() {
  const char* env = std::getenv(TL_APPLIANCE_ROOT_ENV);
  return env != nullptr && env[0] != '\0' ? std::string(env)
                                          : TL_APPLIANCE_DEFAULT_ROOT;
}

tl_client_info* NewInfo(const reg::ClientRecord& record,
                        const reg::RegistrySnapshot& snap) {
  auto* info = new (std::nothrow) tl_client_info();
  if (info == nullptr) return nullptr;
  info->record = record;
  info->effective_ott_expiry = snap.EffectiveOttExpirySeconds(record);
  return info;
}

// Finish hands a ChangeResult to the caller as a tl_client_info (when `out` is
// not NULL).
absl::Status Finish(tl_registry* r, absl::StatusOr<reg::ChangeResult> result,
                    tl_client_info** out) {
  if (!result.ok()) return result.status();
  if (out == nullptr) return absl::OkStatus();
  tl_client_info* info = NewInfo(result->client, *r->registry->Snapshot());
  if (info == nullptr) throw std::bad_alloc();
  info->warnings = std::move(result->warnings);
  info->changed = result->changed;
  *out = info;
  return absl::OkStatus();
}

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_appliance_default_root(char* buf, size_t buf_len,
                                              size_t* out_len) noexcept {
  try {
    return trustlink::capi::internal::CopyString(__func__, DefaultRoot(), buf,
                                                 buf_len, out_len);
  } catch (...) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
}

}  // extern "C"

namespace {

// Load opens the registry at `root` (NULL: the default) into `r`.
absl::Status Load(tl_registry* r, const char* root, int32_t flags) {
  r->root = root != nullptr ? std::string(root) : DefaultRoot();
  auto opened =
      reg::Registry::Open(r->root, (flags & TL_REGISTRY_OPEN_CREATE) != 0);
  if (!opened.ok()) return opened.status();
  r->registry = std::move(*opened);
  return absl::OkStatus();
}

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_registry_open(const char* root, int32_t flags,
                                     tl_registry** out) noexcept {
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  auto* r = new (std::nothrow) tl_registry();
  if (r == nullptr) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
  tl_status st = Guard(&r->last_error, [&]() { return Load(r, root, flags); });
  // The handle carries the message either way; see registry.h.
  *out = r;
  return st;
}

TL_EXPORT tl_status tl_registry_load(const char* root, int32_t flags,
                                     tl_registry** out) noexcept {
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  return trustlink::capi::internal::GuardThreadOnly([&]() -> absl::Status {
    auto r = std::make_unique<tl_registry>();
    absl::Status loaded = Load(r.get(), root, flags);
    if (loaded.ok()) {
      *out = r.release();
    }
    return loaded;
  });
}

TL_EXPORT void tl_registry_free(tl_registry* r) noexcept { delete r; }

TL_EXPORT const char* tl_registry_root(const tl_registry* r) noexcept {
  return r != nullptr ? r->root.c_str() : "";
}

TL_EXPORT tl_status tl_registry_generation(tl_registry* r,
                                           uint64_t* out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (out == nullptr) return NullArgument("out");
    *out = r->registry->generation();
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_registry_watch_fd(const tl_registry* r,
                                         int32_t* out_fd) noexcept {
  if (r == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_registry handle is NULL");
  }
  if (out_fd == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_fd is NULL");
  }
  if (r->registry == nullptr) return TL_E_FAILED_PRECONDITION;
  *out_fd = r->registry->watch_fd();
  return TL_OK;
}

TL_EXPORT tl_status tl_registry_refresh(tl_registry* r) noexcept {
  TL_REGISTRY_BODY(r) { return r->registry->Refresh(); });
}

TL_EXPORT tl_status
tl_client_registration_new(tl_client_registration** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

TL_EXPORT void tl_client_registration_free(tl_client_registration* r) noexcept {
  delete r;
}

#define TL_SETTER_BODY(h)                                    \
  if ((h) == nullptr) {                                      \
    return TL_ARGUMENT_ERROR(nullptr, "the handle is NULL"); \
  }                                                          \
  return Guard(&(h)->last_error, [&]() -> absl::Status

TL_EXPORT tl_status tl_client_registration_set_label(
    tl_client_registration* r, const char* label) noexcept {
  TL_SETTER_BODY(r) {
    if (label == nullptr) return NullArgument("label");
    r->reg.label = label;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_client_registration_set_hostname(
    tl_client_registration* r, const char* hostname) noexcept {
  TL_SETTER_BODY(r) {
    if (hostname == nullptr) return NullArgument("hostname");
    r->reg.name = hostname;
    r->reg.name_is_ip = false;
    r->has_name = true;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_client_registration_set_ip(tl_client_registration* r,
                                                  const char* ip) noexcept {
  TL_SETTER_BODY(r) {
    if (ip == nullptr) return NullArgument("ip");
    r->reg.name = ip;
    r->reg.name_is_ip = true;
    r->has_name = true;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_client_registration_set_certificate_pem(
    tl_client_registration* r, const char* pem) noexcept {
  TL_SETTER_BODY(r) {
    if (pem == nullptr) return NullArgument("pem");
    r->reg.certificate_pem = pem;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_client_registration_set_require_htl(
    tl_client_registration* r, int32_t require_htl) noexcept {
  if (r == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "the tl_client_registration handle is NULL");
  }
  r->reg.require_htl = require_htl != 0;
  return TL_OK;
}

TL_EXPORT tl_status tl_client_registration_set_ott_expiry(
    tl_client_registration* r, int64_t seconds) noexcept {
  if (r == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "the tl_client_registration handle is NULL");
  }
  r->reg.ott_expiry_seconds = seconds;
  return TL_OK;
}

TL_EXPORT tl_status tl_client_registration_set_force(tl_client_registration* r,
                                                     int32_t force) noexcept {
  if (r == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "the tl_client_registration handle is NULL");
  }
  r->reg.force_name_mismatch = force != 0;
  return TL_OK;
}

TL_EXPORT tl_status
tl_registry_register_client(tl_registry* r, const tl_client_registration* cr,
                            tl_client_info** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (cr == nullptr) return NullArgument("registration");
    if (!cr->has_name) {
      return trustlink::ntl::Error(
          absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
          "a client registration needs a hostname or an IP");
    }
    if (cr->reg.certificate_pem.empty()) {
      return trustlink::ntl::Error(
          absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
          "a client registration needs the client's certificate");
    }
    return Finish(r, r->registry->RegisterClient(cr->reg), out);
  });
}

TL_EXPORT tl_status tl_registry_delete_client(tl_registry* r,
                                              const char* label) noexcept {
  TL_REGISTRY_BODY(r) {
    if (label == nullptr) return NullArgument("label");
    return r->registry->DeleteClient(label);
  });
}

TL_EXPORT tl_status tl_registry_replace_certificate(
    tl_registry* r, const char* label, const char* pem, int32_t force,
    tl_client_info** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (label == nullptr || pem == nullptr)
      return NullArgument("label and pem");
    return Finish(r, r->registry->ReplaceCertificate(label, pem, force != 0),
                  out);
  });
}

TL_EXPORT tl_status tl_registry_set_require_htl(tl_registry* r,
                                                const char* label,
                                                int32_t require_htl,
                                                int64_t ott_expiry,
                                                tl_client_info** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (label == nullptr) return NullArgument("label");
    return Finish(
        r, r->registry->SetRequireHtl(label, require_htl != 0, ott_expiry),
        out);
  });
}

TL_EXPORT tl_status tl_registry_map_host_ip(tl_registry* r, const char* label,
                                            const char* ip,
                                            tl_client_info** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (label == nullptr || ip == nullptr) return NullArgument("label and ip");
    return Finish(r, r->registry->MapHostIp(label, ip), out);
  });
}

TL_EXPORT tl_status tl_registry_unmap_host_ip(tl_registry* r, const char* label,
                                              const char* ip,
                                              tl_client_info** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (label == nullptr || ip == nullptr) return NullArgument("label and ip");
    return Finish(r, r->registry->UnmapHostIp(label, ip), out);
  });
}

TL_EXPORT tl_status tl_registry_assign_partition(
    tl_registry* r, const char* label, const char* partition,
    tl_client_info** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (label == nullptr || partition == nullptr)
      return NullArgument("label and partition");
    return Finish(r, r->registry->AssignPartition(label, partition), out);
  });
}

TL_EXPORT tl_status tl_registry_revoke_partition(
    tl_registry* r, const char* label, const char* partition,
    tl_client_info** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (label == nullptr || partition == nullptr)
      return NullArgument("label and partition");
    return Finish(r, r->registry->RevokePartition(label, partition), out);
  });
}

TL_EXPORT tl_status tl_registry_get_client(tl_registry* r, const char* label,
                                           tl_client_info** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (label == nullptr || out == nullptr)
      return NullArgument("label and out");
    auto snap = r->registry->Snapshot();
    const reg::ClientRecord* c = snap->FindClientByLabel(label);
    if (c == nullptr) {
      return trustlink::ntl::Error(
          absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
          absl::StrCat("no client is registered with label '", label,
                       "'; see client list"));
    }
    tl_client_info* info = NewInfo(*c, *snap);
    if (info == nullptr) throw std::bad_alloc();
    *out = info;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_registry_find_client_by_fingerprint(
    tl_registry* r, const char* fingerprint, tl_client_info** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (fingerprint == nullptr || out == nullptr)
      return NullArgument("fingerprint and out");
    auto fp = reg::NormalizeFingerprint(fingerprint);
    if (!fp.ok()) return fp.status();
    auto snap = r->registry->Snapshot();
    const reg::ClientRecord* c = snap->FindClientByFingerprint(*fp);
    if (c == nullptr) {
      return trustlink::ntl::Error(
          absl::StatusCode::kNotFound, TL_E_NOT_REGISTERED,
          absl::StrCat("no client is registered with certificate ", *fp));
    }
    tl_client_info* info = NewInfo(*c, *snap);
    if (info == nullptr) throw std::bad_alloc();
    *out = info;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_registry_list_clients(tl_registry* r,
                                             tl_client_list** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (out == nullptr) return NullArgument("out");
    auto snap = r->registry->Snapshot();
    auto list = std::make_unique<tl_client_list>();
    auto clients = snap->ClientsSortedByLabel();
    list->clients.resize(clients.size());
    for (size_t i = 0; i < clients.size(); ++i) {
      list->clients[i].record = *clients[i];
      list->clients[i].effective_ott_expiry =
          snap->EffectiveOttExpirySeconds(*clients[i]);
    }
    *out = list.release();
    return absl::OkStatus();
  });
}

TL_EXPORT void tl_client_list_free(tl_client_list* list) noexcept {
  delete list;
}
TL_EXPORT size_t tl_client_list_count(const tl_client_list* list) noexcept {
  return list != nullptr ? list->clients.size() : 0;
}
TL_EXPORT const tl_client_info* tl_client_list_get(const tl_client_list* list,
                                                   size_t i) noexcept {
  return list != nullptr && i < list->clients.size() ? &list->clients[i]
                                                     : nullptr;
}

TL_EXPORT void tl_client_info_free(tl_client_info* info) noexcept {
  delete info;
}

#define TL_INFO_STR(field) \
  return info != nullptr ? info->record.field.c_str() : ""
TL_EXPORT const char* tl_client_info_label(
    const tl_client_info* info) noexcept {
  TL_INFO_STR(label);
}
TL_EXPORT const char* tl_client_info_name(const tl_client_info* info) noexcept {
  TL_INFO_STR(name);
}
TL_EXPORT const char* tl_client_info_fingerprint(
    const tl_client_info* info) noexcept {
  TL_INFO_STR(fingerprint);
}
TL_EXPORT const char* tl_client_info_certificate_pem(
    const tl_client_info* info) noexcept {
  TL_INFO_STR(certificate_pem);
}
TL_EXPORT int32_t
tl_client_info_name_kind(const tl_client_info* info) noexcept {
  if (info == nullptr) return TL_NAME_HOSTNAME;
  switch (info->record.name_kind) {
    case trustlink::ntl::NameKind::kIPv4:
      return TL_NAME_IPV4;
    case trustlink::ntl::NameKind::kIPv6:
      return TL_NAME_IPV6;
    default:
      return TL_NAME_HOSTNAME;
  }
}
TL_EXPORT int32_t
tl_client_info_require_htl(const tl_client_info* info) noexcept {
  return info != nullptr && info->record.require_htl ? 1 : 0;
}
TL_EXPORT int64_t
tl_client_info_ott_expiry(const tl_client_info* info) noexcept {
  return info != nullptr ? info->record.ott_expiry_seconds : 0;
}
TL_EXPORT int64_t
tl_client_info_effective_ott_expiry(const tl_client_info* info) noexcept {
  return info != nullptr ? info->effective_ott_expiry : 0;
}
TL_EXPORT int64_t
tl_client_info_registered_unix(const tl_client_info* info) noexcept {
  return info != nullptr ? info->record.registered_unix : 0;
}
TL_EXPORT int64_t
tl_client_info_changed_unix(const tl_client_info* info) noexcept {
  return info != nullptr ? info->record.changed_unix : 0;
}
TL_EXPORT size_t
tl_client_info_num_host_ips(const tl_client_info* info) noexcept {
  return info != nullptr ? info->record.host_ips.size() : 0;
}
TL_EXPORT const char* tl_client_info_host_ip(const tl_client_info* info,
                                             size_t i) noexcept {
  return info != nullptr ? Str(info->record.host_ips, i) : "";
}
TL_EXPORT size_t
tl_client_info_num_partitions(const tl_client_info* info) noexcept {
  return info != nullptr ? info->record.partitions.size() : 0;
}
TL_EXPORT const char* tl_client_info_partition(const tl_client_info* info,
                                               size_t i) noexcept {
  return info != nullptr ? Str(info->record.partitions, i) : "";
}
TL_EXPORT size_t
tl_client_info_num_warnings(const tl_client_info* info) noexcept {
  return info != nullptr ? info->warnings.size() : 0;
}
TL_EXPORT const char* tl_client_info_warning(const tl_client_info* info,
                                             size_t i) noexcept {
  return info != nullptr ? Str(info->warnings, i) : "";
}
TL_EXPORT int32_t tl_client_info_changed(const tl_client_info* info) noexcept {
  return info != nullptr && info->changed ? 1 : 0;
}

}  // extern "C"
