#include "benchmarks/peers/tcp_load.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "benchmarks/peers/dial.h"
#include "benchmarks/peers/framing.h"

namespace trustlink::peers {
namespace {

bool SendAll(int fd, const std::string& bytes, std::string* error) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = RetryEintr([&] {
      return send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    });
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
  const ssize_t n =
      RetryEintr([&] { return recv(fd, in->Space(kChunk), kChunk, 0); });
  if (n <= 0) {
    *error = n < 0 ? absl::StrCat("recv: ", strerror(errno))
                   : "the peer closed the connection";
    return false;
  }
  in->Commit(static_cast<size_t>(n));
  return true;
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

// Session is one blocking connection with a workload's payload and buffers.
struct Session {
  int fd = -1;
  std::string data, req, error;
  FrameBuffer in;

  Session(uint16_t port, size_t size)
      : fd(DialLoopback(port, false, &error)), data(size, 'x') {}
  ~Session() {
    if (fd >= 0) {
      close(fd);
    }
  }
};

// Sequential runs one call at a time for w.seconds; the result is calls/s.
Result Sequential(uint16_t port, const Work& w) {
  Session s(port, w.size);
  if (s.fd < 0) {
    return Result::Fail(s.error);
  }
  int64_t n = 0;
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  while ((elapsed = SecondsSince(start)) < w.seconds) {
    s.req.clear();
    AppendEchoRequest(static_cast<uint32_t>(n + 1), s.data, &s.req);
    if (!SendAll(s.fd, s.req, &s.error) ||
        NextResponse(s.fd, &s.in, &s.error) != static_cast<int64_t>(w.size)) {
      return Result::Fail(s.error.empty() ? "short echo" : s.error);
    }
    ++n;
  }
  return Result::Of(static_cast<double>(n) / elapsed);
}

}  // namespace

Result TcpRoundTrips(uint16_t port, const Work& w) {
  return Sequential(port, w);
}

Result TcpBulk(uint16_t port, const Work& w) {
  Result r = Sequential(port, w);
  if (r.ok) {
    r.value = r.value * static_cast<double>(w.size) / 1e6;
  }
  return r;
}

Result TcpInFlight(uint16_t port, const Work& w) {
  Session s(port, w.size);
  if (s.fd < 0) {
    return Result::Fail(s.error);
  }
  uint32_t next_id = 1;
  for (int i = 0; i < w.depth; ++i) {
    AppendEchoRequest(next_id++, s.data, &s.req);
  }
  int64_t done = 0, outstanding = w.depth;
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  bool ok = SendAll(s.fd, s.req, &s.error);
  while (ok && outstanding > 0) {
    ok = Recv(s.fd, &s.in, &s.error);
    // Every answer read in this wake-up is replaced by a new call, sent in one
    // write: the window stays at w.depth until the time is up.
    s.req.clear();
    ntl::wire::FrameView f;
    absl::Status st;
    const bool more = (elapsed = SecondsSince(start)) < w.seconds;
    while (ok && s.in.Next(&f, &st)) {
      if (EchoResponseLength(f, &s.error) != static_cast<int64_t>(w.size)) {
        ok = false;
        break;
      }
      ++done;
      --outstanding;
      if (more) {
        AppendEchoRequest(next_id++, s.data, &s.req);
        ++outstanding;
      }
    }
    if (!st.ok()) {
      s.error = std::string(st.message());
      ok = false;
    }
    ok = ok && (s.req.empty() || SendAll(s.fd, s.req, &s.error));
  }
  if (!ok) {
    return Result::Fail(s.error.empty() ? "short echo" : s.error);
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
    const int fd = DialLoopback(port, true, &error);
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
