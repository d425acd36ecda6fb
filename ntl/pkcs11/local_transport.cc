#include "ntl/pkcs11/local_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/status.h"
#include "ntl/wire/frame.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::pkcs11 {
namespace {

constexpr uint32_t kStreamId =
    1;  // one stream per connection on this transport
constexpr size_t kMaxChunk = 256 * 1024;

absl::Status IoError(absl::string_view what, const std::string& path) {
  return Error(absl::StatusCode::kUnavailable, TL_E_IO,
               absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

// UnixAddress fills `addr` for `path`. A path too long for sun_path is reached
// through /proc/self/fd/<dir fd>/<name>; *dir_fd is then set and must be closed
// after use.
absl::Status UnixAddress(const std::string& path, struct sockaddr_un* addr,
                         int* dir_fd) {
  *dir_fd = -1;
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  std::string target = path;
  if (path.size() >= sizeof(addr->sun_path)) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    if (dir.empty()) {
      dir = "/";
    }
    *dir_fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dir_fd < 0) {
      return IoError("cannot open the directory of socket", path);
    }
    target =
        absl::StrCat("/proc/self/fd/", *dir_fd, "/", path.substr(slash + 1));
    if (target.size() >= sizeof(addr->sun_path)) {
      close(*dir_fd);
      *dir_fd = -1;
      return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                   absl::StrCat("socket name in ", path, " is too long"));
    }
  }
  memcpy(addr->sun_path, target.data(), target.size());
  return absl::OkStatus();
}

// SocketAt is a new unix stream socket that `op` (bind or connect) was run on
// with `path`'s address: `rc` is what op returned, errno as op left it, so the
// caller words its own error. The socket is the caller's to close.
struct SocketAt {
  int fd;
  int rc;
};
absl::StatusOr<SocketAt> UnixSocketAt(const std::string& path,
                                      int (*op)(int, const struct sockaddr*,
                                                socklen_t)) {
  struct sockaddr_un addr;
  int dir_fd;
  if (absl::Status s = UnixAddress(path, &addr, &dir_fd); !s.ok()) {
    return s;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (dir_fd >= 0) {
      close(dir_fd);
    }
    return IoError("cannot make a socket for", path);
  }
  int rc = op(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
  if (dir_fd >= 0) {
    close(dir_fd);
  }
  return SocketAt{fd, rc};
}

bool WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// FrameReader reads frames from a socket into one buffer.
class FrameReader {
 public:
  explicit FrameReader(int fd) : fd_(fd) {}
  // Next returns the next frame, or an error at EOF (NOT_FOUND) or on a bad
  // frame.
  absl::StatusOr<wire::FrameView> Next() {
    if (consumed_ > 0) {
      buf_.erase(0, consumed_);
      consumed_ = 0;
    }
    for (;;) {
      wire::DecodeResult r = wire::DecodeFrame(buf_, wire::kDefaultMaxPayload);
      if (r.kind == wire::DecodeResult::Kind::kFrame) {
        consumed_ = r.consumed;
        return r.frame;
      }
      if (r.kind == wire::DecodeResult::Kind::kError) {
        return r.error;
      }
      char chunk[64 * 1024];
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return absl::NotFoundError("end of stream");
      }
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buf_;
  size_t consumed_ = 0;
};

std::string DataFrames(absl::string_view data) {
  std::string out;
  while (!data.empty()) {
    size_t n = std::min(data.size(), kMaxChunk);
    wire::AppendFrame(wire::FrameType::kStreamData, 0, kStreamId,
                      data.substr(0, n), &out);
    data.remove_prefix(n);
  }
  return out;
}

std::string CloseFrame(int32_t status, std::string message) {
  wire::Closing c;
  c.status = status;
  c.message = std::move(message);
  std::string out;
  wire::AppendFrame(wire::FrameType::kStreamClose, 0, kStreamId,
                    wire::EncodeClosing(c), &out);
  return out;
}

}  // namespace

absl::Status StatusFromTl(int32_t tl_code, absl::string_view message) {
  if (tl_code == TL_OK) {
    return absl::OkStatus();
  }
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  switch (tl_code) {
    case TL_E_PARTITION_NOT_ASSIGNED:
      code = absl::StatusCode::kPermissionDenied;
      break;
    case TL_E_NOT_FOUND:
      code = absl::StatusCode::kNotFound;
      break;
    case TL_E_CANCELLED:
      code = absl::StatusCode::kCancelled;
      break;
    case TL_E_RESOURCE_EXHAUSTED:
      code = absl::StatusCode::kResourceExhausted;
      break;
    default:
      break;
  }
  return Error(code, tl_code, message);
}

// Conn is one accepted connection. The fd is closed only when the last user
// (the reader thread or a sink still held by a session) lets go, so a late Send
// never hits a reused fd.
struct LocalStreamServer::Conn : public StreamSink {
  explicit Conn(int fd) : fd(fd) {}
  ~Conn() override { close(fd); }

  void Send(std::string data) override {
    internal::MutexLock lock(&mu);
    if (!closed) {
      WriteAll(fd, DataFrames(data));
    }
  }
  void Close(int32_t status, std::string message) override {
    internal::MutexLock lock(&mu);
    if (!closed) {
      closed = true;
      WriteAll(fd, CloseFrame(status, std::move(message)));
      shutdown(fd, SHUT_WR);
    }
  }

  const int fd;
  std::thread thread;
  std::atomic<bool> done{false};
  internal::Mutex mu;
  bool closed ABSL_GUARDED_BY(mu) = false;
};

// The sink handed to the service; it keeps the Conn (and so the fd) alive.
class ConnSink : public StreamSink {
 public:
  explicit ConnSink(std::shared_ptr<StreamSink> conn)
      : conn_(std::move(conn)) {}
  void Send(std::string data) override { conn_->Send(std::move(data)); }
  void Close(int32_t status, std::string message) override {
    conn_->Close(status, std::move(message));
  }

 private:
  std::shared_ptr<StreamSink> conn_;
};

absl::StatusOr<std::unique_ptr<LocalStreamServer>> LocalStreamServer::Start(
    const std::string& socket_path, Pkcs11Service* service,
    Authorizer authorize) {
  absl::StatusOr<SocketAt> bound = UnixSocketAt(socket_path, bind);
  if (!bound.ok()) {
    return bound.status();
  }
  int fd = bound->fd;
  if (bound->rc != 0 || listen(fd, 64) != 0) {
    absl::Status s = IoError("cannot listen on", socket_path);
    close(fd);
    return s;
  }
  return std::unique_ptr<LocalStreamServer>(
      new LocalStreamServer(fd, service, std::move(authorize)));
}

LocalStreamServer::LocalStreamServer(int listen_fd, Pkcs11Service* service,
                                     Authorizer authorize)
    : listen_fd_(listen_fd),
      service_(service),
      authorize_(std::move(authorize)) {
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

LocalStreamServer::~LocalStreamServer() {
  std::list<std::shared_ptr<Conn>> conns;
  {
    internal::MutexLock lock(&mu_);
    stopping_ = true;
  }
  shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  close(listen_fd_);
  {
    internal::MutexLock lock(&mu_);
    conns.swap(conns_);
  }
  for (auto& c : conns) {
    shutdown(c->fd, SHUT_RDWR);
  }
  for (auto& c : conns) {
    c->thread.join();
  }
}

void LocalStreamServer::AcceptLoop() {
  for (;;) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      return;  // shut down
    }
    auto conn = std::make_shared<Conn>(fd);
    internal::MutexLock lock(&mu_);
    if (stopping_) {
      return;
    }
    // Join connections that have finished, so a long-running server does not
    // pile them up.
    for (auto it = conns_.begin(); it != conns_.end();) {
      if ((*it)->done.load()) {
        (*it)->thread.join();
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
    conn->thread = std::thread([this, conn] { Serve(conn); });
    conns_.push_back(conn);
  }
}

void LocalStreamServer::Serve(std::shared_ptr<Conn> conn) {
  FrameReader reader(conn->fd);
  std::unique_ptr<StreamSession> session;
  absl::StatusOr<wire::FrameView> first = reader.Next();
  if (first.ok() && first->type == wire::FrameType::kStreamOpen) {
    absl::StatusOr<wire::StreamOpen> open =
        wire::DecodeStreamOpen(first->payload);
    absl::Status allowed;
    if (!open.ok()) {
      allowed = open.status();
    } else if (open->service != kServiceName) {
      allowed =
          Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                absl::StrCat("no stream service '", open->service, "' here"));
    } else {
      allowed = authorize_(open->partition);
    }
    if (allowed.ok()) {
      absl::StatusOr<std::unique_ptr<StreamSession>> s =
          service_->Open(open->partition, std::make_shared<ConnSink>(conn));
      if (s.ok()) {
        session = std::move(*s);
      } else {
        allowed = s.status();
      }
    }
    if (!allowed.ok()) {
      conn->Close(ToTlStatus(allowed), std::string(allowed.message()));
    }
  } else {
    conn->Close(TL_E_PROTOCOL, "expected a stream-open frame first");
  }
  while (session) {
    absl::StatusOr<wire::FrameView> f = reader.Next();
    if (!f.ok() || f->type == wire::FrameType::kStreamClose) {
      break;
    }
    if (f->type == wire::FrameType::kStreamData) {
      session->OnData(f->payload);
    }
  }
  if (session) {
    session->OnClose();
    session.reset();
  }
  conn->done.store(true);
}

namespace {

// LocalChannel is the client end: a socket and a reader thread that runs the
// callbacks.
class LocalChannel : public Channel {
 public:
  LocalChannel(int fd, ChannelCallbacks callbacks)
      : fd_(fd), callbacks_(std::move(callbacks)) {
    reader_ = std::thread([this] { Read(); });
  }
  ~LocalChannel() override {
    Close().IgnoreError();
    close(fd_);
  }

  absl::Status Send(absl::string_view data) override {
    internal::MutexLock lock(&mu_);
    if (closed_ || !WriteAll(fd_, DataFrames(data))) {
      return Error(absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
                   "the pkcs11 stream is closed");
    }
    return absl::OkStatus();
  }

  absl::Status Close() override {
    {
      internal::MutexLock lock(&mu_);
      if (!closed_) {
        closed_ = true;
        WriteAll(fd_, CloseFrame(TL_OK, ""));
      }
    }
    shutdown(fd_, SHUT_RDWR);
    if (reader_.joinable()) {
      reader_.join();
    }
    return absl::OkStatus();
  }

 private:
  void Read() {
    FrameReader reader(fd_);
    absl::Status end =
        Error(absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
              "the connection to the appliance's pkcs11 service was lost");
    for (;;) {
      absl::StatusOr<wire::FrameView> f = reader.Next();
      if (!f.ok()) {
        break;
      }
      if (f->type == wire::FrameType::kStreamData) {
        callbacks_.on_data(f->payload);
      } else if (f->type == wire::FrameType::kStreamClose) {
        absl::StatusOr<wire::Closing> c = wire::DecodeClosing(f->payload);
        end = c.ok() ? StatusFromTl(c->status, c->message) : c.status();
        break;
      }
    }
    callbacks_.on_close(end);
  }

  const int fd_;
  const ChannelCallbacks callbacks_;
  std::thread reader_;
  internal::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Channel>> OpenLocalChannel(
    const std::string& socket_path, absl::string_view partition,
    ChannelCallbacks callbacks) {
  absl::StatusOr<SocketAt> connected = UnixSocketAt(socket_path, connect);
  if (!connected.ok()) {
    return connected.status();
  }
  int fd = connected->fd;
  if (connected->rc != 0) {
    absl::Status s = Error(
        absl::StatusCode::kUnavailable, TL_E_CONNECTION_REFUSED,
        absl::StrCat("cannot connect to the pkcs11 service at ", socket_path,
                     ": ", strerror(errno), "; is the server running?"));
    close(fd);
    return s;
  }
  wire::StreamOpen open;
  open.partition = std::string(partition);
  open.service = kServiceName;
  std::string frame;
  wire::AppendFrame(wire::FrameType::kStreamOpen, 0, kStreamId,
                    wire::EncodeStreamOpen(open), &frame);
  if (!WriteAll(fd, frame)) {
    absl::Status s = IoError("cannot write to", socket_path);
    close(fd);
    return s;
  }
  return std::unique_ptr<Channel>(new LocalChannel(fd, std::move(callbacks)));
}

}  // namespace trustlink::ntl::pkcs11
