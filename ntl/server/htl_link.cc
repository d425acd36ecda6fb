// The HTL on the NTLS server (docs/htl.md, "Integration"): the htl/1 link that
// carries the agent's establish and heartbeat requests, the htl-proof
// admission of ntl/1 links of requirehtl clients, closing a client's links
// when its HTL goes Down, and the HTL rules of the live registry re-check.
// Every HtlGate call except Binding runs on the server's HTL worker, never on
// the event loop: the HTL state is fsynced before each answer.

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/server/conn.h"
#include "ntl/server/event_loop.h"
#include "ntl/server/htl_gate.h"
#include "ntl/server/htl_worker.h"
#include "ntl/status.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server::internal_engine {
namespace {

constexpr uint32_t kOpEstablish = 1;
constexpr uint32_t kOpHeartbeat = 2;

std::string NoHtlMessage(absl::string_view label) {
  return absl::StrCat(
      "client '", label,
      "' uses HTL, but this NTLS server has no HTL state; run ntlsd (it serves "
      "HTL from <root>/htl), or have the embedder call Server::SetHtlGate / "
      "tl_server_enable_htl");
}

}  // namespace

void Loop::StartHtlLink(Conn* c) {
  const ClientRecord& rec = *c->admission.record;
  if (!server_->htl_gate_) {
    RefuseHtl(c, TL_E_UNAVAILABLE, NoHtlMessage(rec.label));
    return;
  }
  if (!rec.require_htl) {
    RefuseHtl(c, TL_E_HTL_REQUIRED_BY_CLIENT,
              HtlRequiredByClientMessage(rec.label));
    return;
  }
  absl::StatusOr<std::string> binding =
      server_->htl_gate_->Binding(c->ssl.get());
  if (!binding.ok()) {
    RefuseHtl(c, ToTlStatus(binding.status()), binding.status().message());
    return;
  }
  if (!Promote(c)) {
    return;
  }
  c->htl_binding = *std::move(binding);
  c->htl_link_id = absl::StrCat("ntls-htl-", ++server_->next_htl_link_id_);
  c->state = Conn::State::kOpen;
  Log(absl::StrCat("admitted-htl peer=", c->peer, " client='", rec.label,
                   "' fingerprint=", c->fingerprint, " link=", c->htl_link_id));
}

void Loop::HandleHtlFrame(Conn* c, const wire::FrameView& f) {
  switch (f.type) {
    case wire::FrameType::kRequest:
      HandleHtlRequest(c, f);
      return;
    case wire::FrameType::kPing:
      SendFrame(c, wire::FrameType::kPong, f.id, f.payload);
      return;
    case wire::FrameType::kPong:
      return;
    default:
      GoAway(c, TL_E_PROTOCOL,
             absl::StrCat("an htl/1 link carries request and ping frames, "
                          "not ",
                          wire::FrameTypeName(f.type)));
  }
}

void Loop::HandleHtlRequest(Conn* c, const wire::FrameView& f) {
  absl::optional<wire::RequestView> req = AcceptRequest(c, f);
  if (!req.has_value()) {
    return;
  }
  auto respond_now = [&](int32_t status, absl::string_view message) {
    RespondNow(c, f.id, status, message);
  };
  if (c->htl_goaway_code != TL_OK) {
    respond_now(c->htl_goaway_code, c->htl_goaway_message);
    return;
  }
  if (c->finish_then_close) {
    respond_now(TL_E_UNAVAILABLE,
                "the appliance is shutting down; retry at the next poll");
    return;
  }
  if (req->op != kOpEstablish && req->op != kOpHeartbeat) {
    respond_now(TL_E_INVALID_ARGUMENT,
                absl::StrCat("htl/1 serves op 1 (establish) and op 2 "
                             "(heartbeat), not op ",
                             req->op));
    return;
  }
  const uint64_t seq = ++next_seq_;
  // An empty partition: Revalidate never fails an HTL request as unassigned.
  c->pending[f.id] = Conn::Pending{"", seq};
  std::shared_ptr<Responder> responder = NewResponder(c->id, f.id, seq);
  std::shared_ptr<HtlGate> gate = server_->htl_gate_;
  HtlLinkInfo link{c->htl_link_id, c->htl_binding, c->peer};
  server_->htl_worker_->Post([gate, responder, link = std::move(link),
                              label = c->admission.record->label, op = req->op,
                              data = std::string(req->data), server = server_] {
    absl::StatusOr<std::string> r = gate->HandleRequest(label, link, op, data);
    if (r.ok()) {
      if (op == kOpEstablish) {
        server->stats_->shard(0)->htl_up.Add();
      }
      responder->Respond(TL_OK, *std::move(r));
    } else {
      if (op == kOpEstablish) {
        // A refused token (expired, voided, or a used one copied back) is
        // worth a line: a used token presented again may mean a copy of the
        // client's disk.
        server->Log(absl::StrCat("htl-establish-refused peer=", link.source,
                                 " client='", label,
                                 "' code=", ToTlStatus(r.status()),
                                 " reason=\"", r.status().message(), "\""));
      }
      responder->Respond(ToTlStatus(r.status()),
                         std::string(r.status().message()));
    }
  });
}

void Loop::AwaitHtlProof(Conn* c) {
  const ClientRecord& rec = *c->admission.record;
  if (!server_->htl_gate_) {
    RefuseHtl(c, TL_E_UNAVAILABLE, NoHtlMessage(rec.label));
    return;
  }
  absl::StatusOr<std::string> binding =
      server_->htl_gate_->Binding(c->ssl.get());
  if (!binding.ok()) {
    RefuseHtl(c, ToTlStatus(binding.status()), binding.status().message());
    return;
  }
  c->htl_binding = *std::move(binding);
  c->state = Conn::State::kAwaitHtlProof;
}

void Loop::HandleHtlProof(Conn* c, const wire::FrameView& f) {
  const std::string label = c->admission.record->label;
  if (f.type != wire::FrameType::kHtlProof || f.id != 0) {
    RefuseHtl(
        c, TL_E_PROTOCOL,
        absl::StrCat("client '", label,
                     "' set the HTL bit in hello, so its next frame must be "
                     "htl-proof (type 12, id 0), not ",
                     wire::FrameTypeName(f.type), " id ", f.id,
                     "; the client must send its HTL proof right after hello"));
    return;
  }
  // Reading pauses until the worker answers: nothing the client sends after
  // the proof may run before it is admitted.
  c->state = Conn::State::kCheckingHtl;
  c->read_paused = true;
  const uint64_t seq = ++next_seq_;
  c->htl_check_seq = seq;
  std::shared_ptr<HtlGate> gate = server_->htl_gate_;
  std::shared_ptr<Mailbox> mailbox = mailbox_;
  const bool queued = server_->htl_worker_->Post(
      [gate, mailbox, loop = this, conn_id = c->id, seq, label,
       binding = c->htl_binding, proof = std::string(f.payload)] {
        absl::Status st = gate->CheckLinkProof(label, binding, proof);
        const int32_t code = st.ok() ? TL_OK : ToTlStatus(st);
        mailbox->Post(
            [loop, conn_id, seq, code, msg = std::string(st.message())] {
              loop->CompleteHtlCheck(conn_id, seq, code, msg);
            });
      });
  if (!queued) {
    c->read_paused = false;
    c->state = Conn::State::kAwaitHtlProof;
    RefuseHtl(c, TL_E_UNAVAILABLE, "the appliance is shutting down");
  }
}

void Loop::CompleteHtlCheck(uint64_t conn_id, uint64_t seq, int32_t code,
                            std::string message) {
  Conn* c = Find(conn_id);
  if (c == nullptr || c->state != Conn::State::kCheckingHtl ||
      c->htl_check_seq != seq) {
    return;  // closed, refused or taken down while the worker checked
  }
  c->read_paused = false;
  if (code != TL_OK) {
    RefuseHtl(c, code, message);
    return;
  }
  // The registry may have changed while the worker checked.
  if (!c->admission.record->require_htl) {
    RefuseHtl(c, TL_E_HTL_REQUIRED_BY_CLIENT,
              HtlRequiredByClientMessage(c->admission.record->label));
    return;
  }
  c->htl_proven = true;
  Welcome(c);
  ResumeReading(c);
}

void Loop::ResumeReading(Conn* c) {
  // Frames decrypted before the pause come first, then ciphertext that waited,
  // then whatever BoringSSL still buffers (DriveSsl reads until it wants more).
  c->processing = true;
  ProcessFrames(c);
  c->processing = false;
  if (c->dead) {
    return;
  }
  DrivePendingCipher(c);
}

void Loop::CloseHtlClient(const std::string& label, const std::string& reason) {
  std::vector<Conn*> hit;
  for (auto& [id, conn] : conns_) {
    Conn* c = conn.get();
    if (c->dead || c->state == Conn::State::kDraining || !c->admission.record ||
        c->admission.record->label != label) {
      continue;
    }
    if (c->htl_link || c->htl_proven ||
        c->state == Conn::State::kAwaitHtlProof ||
        c->state == Conn::State::kCheckingHtl) {
      hit.push_back(c);
    }
  }
  for (Conn* c : hit) {
    Log(absl::StrCat("closing peer=", c->peer, " client='", label,
                     "' link=", c->htl_link ? "htl/1" : "ntl/1",
                     " rule=htl-down reason=\"", reason, "\""));
    std::string message =
        absl::StrCat("HTL of client '", label, "' is Down (", reason,
                     "); the appliance must generate a new one-time token "
                     "for it");
    if (c->htl_link && !c->pending.empty()) {
      // The event was raised by a request in flight on this very link (or
      // raced with one): its answer goes first, then the goaway.
      c->htl_goaway_code = TL_E_HTL_DOWN;
      c->htl_goaway_message = std::move(message);
      continue;
    }
    GoAway(c, TL_E_HTL_DOWN, message);
  }
}

void Loop::HtlLinkClosed(Conn* c) {
  if (!c->htl_link || c->htl_link_id.empty() || !c->admission.record) {
    return;
  }
  std::shared_ptr<HtlGate> gate = server_->htl_gate_;
  server_->htl_worker_->Post(
      [gate, label = c->admission.record->label, id = c->htl_link_id] {
        gate->LinkClosed(label, id);
      });
}

bool Loop::HtlStillAdmits(Conn* c) {
  const ClientRecord& rec = *c->admission.record;
  if (c->htl_link || c->htl_proven) {
    if (rec.require_htl) {
      return true;
    }
    Log(absl::StrCat("closing peer=", c->peer, " client='", rec.label,
                     "' rule=htl reason=\"no longer registered with "
                     "require-HTL\""));
    GoAway(c, TL_E_HTL_REQUIRED_BY_CLIENT,
           absl::StrCat("client '", rec.label,
                        "' is no longer registered with require-HTL on this "
                        "appliance; reconnect without HTL (register the server "
                        "without HTL on the client), or register the client "
                        "with require-HTL again"));
    return false;
  }
  if (!rec.require_htl) {
    return true;
  }
  Log(absl::StrCat("closing peer=", c->peer, " client='", rec.label,
                   "' rule=htl reason=\"now registered with require-HTL\""));
  GoAway(c, TL_E_HTL_REQUIRED_BY_APPLIANCE,
         absl::StrCat("client '", rec.label,
                      "' now requires HTL on this appliance; reconnect with "
                      "HTL (register the server with HTL on the client and run "
                      "the HTL agent)"));
  return false;
}

}  // namespace trustlink::ntl::server::internal_engine
