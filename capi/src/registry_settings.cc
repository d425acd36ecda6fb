// Partitions, settings and the server identity of trustlink/registry.h.
#include <new>

#include "absl/strings/str_cat.h"
#include "capi/src/registry_handles.h"
#include "ntl/cert.h"
#include "ntl/identity.h"
#include "ntl/status.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::NullArgument;
using trustlink::capi::internal::Str;
namespace reg = trustlink::ntl::registry;

TL_DEFINE_LAST_ERROR(tl_appliance_settings)

namespace {

enum SettingField {
  kBind,
  kPort,
  kIpcheck,
  kKeepalive,
  kIdle,
  kInterval,
  kProbes,
  kRecvTimeout,
  kGrace,
  kOttExpiry,
  kMaxLinksPerClient  // keep registry_handles.h's count of fields in step
};

std::unique_ptr<tl_partition_info> NewPartitionInfo(
    const reg::Partition& p, std::vector<std::string> clients) {
  auto info = std::make_unique<tl_partition_info>();
  info->partition = p;
  info->clients = std::move(clients);
  return info;
}

absl::StatusOr<trustlink::ntl::KeyType> KeyTypeOf(const char* name) {
  if (name == nullptr || name[0] == '\0')
    return trustlink::ntl::kDefaultKeyType;
  return trustlink::ntl::ParseKeyType(name);
}

void FillIdentity(const reg::ServerIdentities& ids, tl_server_identity* out) {
  auto add = [&](const trustlink::ntl::Identity& id) {
    tl_server_identity::Entry e;
    e.pem = id.cert.Pem();
    e.fingerprint = id.cert.Sha256Fingerprint();
    e.subject = id.cert.CommonName();
    e.key_type = id.cert.KeyTypeDescription();
    e.not_after = absl::ToUnixSeconds(id.cert.NotAfter());
    out->certs.push_back(std::move(e));
  };
  add(ids.current);
  for (const auto& p : ids.previous) add(p);
}

absl::Status GiveIdentity(absl::StatusOr<reg::ServerIdentities> ids,
                          tl_server_identity** out) {
  if (!ids.ok()) return ids.status();
  if (out == nullptr) return absl::OkStatus();
  auto handle = std::make_unique<tl_server_identity>();
  FillIdentity(*ids, handle.get());
  *out = handle.release();
  return absl::OkStatus();
}

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_registry_create_partition(
    tl_registry* r, const char* name, const char* label, const char* serial,
    tl_partition_info** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (name == nullptr) return NullArgument("name");
    auto p = r->registry->CreatePartition(name, label != nullptr ? label : "",
                                          serial != nullptr ? serial : "");
    if (!p.ok()) return p.status();
    if (out != nullptr) *out = NewPartitionInfo(*p, {}).release();
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status
tl_registry_delete_partition(tl_registry* r, const char* name, int32_t force,
                             tl_partition_info** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (name == nullptr) return NullArgument("name");
    auto snap = r->registry->Snapshot();
    const reg::Partition* before = snap->FindPartition(name);
    reg::Partition copy =
        before != nullptr ? *before : reg::Partition{name, "", "", 0};
    auto lost = r->registry->DeletePartition(name, force != 0);
    if (!lost.ok()) return lost.status();
    if (out != nullptr)
      *out = NewPartitionInfo(copy, std::move(*lost)).release();
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_registry_get_partition(
    tl_registry* r, const char* name, tl_partition_info** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (name == nullptr || out == nullptr) return NullArgument("name and out");
    auto snap = r->registry->Snapshot();
    const reg::Partition* p = snap->FindPartition(name);
    if (p == nullptr) {
      return trustlink::ntl::Error(
          absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
          absl::StrCat("partition '", name,
                       "' does not exist; see partition list"));
    }
    *out = NewPartitionInfo(*p, snap->ClientsUsingPartition(name)).release();
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status
tl_registry_list_partitions(tl_registry* r, tl_partition_list** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (out == nullptr) return NullArgument("out");
    auto snap = r->registry->Snapshot();
    auto list = std::make_unique<tl_partition_list>();
    // One pass over the clients for all partitions, not one per partition.
    std::map<std::string, std::vector<std::string>> users;
    for (const reg::ClientRecord* c : snap->ClientsSortedByLabel()) {
      for (const std::string& p : c->partitions) users[p].push_back(c->label);
    }
    for (const auto& [name, p] : snap->partitions()) {
      tl_partition_info info;
      info.partition = p;
      info.clients = users[name];
      list->partitions.push_back(std::move(info));
    }
    *out = list.release();
    return absl::OkStatus();
  });
}

TL_EXPORT void tl_partition_list_free(tl_partition_list* list) noexcept {
  delete list;
}
TL_EXPORT size_t
tl_partition_list_count(const tl_partition_list* list) noexcept {
  return list != nullptr ? list->partitions.size() : 0;
}
TL_EXPORT const tl_partition_info* tl_partition_list_get(
    const tl_partition_list* list, size_t i) noexcept {
  return list != nullptr && i < list->partitions.size() ? &list->partitions[i]
                                                        : nullptr;
}
TL_EXPORT void tl_partition_info_free(tl_partition_info* info) noexcept {
  delete info;
}
TL_EXPORT const char* tl_partition_info_name(
    const tl_partition_info* info) noexcept {
  return info != nullptr ? info->partition.name.c_str() : "";
}
TL_EXPORT const char* tl_partition_info_label(
    const tl_partition_info* info) noexcept {
  return info != nullptr ? info->partition.label.c_str() : "";
}
TL_EXPORT const char* tl_partition_info_serial(
    const tl_partition_info* info) noexcept {
  return info != nullptr ? info->partition.serial.c_str() : "";
}
TL_EXPORT int64_t
tl_partition_info_created_unix(const tl_partition_info* info) noexcept {
  return info != nullptr ? info->partition.created_unix : 0;
}
TL_EXPORT size_t
tl_partition_info_num_clients(const tl_partition_info* info) noexcept {
  return info != nullptr ? info->clients.size() : 0;
}
TL_EXPORT const char* tl_partition_info_client(const tl_partition_info* info,
                                               size_t i) noexcept {
  return info != nullptr ? Str(info->clients, i) : "";
}

TL_EXPORT tl_status
tl_appliance_settings_new(tl_appliance_settings** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

TL_EXPORT void tl_appliance_settings_free(tl_appliance_settings* s) noexcept {
  delete s;
}

TL_EXPORT tl_status
tl_registry_get_settings(tl_registry* r, tl_appliance_settings** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (out == nullptr) return NullArgument("out");
    auto s = std::make_unique<tl_appliance_settings>();
    s->values = r->registry->Snapshot()->settings();
    *out = s.release();
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status
tl_registry_update_settings(tl_registry* r, const tl_appliance_settings* patch,
                            tl_appliance_settings** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (patch == nullptr) return NullArgument("patch");
    auto updated = r->registry->UpdateSettings([&](reg::Settings* s) {
      const reg::Settings& v = patch->values;
      const std::vector<bool>& set = patch->set;
      if (set[kBind]) s->bind_address = v.bind_address;
      if (set[kPort]) s->port = v.port;
      if (set[kIpcheck]) s->ipcheck = v.ipcheck;
      if (set[kKeepalive]) s->tcp_keepalive = v.tcp_keepalive;
      if (set[kIdle]) s->keepalive_idle_seconds = v.keepalive_idle_seconds;
      if (set[kInterval])
        s->keepalive_interval_seconds = v.keepalive_interval_seconds;
      if (set[kProbes]) s->keepalive_probes = v.keepalive_probes;
      if (set[kRecvTimeout]) s->receive_timeout_ms = v.receive_timeout_ms;
      if (set[kMaxLinksPerClient]) {
        s->max_links_per_client = v.max_links_per_client;
      }
      if (set[kGrace]) s->htl_grace_period_seconds = v.htl_grace_period_seconds;
      if (set[kOttExpiry]) {
        s->htl_default_ott_expiry_seconds = v.htl_default_ott_expiry_seconds;
      }
      return absl::OkStatus();
    });
    if (!updated.ok()) return updated.status();
    if (out != nullptr) {
      auto s = std::make_unique<tl_appliance_settings>();
      s->values = *updated;
      *out = s.release();
    }
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_appliance_settings_set_bind_address(
    tl_appliance_settings* s, const char* address) noexcept {
  if (s == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "the tl_appliance_settings handle is NULL");
  }
  return Guard(&s->last_error, [&]() -> absl::Status {
    if (address == nullptr) return NullArgument("address");
    auto name = trustlink::ntl::CanonicalizeName(address);
    if (!name.ok()) return name.status();
    if (name->kind == trustlink::ntl::NameKind::kHostname) {
      return trustlink::ntl::Error(
          absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
          absl::StrCat("bind address '", address,
                       "' is not an IP address; use 0.0.0.0, :: or one of the "
                       "appliance's addresses"));
    }
    s->values.bind_address = name->canonical;
    s->set[kBind] = true;
    return absl::OkStatus();
  });
}

#define TL_INT_SETTING(fn, field, index)                                     \
  TL_EXPORT tl_status fn(tl_appliance_settings* s, int32_t value) noexcept { \
    if (s == nullptr) {                                                      \
      return TL_ARGUMENT_ERROR(nullptr,                                      \
                               "the tl_appliance_settings handle is NULL");  \
    }                                                                        \
    s->values.field = value;                                                 \
    s->set[index] = true;                                                    \
    return TL_OK;                                                            \
  }
#define TL_BOOL_SETTING(fn, field, index)                                    \
  TL_EXPORT tl_status fn(tl_appliance_settings* s, int32_t value) noexcept { \
    if (s == nullptr) {                                                      \
      return TL_ARGUMENT_ERROR(nullptr,                                      \
                               "the tl_appliance_settings handle is NULL");  \
    }                                                                        \
    s->values.field = value != 0;                                            \
    s->set[index] = true;                                                    \
    return TL_OK;                                                            \
  }
TL_INT_SETTING(tl_appliance_settings_set_port, port, kPort)
TL_BOOL_SETTING(tl_appliance_settings_set_ipcheck, ipcheck, kIpcheck)
TL_BOOL_SETTING(tl_appliance_settings_set_tcp_keepalive, tcp_keepalive,
                kKeepalive)
TL_INT_SETTING(tl_appliance_settings_set_keepalive_idle, keepalive_idle_seconds,
               kIdle)
TL_INT_SETTING(tl_appliance_settings_set_keepalive_interval,
               keepalive_interval_seconds, kInterval)
TL_INT_SETTING(tl_appliance_settings_set_keepalive_probes, keepalive_probes,
               kProbes)
TL_INT_SETTING(tl_appliance_settings_set_receive_timeout_ms, receive_timeout_ms,
               kRecvTimeout)
TL_INT_SETTING(tl_appliance_settings_set_max_links_per_client,
               max_links_per_client, kMaxLinksPerClient)
TL_INT_SETTING(tl_appliance_settings_set_htl_grace_period,
               htl_grace_period_seconds, kGrace)
TL_INT_SETTING(tl_appliance_settings_set_htl_default_ott_expiry,
               htl_default_ott_expiry_seconds, kOttExpiry)

TL_EXPORT const char* tl_appliance_settings_bind_address(
    const tl_appliance_settings* s) noexcept {
  return s != nullptr ? s->values.bind_address.c_str() : "";
}
#define TL_GET_SETTING(fn, expr)                                  \
  TL_EXPORT int32_t fn(const tl_appliance_settings* s) noexcept { \
    reg::Settings defaults;                                       \
    const reg::Settings& v = s != nullptr ? s->values : defaults; \
    return static_cast<int32_t>(expr);                            \
  }
TL_GET_SETTING(tl_appliance_settings_port, v.port)
TL_GET_SETTING(tl_appliance_settings_ipcheck, v.ipcheck ? 1 : 0)
TL_GET_SETTING(tl_appliance_settings_tcp_keepalive, v.tcp_keepalive ? 1 : 0)
TL_GET_SETTING(tl_appliance_settings_keepalive_idle, v.keepalive_idle_seconds)
TL_GET_SETTING(tl_appliance_settings_keepalive_interval,
               v.keepalive_interval_seconds)
TL_GET_SETTING(tl_appliance_settings_keepalive_probes, v.keepalive_probes)
TL_GET_SETTING(tl_appliance_settings_receive_timeout_ms, v.receive_timeout_ms)
TL_GET_SETTING(tl_appliance_settings_max_links_per_client,
               v.max_links_per_client)
TL_GET_SETTING(tl_appliance_settings_htl_grace_period,
               v.htl_grace_period_seconds)
TL_GET_SETTING(tl_appliance_settings_htl_default_ott_expiry,
               v.htl_default_ott_expiry_seconds)

TL_EXPORT tl_status tl_registry_load_server_identity(
    tl_registry* r, tl_server_identity** out) noexcept {
  TL_REGISTRY_BODY(r) {
    return GiveIdentity(reg::LoadServerIdentity(r->root), out);
  });
}

TL_EXPORT tl_status tl_registry_ensure_server_identity(
    tl_registry* r, const char* appliance_name, const char* key_type,
    tl_server_identity** out) noexcept {
  TL_REGISTRY_BODY(r) {
    if (appliance_name == nullptr) return NullArgument("appliance_name");
    auto type = KeyTypeOf(key_type);
    if (!type.ok()) return type.status();
    return GiveIdentity(
        reg::EnsureServerIdentity(r->root, appliance_name, *type, nullptr),
        out);
  });
}

TL_EXPORT tl_status tl_registry_regenerate_server_certificate(
    tl_registry* r, const char* appliance_name, const char* key_type,
    tl_server_identity** out) noexcept {
  TL_REGISTRY_BODY(r) {
    auto type = KeyTypeOf(key_type);
    if (!type.ok()) return type.status();
    return GiveIdentity(
        r->registry->RegenerateServerCertificate(
            appliance_name != nullptr ? appliance_name : "", *type),
        out);
  });
}

TL_EXPORT tl_status tl_registry_drop_old_server_certificates(
    tl_registry* r, int32_t* out_dropped) noexcept {
  TL_REGISTRY_BODY(r) {
    auto dropped = r->registry->DropOldServerCertificates();
    if (!dropped.ok()) return dropped.status();
    if (out_dropped != nullptr) *out_dropped = *dropped;
    return absl::OkStatus();
  });
}

TL_EXPORT void tl_server_identity_free(tl_server_identity* id) noexcept {
  delete id;
}
TL_EXPORT size_t
tl_server_identity_num_certificates(const tl_server_identity* id) noexcept {
  return id != nullptr ? id->certs.size() : 0;
}
#define TL_ID_STR(fn, field)                                                  \
  TL_EXPORT const char* fn(const tl_server_identity* id, size_t i) noexcept { \
    return id != nullptr && i < id->certs.size() ? id->certs[i].field.c_str() \
                                                 : "";                        \
  }
TL_ID_STR(tl_server_identity_certificate_pem, pem)
TL_ID_STR(tl_server_identity_fingerprint, fingerprint)
TL_ID_STR(tl_server_identity_subject, subject)
TL_ID_STR(tl_server_identity_key_type, key_type)
TL_EXPORT int64_t tl_server_identity_not_after_unix(
    const tl_server_identity* id, size_t i) noexcept {
  return id != nullptr && i < id->certs.size() ? id->certs[i].not_after : 0;
}

}  // extern "C"
