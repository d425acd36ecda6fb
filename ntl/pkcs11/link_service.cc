#include "ntl/pkcs11/link_service.h"

#include <string>
#include <utility>

namespace trustlink::ntl::pkcs11 {
namespace {

// SinkAdapter hands the service's output to the server's end of the stream.
class SinkAdapter : public pkcs11::StreamSink {
 public:
  explicit SinkAdapter(std::shared_ptr<server::StreamSink> sink)
      : sink_(std::move(sink)) {}
  void Send(std::string data) override { sink_->Send(std::move(data)); }
  void Close(int32_t status, std::string message) override {
    sink_->Close(status, std::move(message));
  }

 private:
  const std::shared_ptr<server::StreamSink> sink_;
};

// SessionAdapter hands the client's bytes and the stream's end to the service.
class SessionAdapter : public server::StreamSession {
 public:
  explicit SessionAdapter(std::unique_ptr<pkcs11::StreamSession> session)
      : session_(std::move(session)) {}
  void OnData(absl::string_view data) override { session_->OnData(data); }
  void OnClose() override { session_->OnClose(); }

 private:
  const std::unique_ptr<pkcs11::StreamSession> session_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<server::StreamSession>> LinkPkcs11Service::Open(
    const server::CallContext& ctx, std::shared_ptr<server::StreamSink> sink) {
  absl::StatusOr<std::unique_ptr<StreamSession>> session = service_->Open(
      ctx.partitions, std::make_shared<SinkAdapter>(std::move(sink)));
  if (!session.ok()) {
    return session.status();
  }
  return std::unique_ptr<server::StreamSession>(
      new SessionAdapter(std::move(*session)));
}

}  // namespace trustlink::ntl::pkcs11
