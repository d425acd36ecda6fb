// FramedSession's dialling: find the server's addresses, then try each in
// turn within the one deadline, as Connection does (connection_dial.cc) but
// blocking.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ntl/client/framed_session.h"
#include "ntl/client/socket_setup.h"
#include "ntl/internal/poll_until.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

using internal::PollUntil;

absl::Status TimedOut(const ServerSettings& server, const std::string& host,
                      absl::string_view phase) {
  return Error(absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
               absl::StrCat("server '", server.name, "' at ", host, ":",
                            server.port, " timed out (", phase, ")"));
}

}  // namespace

absl::StatusOr<std::vector<SocketAddress>> FramedSession::Resolve(
    const std::string& host, absl::Time deadline) {
  const ServerSettings& server = server_;
  if (std::optional<SocketAddress> literal =
          ParseNumericAddress(host, server.port)) {
    return std::vector<SocketAddress>{*std::move(literal)};
  }
  // The blocking form of the client's lookup: c-ares on this thread, given up
  // (and cancelled) at the deadline; a test's resolver runs here too.
  absl::StatusOr<std::vector<SocketAddress>> found =
      ResolveNow(settings_, server.name, host, server.port, deadline);
  if (found.status().code() == absl::StatusCode::kDeadlineExceeded) {
    return TimedOut(server, host, "name resolution");
  }
  return found;
}

absl::StatusOr<int> FramedSession::Dial(
    const std::string& host, const std::vector<SocketAddress>& addresses,
    absl::Time deadline) {
  const ServerSettings& server = server_;
  std::vector<std::string> tried;
  std::string last_why;
  bool any_refused = false;
  bool out_of_time = false;
  auto note = [&](const SocketAddress& a, std::string why, bool refused) {
    tried.push_back(absl::StrCat(a.text, " (", why, ")"));
    last_why = std::move(why);
    any_refused = any_refused || refused;
  };
  for (size_t i = 0; i < addresses.size(); ++i) {
    const SocketAddress& a = addresses[i];
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      out_of_time = true;
      break;
    }
    const absl::Time attempt_deadline =
        now + (deadline - now) / static_cast<int>(addresses.size() - i);
    absl::StatusOr<int> fd = NewLinkSocket(a.addr.ss_family, settings_);
    if (!fd.ok()) {
      note(a, std::string(fd.status().message()), false);
      continue;
    }
    int err =
        connect(*fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len) == 0
            ? 0
            : errno;
    if (err == EINPROGRESS) {
      const int ready = PollUntil(*fd, POLLOUT, attempt_deadline);
      if (ready > 0) {
        socklen_t len = sizeof(err);
        getsockopt(*fd, SOL_SOCKET, SO_ERROR, &err, &len);
      } else if (ready == 0) {
        close(*fd);
        note(a, "no answer", false);
        out_of_time = attempt_deadline >= deadline;
        continue;
      } else {
        err = errno;
      }
    }
    if (err == 0) {
      return *fd;
    }
    close(*fd);
    note(a, strerror(err), err == ECONNREFUSED);
  }
  // A lone IP literal keeps the plain form of the message; anything resolved
  // names what it was resolved to.
  const bool plain = addresses.size() == 1 &&
                     addresses[0].text == absl::StrCat(host, ":", server.port);
  const std::string summary =
      absl::StrCat("tried ", absl::StrJoin(tried, ", "));
  if (out_of_time) {
    return TimedOut(server, host,
                    plain || tried.empty()
                        ? std::string("TCP connect")
                        : absl::StrCat("TCP connect; ", summary));
  }
  return Error(
      absl::StatusCode::kUnavailable,
      any_refused ? TL_E_CONNECTION_REFUSED : TL_E_UNAVAILABLE,
      absl::StrCat("cannot connect to server '", server.name, "' at ", host,
                   ":", server.port, ": ", plain ? last_why : summary));
}

}  // namespace trustlink::ntl::client
