#include "htl/proof_service.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "htl/internal/thread.h"
#include "ntl/internal/poll_until.h"
#include "ntl/status.h"
#include "ntl/wire/bytes.h"

namespace trustlink::htl {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kMaxMessage = 4096;
constexpr absl::Duration kPeerTimeout = absl::Seconds(2);

absl::Status Sys(absl::string_view what) {
  return ntl::Error(absl::StatusCode::kInternal, TL_E_IO,
                    absl::StrCat(what, ": ", std::strerror(errno)));
}

// IoFull reads or writes exactly `len` bytes before `deadline`.
// A readable `cancel_fd` (when >= 0) ends it early (PollUntil).
bool IoFull(int fd, char* buf, size_t len, bool write, absl::Time deadline,
            int cancel_fd = -1) {
  size_t done = 0;
  while (done < len) {
    if (ntl::internal::PollUntil(fd, write ? POLLOUT : POLLIN, deadline,
                                 cancel_fd) <= 0)
      return false;
    const ssize_t n = write ? ::send(fd, buf + done, len - done, MSG_NOSIGNAL)
                            : ::recv(fd, buf + done, len - done, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool SendMessage(int fd, const std::string& body, absl::Time deadline,
                 int cancel_fd = -1) {
  std::string framed;
  ntl::wire::ByteWriter w(&framed);
  w.String(body);
  return IoFull(fd, framed.data(), framed.size(), true, deadline, cancel_fd);
}

bool ReadMessage(int fd, std::string* body, absl::Time deadline,
                 int cancel_fd = -1) {
  char len_buf[4];
  if (!IoFull(fd, len_buf, 4, false, deadline, cancel_fd)) return false;
  ntl::wire::ByteReader r(absl::string_view(len_buf, 4));
  const uint32_t len = r.U32();
  if (len > kMaxMessage) return false;
  body->resize(len);
  return IoFull(fd, body->data(), len, false, deadline, cancel_fd);
}

// ConnectBefore connects the non-blocking AF_UNIX socket `fd` to `addr`,
// giving up at `deadline` or when `cancel_fd` (if >= 0) is readable; it
// returns "" on success, else why it failed.
//
// A blocking connect() to a unix stream listener whose backlog is full sleeps
// until the listener accepts, with no limit. Non-blocking, Linux answers
// EAGAIN and leaves the socket unconnected, and nothing signals when the
// backlog has room again: poll() on the unconnected socket reports POLLOUT
// (and POLLHUP) at once, so waiting for writability would spin. So EAGAIN is
// retried after a short, growing pause until the deadline. EINPROGRESS, which
// POSIX allows but Linux does not use for AF_UNIX, is waited out with poll().
std::string ConnectBefore(int fd, const struct sockaddr_un& addr,
                          absl::Time deadline, int cancel_fd) {
  absl::Duration pause = absl::Milliseconds(1);
  for (;;) {
    if (::connect(fd, reinterpret_cast<const struct sockaddr*>(&addr),
                  sizeof(addr)) == 0) {
      return "";
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EINPROGRESS) {
      const int r = ntl::internal::PollUntil(fd, POLLOUT, deadline, cancel_fd);
      if (r <= 0) return r == 0 ? "connect timed out" : std::strerror(errno);
      int so_error = 0;
      socklen_t len = sizeof(so_error);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      return so_error == 0 ? "" : std::strerror(so_error);
    }
    if (err != EAGAIN) return std::strerror(err);
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return "its connection backlog stayed full until the deadline: a hung "
             "agent?";
    }
    const absl::Duration wait = std::min(pause, left);
    // A timed wait that EINTR, or a cancel, cuts short.
    pollfd cancel{cancel_fd, POLLIN, 0};
    if (::poll(&cancel, cancel_fd >= 0 ? 1 : 0,
               static_cast<int>(std::max<int64_t>(
                   1, absl::ToInt64Milliseconds(wait)))) > 0) {
      return "cancelled";
    }
    pause = std::min(pause * 2, absl::Milliseconds(20));
  }
}

absl::Status PrepareDirectory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Sys(absl::StrCat("cannot create ", dir));
  }
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0)
    return Sys(absl::StrCat("cannot stat ", dir));
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 077) != 0) {
    return ntl::Error(
        absl::StatusCode::kPermissionDenied, TL_E_PERMISSION_DENIED,
        absl::StrCat("the HTL proof socket directory ", dir,
                     " must be a directory owned by this user with mode 0700; "
                     "run chmod 700 ",
                     dir));
  }
  return absl::OkStatus();
}

}  // namespace

std::string DefaultProofSocketPath() {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  if (runtime != nullptr && runtime[0] == '/') {
    return absl::StrCat(runtime, "/trustlink/htl-agent.sock");
  }
  return absl::StrCat("/tmp/trustlink-", ::geteuid(), "/htl-agent.sock");
}

absl::StatusOr<std::unique_ptr<ProofService>> ProofService::Start(
    const std::string& socket_path, Prover prover) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path) ||
      socket_path[0] != '/') {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                      absl::StrCat("HTL proof socket path '", socket_path,
                                   "' must be absolute and shorter than ",
                                   sizeof(addr.sun_path), " bytes"));
  }
  const std::string dir = socket_path.substr(0, socket_path.rfind('/'));
  if (absl::Status s = PrepareDirectory(dir.empty() ? "/" : dir); !s.ok())
    return s;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  // A socket left by a crashed agent is stale; a live agent still answers on
  // it.
  if (RequestLinkProof(socket_path, "", std::string(32, '\0'),
                       absl::Milliseconds(500))
          .status()
          .code() != absl::StatusCode::kUnavailable) {
    return ntl::Error(absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
                      absl::StrCat("another HTL agent is already serving ",
                                   socket_path, "; stop it first"));
  }
  ::unlink(socket_path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Sys("socket");
  const mode_t old = ::umask(0177);
  const int b =
      ::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
  ::umask(old);
  if (b != 0 || ::chmod(socket_path.c_str(), 0600) != 0 ||
      ::listen(fd, 64) != 0) {
    absl::Status s = Sys(absl::StrCat("cannot listen on ", socket_path));
    ::close(fd);
    return s;
  }
  const int stop_fd = ::eventfd(0, EFD_CLOEXEC);
  if (stop_fd < 0) {
    ::close(fd);
    return Sys("eventfd");
  }
  std::unique_ptr<ProofService> svc(
      new ProofService(socket_path, fd, stop_fd, std::move(prover)));
  svc->thread_ = internal::StartThread([s = svc.get()] { s->Serve(); });
  return svc;
}

ProofService::~ProofService() { Stop(); }

void ProofService::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof(one));
  thread_.join();
  ::close(listen_fd_);
  ::close(stop_fd_);
  ::unlink(path_.c_str());
}

int ProofService::refused_peers() const { return refused_.load(); }

void ProofService::Serve() {
  for (;;) {
    struct pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents != 0) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    HandleConnection(fd);
    ::close(fd);
  }
}

void ProofService::HandleConnection(int fd) {
  struct ucred cred = {};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      cred.uid != ::geteuid()) {
    refused_.fetch_add(1);
    return;  // another user: told nothing
  }
  const absl::Time deadline = absl::Now() + kPeerTimeout;
  std::string body;
  if (!ReadMessage(fd, &body, deadline)) return;
  ntl::wire::ByteReader r(body);
  const uint8_t version = r.U8();
  const std::string appliance(r.String(256));
  const std::string exporter(r.String(256));
  std::string reply;
  ntl::wire::ByteWriter w(&reply);
  if (!r.Done() || version != kVersion) {
    w.I32(TL_E_PROTOCOL);
    w.String("malformed HTL proof request");
  } else {
    absl::StatusOr<LinkProof> proof =
        appliance.empty() ? absl::StatusOr<LinkProof>(ntl::Error(
                                absl::StatusCode::kInvalidArgument,
                                TL_E_INVALID_ARGUMENT, "no appliance named"))
                          : prover_(appliance, exporter);
    if (proof.ok()) {
      w.I32(TL_OK);
      w.String(EncodeLinkProof(*proof));
    } else {
      w.I32(ntl::ToTlStatus(proof.status()));
      w.String(proof.status().message());
    }
  }
  (void)SendMessage(fd, reply, deadline);
}

absl::Status AgentUnavailable(absl::string_view socket_path,
                              absl::string_view why) {
  return ntl::Error(
      absl::StatusCode::kUnavailable, TL_E_HTL_AGENT_UNAVAILABLE,
      absl::StrCat("no HTL agent answers on ", socket_path, " (", why,
                   "); start the HTL agent for this user (tl_htl_agent_start), "
                   "it proves HTL for links to servers registered with HTL"));
}

absl::StatusOr<LinkProof> RequestLinkProof(const std::string& socket_path,
                                           absl::string_view appliance,
                                           absl::string_view exporter,
                                           absl::Duration timeout,
                                           int cancel_fd) {
  // One deadline for the whole exchange, connect included: the caller may be
  // a link waiting on the answer.
  const absl::Time deadline = absl::Now() + timeout;
  auto unavailable = [&](absl::string_view why) {
    return AgentUnavailable(socket_path, why);
  };
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path))
    return unavailable("path too long");
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  const int fd =
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return unavailable(std::strerror(errno));
  if (const std::string why = ConnectBefore(fd, addr, deadline, cancel_fd);
      !why.empty()) {
    ::close(fd);
    return unavailable(why);
  }
  std::string req;
  ntl::wire::ByteWriter w(&req);
  w.U8(kVersion);
  w.String(appliance);
  w.String(exporter);
  std::string reply;
  const bool ok = SendMessage(fd, req, deadline, cancel_fd) &&
                  ReadMessage(fd, &reply, deadline, cancel_fd);
  ::close(fd);
  if (!ok) return unavailable("it did not answer");
  ntl::wire::ByteReader r(reply);
  const int32_t status = r.I32();
  const std::string data(r.String(kMaxMessage));
  if (!r.Done()) return unavailable("malformed answer");
  if (status != TL_OK) {
    return ntl::Error(absl::StatusCode::kFailedPrecondition, status,
                      absl::StrCat("HTL agent: ", data));
  }
  return DecodeLinkProof(data);
}

}  // namespace trustlink::htl
