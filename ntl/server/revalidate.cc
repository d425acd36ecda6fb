// Live changes (docs/server.md, "Live changes"): after a registry or server
// certificate change, each admitted link is judged again; a link no longer
// admitted is told goaway, and one whose partitions changed loses the calls
// and streams on revoked ones and is told slots-changed.

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/server/conn.h"
#include "ntl/server/event_loop.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server::internal_engine {

namespace {

bool SamePartitions(const ClientRecord& a, const ClientRecord& b) {
  if (a.partitions.size() != b.partitions.size()) {
    return false;
  }
  for (size_t i = 0; i < a.partitions.size(); ++i) {
    const wire::SlotInfo& x = a.partitions[i];
    const wire::SlotInfo& y = b.partitions[i];
    if (x.partition != y.partition || x.label != y.label ||
        x.serial != y.serial) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Loop::Revalidate(Conn* c) {
  if (c->state != Conn::State::kAwaitHello &&
      c->state != Conn::State::kAwaitHtlProof &&
      c->state != Conn::State::kCheckingHtl && c->state != Conn::State::kOpen) {
    return;
  }
  if (!server_->IsServed(c->tls->fingerprint)) {
    Log(absl::StrCat("closing peer=", c->peer,
                     " reason=\"the server certificate ", c->tls->fingerprint,
                     " is no longer served\""));
    GoAway(c, TL_E_UNAVAILABLE,
           "the appliance's server certificate was replaced; reconnect (the "
           "client must "
           "trust the new server.pem)");
    return;
  }
  // A hostname client keeps the addresses it was admitted with; only a
  // changed hostname needs a lookup, which must not block the loop: the link
  // is judged again when the answer comes.
  const Resolution* answer = nullptr;
  std::shared_ptr<const ClientRecord> record =
      snapshot_->FindByFingerprint(c->fingerprint);
  if (record != nullptr && NeedsResolution(*snapshot_, *record)) {
    answer = AnswerFor(c, record->resolve_hostname);
    if (answer == nullptr &&
        (c->resolving || StartLookup(c, record->resolve_hostname))) {
      return;
    }
  }
  Admission a = Admit(*snapshot_, c->fingerprint, c->peer_ip, answer);
  if (!a.admitted) {
    Log(absl::StrCat("closing peer=", c->peer, " fingerprint=", c->fingerprint,
                     " rule=", a.rule, " reason=\"", a.message, "\""));
    GoAway(c, a.code,
           a.code == TL_E_NOT_REGISTERED
               ? "this client's registration was removed or its certificate "
                 "replaced on "
                 "the appliance"
               : "this client's registration no longer allows this source "
                 "address");
    return;
  }
  std::shared_ptr<const ClientRecord> old = c->admission.record;
  c->admission = a;
  if (c->state != Conn::State::kOpen) {
    return;
  }
  if (!HtlStillAdmits(c)) {
    return;
  }
  if (old && old->label != a.record->label) {
    server_->ClientDisconnected(c->fingerprint);
    server_->ClientConnected(*a.record);
  }
  if (c->htl_link || (old && SamePartitions(*old, *a.record))) {
    return;  // an htl/1 link has no partitions
  }
  // Fail calls and streams on revoked partitions at once; later answers are
  // dropped.
  for (auto it = c->pending.begin(); it != c->pending.end();) {
    if (!HasPartition(*a.record, it->second.partition)) {
      RespondNow(c, it->first, TL_E_PARTITION_NOT_ASSIGNED,
                 absl::StrCat("partition '", it->second.partition,
                              "' was unassigned from this client during the "
                              "call"));
      it = c->pending.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = c->streams.begin(); it != c->streams.end();) {
    if (const std::string* gone =
            FirstUnassigned(*a.record, it->second.partitions)) {
      wire::Closing cl;
      cl.status = TL_E_PARTITION_NOT_ASSIGNED;
      cl.message = absl::StrCat("partition '", *gone, "' was unassigned");
      SendFrame(c, wire::FrameType::kStreamClose, it->first,
                wire::EncodeClosing(cl));
      std::unique_ptr<StreamSession> s = std::move(it->second.session);
      it = c->streams.erase(it);
      s->OnClose();
    } else {
      ++it;
    }
  }
  SendFrame(c, wire::FrameType::kSlotsChanged, 0, WelcomeFor(*a.record));
  Log(absl::StrCat("slots-changed client='", a.record->label,
                   "' peer=", c->peer, " slots=", a.record->partitions.size()));
  Flush(c);
}

}  // namespace trustlink::ntl::server::internal_engine
