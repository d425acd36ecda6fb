#include "benchmarks/peers/tcp_load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "benchmarks/peers/framing.h"

namespace trustlink::peers {
namespace {

int Dial(uint16_t port, bool nonblocking, std::string* error) {
  const int fd =
      socket(AF_INET,
             SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) {
    *error = absl::StrCat("socket: ", strerror(errno));
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 &&
      !(nonblocking && errno == EINPROGRESS)) {
    *error = absl::StrCat("connect 127.0.0.1:", port, ": ", strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& bytes, std::string* error) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n =
        send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      *error = absl::StrCat("send: ", n < 0 ? strerror(errno) : "closed");
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Recv reads once into `in`; false with `error` at end of file or failure.
bool Recv(int fd, FrameBuffer* in, std::string* error) {
  constexpr size_t kChunk = 256 * 1024;
  for (;;) {
    ssize_t n = recv(fd, in->Space(kChunk), kChunk, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      *error = n < 0 ? absl::StrCat("recv: ", strerror(errno))
                     : "the peer closed the connection";
      return false;
    }
    in->Commit(static_cast<size_t>(n));
    return true;
  }
}

// NextResponse blocks until one whole echo response is in `in`; returns its
// data length or -1.
int64_t NextResponse(int fd, FrameBuffer* in, std::string* error) {
  ntl::wire::FrameView f;
  absl::Status st;
  while (!in->Next(&f, &st)) {
    if (!st.ok()) {
      *error = std::string(st.message());
      return -1;
    }
    if (!Recv(fd, in, error)) {
      return -1;
    }
  }
  return EchoResponseLength(f, error);
}

// Sequential runs one call at a time for w.seconds; returns calls done.
Result Sequential(uint16_t port, const Work& w, double* calls) {
  std::string error;
  const int fd = Dial(port, false, &error);
  if (fd < 0) {
    return Result::Fail(error);
  }
  const std::string data(w.size, 'x');
  std::string req;
  FrameBuffer in;
  int64_t n = 0;
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  while ((elapsed = SecondsSince(start)) < w.seconds) {
    req.clear();
    AppendEchoRequest(static_cast<uint32_t>(n + 1), data, &req);
    if (!SendAll(fd, req, &error) ||
        NextResponse(fd, &in, &error) != static_cast<int64_t>(w.size)) {
      close(fd);
      return Result::Fail(error.empty() ? "short echo" : error);
    }
    ++n;
  }
  close(fd);
  *calls = static_cast<double>(n);
  return Result::Of(static_cast<double>(n) / elapsed);
}

}  // namespace

Result TcpRoundTrips(uint16_t port, const Work& w) {
  double calls = 0;
  return Sequential(port, w, &calls);
}

Result TcpBulk(uint16_t port, const Work& w) {
  double calls = 0;
  Result r = Sequential(port, w, &calls);
  if (r.ok) {
    r.value = r.value * static_cast<double>(w.size) / 1e6;
  }
  return r;
}

Result TcpInFlight(uint16_t port, const Work& w) {
  std::string error;
  const int fd = Dial(port, false, &error);
  if (fd < 0) {
    return Result::Fail(error);
  }
  const std::string data(w.size, 'x');
  std::string req;
  FrameBuffer in;
  uint32_t next_id = 1;
  for (int i = 0; i < w.depth; ++i) {
    AppendEchoRequest(next_id++, data, &req);
  }
  int64_t done = 0, outstanding = w.depth;
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  bool ok = SendAll(fd, req, &error);
  while (ok && outstanding > 0) {
    ok = Recv(fd, &in, &error);
    // Every answer read in this wake-up is replaced by a new call, sent in one
    // write: the window stays at w.depth until the time is up.
    req.clear();
    ntl::wire::FrameView f;
    absl::Status st;
    const bool more = (elapsed = SecondsSince(start)) < w.seconds;
    while (ok && in.Next(&f, &st)) {
      if (EchoResponseLength(f, &error) != static_cast<int64_t>(w.size)) {
        ok = false;
        break;
      }
      ++done;
      --outstanding;
      if (more) {
        AppendEchoRequest(next_id++, data, &req);
        ++outstanding;
      }
    }
    if (!st.ok()) {
      error = std::string(st.message());
      ok = false;
    }
    ok = ok && (req.empty() || SendAll(fd, req, &error));
  }
  close(fd);
  if (!ok) {
    return Result::Fail(error.empty() ? "short echo" : error);
  }
  return Result::Of(static_cast<double>(done) / SecondsSince(start));
}

Result TcpOpenLinks(uint16_t port, const Work& w, std::vector<int>* fds) {
  struct Link {
    int fd;
    bool sent = false, done = false;
    FrameBuffer in;
  };
  std::string error;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<std::unique_ptr<Link>> links;
  const std::string data(w.size, 'x');
  std::string req;
  AppendEchoRequest(1, data, &req);
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < w.count; ++i) {
    const int fd = Dial(port, true, &error);
    if (fd < 0) {
      break;
    }
    links.push_back(std::make_unique<Link>());
    links.back()->fd = fd;
    fds->push_back(fd);
    epoll_event e{};
    e.events = EPOLLOUT | EPOLLIN;
    e.data.ptr = links.back().get();
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
  }
  int done = 0;
  epoll_event events[256];
  while (error.empty() && done < w.count) {
    const double left = w.timeout - SecondsSince(start);
    if (left <= 0) {
      error = absl::StrCat("only ", done, " of ", w.count,
                           " connections answered within ", w.timeout, " s");
      break;
    }
    const int n =
        epoll_wait(ep, events, 256, static_cast<int>(left * 1000) + 1);
    for (int i = 0; i < n && error.empty(); ++i) {
      Link* l = static_cast<Link*>(events[i].data.ptr);
      if ((events[i].events & EPOLLOUT) && !l->sent) {
        // The request is far below a socket buffer: one send takes it all.
        if (send(l->fd, req.data(), req.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(req.size())) {
          error = absl::StrCat("send on a new connection: ", strerror(errno));
          break;
        }
        l->sent = true;
        epoll_event e{};
        e.events = EPOLLIN;
        e.data.ptr = l;
        epoll_ctl(ep, EPOLL_CTL_MOD, l->fd, &e);
      }
      if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !l->done) {
        ssize_t r = recv(l->fd, l->in.Space(4096), 4096, 0);
        if (r <= 0) {
          if (r < 0 && errno == EAGAIN) {
            continue;
          }
          error = absl::StrCat("a new connection ended before its answer: ",
                               r < 0 ? strerror(errno) : "closed");
          break;
        }
        l->in.Commit(static_cast<size_t>(r));
        ntl::wire::FrameView f;
        absl::Status st;
        if (l->in.Next(&f, &st)) {
          if (EchoResponseLength(f, &error) != static_cast<int64_t>(w.size)) {
            if (error.empty()) {
              error = "a short echo on a new connection";
            }
            break;
          }
          l->done = true;
          ++done;
          epoll_ctl(ep, EPOLL_CTL_DEL, l->fd, nullptr);
        } else if (!st.ok()) {
          error = std::string(st.message());
        }
      }
    }
  }
  const double secs = SecondsSince(start);
  close(ep);
  if (!error.empty()) {
    return Result::Fail(error);
  }
  return Result::Of(secs);
}

void CloseAll(std::vector<int>* fds) {
  for (int fd : *fds) {
    close(fd);
  }
  fds->clear();
}

}  // namespace trustlink::peers
