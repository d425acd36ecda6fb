#ifndef TRUSTLINK_CAPI_SRC_REGISTRY_HANDLES_H_
#define TRUSTLINK_CAPI_SRC_REGISTRY_HANDLES_H_

// The structs behind the handles of trustlink/registry.h, shared by the
// registry*.cc files.

#include <memory>
#include <string>
#include <vector>

#include "absl/types/optional.h"
#include "capi/internal/last_error.h"
#include "ntl/registry/registry.h"
#include "trustlink/registry.h"

struct tl_registry : trustlink::capi::internal::Handle {
  std::unique_ptr<trustlink::ntl::registry::Registry> registry;
  std::string root;
};

struct tl_client_registration : trustlink::capi::internal::Handle {
  trustlink::ntl::registry::ClientRegistration reg;
  bool has_name = false;
};

struct tl_client_info {
  trustlink::ntl::registry::ClientRecord record;
  int64_t effective_ott_expiry = 0;
  std::vector<std::string> warnings;
  bool changed = false;
};

struct tl_client_list {
  std::vector<tl_client_info> clients;
};

struct tl_partition_info {
  trustlink::ntl::registry::Partition partition;
  std::vector<std::string> clients;
};

struct tl_partition_list {
  std::vector<tl_partition_info> partitions;
};

struct tl_appliance_settings : trustlink::capi::internal::Handle {
  trustlink::ntl::registry::Settings values;
  // Which fields a patch sets, by the order of the setters in registry.h.
  std::vector<bool> set = std::vector<bool>(11, false);
};

struct tl_server_identity {
  struct Entry {
    std::string pem, fingerprint, subject, key_type;
    int64_t not_after = 0;
  };
  std::vector<Entry> certs;
};

namespace trustlink::capi::internal {

// Str returns a borrowed C string, "" for out-of-range.
inline const char* Str(const std::vector<std::string>& v, size_t i) {
  return i < v.size() ? v[i].c_str() : "";
}

}  // namespace trustlink::capi::internal

// TL_REGISTRY_BODY(r) { ... }); is the body of a call on an open registry:
// a NULL or unopened `r` fails, the rest runs under Guard (which must be in
// scope as Guard).
#define TL_REGISTRY_BODY(r)                                              \
  if ((r) == nullptr) {                                                  \
    return TL_ARGUMENT_ERROR(nullptr, "the tl_registry handle is NULL"); \
  }                                                                      \
  if ((r)->registry == nullptr)                                          \
    return (r)->last_error.Set(TL_E_FAILED_PRECONDITION,                 \
                               "the registry did not open");             \
  return Guard(&(r)->last_error, [&]() -> absl::Status

#endif  // TRUSTLINK_CAPI_SRC_REGISTRY_HANDLES_H_
