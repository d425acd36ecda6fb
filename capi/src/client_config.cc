// The C ABI of trustlink/client_config.h over //ntl:config_root.
#include "trustlink/client_config.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "capi/internal/last_error.h"
#include "capi/src/client_root_handle.h"
#include "ntl/config_root.h"
#include "ntl/identity.h"
#include "ntl/status.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::Handle;
namespace ntl = trustlink::ntl;

namespace trustlink::capi::internal {
const ntl::IdentityOptions& OptionsOf(const tl_identity_options* options);
}  // namespace trustlink::capi::internal

struct tl_cert_result : Handle {
  std::string name, cert_path, key_path, fingerprint, key_type;
  int64_t not_after = 0;
  std::vector<std::string> warnings;
};

struct tl_server_result : Handle {
  explicit tl_server_result(ntl::AddResult r) : result(std::move(r)) {}
  ntl::AddResult result;
};

struct tl_server_list : Handle {
  struct Item {
    ntl::ServerStatus status;
    std::string local_message;
    std::string probe_message;
  };
  std::vector<Item> items;
};

struct tl_verify_report : Handle {
  ntl::VerifyResult result;
};

TL_DEFINE_LAST_ERROR(tl_client_root)

namespace trustlink::capi::client_root_internal {

absl::Status NotOpen() {
  return ntl::Error(
      absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
      "the client root is not open; call tl_client_root_open first");
}

}  // namespace trustlink::capi::client_root_internal

using trustlink::capi::client_root_internal::NotOpen;
using trustlink::capi::client_root_internal::NullArgument;

namespace {

tl_server_list* MakeServerList(const std::vector<ntl::ServerStatus>& servers) {
  auto* list = new tl_server_list();
  for (const ntl::ServerStatus& s : servers) {
    list->items.push_back(
        {s, std::string(s.local.message()), std::string(s.probe.message())});
  }
  return list;
}

const char* Str(const std::string* s) { return s == nullptr ? "" : s->c_str(); }

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_client_root_default_path(char* buf, size_t buf_len,
                                                size_t* out_len) noexcept {
  try {
    return trustlink::capi::internal::CopyString(
        __func__, ntl::DefaultClientRoot(), buf, buf_len, out_len);
  } catch (...) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
}

TL_EXPORT tl_status tl_client_root_new(tl_client_root** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

TL_EXPORT void tl_client_root_free(tl_client_root* root) noexcept {
  delete root;
}

TL_EXPORT tl_status tl_client_root_open(tl_client_root* root, const char* path,
                                        int32_t create) noexcept {
  if (root == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_root handle is NULL");
  }
  return Guard(&root->last_error, [&]() -> absl::Status {
    std::string where =
        path != nullptr ? std::string(path) : ntl::DefaultClientRoot();
    absl::StatusOr<ntl::ClientRoot> opened =
        ntl::ClientRoot::Open(where, create != 0);
    if (!opened.ok()) return opened.status();
    root->path = opened->path();
    root->config_path = opened->ConfigPath();
    root->root.emplace(*std::move(opened));
    return absl::OkStatus();
  });
}

}  // extern "C"

namespace {

// BorrowPath implements the two path getters of an open tl_client_root.
tl_status BorrowPath(const char* function, const tl_client_root* root,
                     const std::string tl_client_root::*path,
                     const char** out) {
  using trustlink::capi::internal::ArgumentError;
  if (root == nullptr) {
    return ArgumentError(function, "the tl_client_root handle is NULL");
  }
  if (out == nullptr) {
    return ArgumentError(function, "out is NULL");
  }
  if (!root->root) {
    return ArgumentError(function,
                         "the tl_client_root is not open (its open failed)");
  }
  *out = (root->*path).c_str();
  return TL_OK;
}

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_client_root_path(const tl_client_root* root,
                                        const char** out) noexcept {
  return BorrowPath(__func__, root, &tl_client_root::path, out);
}

TL_EXPORT tl_status tl_client_root_config_path(const tl_client_root* root,
                                               const char** out) noexcept {
  return BorrowPath(__func__, root, &tl_client_root::config_path, out);
}

TL_EXPORT tl_status tl_client_root_create_cert(
    tl_client_root* root, const tl_identity_options* options, const char* name,
    int32_t force, tl_cert_result** out) noexcept {
  if (root == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_root handle is NULL");
  }
  return Guard(&root->last_error, [&]() -> absl::Status {
    if (!root->root) return NotOpen();
    if (name == nullptr || out == nullptr) return NullArgument("name and out");
    absl::StatusOr<ntl::CreateCertResult> made = root->root->CreateCert(
        name, trustlink::capi::internal::OptionsOf(options), force != 0);
    if (!made.ok()) return made.status();
    auto* result = new tl_cert_result();
    result->name = made->name;
    result->cert_path = made->cert_path;
    result->key_path = made->key_path;
    result->fingerprint = made->fingerprint;
    result->key_type = made->key_type;
    result->not_after = absl::ToUnixSeconds(made->not_after);
    result->warnings = made->warnings;
    *out = result;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_client_root_add_server(tl_client_root* root,
                                              const char* name, const char* pem,
                                              size_t pem_len, int32_t port,
                                              int32_t htl, int32_t replace,
                                              tl_server_result** out) noexcept {
  if (root == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_root handle is NULL");
  }
  return Guard(&root->last_error, [&]() -> absl::Status {
    if (!root->root) return NotOpen();
    if (name == nullptr || pem == nullptr || out == nullptr) {
      return NullArgument("name, pem and out");
    }
    absl::StatusOr<ntl::AddResult> added = root->root->AddServer(
        name, absl::string_view(pem, pem_len),
        port == 0 ? ntl::kKeepServerPort : port,
        htl == TL_SERVER_HTL_KEEP ? ntl::kKeepServerHtl : (htl != 0 ? 1 : 0),
        replace != 0);
    if (!added.ok()) return added.status();
    *out = new tl_server_result(*std::move(added));
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_client_root_delete_server(tl_client_root* root,
                                                 const char* name) noexcept {
  if (root == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_root handle is NULL");
  }
  return Guard(&root->last_error, [&]() -> absl::Status {
    if (!root->root) return NotOpen();
    if (name == nullptr) return NullArgument("name");
    return root->root->DeleteServer(name);
  });
}

TL_EXPORT tl_status tl_client_root_list_servers(tl_client_root* root,
                                                tl_server_list** out) noexcept {
  if (root == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_root handle is NULL");
  }
  return Guard(&root->last_error, [&]() -> absl::Status {
    if (!root->root) return NotOpen();
    if (out == nullptr) return NullArgument("out");
    absl::StatusOr<std::vector<ntl::ServerStatus>> servers =
        root->root->ListServers();
    if (!servers.ok()) return servers.status();
    *out = MakeServerList(*servers);
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_client_root_identity(tl_client_root* root,
                                            tl_cert_result** out) noexcept {
  if (root == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_root handle is NULL");
  }
  return Guard(&root->last_error, [&]() -> absl::Status {
    if (!root->root) return NotOpen();
    if (out == nullptr) return NullArgument("out");
    absl::StatusOr<ntl::IdentityInfo> info = root->root->Identity();
    if (!info.ok()) return info.status();
    if (!info->configured) {
      return ntl::Error(
          absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
          absl::StrCat("no client identity is configured in ",
                       root->config_path,
                       "; create one (tl_client_root_create_cert)"));
    }
    auto* result = new tl_cert_result();
    result->name = info->name;
    result->cert_path = info->cert_path;
    result->key_path = info->key_path;
    result->fingerprint = info->fingerprint;
    result->key_type = info->key_type;
    result->not_after = absl::ToUnixSeconds(info->not_after);
    *out = result;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_client_root_import_chrystoki(
    tl_client_root* root, const char* text, size_t text_len,
    const char* file_name, tl_string_list** out) noexcept {
  if (root == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_root handle is NULL");
  }
  return Guard(&root->last_error, [&]() -> absl::Status {
    if (!root->root) return NotOpen();
    if (text == nullptr || out == nullptr) return NullArgument("text and out");
    absl::StatusOr<std::vector<std::string>> report =
        root->root->ImportChrystoki(
            absl::string_view(text, text_len),
            file_name == nullptr ? "Chrystoki.conf" : file_name);
    if (!report.ok()) return report.status();
    auto* list = new tl_string_list();
    list->items = *std::move(report);
    *out = list;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_client_root_verify(tl_client_root* root, int32_t flags,
                                          tl_verify_report** out) noexcept {
  if (root == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_client_root handle is NULL");
  }
  return Guard(&root->last_error, [&]() -> absl::Status {
    if (!root->root) return NotOpen();
    if (out == nullptr) return NullArgument("out");
    if ((flags & ~TL_VERIFY_REPAIR) != 0) {
      return ntl::Error(
          absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
          absl::StrCat("unknown verify flags 0x", absl::Hex(flags),
                       "; use TL_VERIFY_* constants"));
    }
    ntl::VerifyOptions options;
    options.repair = (flags & TL_VERIFY_REPAIR) != 0;
    // The link layer adds its probe here (options.probe) behind a
    // TL_VERIFY_PROBE bit.
    absl::StatusOr<ntl::VerifyResult> result = root->root->Verify(options);
    if (!result.ok()) return result.status();
    auto* report = new tl_verify_report();
    report->result = *std::move(result);
    *out = report;
    return absl::OkStatus();
  });
}

// tl_cert_result.
TL_EXPORT void tl_cert_result_free(tl_cert_result* result) noexcept {
  delete result;
}
TL_EXPORT const char* tl_cert_result_name(const tl_cert_result* r) noexcept {
  return Str(r ? &r->name : nullptr);
}
TL_EXPORT const char* tl_cert_result_cert_path(
    const tl_cert_result* r) noexcept {
  return Str(r ? &r->cert_path : nullptr);
}
TL_EXPORT const char* tl_cert_result_key_path(
    const tl_cert_result* r) noexcept {
  return Str(r ? &r->key_path : nullptr);
}
TL_EXPORT const char* tl_cert_result_fingerprint(
    const tl_cert_result* r) noexcept {
  return Str(r ? &r->fingerprint : nullptr);
}
TL_EXPORT const char* tl_cert_result_key_type(
    const tl_cert_result* r) noexcept {
  return Str(r ? &r->key_type : nullptr);
}
TL_EXPORT int64_t tl_cert_result_not_after(const tl_cert_result* r) noexcept {
  return r ? r->not_after : 0;
}
TL_EXPORT size_t
tl_cert_result_warning_count(const tl_cert_result* r) noexcept {
  return r ? r->warnings.size() : 0;
}
TL_EXPORT tl_status tl_cert_result_warning(const tl_cert_result* r,
                                           size_t index,
                                           const char** out) noexcept {
  return trustlink::capi::internal::StringAt(
      __func__, r ? &r->warnings : nullptr, "tl_cert_result", "warning", index,
      out);
}

// tl_server_result.
TL_EXPORT void tl_server_result_free(tl_server_result* result) noexcept {
  delete result;
}
TL_EXPORT const char* tl_server_result_name(
    const tl_server_result* r) noexcept {
  return Str(r ? &r->result.server.name : nullptr);
}
TL_EXPORT const char* tl_server_result_path(
    const tl_server_result* r) noexcept {
  return Str(r ? &r->result.path : nullptr);
}
TL_EXPORT const char* tl_server_result_fingerprint(
    const tl_server_result* r) noexcept {
  return Str(r ? &r->result.server.fingerprint : nullptr);
}
TL_EXPORT int32_t
tl_server_result_unchanged(const tl_server_result* r) noexcept {
  return r != nullptr && r->result.unchanged ? 1 : 0;
}
TL_EXPORT int32_t
tl_server_result_replaced(const tl_server_result* r) noexcept {
  return r != nullptr && r->result.replaced ? 1 : 0;
}
TL_EXPORT const char* tl_server_result_previous_fingerprint(
    const tl_server_result* r) noexcept {
  return Str(r ? &r->result.previous_fingerprint : nullptr);
}
TL_EXPORT size_t
tl_server_result_warning_count(const tl_server_result* r) noexcept {
  return r ? r->result.warnings.size() : 0;
}
TL_EXPORT tl_status tl_server_result_warning(const tl_server_result* r,
                                             size_t index,
                                             const char** out) noexcept {
  return trustlink::capi::internal::StringAt(
      __func__, r ? &r->result.warnings : nullptr, "tl_server_result",
      "warning", index, out);
}

// tl_server_list.
TL_EXPORT void tl_server_list_free(tl_server_list* list) noexcept {
  delete list;
}
TL_EXPORT size_t tl_server_list_count(const tl_server_list* list) noexcept {
  return list ? list->items.size() : 0;
}

#define TL_SERVER_LIST_ITEM()                                               \
  if (list == nullptr) {                                                    \
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_list handle is NULL"); \
  }                                                                         \
  if (out == nullptr) {                                                     \
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");                       \
  }                                                                         \
  if (index >= list->items.size()) {                                        \
    return trustlink::capi::internal::IndexOutOfRange(                      \
        __func__, "index", index, "the tl_server_list", list->items.size(), \
        "server");                                                          \
  }                                                                         \
  const auto& item = list->items[index]

TL_EXPORT tl_status tl_server_list_name(const tl_server_list* list,
                                        size_t index,
                                        const char** out) noexcept {
  TL_SERVER_LIST_ITEM();
  *out = item.status.name.c_str();
  return TL_OK;
}
TL_EXPORT tl_status tl_server_list_port(const tl_server_list* list,
                                        size_t index, int32_t* out) noexcept {
  TL_SERVER_LIST_ITEM();
  *out = item.status.port;
  return TL_OK;
}
TL_EXPORT tl_status tl_server_list_htl(const tl_server_list* list, size_t index,
                                       int32_t* out) noexcept {
  TL_SERVER_LIST_ITEM();
  *out = item.status.htl ? 1 : 0;
  return TL_OK;
}
TL_EXPORT tl_status tl_server_list_fingerprint(const tl_server_list* list,
                                               size_t index,
                                               const char** out) noexcept {
  TL_SERVER_LIST_ITEM();
  *out = item.status.fingerprint.c_str();
  return TL_OK;
}
TL_EXPORT tl_status tl_server_list_local_status(
    const tl_server_list* list, size_t index, tl_status* out_status,
    const char** out_message) noexcept {
  const char** out = out_message;
  TL_SERVER_LIST_ITEM();
  if (out_status == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_status is NULL");
  }
  *out_status = ntl::ToTlStatus(item.status.local);
  *out = item.local_message.c_str();
  return TL_OK;
}
TL_EXPORT tl_status tl_server_list_probe_status(
    const tl_server_list* list, size_t index, int32_t* out_probed,
    tl_status* out_status, const char** out_message) noexcept {
  const char** out = out_message;
  TL_SERVER_LIST_ITEM();
  if (out_probed == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_probed is NULL");
  }
  if (out_status == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_status is NULL");
  }
  *out_probed = item.status.probed ? 1 : 0;
  *out_status = item.status.probed ? ntl::ToTlStatus(item.status.probe) : TL_OK;
  *out = item.probe_message.c_str();
  return TL_OK;
}

// tl_verify_report.
TL_EXPORT void tl_verify_report_free(tl_verify_report* report) noexcept {
  delete report;
}
TL_EXPORT int32_t tl_verify_report_ok(const tl_verify_report* report) noexcept {
  return report != nullptr && report->result.ok() ? 1 : 0;
}
TL_EXPORT size_t
tl_verify_report_check_count(const tl_verify_report* report) noexcept {
  return report ? report->result.checks.size() : 0;
}
TL_EXPORT tl_status tl_verify_report_check(const tl_verify_report* report,
                                           size_t index, int32_t* out_level,
                                           const char** out_object,
                                           const char** out_message) noexcept {
  if (report == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_verify_report handle is NULL");
  }
  if (out_level == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_level is NULL");
  }
  if (out_object == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_object is NULL");
  }
  if (out_message == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out_message is NULL");
  }
  if (index >= report->result.checks.size()) {
    return trustlink::capi::internal::IndexOutOfRange(
        __func__, "index", index, "the tl_verify_report",
        report->result.checks.size(), "check");
  }
  const ntl::Check& c = report->result.checks[index];
  *out_level = c.level == ntl::Check::kOk        ? TL_CHECK_OK
               : c.level == ntl::Check::kWarning ? TL_CHECK_WARNING
                                                 : TL_CHECK_ERROR;
  *out_object = c.object.c_str();
  *out_message = c.message.c_str();
  return TL_OK;
}
TL_EXPORT tl_status tl_verify_report_servers(const tl_verify_report* report,
                                             tl_server_list** out) noexcept {
  if (report == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_verify_report handle is NULL");
  }
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  try {
    *out = MakeServerList(report->result.servers);
    return TL_OK;
  } catch (...) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
}
TL_EXPORT tl_status tl_verify_report_repairs(const tl_verify_report* report,
                                             tl_string_list** out) noexcept {
  if (report == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_verify_report handle is NULL");
  }
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  try {
    auto* list = new tl_string_list();
    list->items = report->result.repairs;
    *out = list;
    return TL_OK;
  } catch (...) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
}

// tl_string_list.
TL_EXPORT void tl_string_list_free(tl_string_list* list) noexcept {
  delete list;
}
TL_EXPORT size_t tl_string_list_count(const tl_string_list* list) noexcept {
  return list ? list->items.size() : 0;
}
TL_EXPORT tl_status tl_string_list_get(const tl_string_list* list, size_t index,
                                       const char** out) noexcept {
  return trustlink::capi::internal::StringAt(
      __func__, list ? &list->items : nullptr, "tl_string_list", "string",
      index, out);
}

}  // extern "C"
