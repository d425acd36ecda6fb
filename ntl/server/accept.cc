// The accept path (docs/server.md, "Connection budget"): a new connection
// joins the pre-authentication pool, which may evict an older one to make
// room; a descriptor shortage pauses accepting instead of spinning.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "ntl/server/admission.h"
#include "ntl/server/conn.h"
#include "ntl/server/event_loop.h"
#include "ntl/server/preauth_pool.h"
#include "ntl/server/resource_error.h"

namespace trustlink::ntl::server::internal_engine {
namespace {

// PeerOf formats an accepted peer's address: the canonical IP (for the pool
// and admission) and ip:port (for logs).
void PeerOf(const sockaddr_storage& addr, std::string* ip_out,
            std::string* peer_out) {
  char ip[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
    port = ntohs(a->sin6_port);
  }
  *ip_out = CanonicalIp(ip);
  *peer_out = ip_out->find(':') == std::string::npos
                  ? absl::StrCat(*ip_out, ":", port)
                  : absl::StrCat("[", *ip_out, "]:", port);
}

std::string CapText(const char* rule, const ConnectionLimits& l) {
  return std::string(rule) == "per-source"
             ? absl::StrCat("its source address already has ",
                            l.max_unauthenticated_per_ip,
                            " connections not yet admitted")
             : absl::StrCat("the appliance already has ", l.max_unauthenticated,
                            " connections not yet admitted");
}

}  // namespace

void Loop::Accept() {
  for (int i = 0; i < 64 && listening_ && !accept_paused_; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        PauseAccept(errno);
      }
      // EAGAIN: drained. ECONNABORTED and the like: that peer is gone; the
      // next event brings the rest.
      return;
    }
    std::string peer_ip;
    std::string peer;
    PeerOf(addr, &peer_ip, &peer);
    const uint64_t id = ++next_id_;
    PoolDecision d = server_->JoinPool(peer_ip, index_, id, fd);
    if (!d.admitted) {
      RefuseAtAccept(fd, peer, d.rule, d.busy);
      HoldAcceptForBurst();
      return;
    }
    if (!SetUpConn(id, fd, peer_ip, peer, d.ticket)) {
      server_->LeavePool(d.ticket);
      close(fd);
    }
  }
}

void Loop::RefuseAtAccept(int fd, const std::string& peer, const char* rule,
                          bool busy) {
  server_->stats_->shard(static_cast<size_t>(index_))
      ->Refused(stats::Refusal::kUnauthenticatedCap);
  server_->LogStranger(
      "refused-cap",
      absl::StrCat("refused peer=", peer, " rule=unauthenticated-cap cap=",
                   rule, " reason=\"", CapText(rule, server_->limits_),
                   busy ? ", each waiting for the appliance to read its "
                          "handshake (a burst of connections); the client "
                          "retries"
                        : ", all of them registered clients' handshakes",
                   "\""));
  // A fatal alert record in the clear, as a server may send before its
  // ServerHello: TLS 1.2 record version, length 2, level fatal, user_canceled.
  static const unsigned char kAlert[] = {0x15, 0x03, 0x03, 0x00,
                                         0x02, 0x02, 90};
  ssize_t ignored = send(fd, kAlert, sizeof(kAlert), MSG_NOSIGNAL);
  (void)ignored;
  shutdown(fd, SHUT_WR);
  // Read what already came (the ClientHello), so the close sends a FIN after
  // the alert rather than a reset that could overtake it.
  char sink[4096];
  ignored = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
  close(fd);
}

void Loop::Evict(uint64_t conn_id, const std::string& rule) {
  Conn* c = Find(conn_id);
  // Admitted or proven registered in the meantime: the pool already let it
  // go, so it stays.
  if (c == nullptr || !c->unauthenticated || c->pool_protected) {
    return;
  }
  c->pool_ticket = 0;  // already out of the pool
  c->stats->evictions.Add();
  // Told in a TLS alert, in whatever state its handshake is, so a client
  // that was merely slow sees why.
  SSL_send_fatal_alert(c->ssl.get(), SSL_AD_USER_CANCELLED);
  ERR_clear_error();
  server_->LogStranger(
      "evicted",
      absl::StrCat("evicted peer=", c->peer, " cap=", rule,
                   " reason=\"the oldest connection not yet admitted makes "
                   "room for a new one: ",
                   CapText(rule.c_str(), server_->limits_), "\""));
  CloseConn(c, "");
}

void Loop::PauseAccept(int error) {
  if (accept_paused_ || !listening_) {
    return;
  }
  accept_paused_ = true;
  accept_resume_at_ = absl::Now() + server_->options_.accept_pause;
  // EPOLLEXCLUSIVE registrations cannot be modified, only removed and added.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  server_->LogStranger(
      "accept-paused",
      absl::StrCat("accept-paused loop=", index_, " reason=\"accept failed: ",
                   ResourceErrorCause(error, server_->limits_.descriptor_limit),
                   "; new connections wait in the listen queue meanwhile\""));
}

void Loop::HoldAcceptForBurst() {
  if (accept_paused_ || !listening_) {
    return;
  }
  // The pool had nothing to evict: it is full of handshakes this appliance
  // has not read yet, or of proven registered clients about to be admitted
  // (a burst, such as a fleet reconnecting after a restart; stalled strangers
  // would have been evicted). Accepting on would only refuse each next one
  // into its client's backoff; left in the kernel's listen queue they wait,
  // in order, for the pool to drain (an admission, a close, or a tick).
  accept_paused_ = true;
  accept_resume_at_ = absl::Now() + server_->options_.tick;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
}

void Loop::ResumeAccept() {
  if (!accept_paused_) {
    return;
  }
  accept_paused_ = false;
  if (!listening_) {
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.u64 = kListenTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
}

}  // namespace trustlink::ntl::server::internal_engine
