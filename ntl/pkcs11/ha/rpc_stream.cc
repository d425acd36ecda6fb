#include "ntl/pkcs11/ha/rpc_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ntl/pkcs11/ha/wipe.h"
#include "ntl/status.h"

extern char** environ;

namespace trustlink::ntl::pkcs11::ha {
namespace {

// The server sends no options; ours are the module name.
constexpr uint32_t kMaxOptions = 4096;

void Put32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

uint32_t Get32(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) |
         (uint32_t{u[2]} << 8) | u[3];
}

int PollMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) {
    return 0;
  }
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60000));
}

// NoSigpipe keeps a write to a pipe whose reader died from killing the
// process: SIGPIPE is blocked for this thread while it lives, and one that
// the write raised is taken before it is unblocked. The process's own
// disposition is never changed (the bridge lives inside an application).
class NoSigpipe {
 public:
  NoSigpipe() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~NoSigpipe() {
    if (!was_pending_) {
      const struct timespec zero = {0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RpcStream>> RpcStream::Start(
    RpcStreamOptions options) {
  if (options.argv.empty() || options.argv[0].empty() ||
      options.argv[0][0] != '/') {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 absl::StrCat("the bridge command for ", options.peer,
                              " does not start with an absolute path; run "
                              "vtl p11 setup"));
  }
  ChildSpec spec;
  spec.path = options.argv[0];
  spec.argv = options.argv;
  spec.env = options.env;
  if (spec.env.empty()) {
    // As p11-kit starts a module's command: with the application's
    // environment (the client root, HOME).
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      spec.env.emplace_back(*e);
    }
  }
  absl::StatusOr<Child> child = Child::Spawn(spec);
  if (!child.ok()) {
    return child.status();
  }
  std::unique_ptr<RpcStream> s(new RpcStream(std::move(options)));
  s->child_ = std::move(*child);
  for (int fd :
       {s->child_.stdin_fd(), s->child_.stdout_fd(), s->child_.stderr_fd()}) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  // The protocol version byte each way: we speak version 0, as p11-kit
  // 0.24.1 does; a server may only answer with a version we offered.
  absl::Time deadline = absl::Now() + s->options_.start_timeout;
  if (absl::Status st = s->WriteAll(std::string(1, '\0'), deadline); !st.ok()) {
    return st;
  }
  char version = 0;
  if (absl::Status st = s->ReadExact(&version, 1, deadline, "version byte");
      !st.ok()) {
    return st;
  }
  if (version != 0) {
    return s->Broken(
        absl::StatusCode::kDataLoss, TL_E_PROTOCOL,
        absl::StrCat("answered protocol version ", static_cast<int>(version),
                     " to our version 0"));
  }
  return s;
}

RpcStream::~RpcStream() {
  child_.CloseStdin();
  child_.Reap(absl::Seconds(2));
}

absl::Status RpcStream::Broken(absl::StatusCode code, int32_t tl,
                               const std::string& what) {
  broken_ = true;
  ReadStderr();
  std::string lines = stderr_tail_.Lines();
  std::string tail;
  if (!lines.empty()) {
    tail = absl::StrCat(" (its bridge said: ", lines, ")");
  }
  return Error(
      code, tl,
      absl::StrCat("key-transfer stream to ", options_.peer, ": ", what, tail));
}

StderrTail::Pass StderrTail::ReadPass(int fd) {
  char buf[4096];
  for (size_t pass = 0; pass < kPerPass;) {
    ssize_t n = read(fd, buf, std::min(sizeof(buf), kPerPass - pass));
    if (n > 0) {
      pass += n;
      tail_.append(buf, n);
      if (tail_.size() > kKeep) {
        tail_.erase(0, tail_.size() - kKeep);
        cut_ = true;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n == 0 ? Pass::kEnded : Pass::kDry;
  }
  return Pass::kMore;
}

std::string StderrTail::Lines() const {
  absl::string_view t = tail_;
  if (cut_) {
    // Drop the line whose start the bound cut off, when a whole one follows.
    size_t nl = t.find('\n');
    if (nl != absl::string_view::npos && nl + 1 < t.size()) {
      t.remove_prefix(nl + 1);
    }
  }
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) {
    t.remove_suffix(1);
  }
  return absl::StrJoin(absl::StrSplit(t, '\n'), "; ");
}

void RpcStream::ReadStderr() {
  int fd = child_.stderr_fd();
  if (fd >= 0 && stderr_tail_.ReadPass(fd) == StderrTail::Pass::kEnded) {
    child_.CloseStderr();
  }
}

absl::Status RpcStream::WriteAll(const std::string& data, absl::Time deadline) {
  NoSigpipe no_sigpipe;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        write(child_.stdin_fd(), data.data() + done, data.size() - done);
    if (n > 0) {
      done += n;
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno != EAGAIN) {
      return Broken(absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
                    absl::StrCat("sending failed (", strerror(errno),
                                 "): the bridge has ended"));
    }
    struct pollfd p[2] = {{child_.stdin_fd(), POLLOUT, 0},
                          {child_.stderr_fd(), POLLIN, 0}};
    int timeout = PollMs(deadline);
    if (timeout == 0) {
      return Broken(absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
                    "the bridge stopped reading");
    }
    if (poll(p, p[1].fd >= 0 ? 2 : 1, timeout) > 0 && p[1].revents != 0) {
      ReadStderr();
    }
  }
  return absl::OkStatus();
}

absl::Status RpcStream::ReadExact(char* out, size_t n, absl::Time deadline,
                                  const char* what) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = read(child_.stdout_fd(), out + done, n - done);
    if (r > 0) {
      done += r;
      continue;
    }
    if (r == 0) {
      return Broken(
          absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
          absl::StrCat("the stream ended while waiting for the ", what));
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN) {
      return Broken(
          absl::StatusCode::kUnavailable, TL_E_IO,
          absl::StrCat("reading the ", what, " failed: ", strerror(errno)));
    }
    int timeout = PollMs(deadline);
    if (timeout == 0) {
      return Broken(absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
                    absl::StrCat("no ", what, " within the deadline"));
    }
    struct pollfd p[2] = {{child_.stdout_fd(), POLLIN, 0},
                          {child_.stderr_fd(), POLLIN, 0}};
    if (poll(p, p[1].fd >= 0 ? 2 : 1, timeout) > 0 && p[1].revents != 0) {
      ReadStderr();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RpcStream::Call(const std::string& body) {
  if (absl::Status st = Send(body); !st.ok()) {
    return st;
  }
  return Receive();
}

absl::Status RpcStream::Send(const std::string& body) {
  if (broken_) {
    return Error(absl::StatusCode::kUnavailable, TL_E_CONNECTION_LOST,
                 absl::StrCat("key-transfer stream to ", options_.peer,
                              " failed earlier; it is opened again when the "
                              "member returns"));
  }
  if (body.size() > options_.max_message) {
    return Error(
        absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
        absl::StrCat("key-transfer stream to ", options_.peer,
                     ": a request of ", body.size(),
                     " bytes is over its limit of ", options_.max_message,
                     " (RpcStreamOptions::max_message); the key is too large "
                     "to copy this way"));
  }
  uint32_t code = next_code_++;
  std::string frame(12, '\0');
  Put32(&frame[0], code);
  Put32(&frame[4], static_cast<uint32_t>(options_.module_name.size()));
  Put32(&frame[8], static_cast<uint32_t>(body.size()));
  frame += options_.module_name;
  frame += body;
  absl::Status st = WriteAll(frame, absl::Now() + options_.call_timeout);
  ZeroString(&frame);  // it may hold a PIN
  if (st.ok()) {
    waiting_.push_back(code);
  }
  return st;
}

absl::StatusOr<std::string> RpcStream::Receive() {
  if (broken_ || waiting_.empty()) {
    return Error(absl::StatusCode::kFailedPrecondition, TL_E_INTERNAL,
                 absl::StrCat("key-transfer stream to ", options_.peer, ": ",
                              broken_ ? "failed earlier" : "no request waits",
                              "; nothing to receive"));
  }
  uint32_t code = waiting_.front();
  waiting_.pop_front();
  absl::Time deadline = absl::Now() + options_.call_timeout;
  char header[12];
  absl::Status st = ReadExact(header, 12, deadline, "answer's header");
  if (!st.ok()) {
    return st;
  }
  uint32_t got = Get32(header), olen = Get32(header + 4),
           dlen = Get32(header + 8);
  if (got != code) {
    return Broken(absl::StatusCode::kDataLoss, TL_E_PROTOCOL,
                  absl::StrCat("the answer carries reply code ", got, " where ",
                               code, " was sent"));
  }
  if (olen > kMaxOptions || dlen > options_.max_message) {
    return Broken(
        absl::StatusCode::kDataLoss, TL_E_PROTOCOL,
        absl::StrCat("the answer announces ", olen, " option bytes and ", dlen,
                     " body bytes, over the limits of ", kMaxOptions, " and ",
                     options_.max_message));
  }
  std::string opts(olen, '\0'), reply(dlen, '\0');
  if (olen > 0 &&
      !(st = ReadExact(&opts[0], olen, deadline, "answer's options")).ok()) {
    return st;
  }
  if (dlen > 0 &&
      !(st = ReadExact(&reply[0], dlen, deadline, "answer's body")).ok()) {
    return st;
  }
  return reply;
}

}  // namespace trustlink::ntl::pkcs11::ha
