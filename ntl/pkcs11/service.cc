#include "ntl/pkcs11/service.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ntl/pkcs11/child.h"
#include "ntl/pkcs11/rpc_coalescer.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11 {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kStderrTail = 2048;

// Describe names the partitions a stream serves, for messages.
std::string Describe(const std::vector<std::string>& partitions) {
  std::string out = partitions.size() == 1 ? "partition " : "partitions ";
  for (size_t i = 0; i < partitions.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "'" : ", '", partitions[i], "'");
  }
  return out;
}

void SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) {
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  }
}

}  // namespace

// Core is one stream: the child, the bytes waiting for it, and the thread that
// pumps them. Thread safety: Push, PeerClosed and Abort are called from other
// threads and only touch members under mu_; the child's stdin is written and
// closed only under mu_; everything else belongs to the session thread.
class Pkcs11Service::Core {
 public:
  Core(Pkcs11Service* service, std::vector<std::string> partitions,
       std::shared_ptr<StreamSink> sink, Child child, int wake_fd)
      : service_(service),
        options_(service->options_),
        partitions_(std::move(partitions)),
        partition_(Describe(partitions_)),
        sink_(std::move(sink)),
        child_(std::move(child)),
        wake_fd_(wake_fd) {
    SetNonBlocking(child_.stdin_fd());
  }
  ~Core() { close(wake_fd_); }

  bool Serves(absl::string_view partition) const {
    for (const std::string& p : partitions_) {
      if (p == partition) {
        return true;
      }
    }
    return false;
  }

  // Push writes the client's bytes to the child at once when nothing is
  // queued before them (the usual case: one RPC request at a time), so the
  // session thread wakes only for the answer; what the pipe does not take
  // waits in inbound_ for the session thread.
  void Push(absl::string_view data) {
    {
      internal::MutexLock lock(&mu_);
      if (peer_closed_ || overflow_ || ended_) {
        return;
      }
      if (inbound_.empty()) {
        data.remove_prefix(WriteToChildLocked(data));
        if (data.empty()) {
          return;
        }
      }
      if (inbound_.size() + data.size() > options_.max_pending_bytes) {
        overflow_ = true;
        inbound_.clear();
      } else {
        inbound_.append(data.data(), data.size());
      }
    }
    Wake();
  }

  void PeerClosed() {
    {
      internal::MutexLock lock(&mu_);
      peer_closed_ = true;
    }
    Wake();
  }

  void Abort(int32_t status, std::string message) {
    {
      internal::MutexLock lock(&mu_);
      if (aborted_) {
        return;
      }
      aborted_ = true;
      abort_status_ = status;
      abort_message_ = std::move(message);
    }
    Wake();
  }

  // Run is the session thread's body.
  void Run() {
    Pump();
    // The child is gone or going: nothing more is written to it.
    internal::MutexLock lock(&mu_);
    ended_ = true;
  }

  void Pump() {
    std::string err_tail;
    // p11-kit remote writes an answer's header and body separately; they go
    // to the client as one frame and one TLS record (rpc_coalescer.h).
    RpcCoalescer to_client(options_.max_hold);
    auto send = [&](std::string bytes) {
      if (!bytes.empty()) {
        sink_->Send(std::move(bytes));
      }
    };
    for (;;) {
      bool peer_closed, aborted, overflow;
      int32_t abort_status = 0;
      std::string abort_message;
      int stdin_to_poll = -1;
      {
        internal::MutexLock lock(&mu_);
        if (!inbound_.empty()) {
          stdin_to_poll = child_.stdin_fd();
        }
        peer_closed = peer_closed_;
        aborted = aborted_;
        overflow = overflow_;
        abort_status = abort_status_;
        abort_message = abort_message_;
      }
      if (aborted) {
        child_.Kill(SIGKILL);
        child_.Reap(absl::ZeroDuration());
        sink_->Close(abort_status, abort_message);
        return;
      }
      if (overflow) {
        child_.Kill(SIGKILL);
        child_.Reap(absl::ZeroDuration());
        sink_->Close(
            TL_E_RESOURCE_EXHAUSTED,
            absl::StrCat("pkcs11 stream on ", partition_, " sent more than ",
                         options_.max_pending_bytes,
                         " bytes without reading the answers; closed"));
        return;
      }
      if (peer_closed) {
        // The client is gone: nobody reads answers. p11-kit ends at EOF on
        // stdin, which also finalises the module cleanly (sessions closed,
        // token files consistent).
        CloseStdin();
        child_.Reap(options_.exit_grace);
        return;
      }

      struct pollfd p[4] = {
          {wake_fd_, POLLIN, 0},
          {child_.stdout_fd(), POLLIN, 0},
          {child_.stderr_fd(), POLLIN, 0},
          {stdin_to_poll, POLLOUT, 0},
      };
      if (poll(p, 4, to_client.PollTimeoutMs()) < 0) {
        if (errno == EINTR) {
          continue;
        }
        Fail(absl::StrCat("poll failed: ", strerror(errno)), err_tail);
        return;
      }
      send(to_client.TakeDue());
      if (p[0].revents != 0) {
        uint64_t n;
        (void)!read(wake_fd_, &n, sizeof(n));
      }
      if (p[3].revents != 0) {
        internal::MutexLock lock(&mu_);
        inbound_.erase(0, WriteToChildLocked(inbound_));
      }
      if (p[2].revents != 0) {
        char buf[1024];
        ssize_t n = read(child_.stderr_fd(), buf, sizeof(buf));
        if (n > 0) {
          err_tail.append(buf, static_cast<size_t>(n));
          if (err_tail.size() > kStderrTail) {
            err_tail.erase(0, err_tail.size() - kStderrTail);
          }
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          child_.CloseStderr();
        }
      }
      if (p[1].revents != 0) {
        // Read into the session's buffer and keep only what came: an RPC
        // answer is usually a few hundred bytes, and a fresh zero-filled
        // 64 KiB string per answer cost more than the copy.
        ssize_t n = read(child_.stdout_fd(), read_buf_.get(), kReadChunk);
        if (n > 0) {
          to_client.Add(
              absl::string_view(read_buf_.get(), static_cast<size_t>(n)));
          send(to_client.TakeReady());
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          send(to_client.TakeAll());
          ChildEnded(err_tail);
          return;
        }
      }
    }
  }

  Pkcs11Service* service() const { return service_; }

 private:
  void Wake() {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }

  // WriteToChildLocked writes what the child's stdin takes without blocking
  // and returns how much that was. On EPIPE (the child is gone; its stdout
  // reaches EOF next and says why) the rest is dropped: it returns data.size().
  size_t WriteToChildLocked(absl::string_view data)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (child_.stdin_fd() < 0) {
      return data.size();
    }
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n =
          write(child_.stdin_fd(), data.data() + done, data.size() - done);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        break;
      } else {
        child_.CloseStdin();
        return data.size();
      }
    }
    return done;
  }

  void CloseStdin() {
    internal::MutexLock lock(&mu_);
    child_.CloseStdin();
  }

  // ChildEnded: p11-kit closed its stdout while the client still wanted it.
  void ChildEnded(std::string err_tail) {
    CloseStdin();
    int status = child_.Reap(options_.exit_grace);
    DrainStderr(&err_tail);
    Fail(absl::StrCat("p11-kit for ", partition_, " ",
                      DescribeWaitStatus(status)),
         err_tail);
  }

  void DrainStderr(std::string* err_tail) {
    while (child_.stderr_fd() >= 0) {
      char buf[1024];
      ssize_t n = read(child_.stderr_fd(), buf, sizeof(buf));
      if (n <= 0) {
        child_.CloseStderr();
        break;
      }
      err_tail->append(buf, static_cast<size_t>(n));
    }
    if (err_tail->size() > kStderrTail) {
      err_tail->erase(0, err_tail->size() - kStderrTail);
    }
  }

  void Fail(const std::string& what, const std::string& err_tail) {
    child_.Kill(SIGKILL);
    child_.Reap(absl::ZeroDuration());
    std::string message = what;
    if (!err_tail.empty()) {
      absl::StrAppend(&message, ": ", err_tail);
    }
    sink_->Close(TL_E_UNAVAILABLE, message);
  }

  // Used only by the session thread, which the service's destructor waits for;
  // a Session that outlives the service touches only the Core's own members.
  Pkcs11Service* const service_;
  const ServiceOptions options_;
  const std::vector<std::string> partitions_;
  const std::string partition_;  // "partition 'A'" or "partitions 'A', 'B'"
  const std::shared_ptr<StreamSink> sink_;
  Child child_;
  const int wake_fd_;
  // Not zero-filled; only the session thread uses it.
  const std::unique_ptr<char[]> read_buf_{new char[kReadChunk]};

  internal::Mutex mu_;
  std::string inbound_ ABSL_GUARDED_BY(mu_);
  bool peer_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;  // Pump has returned
  bool overflow_ ABSL_GUARDED_BY(mu_) = false;
  bool aborted_ ABSL_GUARDED_BY(mu_) = false;
  int32_t abort_status_ ABSL_GUARDED_BY(mu_) = 0;
  std::string abort_message_ ABSL_GUARDED_BY(mu_);
};

namespace {

// Session is what the transport holds; dropping it counts as the client
// closing.
class Session : public StreamSession {
 public:
  explicit Session(std::shared_ptr<Pkcs11Service::Core> core)
      : core_(std::move(core)) {}
  ~Session() override { core_->PeerClosed(); }
  void OnData(absl::string_view data) override { core_->Push(data); }
  void OnClose() override { core_->PeerClosed(); }

 private:
  std::shared_ptr<Pkcs11Service::Core> core_;
};

}  // namespace

Pkcs11Service::Pkcs11Service(TokenStore store, ServiceOptions options)
    : store_(std::move(store)), options_(std::move(options)) {}

Pkcs11Service::~Pkcs11Service() {
  internal::MutexLock lock(&mu_);
  for (auto& [raw, core] : live_) {
    core->Abort(TL_E_CANCELLED,
                "the appliance's pkcs11 service is shutting down");
  }
  while (!live_.empty()) {
    cv_.Wait(&mu_);
  }
}

absl::StatusOr<std::unique_ptr<StreamSession>> Pkcs11Service::Open(
    absl::Span<const std::string> partitions,
    std::shared_ptr<StreamSink> sink) {
  std::vector<PartitionToken> tokens;
  for (const std::string& p : partitions) {
    absl::StatusOr<PartitionToken> token = store_.Find(p);
    if (token.ok()) {
      tokens.push_back(std::move(*token));
    } else if (partitions.size() == 1 || !absl::IsNotFound(token.status())) {
      return token.status();
    }
  }
  if (tokens.empty()) {
    return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                 absl::StrCat("none of the ", partitions.size(),
                              " partitions assigned to this client has a "
                              "PKCS#11 token; give one a token first "
                              "(tl_p11_tokens_create)"));
  }
  ChildSpec spec;
  spec.path = options_.p11_kit;
  // -p plus token URIs serves only these tokens: the other partitions' tokens
  // in the shared token directory and SoftHSM2's spare uninitialised slot stay
  // hidden, so the client sees exactly one slot per partition.
  spec.argv = {options_.p11_kit, "remote", "-p", options_.module_path};
  std::vector<std::string> served;
  for (const PartitionToken& t : tokens) {
    spec.argv.push_back(t.token_uri);
    served.push_back(t.partition);
  }
  spec.env = {
      absl::StrCat("SOFTHSM2_CONF=", tokens[0].softhsm2_conf),
      "PATH=/usr/bin:/bin",
      "LC_ALL=C",
      "P11_KIT_NO_USER_CONFIG=1",
  };
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    return Error(absl::StatusCode::kResourceExhausted, TL_E_RESOURCE_EXHAUSTED,
                 absl::StrCat("cannot make an eventfd: ", strerror(errno)));
  }
  absl::StatusOr<Child> child = Child::Spawn(spec);
  if (!child.ok()) {
    close(wake_fd);
    return child.status();
  }
  auto core = std::make_shared<Core>(this, std::move(served), std::move(sink),
                                     std::move(*child), wake_fd);
  {
    internal::MutexLock lock(&mu_);
    live_[core.get()] = core;
  }
  std::thread([core]() mutable {
    // Named apart from the loop thread that starts it, so `top -H` and
    // /proc/PID/task show where a stream's time goes.
    pthread_setname_np(pthread_self(), "ntls-p11-pump");
    core->Run();
    Pkcs11Service* service = core->service();
    Core* raw = core.get();
    core.reset();
    service->Finished(raw);
  }).detach();
  return std::unique_ptr<StreamSession>(new Session(std::move(core)));
}

void Pkcs11Service::Finished(Core* core) {
  std::shared_ptr<Core> last;  // destroyed after the lock is released
  internal::MutexLock lock(&mu_);
  auto it = live_.find(core);
  if (it != live_.end()) {
    last = std::move(it->second);
    live_.erase(it);
  }
  cv_.SignalAll();
}

size_t Pkcs11Service::ClosePartition(absl::string_view partition,
                                     int32_t status,
                                     const std::string& message) {
  std::vector<std::shared_ptr<Core>> hit;
  {
    internal::MutexLock lock(&mu_);
    for (auto& [raw, core] : live_) {
      if (core->Serves(partition)) {
        hit.push_back(core);
      }
    }
  }
  for (auto& core : hit) {
    core->Abort(status, message);
  }
  return hit.size();
}

size_t Pkcs11Service::live_sessions() {
  internal::MutexLock lock(&mu_);
  return live_.size();
}

}  // namespace trustlink::ntl::pkcs11
