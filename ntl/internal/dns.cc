#include "ntl/internal/dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"

namespace trustlink::ntl::internal {
namespace {

// c-ares asks for one ares_library_init per process before any channel; it is
// not thread-safe itself, hence the once. It is never undone: another library
// in the process may use c-ares too, and on Linux it holds nothing.
int InitOnce() {
  static const int rc = ares_library_init(ARES_LIB_INIT_ALL);
  return rc;
}

// Literals turns c-ares's answer into IP literals, the two families
// alternating from the resolver's first choice, so one unreachable family
// costs one attempt before the other is tried.
std::vector<std::string> Literals(const ares_addrinfo* result) {
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  int first_family = 0;
  for (const ares_addrinfo_node* n = result != nullptr ? result->nodes
                                                       : nullptr;
       n != nullptr; n = n->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    std::vector<std::string>* list = nullptr;
    if (n->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(n->ai_addr)->sin_addr,
                text, sizeof(text));
      list = &v4;
    } else if (n->ai_family == AF_INET6) {
      inet_ntop(AF_INET6,
                &reinterpret_cast<sockaddr_in6*>(n->ai_addr)->sin6_addr, text,
                sizeof(text));
      list = &v6;
    } else {
      continue;
    }
    if (first_family == 0) {
      first_family = n->ai_family;
    }
    if (std::find(list->begin(), list->end(), text) == list->end()) {
      list->push_back(text);
    }
  }
  std::vector<std::string>& a = first_family == AF_INET6 ? v6 : v4;
  std::vector<std::string>& b = first_family == AF_INET6 ? v4 : v6;
  std::vector<std::string> out;
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i < a.size()) {
      out.push_back(a[i]);
    }
    if (i < b.size()) {
      out.push_back(b[i]);
    }
  }
  return out;
}

void OnAnswer(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
  std::unique_ptr<DnsChannel::Done> done(static_cast<DnsChannel::Done*>(arg));
  std::vector<std::string> found =
      status == ARES_SUCCESS ? Literals(result) : std::vector<std::string>();
  if (result != nullptr) {
    ares_freeaddrinfo(result);
  }
  // A cancelled lookup (the channel is being destroyed) has nobody to tell.
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
    return;
  }
  if (status != ARES_SUCCESS) {
    (*done)(absl::UnavailableError(ares_strerror(status)));
  } else if (found.empty()) {
    (*done)(absl::UnavailableError("no IPv4 or IPv6 address"));
  } else {
    (*done)(std::move(found));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<DnsChannel>> DnsChannel::Create(
    const DnsOptions& options, SocketWatch watch) {
  int rc = InitOnce();
  std::unique_ptr<DnsChannel> c(new DnsChannel(std::move(watch)));
  if (rc == ARES_SUCCESS) {
    ares_options o{};
    o.sock_state_cb = &DnsChannel::OnSocketState;
    o.sock_state_cb_data = c.get();
    rc = ares_init_options(&c->channel_, &o, ARES_OPT_SOCK_STATE_CB);
  }
  if (rc == ARES_SUCCESS && !options.servers.empty()) {
    rc = ares_set_servers_ports_csv(c->channel_, options.servers.c_str());
  }
  if (rc != ARES_SUCCESS) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot set up name resolution (c-ares): ", ares_strerror(rc)));
  }
  return c;
}

DnsChannel::~DnsChannel() {
  if (channel_ != nullptr) {
    ares_destroy(channel_);  // closes its sockets through OnSocketState
  }
}

void DnsChannel::OnSocketState(void* self, int fd, int readable, int writable) {
  auto* c = static_cast<DnsChannel*>(self);
  auto it = std::find(c->sockets_.begin(), c->sockets_.end(), fd);
  if (readable == 0 && writable == 0) {
    if (it != c->sockets_.end()) {
      c->sockets_.erase(it);
    }
  } else if (it == c->sockets_.end()) {
    c->sockets_.push_back(fd);
  }
  c->watch_(fd, readable != 0, writable != 0);
}

void DnsChannel::Lookup(const std::string& host, Done done) {
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &OnAnswer,
                   new Done(std::move(done)));
}

void DnsChannel::Process(int fd, bool readable, bool writable) {
  ares_process_fd(channel_, readable ? fd : ARES_SOCKET_BAD,
                  writable ? fd : ARES_SOCKET_BAD);
}

void DnsChannel::ProcessTimeouts() {
  ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

absl::Time DnsChannel::NextDeadline() const {
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    return absl::InfiniteFuture();
  }
  return absl::Now() + absl::DurationFromTimeval(tv);
}

absl::StatusOr<std::vector<std::string>> LookupNow(const std::string& host,
                                                   absl::Time deadline,
                                                   int cancel_fd,
                                                   const DnsOptions& options) {
  std::map<int, short> watched;
  absl::StatusOr<std::unique_ptr<DnsChannel>> channel = DnsChannel::Create(
      options, [&watched](int fd, bool readable, bool writable) {
        if (!readable && !writable) {
          watched.erase(fd);
        } else {
          watched[fd] = static_cast<short>((readable ? POLLIN : 0) |
                                           (writable ? POLLOUT : 0));
        }
      });
  if (!channel.ok()) {
    return channel.status();
  }
  bool finished = false;
  absl::StatusOr<std::vector<std::string>> answer = absl::DeadlineExceededError(
      absl::StrCat("no answer for '", host, "' before the deadline"));
  (*channel)->Lookup(host, [&](absl::StatusOr<std::vector<std::string>> r) {
    answer = std::move(r);
    finished = true;
  });
  std::vector<pollfd> fds;
  while (!finished) {
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      break;
    }
    fds.clear();
    if (cancel_fd >= 0) {
      fds.push_back(pollfd{cancel_fd, POLLIN, 0});
    }
    for (const auto& [fd, events] : watched) {
      fds.push_back(pollfd{fd, events, 0});
    }
    const absl::Time wake = std::min(deadline, (*channel)->NextDeadline());
    const int ms = static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(
            std::max(wake - now, absl::ZeroDuration()), absl::Milliseconds(1))),
        60 * 1000));
    const int n = poll(fds.data(), fds.size(), ms);
    if (n < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
    }
    for (const pollfd& p : fds) {
      if (p.revents == 0) {
        continue;
      }
      if (p.fd == cancel_fd) {
        return absl::CancelledError(
            absl::StrCat("the lookup of '", host, "' was cancelled"));
      }
      (*channel)->Process(p.fd, (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0,
                          (p.revents & POLLOUT) != 0);
    }
    (*channel)->ProcessTimeouts();
  }
  return answer;
}

}  // namespace trustlink::ntl::internal
