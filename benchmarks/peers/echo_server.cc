// peer_echo_server: the plain-TCP peer of the peer harness, and stunnel's
// backend. It answers trustlink echo request frames (framing.h) on loopback,
// one epoll loop on one thread, non-blocking sockets, responses coalesced per
// wake-up: the same framing work ntlsd's software partition does, without TLS.
//
//   peer_echo_server [--listen ADDR]     (default 127.0.0.1; the port is the
//                                         kernel's: "port N" on stdout)
//
// It serves until stdin reaches end of file (its parent went away) or a
// signal ends it.

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <unordered_map>

#include "benchmarks/peers/dial.h"
#include "benchmarks/peers/framing.h"

namespace trustlink::peers {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

struct Conn {
  int fd = -1;
  FrameBuffer in;
  std::string out;
  size_t out_sent = 0;
  bool want_write = false;
};

// Serve runs the loop until stdin closes. Returns the process exit status.
int Serve(int listen_fd) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  ev.data.fd = STDIN_FILENO;
  epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev);
  std::unordered_map<int, std::unique_ptr<Conn>> conns;

  auto close_conn = [&](Conn* c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
    conns.erase(c->fd);
  };
  // Flush writes what it can; a short write waits for EPOLLOUT.
  auto flush = [&](Conn* c) -> bool {
    while (c->out_sent < c->out.size()) {
      const ssize_t n = RetryEintr([&] {
        return send(c->fd, c->out.data() + c->out_sent,
                    c->out.size() - c->out_sent, MSG_NOSIGNAL);
      });
      if (n < 0 && errno == EAGAIN) {
        break;
      }
      if (n <= 0) {
        return false;
      }
      c->out_sent += static_cast<size_t>(n);
    }
    if (c->out_sent == c->out.size()) {
      c->out.clear();
      c->out_sent = 0;
    }
    const bool want = !c->out.empty();
    if (want != c->want_write) {
      epoll_event e{};
      e.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
      e.data.fd = c->fd;
      epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
      c->want_write = want;
    }
    return true;
  };
  // One receive buffer for all connections: an idle connection holds only the
  // bytes of a frame it has not finished, as a careful server's would.
  std::unique_ptr<char[]> scratch(new char[kReadChunk]);
  // OnReadable drains the socket, answers every whole frame, then writes once.
  auto on_readable = [&](Conn* c) -> bool {
    for (;;) {
      const ssize_t n =
          RetryEintr([&] { return recv(c->fd, scratch.get(), kReadChunk, 0); });
      if (n < 0 && errno == EAGAIN) {
        break;
      }
      if (n <= 0) {
        return false;
      }
      c->in.Append(scratch.get(), static_cast<size_t>(n));
      if (static_cast<size_t>(n) < kReadChunk) {
        break;
      }
    }
    ntl::wire::FrameView f;
    absl::Status error;
    while (c->in.Next(&f, &error)) {
      error = AppendEchoResponse(f, &c->out);
      if (!error.ok()) {
        break;
      }
    }
    if (!error.ok()) {
      fprintf(stderr, "peer_echo_server: closing a connection: %s\n",
              std::string(error.message()).c_str());
      return false;
    }
    return flush(c);
  };

  epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      perror("peer_echo_server: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == STDIN_FILENO) {
        char b[256];
        if (read(STDIN_FILENO, b, sizeof(b)) <= 0) {
          return 0;
        }
        continue;
      }
      if (fd == listen_fd) {
        for (;;) {
          int c = accept4(listen_fd, nullptr, nullptr,
                          SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) {
            break;
          }
          const int one = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          auto conn = std::make_unique<Conn>();
          conn->fd = c;
          epoll_event e{};
          e.events = EPOLLIN;
          e.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
          conns[c] = std::move(conn);
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) {
        continue;
      }
      Conn* c = it->second.get();
      bool ok = true;
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ok = on_readable(c);
      }
      if (ok && (events[i].events & EPOLLOUT)) {
        ok = flush(c);
      }
      if (!ok) {
        close_conn(c);
      }
    }
  }
}

}  // namespace
}  // namespace trustlink::peers

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1";
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
      addr = argv[++i];
    } else {
      fprintf(stderr, "usage: peer_echo_server [--listen IPV4ADDR]\n");
      return 2;
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (inet_pton(AF_INET, addr.c_str(), &a.sin_addr) != 1) {
    fprintf(stderr,
            "peer_echo_server: --listen wants an IPv4 address, not '%s'\n",
            addr.c_str());
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(fd, 4096) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    fprintf(stderr, "peer_echo_server: cannot listen on %s: %s\n", addr.c_str(),
            strerror(errno));
    return 1;
  }
  printf("port %u\n", ntohs(a.sin_port));
  fflush(stdout);
  return trustlink::peers::Serve(fd);
}
