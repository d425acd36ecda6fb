// The C ABI of trustlink/pkcs11.h over ntl/pkcs11 (module_config.h, bridge.h).

#include "trustlink/pkcs11.h"

#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/internal/last_error.h"
#include "capi/src/pkcs11_handles.h"
#include "ntl/internal/mutex.h"
#include "ntl/pkcs11/bridge.h"
#include "ntl/pkcs11/module_config.h"
#include "ntl/status.h"

using trustlink::capi::internal::Guard;
using trustlink::capi::internal::NullArgument;
using trustlink::ntl::Error;
namespace p11 = trustlink::ntl::pkcs11;
namespace internal = trustlink::ntl::internal;

struct tl_p11_bridge : trustlink::capi::internal::Handle {
  int report_fd = -1;
  internal::Mutex mu;
  // Set once tl_p11_bridge_run has opened its channel; before that deliveries
  // are kept.
  std::shared_ptr<p11::ChannelCallbacks> callbacks ABSL_GUARDED_BY(mu);
  std::string early ABSL_GUARDED_BY(mu);
  bool ended ABSL_GUARDED_BY(mu) = false;
  absl::Status end_status ABSL_GUARDED_BY(mu);
};

namespace {

// CChannel sends through the caller's function pointers.
class CChannel : public p11::Channel {
 public:
  CChannel(tl_p11_send_fn send, tl_p11_close_fn close, void* userdata)
      : send_(send), close_(close), userdata_(userdata) {}
  absl::Status Send(absl::string_view data) override {
    tl_status s = send_(
        userdata_, reinterpret_cast<const uint8_t*>(data.data()), data.size());
    if (s != TL_OK) {
      return Error(absl::StatusCode::kUnavailable, s,
                   absl::StrCat("sending on the pkcs11 stream failed (",
                                tl_status_name(s), ")"));
    }
    return absl::OkStatus();
  }
  absl::Status Close() override {
    if (!closed_) {
      closed_ = true;
      close_(userdata_);
    }
    return absl::OkStatus();
  }

 private:
  tl_p11_send_fn send_;
  tl_p11_close_fn close_;
  void* userdata_;
  bool closed_ = false;
};

void Report(int fd, const absl::Status& s) {
  if (fd < 0 || s.ok()) {
    return;
  }
  std::string line = absl::StrCat("p11 bridge: ", s.message(), "\n");
  (void)!write(fd, line.data(), line.size());
}

}  // namespace

namespace trustlink::capi::internal {

tl_status AddSetupWord(tl_p11_setup* setup, const char* arg,
                       std::vector<std::string> tl_p11_setup::*command) {
  if (setup == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_setup handle is NULL");
  }
  return Guard(&setup->last_error, [&]() -> absl::Status {
    if (arg == nullptr) {
      return NullArgument("arg");
    }
    (setup->*command).emplace_back(arg);
    return absl::OkStatus();
  });
}

}  // namespace trustlink::capi::internal

extern "C" {

TL_EXPORT tl_status tl_p11_setup_new(tl_p11_setup** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

TL_EXPORT void tl_p11_setup_free(tl_p11_setup* setup) noexcept { delete setup; }

TL_EXPORT tl_status tl_p11_setup_set_dir(tl_p11_setup* setup,
                                         const char* dir) noexcept {
  if (setup == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_setup handle is NULL");
  }
  return Guard(&setup->last_error, [&]() -> absl::Status {
    if (dir == nullptr) {
      return NullArgument("dir");
    }
    setup->dir = dir;
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_setup_add_bridge_arg(tl_p11_setup* setup,
                                                const char* arg) noexcept {
  return trustlink::capi::internal::AddSetupWord(setup, arg,
                                                 &tl_p11_setup::bridge_argv);
}

TL_EXPORT tl_status tl_p11_setup_add_partition(tl_p11_setup* setup,
                                               const char* server,
                                               const char* partition) noexcept {
  if (setup == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_setup handle is NULL");
  }
  return Guard(&setup->last_error, [&]() -> absl::Status {
    if (server == nullptr || partition == nullptr) {
      return NullArgument(server == nullptr ? "server" : "partition");
    }
    if (partition[0] == '\0') {
      return Error(absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
                   "the partition name is empty; for every partition on a "
                   "server use tl_p11_setup_add_server");
    }
    setup->assignments.push_back({server, partition});
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_setup_add_server(tl_p11_setup* setup,
                                            const char* server) noexcept {
  if (setup == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_setup handle is NULL");
  }
  return Guard(&setup->last_error, [&]() -> absl::Status {
    if (server == nullptr) {
      return NullArgument("server");
    }
    setup->assignments.push_back({server, ""});
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_setup_write(tl_p11_setup* setup,
                                       size_t* out_num_written,
                                       size_t* out_num_removed) noexcept {
  if (setup == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_setup handle is NULL");
  }
  return Guard(&setup->last_error, [&]() -> absl::Status {
    if (out_num_written == nullptr || out_num_removed == nullptr) {
      return NullArgument("an out parameter");
    }
    std::string dir = setup->dir;
    if (dir.empty()) {
      absl::StatusOr<std::string> d = p11::DefaultModuleDir();
      if (!d.ok()) {
        return d.status();
      }
      dir = *d;
    }
    absl::StatusOr<std::vector<p11::ModuleAssignment>> all =
        trustlink::capi::internal::SetupAssignments(*setup);
    if (!all.ok()) {
      return all.status();
    }
    absl::StatusOr<p11::SetupResult> r =
        p11::WriteModuleConfigs(dir, setup->bridge_argv, *all);
    if (!r.ok()) {
      return r.status();
    }
    *out_num_written = r->written.size();
    *out_num_removed = r->removed.size();
    return absl::OkStatus();
  });
}

TL_DEFINE_LAST_ERROR(tl_p11_setup)

TL_EXPORT tl_status tl_p11_bridge_new(tl_p11_bridge** out) noexcept {
  return trustlink::capi::internal::NewHandle(__func__, out);
}

TL_EXPORT void tl_p11_bridge_free(tl_p11_bridge* bridge) noexcept {
  delete bridge;
}

TL_EXPORT tl_status tl_p11_bridge_set_report_fd(tl_p11_bridge* bridge,
                                                int fd) noexcept {
  if (bridge == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_bridge handle is NULL");
  }
  bridge->report_fd = fd;
  return bridge->last_error.Record(absl::OkStatus());
}

TL_EXPORT tl_status tl_p11_bridge_deliver(tl_p11_bridge* bridge,
                                          const uint8_t* data,
                                          size_t len) noexcept {
  if (bridge == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_bridge handle is NULL");
  }
  return Guard(&bridge->last_error, [&]() -> absl::Status {
    if (data == nullptr && len > 0) {
      return NullArgument("data");
    }
    absl::string_view bytes(reinterpret_cast<const char*>(data), len);
    std::shared_ptr<p11::ChannelCallbacks> cb;
    {
      internal::MutexLock lock(&bridge->mu);
      if (bridge->callbacks == nullptr) {
        bridge->early.append(bytes.data(), bytes.size());
        return absl::OkStatus();
      }
      cb = bridge->callbacks;
    }
    cb->on_data(bytes);
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_bridge_end(tl_p11_bridge* bridge, tl_status status,
                                      const char* message) noexcept {
  if (bridge == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_bridge handle is NULL");
  }
  return Guard(&bridge->last_error, [&]() -> absl::Status {
    absl::Status end =
        status == TL_OK
            ? absl::OkStatus()
            : Error(absl::StatusCode::kUnavailable, status,
                    message != nullptr ? message : tl_status_name(status));
    std::shared_ptr<p11::ChannelCallbacks> cb;
    {
      internal::MutexLock lock(&bridge->mu);
      if (bridge->callbacks == nullptr) {
        bridge->ended = true;
        bridge->end_status = end;
        return absl::OkStatus();
      }
      cb = bridge->callbacks;
    }
    cb->on_close(end);
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_p11_bridge_run(tl_p11_bridge* bridge, int in_fd,
                                      int out_fd, tl_p11_send_fn send,
                                      tl_p11_close_fn close,
                                      void* userdata) noexcept {
  if (bridge == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_p11_bridge handle is NULL");
  }
  return Guard(&bridge->last_error, [&]() -> absl::Status {
    if (send == nullptr || close == nullptr) {
      return NullArgument(send == nullptr ? "send" : "close");
    }
    p11::BridgeOptions options;
    const int report_fd = bridge->report_fd;
    bool reported = false;
    options.on_stream_end = [&](const absl::Status& s) {
      reported = true;
      Report(report_fd, s);
    };
    absl::Status result = p11::RunBridge(
        in_fd, out_fd,
        [&](p11::ChannelCallbacks callbacks)
            -> absl::StatusOr<std::unique_ptr<p11::Channel>> {
          auto cb =
              std::make_shared<p11::ChannelCallbacks>(std::move(callbacks));
          std::string early;
          bool ended;
          absl::Status end_status;
          {
            internal::MutexLock lock(&bridge->mu);
            bridge->callbacks = cb;
            early.swap(bridge->early);
            ended = bridge->ended;
            end_status = bridge->end_status;
          }
          if (!early.empty()) {
            cb->on_data(early);
          }
          if (ended) {
            cb->on_close(end_status);
          }
          return std::unique_ptr<p11::Channel>(
              new CChannel(send, close, userdata));
        },
        options);
    if (!reported) {
      Report(report_fd, result);
    }
    return result;
  });
}

TL_DEFINE_LAST_ERROR(tl_p11_bridge)

}  // extern "C"
