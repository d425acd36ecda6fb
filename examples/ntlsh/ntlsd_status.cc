#include "examples/ntlsh/ntlsd_status.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace ntlsh {
namespace {

// Fd closes a descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

bool Fail(std::string* error, const std::string& message) {
  *error = message;
  return false;
}

// ParseInt reads a whole non-negative decimal number.
bool ParseInt(const std::string& text, int* out) {
  if (text.empty() || text.size() > 9) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  *out = std::atoi(text.c_str());
  return true;
}

// ParseLong reads a whole non-negative decimal number of up to 18 digits.
bool ParseLong(const std::string& text, long long* out) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  *out = std::atoll(text.c_str());
  return true;
}

// ParseCount reads a whole unsigned 64-bit decimal number.
bool ParseCount(const std::string& text, unsigned long long* out) {
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  errno = 0;
  *out = std::strtoull(text.c_str(), nullptr, 10);
  return errno == 0;
}

bool ParseLine(const std::string& line, NtlsdStatus* s) {
  std::istringstream in(line);
  std::string key, value;
  in >> key;
  if (key == "listen") return static_cast<bool>(in >> s->listen);
  if (key == "pid") return (in >> value) && ParseLong(value, &s->pid);
  if (key == "started") return (in >> value) && ParseLong(value, &s->started);
  if (key == "serving_since") {
    return (in >> value) && ParseLong(value, &s->serving_since);
  }
  if (key == "restarts") {
    return (in >> value) && ParseInt(value, &s->restarts);
  }
  if (key == "bind") return static_cast<bool>(in >> s->bind);
  if (key == "connections") {
    return (in >> value) && ParseInt(value, &s->connections);
  }
  if (key == "unauthenticated") {
    return (in >> value) && ParseInt(value, &s->unauthenticated);
  }
  if (key == "stat") {
    NtlsdStat stat;
    if (!(in >> stat.name >> value) || !ParseCount(value, &stat.value)) {
      return false;
    }
    s->stats.push_back(std::move(stat));
    return true;
  }
  if (key == "clients") return true;  // the count; the client lines follow
  if (key == "client") {
    NtlsdClient c;
    if (!(in >> value) || !ParseInt(value, &c.connections) ||
        !(in >> c.fingerprint)) {
      return false;
    }
    in.get();  // the space before the label, which may itself hold spaces
    std::getline(in, c.label);
    s->clients.push_back(std::move(c));
    return true;
  }
  // An older or newer ntlsd may say more (or less): what is unknown is
  // skipped, so ntlsh and ntlsd need not be upgraded together.
  return true;
}

}  // namespace

bool QueryNtlsd(const std::string& socket_path, NtlsdStatus* status,
                std::string* error) {
  return AskNtlsd(socket_path, "status", 2, status, error);
}

bool AskNtlsd(const std::string& socket_path, const std::string& request,
              int timeout_seconds, NtlsdStatus* status, std::string* error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return Fail(error, "status socket path is too long: " + socket_path);
  }
  memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Fail(error, strerror(errno));
  const timeval deadline{timeout_seconds, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &deadline, sizeof(deadline));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &deadline, sizeof(deadline));
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    const int e = errno;
    if (e == ENOENT || e == ECONNREFUSED) {
      return Fail(error, "ntlsd is not running (no status socket at " +
                             socket_path +
                             "; start it with: ntlsh service start ntls)");
    }
    return Fail(error,
                "cannot reach ntlsd at " + socket_path + ": " + strerror(e));
  }
  const std::string line = request + "\n";
  if (send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(line.size())) {
    return Fail(error, std::string("cannot ask ntlsd: ") + strerror(errno));
  }
  std::string reply;
  char buf[4096];
  while (reply.find("\nend\n") == std::string::npos &&
         reply.compare(0, 4, "end\n") != 0) {
    const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n == 0) return Fail(error, "ntlsd closed the status socket early");
    if (n < 0) {
      return Fail(error, errno == EAGAIN
                             ? "ntlsd did not answer within " +
                                   std::to_string(timeout_seconds) + " seconds"
                             : std::string("reading ntlsd's status: ") +
                                   strerror(errno));
    }
    reply.append(buf, static_cast<size_t>(n));
    if (reply.size() > (1u << 24)) {
      return Fail(error, "ntlsd's status answer is too large");
    }
  }
  return ParseNtlsdReply(reply, status, error);
}

bool ParseNtlsdReply(const std::string& reply, NtlsdStatus* status,
                     std::string* error) {
  NtlsdStatus s;
  std::istringstream lines(reply);
  for (std::string line; std::getline(lines, line) && line != "end";) {
    if (line.compare(0, 6, "error ") == 0) {
      return Fail(error, "ntlsd: " + line.substr(6));
    }
    if (!ParseLine(line, &s)) {
      return Fail(error, "malformed ntlsd status line: " + line);
    }
  }
  *status = std::move(s);
  return true;
}

}  // namespace ntlsh
