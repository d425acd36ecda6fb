// The C ABI of trustlink/identity.h over //ntl:identity.
#include "ntl/identity.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "capi/internal/last_error.h"
#include "ntl/identity_dir.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/status.h"
#include "trustlink/identity.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::Handle;
namespace ntl = trustlink::ntl;

struct tl_identity_options : Handle {
  ntl::IdentityOptions options;
};

struct tl_identity : Handle {
  explicit tl_identity(ntl::Identity id) : identity(std::move(id)) {}
  ntl::Identity identity;
  std::string pem;
  std::string fingerprint;
};

TL_DEFINE_LAST_ERROR(tl_identity_options)
TL_DEFINE_LAST_ERROR(tl_identity)

namespace trustlink::capi::internal {

// KeyTypeFromC maps TL_KEY_TYPE_* to ntl::KeyType.
absl::StatusOr<ntl::KeyType> KeyTypeFromC(int32_t key_type) {
  switch (key_type) {
    case TL_KEY_TYPE_DEFAULT:
      return ntl::kDefaultKeyType;
    case TL_KEY_TYPE_ED25519:
      return ntl::KeyType::kEd25519;
    case TL_KEY_TYPE_ECDSA_P256:
      return ntl::KeyType::kEcdsaP256;
    case TL_KEY_TYPE_ECDSA_P384:
      return ntl::KeyType::kEcdsaP384;
    case TL_KEY_TYPE_RSA_2048:
      return ntl::KeyType::kRsa2048;
    case TL_KEY_TYPE_RSA_3072:
      return ntl::KeyType::kRsa3072;
    case TL_KEY_TYPE_RSA_4096:
      return ntl::KeyType::kRsa4096;
  }
  return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                    "unknown key type; use a TL_KEY_TYPE_* constant");
}

int32_t KeyTypeToC(ntl::KeyType type) {
  switch (type) {
    case ntl::KeyType::kEd25519:
      return TL_KEY_TYPE_ED25519;
    case ntl::KeyType::kEcdsaP256:
      return TL_KEY_TYPE_ECDSA_P256;
    case ntl::KeyType::kEcdsaP384:
      return TL_KEY_TYPE_ECDSA_P384;
    case ntl::KeyType::kRsa2048:
      return TL_KEY_TYPE_RSA_2048;
    case ntl::KeyType::kRsa3072:
      return TL_KEY_TYPE_RSA_3072;
    case ntl::KeyType::kRsa4096:
      return TL_KEY_TYPE_RSA_4096;
  }
  return TL_KEY_TYPE_DEFAULT;
}

const ntl::IdentityOptions& OptionsOf(const tl_identity_options* options) {
  static const ntl::IdentityOptions kDefaults;
  return options == nullptr ? kDefaults : options->options;
}

}  // namespace trustlink::capi::internal

using trustlink::capi::internal::KeyTypeFromC;
using trustlink::capi::internal::KeyTypeToC;

extern "C" {

TL_EXPORT int32_t tl_key_type_default(void) noexcept {
  return KeyTypeToC(ntl::kDefaultKeyType);
}

TL_EXPORT tl_status tl_key_type_from_string(const char* text,
                                            int32_t* out) noexcept {
  if (text == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "text is NULL");
  }
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  try {
    absl::StatusOr<ntl::KeyType> type = ntl::ParseKeyType(text);
    if (!type.ok())
      return trustlink::capi::internal::RecordThreadError(type.status());
    *out = KeyTypeToC(*type);
    return TL_OK;
  } catch (...) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
}

TL_EXPORT const char* tl_key_type_name(int32_t key_type) noexcept {
  absl::StatusOr<ntl::KeyType> type = KeyTypeFromC(key_type);
  return type.ok() ? ntl::KeyTypeName(*type) : "unknown";
}

TL_EXPORT tl_status
tl_identity_options_new(tl_identity_options** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

TL_EXPORT void tl_identity_options_free(tl_identity_options* options) noexcept {
  delete options;
}

TL_EXPORT tl_status tl_identity_options_set_key_type(
    tl_identity_options* options, int32_t key_type) noexcept {
  if (options == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_identity_options handle is NULL");
  }
  return Guard(&options->last_error, [&]() -> absl::Status {
    absl::StatusOr<ntl::KeyType> type = KeyTypeFromC(key_type);
    if (!type.ok()) return type.status();
    options->options.key_type = *type;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_identity_options_set_validity_days(
    tl_identity_options* options, int32_t days) noexcept {
  if (options == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_identity_options handle is NULL");
  }
  return Guard(&options->last_error, [&]() -> absl::Status {
    if (days < 1 || days > ntl::kMaxValidityDays) {
      return ntl::Error(absl::StatusCode::kInvalidArgument,
                        TL_E_INVALID_ARGUMENT,
                        absl::StrCat("validity of ", days,
                                     " days is out of range; give 1 to ",
                                     ntl::kMaxValidityDays, " (20 years)"));
    }
    options->options.validity_days = days;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_identity_options_set_for_server(
    tl_identity_options* options, int32_t for_server) noexcept {
  if (options == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_identity_options handle is NULL");
  }
  options->options.for_server = for_server != 0;
  return options->last_error.Record(absl::OkStatus());
}

TL_EXPORT tl_status tl_identity_create(tl_identity_options* options,
                                       const char* name,
                                       tl_identity** out) noexcept {
  if (options == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_identity_options handle is NULL");
  }
  return Guard(&options->last_error, [&]() -> absl::Status {
    if (name == nullptr || out == nullptr) {
      return ntl::Error(absl::StatusCode::kInvalidArgument,
                        TL_E_INVALID_ARGUMENT, "name and out must not be NULL");
    }
    absl::StatusOr<ntl::CanonicalName> canonical = ntl::CanonicalizeName(name);
    if (!canonical.ok()) return canonical.status();
    absl::StatusOr<ntl::Identity> identity =
        ntl::CreateIdentity(*canonical, options->options);
    if (!identity.ok()) return identity.status();
    auto* handle = new tl_identity(*std::move(identity));
    handle->pem = handle->identity.cert.Pem();
    handle->fingerprint = handle->identity.cert.Sha256Fingerprint();
    *out = handle;
    return absl::OkStatus();
  });
}

TL_EXPORT void tl_identity_free(tl_identity* identity) noexcept {
  delete identity;
}

TL_EXPORT tl_status tl_identity_cert_pem(const tl_identity* identity,
                                         const char** out) noexcept {
  if (identity == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_identity handle is NULL");
  }
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  *out = identity->pem.c_str();
  return TL_OK;
}

TL_EXPORT tl_status tl_identity_fingerprint(const tl_identity* identity,
                                            const char** out) noexcept {
  if (identity == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_identity handle is NULL");
  }
  if (out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "out is NULL");
  }
  *out = identity->fingerprint.c_str();
  return TL_OK;
}

TL_EXPORT tl_status tl_identity_write(tl_identity* identity, const char* dir,
                                      const char* cert_name,
                                      const char* key_name,
                                      int32_t force) noexcept {
  if (identity == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_identity handle is NULL");
  }
  return Guard(&identity->last_error, [&]() -> absl::Status {
    if (dir == nullptr || cert_name == nullptr || key_name == nullptr) {
      return ntl::Error(absl::StatusCode::kInvalidArgument,
                        TL_E_INVALID_ARGUMENT,
                        "dir, cert_name and key_name must not be NULL");
    }
    if (force != 0) {
      // Key and certificate change together or not at all: the directory is
      // a generation swapped in by one rename, as in a client root.
      return ntl::ReplaceIdentityAtPath(dir, cert_name, key_name,
                                        identity->identity);
    }
    absl::StatusOr<ntl::internal::SafeDir> opened =
        ntl::internal::SafeDir::Open(dir, true, 0755);
    if (!opened.ok()) return opened.status();
    return ntl::WriteIdentity(*opened, cert_name, key_name, identity->identity,
                              false);
  });
}

TL_EXPORT tl_status tl_cert_fingerprint_pem(const char* pem, size_t pem_len,
                                            char* buf,
                                            size_t buf_len) noexcept {
  if (pem == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "pem is NULL");
  }
  if (buf == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "buf is NULL");
  }
  if (buf_len < TL_FINGERPRINT_LEN + 1) {
    return TL_ARGUMENT_ERROR(nullptr, "buf needs TL_FINGERPRINT_LEN + 1 bytes",
                             TL_E_BUFFER_TOO_SMALL);
  }
  try {
    absl::StatusOr<ntl::Certificate> cert = ntl::Certificate::ParsePem(
        absl::string_view(pem, pem_len), "certificate");
    if (!cert.ok())
      return trustlink::capi::internal::RecordThreadError(cert.status());
    std::string fp = cert->Sha256Fingerprint();
    std::memcpy(buf, fp.c_str(), fp.size() + 1);
    return TL_OK;
  } catch (...) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
}

}  // extern "C"
