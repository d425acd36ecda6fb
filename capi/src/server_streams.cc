// Stream services through the C ABI (trustlink/server.h): a C service's
// callbacks behind the server's StreamService, and the stream handle it sends
// and closes with.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "capi/src/server_handles.h"

namespace srv = trustlink::ntl::server;
using trustlink::capi::internal::Guard;
using trustlink::capi::server_internal::NullArg;

namespace {

struct CStreamCallbacks {
  tl_server_stream_open_fn open_fn;
  tl_server_stream_data_fn data_fn;
  tl_server_stream_close_fn close_fn;
  void* userdata;
};

class CStreamSession : public srv::StreamSession {
 public:
  CStreamSession(CStreamCallbacks cb, std::unique_ptr<tl_server_stream> stream,
                 void* stream_userdata)
      : cb_(cb),
        stream_(std::move(stream)),
        stream_userdata_(stream_userdata) {}
  void OnData(absl::string_view data) override {
    cb_.data_fn(cb_.userdata, stream_userdata_,
                reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
  void OnClose() override { cb_.close_fn(cb_.userdata, stream_userdata_); }

 private:
  const CStreamCallbacks cb_;
  const std::unique_ptr<tl_server_stream>
      stream_;  // freed after close_fn returned
  void* const stream_userdata_;
};

class CStreamService : public srv::StreamService {
 public:
  explicit CStreamService(CStreamCallbacks cb) : cb_(cb) {}
  absl::StatusOr<std::unique_ptr<srv::StreamSession>> Open(
      const srv::CallContext& ctx,
      std::shared_ptr<srv::StreamSink> sink) override {
    auto stream = std::make_unique<tl_server_stream>();
    stream->sink = std::move(sink);
    stream->partitions.assign(ctx.partitions.begin(), ctx.partitions.end());
    void* stream_userdata = nullptr;
    const std::string label(ctx.client_label);
    const std::string partition(ctx.partition);
    const tl_status st =
        cb_.open_fn(cb_.userdata, label.c_str(), partition.c_str(),
                    stream.get(), &stream_userdata);
    if (st != TL_OK) {
      return trustlink::ntl::Error(
          absl::StatusCode::kUnavailable, st,
          absl::StrCat("the stream service refused partition '", partition,
                       "' (", tl_status_name(st), ")"));
    }
    return std::unique_ptr<srv::StreamSession>(
        new CStreamSession(cb_, std::move(stream), stream_userdata));
  }

 private:
  const CStreamCallbacks cb_;
};

}  // namespace

extern "C" {

TL_EXPORT tl_status tl_server_add_stream_service(
    tl_server* server, const char* name, tl_server_stream_open_fn open_fn,
    tl_server_stream_data_fn data_fn, tl_server_stream_close_fn close_fn,
    void* userdata) noexcept {
  TL_SERVER_USABLE(server);
  return Guard(&server->last_error, [&]() -> absl::Status {
    if (name == nullptr || open_fn == nullptr || data_fn == nullptr ||
        close_fn == nullptr) {
      return NullArg("name and the callbacks");
    }
    if (server->started) {
      return trustlink::ntl::Error(
          absl::StatusCode::kFailedPrecondition, TL_E_FAILED_PRECONDITION,
          "add stream services before tl_server_start");
    }
    server->server->AddStreamService(
        name, std::make_shared<CStreamService>(
                  CStreamCallbacks{open_fn, data_fn, close_fn, userdata}));
    return absl::OkStatus();
  });
}

TL_EXPORT tl_status tl_server_stream_send(tl_server_stream* stream,
                                          const uint8_t* data,
                                          size_t data_len) noexcept {
  if (stream == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_stream handle is NULL");
  }
  if (data == nullptr && data_len != 0) {
    return TL_ARGUMENT_ERROR(nullptr, "data is NULL but data_len is not 0");
  }
  try {
    stream->sink->Send(
        std::string(reinterpret_cast<const char*>(data), data_len));
  } catch (...) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
  return TL_OK;
}

TL_EXPORT tl_status tl_server_stream_num_partitions(
    const tl_server_stream* stream, size_t* out) noexcept {
  if (stream == nullptr || out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "the tl_server_stream handle or out is NULL");
  }
  *out = stream->partitions.size();
  return TL_OK;
}

TL_EXPORT tl_status tl_server_stream_partition(const tl_server_stream* stream,
                                               size_t index,
                                               const char** out) noexcept {
  if (stream == nullptr || out == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr,
                             "the tl_server_stream handle or out is NULL");
  }
  if (index >= stream->partitions.size()) {
    // TL_E_INVALID_ARGUMENT, as server.h has always promised.
    return trustlink::capi::internal::IndexOutOfRange(
        __func__, "partition index", index, "the tl_server_stream",
        stream->partitions.size(), "partition", TL_E_INVALID_ARGUMENT);
  }
  *out = stream->partitions[index].c_str();
  return TL_OK;
}

TL_EXPORT tl_status tl_server_stream_close(tl_server_stream* stream,
                                           int32_t status,
                                           const char* message) noexcept {
  if (stream == nullptr) {
    return TL_ARGUMENT_ERROR(nullptr, "the tl_server_stream handle is NULL");
  }
  try {
    stream->sink->Close(status, message ? message : "");
  } catch (...) {
    return trustlink::capi::internal::SetThreadError(TL_E_NO_MEMORY,
                                                     "out of memory");
  }
  return TL_OK;
}
}  // extern "C"
