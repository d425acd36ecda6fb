// Connection's dialling: find the server's addresses without blocking the
// loop, then try each in turn until one accepts the TCP connection.

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ntl/client/connection.h"
#include "ntl/client/socket_setup.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

void Connection::StartConnect(absl::Time now, Completions* done) {
  CloseSocket();
  state_ = LinkState::kConnecting;
  phase_deadline_ = now + settings_.connect_timeout;
  address_deadline_ = absl::InfiniteFuture();
  addresses_.clear();
  next_address_ = 0;
  tried_.clear();
  last_why_.clear();
  any_refused_ = false;
  resolving_ = false;
  // An IP literal needs no lookup and must never wait behind one.
  if (std::optional<SocketAddress> literal =
          ParseNumericAddress(server_.host, server_.port)) {
    addresses_.push_back(*std::move(literal));
    TryNextAddress(now, done);
    return;
  }
  resolving_ = true;
  if (!settings_.resolver) {
    // c-ares on the client's own loop, with or without an I/O thread: the
    // lookup never blocks the loop or a caller of Process(), and closing the
    // client cancels it.
    if (resolution_ == nullptr) {
      resolution_ = PendingResolution::StartDns(dns_, server_.name,
                                                server_.host, server_.port);
    }
  } else if (!settings_.use_io_thread) {
    // A test's resolver, with library threads forbidden: it runs here, on
    // the thread that called Process().
    resolving_ = false;
    absl::StatusOr<std::vector<SocketAddress>> found = ResolveNow(
        settings_, server_.name, server_.host, server_.port, phase_deadline_);
    if (!found.ok()) {
      Fail(found.status(), now, done);
      return;
    }
    addresses_ = *std::move(found);
    TryNextAddress(now, done);
    return;
  } else if (resolution_ == nullptr) {
    resolution_ =
        PendingResolution::Start(settings_.resolver, server_.name, server_.host,
                                 server_.port, doorbell_, workers_);
  }
  PollResolution(now, done);  // a lookup left from an earlier attempt
}

void Connection::PollResolution(absl::Time now, Completions* done) {
  if (!resolving_ || resolution_ == nullptr) {
    return;
  }
  std::optional<absl::StatusOr<std::vector<SocketAddress>>> found =
      resolution_->Take();
  if (!found.has_value()) {
    return;
  }
  resolving_ = false;
  // The next attempt looks the name up again (DNS may have changed).
  resolution_.reset();
  if (!found->ok()) {
    Fail(found->status(), now, done);
    return;
  }
  addresses_ = **std::move(found);
  TryNextAddress(now, done);
}

std::string Connection::TriedSummary() const {
  return absl::StrCat("tried ", absl::StrJoin(tried_, ", "));
}

void Connection::NoteFailure(const SocketAddress& address,
                             const std::string& why, bool refused) {
  tried_.push_back(absl::StrCat(address.text, " (", why, ")"));
  last_why_ = why;
  any_refused_ = any_refused_ || refused;
}

void Connection::AddressFailed(const std::string& why, bool refused,
                               absl::Time now, Completions* done) {
  const size_t current = next_address_ - 1;
  NoteFailure(addresses_[current], why, refused);
  if (fd_ >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
    close(fd_);
    fd_ = -1;
    interest_ = 0;
  }
  TryNextAddress(now, done);
}

void Connection::TryNextAddress(absl::Time now, Completions* done) {
  while (next_address_ < addresses_.size()) {
    const SocketAddress& a = addresses_[next_address_++];
    // Happy-eyeballs-lite: each address gets an equal share of what is left
    // of the connect timeout, so a black-holed first address (often IPv6)
    // leaves time for the others. The last gets all that remains.
    const size_t left = addresses_.size() - next_address_ + 1;
    address_deadline_ = now + (phase_deadline_ - now) / static_cast<int>(left);
    absl::StatusOr<int> fd = NewLinkSocket(a.addr.ss_family, settings_);
    if (!fd.ok()) {
      NoteFailure(a, std::string(fd.status().message()), false);
      continue;
    }
    fd_ = *fd;
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&a.addr), a.len) == 0) {
      address_deadline_ = absl::InfiniteFuture();
      OnConnected(now, done);
      return;
    }
    const int err = errno;
    if (err == EINPROGRESS) {
      SetInterest(EPOLLOUT);
      return;
    }
    NoteFailure(a, strerror(err), err == ECONNREFUSED);
    close(fd_);
    fd_ = -1;
  }
  address_deadline_ = absl::InfiniteFuture();
  // Every address failed. A lone IP literal keeps the plain form of the
  // message; anything resolved names what it was resolved to.
  const bool plain =
      addresses_.size() == 1 &&
      addresses_[0].text == absl::StrCat(server_.host, ":", server_.port);
  const std::string why = plain ? last_why_ : TriedSummary();
  Fail(Error(absl::StatusCode::kUnavailable,
             any_refused_ ? TL_E_CONNECTION_REFUSED : TL_E_UNAVAILABLE,
             absl::StrCat("cannot connect to server '", server_.name, "' at ",
                          server_.host, ":", server_.port, ": ", why)),
       now, done);
}

}  // namespace trustlink::ntl::client
