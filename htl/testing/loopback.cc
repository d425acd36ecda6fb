#include "htl/testing/loopback.h"

#include "absl/strings/str_cat.h"
#include "htl/crypto.h"
#include "ntl/status.h"

namespace trustlink::htl::testing {

class LoopbackSession : public HtlSession {
 public:
  explicit LoopbackSession(LoopbackConnector* c) : c_(c) {
    static int counter = 0;
    info_.id = absl::StrCat("loopback-", ++counter);
    info_.exporter = RandomBytes(kExporterLen);
    info_.source = c->source_;
  }
  ~LoopbackSession() override {
    if (c_->appliance_ != nullptr)
      c_->appliance_->OnHtlLinkClosed(c_->client_, info_.id);
  }
  std::string Exporter() const override { return info_.exporter; }

  absl::StatusOr<std::string> Call(uint32_t op,
                                   absl::string_view payload) override {
    if (dead_) return Lost();
    absl::StatusOr<Grant> grant = absl::InternalError("unknown op");
    if (op == kOpEstablish) {
      absl::StatusOr<EstablishRequest> r = DecodeEstablishRequest(payload);
      grant = r.ok() ? c_->appliance_->Establish(c_->client_, info_, *r)
                     : absl::StatusOr<Grant>(r.status());
    } else if (op == kOpHeartbeat) {
      absl::StatusOr<HeartbeatRequest> r = DecodeHeartbeatRequest(payload);
      grant = r.ok() ? c_->appliance_->Heartbeat(c_->client_, info_, *r)
                     : absl::StatusOr<Grant>(r.status());
    }
    if (c_->drop_reply && c_->drop_reply()) {
      dead_ = true;
      return Lost();
    }
    if (!grant.ok()) {
      // The server sends the refusal as a response (status, message); the codes
      // survive.
      return ntl::Error(grant.status().code(), ntl::ToTlStatus(grant.status()),
                        grant.status().message());
    }
    return EncodeGrant(*grant);
  }

 private:
  static absl::Status Lost() {
    return ntl::Error(absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
                      "the HTL link to the appliance was lost");
  }
  LoopbackConnector* const c_;
  SessionInfo info_;
  bool dead_ = false;
};

absl::StatusOr<std::unique_ptr<HtlSession>> LoopbackConnector::Connect(
    absl::string_view) {
  if (refuse_connect || appliance_ == nullptr) {
    return ntl::Error(absl::StatusCode::kUnavailable, TL_E_CONNECTION_REFUSED,
                      "the appliance refused the connection");
  }
  ++connects;
  return std::unique_ptr<HtlSession>(new LoopbackSession(this));
}

}  // namespace trustlink::htl::testing
