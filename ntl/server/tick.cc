// The loop's tick (every ServerOptions::tick): picks up registry and
// certificate changes, resumes a paused accept, starts and forces the drain,
// and enforces each connection's deadlines: handshake, hello, lookup, goaway
// and idle.

#include <sys/epoll.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ntl/server/conn.h"
#include "ntl/server/event_loop.h"
#include "ntl/server/link_settings.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server::internal_engine {

void Loop::Tick(absl::Time now) {
  bool recheck = false;
  snapshot();
  if (directory_generation_ != revalidated_generation_) {
    revalidated_generation_ = directory_generation_;
    recheck = true;
  }
  const uint64_t tls_gen = server_->RefreshTls();
  if (tls_gen != tls_generation_) {
    tls_generation_ = tls_gen;
    recheck = true;
  }
  const ServerOptions& o = server_->options_;
  const LinkSettings link = link_settings();
  const bool draining = server_->draining_.load();
  if (accept_paused_ && now >= accept_resume_at_) {
    ResumeAccept();  // a descriptor may have freed outside this loop
  }
  server_->FlushLogLimits();
  if (draining && !drain_started_) {
    drain_started_ = true;
    listening_ = false;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  }
  const bool force = draining && now >= absl::FromUnixNanos(
                                            server_->drain_deadline_ns_.load());
  std::vector<Conn*> all;
  all.reserve(conns_.size());
  for (auto& [id, c] : conns_) {
    if (!c->dead) {
      all.push_back(c.get());
    }
  }
  for (Conn* c : all) {
    if (c->dead) {
      continue;
    }
    if (force) {
      CloseConn(c, "shutdown grace period ended");
      continue;
    }
    if (recheck) {
      Revalidate(c);
      if (c->dead) {
        continue;
      }
    }
    CheckLookupDeadline(c, now);
    if (c->dead) {
      continue;
    }
    const bool admitted = c->state == Conn::State::kOpen;
    if (!admitted && c->state != Conn::State::kDraining && now >= c->deadline) {
      CloseConn(c, c->state == Conn::State::kHandshake
                       ? "handshake deadline passed"
                   : c->state == Conn::State::kAwaitHello
                       ? "no hello before the deadline"
                       : "no HTL proof admitted before the deadline");
      continue;
    }
    if (c->state == Conn::State::kDraining &&
        now >= c->deadline + o.handshake_timeout &&
        now - c->last_active >= o.handshake_timeout) {
      CloseConn(c, "peer did not read its goaway");
      continue;
    }
    absl::string_view idle_rule;
    const absl::Duration idle_limit =
        IdleLimit(link, o.idle_timeout, c->htl_link, &idle_rule);
    if (admitted && now - c->last_active >= idle_limit) {
      Log(absl::StrCat("closing peer=", c->peer, " rule=", idle_rule,
                       " reason=\"nothing received for ",
                       absl::FormatDuration(idle_limit), "\""));
      GoAway(c, TL_E_UNAVAILABLE,
             absl::StrCat("the link was idle too long (nothing received for ",
                          absl::FormatDuration(idle_limit), "); reconnect"));
      if (!c->dead) {
        c->deadline = now;
        c->last_active = now;
      }
      continue;
    }
    if (draining) {
      if (!admitted) {
        if (c->state != Conn::State::kDraining) {
          CloseConn(c, "shutting down");
        }
      } else if (!c->finish_then_close) {
        c->finish_then_close = true;
        MaybeFinishDrain(c);
      }
    }
  }
}

}  // namespace trustlink::ntl::server::internal_engine
