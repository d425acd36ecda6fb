// Ending a connection: goaway (said once, then the link drains), closing
// (logged, the pool or client slot given back, streams told, the descriptor
// closed) and reaping the closed ones after the event that closed them.

#include <sys/epoll.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "ntl/server/conn.h"
#include "ntl/server/event_loop.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server::internal_engine {

void Loop::Reap() {
  for (uint64_t id : dead_) {
    conns_.erase(id);
  }
  dead_.clear();
}

void Loop::GoAway(Conn* c, int32_t status, absl::string_view message) {
  if (c->dead || c->state == Conn::State::kDraining) {
    return;
  }
  wire::Closing cl;
  cl.status = status;
  cl.message = std::string(message);
  SendFrame(c, wire::FrameType::kGoAway, 0, wire::EncodeClosing(cl));
  c->state = Conn::State::kDraining;
  c->read_paused = true;
  if (!c->processing) {
    Flush(c);
  }
}

void Loop::CloseConn(Conn* c, absl::string_view reason) {
  if (c->dead) {
    return;
  }
  c->dead = true;
  if (!reason.empty()) {
    const std::string line = absl::StrCat(
        "closed peer=", c->peer,
        c->admission.record
            ? absl::StrCat(" client='", c->admission.record->label, "'")
            : std::string(),
        " reason=\"", reason, "\"");
    // A peer that was never admitted can cause this line at will.
    if (c->unauthenticated) {
      server_->LogStranger("closed-unauthenticated", line);
    } else {
      Log(line);
    }
  }
  if (c->unauthenticated) {
    server_->LeavePool(c->pool_ticket);
  } else {
    server_->ClientDisconnected(c->fingerprint);
  }
  HtlLinkClosed(c);
  for (auto& [id, stream] : c->streams) {
    stream.session->OnClose();
  }
  c->streams.clear();
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  c->fd = -1;
  dead_.push_back(c->id);
  if (accept_paused_) {
    ResumeAccept();  // a descriptor just came free
  }
}

void Loop::MaybeFinishDrain(Conn* c) {
  if (!c->pending.empty() || c->dead) {
    return;
  }
  if (c->htl_goaway_code != TL_OK) {
    GoAway(c, c->htl_goaway_code, c->htl_goaway_message);
  } else if (c->finish_then_close) {
    GoAway(c, TL_E_UNAVAILABLE, "the appliance is shutting down");
  }
}

}  // namespace trustlink::ntl::server::internal_engine
