#include "htl/server_gate.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "htl/exporter.h"
#include "htl/messages.h"
#include "ntl/status.h"

namespace trustlink::htl {

ApplianceGate::ApplianceGate(std::shared_ptr<Appliance> appliance)
    : appliance_(std::move(appliance)), slot_(std::make_shared<Slot>()) {
  std::shared_ptr<Slot> slot = slot_;
  appliance_->SetEventSink([slot](const HtlEvent& e) {
    std::function<void(const ntl::server::HtlGateEvent&)> listener;
    {
      ntl::internal::MutexLock lock(&slot->mu);
      listener = slot->listener;
    }
    if (!listener) {
      return;
    }
    ntl::server::HtlGateEvent out;
    out.kind = e.kind == HtlEvent::Kind::kAlert
                   ? ntl::server::HtlGateEvent::Kind::kAlert
                   : ntl::server::HtlGateEvent::Kind::kDown;
    out.client = e.client;
    out.message = e.message;
    out.source_presented = e.source_presented;
    out.source_other = e.source_other;
    listener(out);
  });
}

ApplianceGate::~ApplianceGate() { appliance_->SetEventSink(nullptr); }

absl::StatusOr<std::string> ApplianceGate::Binding(const SSL* ssl) {
  return ExportHtlBinding(ssl);
}

absl::StatusOr<std::string> ApplianceGate::HandleRequest(
    absl::string_view client, const ntl::server::HtlLinkInfo& link, uint32_t op,
    absl::string_view data) {
  const SessionInfo session{link.id, link.binding, link.source};
  absl::StatusOr<Grant> grant;
  if (op == kOpEstablish) {
    absl::StatusOr<EstablishRequest> req = DecodeEstablishRequest(data);
    if (!req.ok()) {
      return req.status();
    }
    grant = appliance_->Establish(client, session, *req);
  } else if (op == kOpHeartbeat) {
    absl::StatusOr<HeartbeatRequest> req = DecodeHeartbeatRequest(data);
    if (!req.ok()) {
      return req.status();
    }
    grant = appliance_->Heartbeat(client, session, *req);
  } else {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                      absl::StrCat("htl/1 has no op ", op));
  }
  if (!grant.ok()) {
    return grant.status();
  }
  return EncodeGrant(*grant);
}

void ApplianceGate::LinkClosed(absl::string_view client,
                               absl::string_view link_id) {
  appliance_->OnHtlLinkClosed(client, link_id);
}

absl::Status ApplianceGate::CheckLinkProof(absl::string_view client,
                                           absl::string_view binding,
                                           absl::string_view proof) {
  absl::StatusOr<LinkProof> p = DecodeLinkProof(proof);
  if (!p.ok()) {
    return p.status();
  }
  return appliance_->CheckLinkProof(client, binding, *p);
}

void ApplianceGate::Tick() { appliance_->Tick(); }

void ApplianceGate::SetListener(
    std::function<void(const ntl::server::HtlGateEvent&)> listener) {
  ntl::internal::MutexLock lock(&slot_->mu);
  slot_->listener = std::move(listener);
}

absl::StatusOr<std::shared_ptr<ApplianceGate>> OpenDaemonGate(
    const std::string& root) {
  Appliance::Options o;
  o.root = root;
  o.daemon = true;
  absl::StatusOr<std::unique_ptr<Appliance>> a = Appliance::Open(o);
  if (!a.ok()) {
    return a.status();
  }
  return std::make_shared<ApplianceGate>(
      std::shared_ptr<Appliance>(*std::move(a)));
}

}  // namespace trustlink::htl
