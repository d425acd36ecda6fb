#ifndef TRUSTLINK_CAPI_SRC_SERVER_HANDLES_H_
#define TRUSTLINK_CAPI_SRC_SERVER_HANDLES_H_

// The handles behind trustlink/server.h, shared by the files that implement it:
// server.cc (the server's life), server_options.cc, server_streams.cc and
// server_status.cc.

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "capi/internal/fork_owner.h"
#include "capi/internal/last_error.h"
#include "ntl/server/directory.h"
#include "ntl/server/server.h"
#include "ntl/status.h"
#include "trustlink/server.h"

struct tl_server_options : trustlink::capi::internal::Handle {
  trustlink::ntl::server::ServerOptions options;
  std::string cert_pem;
  std::string key_pem;
  bool ipcheck = true;
  bool listen_overridden = false;
  std::string root;
  std::string appliance_name;
  std::map<std::string, trustlink::ntl::server::ClientRecord>
      clients;  // by label
};

struct tl_server : trustlink::capi::internal::Handle {
  mutable trustlink::capi::internal::ForkOwner owner;
  std::unique_ptr<trustlink::ntl::server::Server> server;
  // Written by tl_server_start and read by the setters, which may run on other
  // threads.
  std::atomic<bool> started{false};
  std::string root;  // the registry root, if any (tl_server_enable_htl)
  std::atomic<bool> htl_enabled{false};
};

struct tl_server_responder {
  std::unique_ptr<trustlink::ntl::server::Responder> responder;
};

struct tl_server_stream {
  std::shared_ptr<trustlink::ntl::server::StreamSink> sink;
  // The partitions the stream covers (CallContext::partitions), for
  // tl_server_stream_partition.
  std::vector<std::string> partitions;
};

struct tl_server_status : trustlink::capi::internal::Handle {
  trustlink::ntl::server::ServerStatus status;
};

// TL_SERVER_USABLE(s) returns from the enclosing C function when `s` is NULL
// or belongs to the parent of this fork() child (TL_E_FORKED). A server not
// started yet has no thread and no socket, so a child adopts it instead: a
// daemon builds its server, forks to detach, then starts it (ntlsd does).
#define TL_SERVER_USABLE(s)                                              \
  do {                                                                   \
    if ((s) == nullptr) {                                                \
      return TL_ARGUMENT_ERROR(nullptr, "the tl_server handle is NULL"); \
    }                                                                    \
    if ((s)->owner.InForkedChild()) {                                    \
      if ((s)->started.load()) {                                         \
        return ::trustlink::capi::internal::ForkedError(                 \
            __func__, "tl_server", "tl_server_new", (s)->owner.pid());   \
      }                                                                  \
      (s)->owner.Adopt();                                                \
    }                                                                    \
  } while (0)

namespace trustlink::capi::server_internal {

inline absl::Status NullArg(const char* what) {
  return trustlink::ntl::Error(absl::StatusCode::kInvalidArgument,
                               TL_E_INVALID_ARGUMENT,
                               absl::StrCat(what, " must not be NULL"));
}

}  // namespace trustlink::capi::server_internal

#endif  // TRUSTLINK_CAPI_SRC_SERVER_HANDLES_H_
