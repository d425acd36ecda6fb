#include "examples/ntlsd/control_socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace ntlsd {

ControlSocket::~ControlSocket() {
  if (fd_ >= 0) {
    close(fd_);
    unlink(path_.c_str());
  }
}

bool ControlSocket::Open(const std::string& path, uid_t owner,
                         std::string* error) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    *error = "status socket path '" + path + "' is too long (at most " +
             std::to_string(sizeof(addr.sun_path) - 1) +
             " bytes); give a shorter --status-socket";
    return false;
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error = std::string("cannot make the status socket: ") + strerror(errno);
    return false;
  }
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size());
  unlink(path.c_str());           // a stale socket from a crashed run
  const mode_t old = umask(077);  // for the appliance admin only
  const int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  umask(old);
  if (rc != 0 || listen(fd, 16) != 0) {
    *error = "cannot listen on status socket " + path + ": " + strerror(errno);
    close(fd);
    return false;
  }
  fd_ = fd;
  owner_ = owner;
  path_ = path;
  return true;
}

int ControlSocket::Accept(std::string* request) {
  const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) {
    return -1;
  }
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      (cred.uid != 0 && cred.uid != owner_)) {
    Reply(c, "error permission denied: only root and the owner (uid " +
                 std::to_string(owner_) +
                 ") of the appliance root may use this socket\n");
    return -1;
  }
  const timeval tv{2, 0};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  std::string line;
  char buf[kMaxRequest];
  while (line.find('\n') == std::string::npos && line.size() < kMaxRequest) {
    const ssize_t n = recv(c, buf, sizeof(buf), 0);
    if (n <= 0) {
      break;  // end of request without a newline, or the 2 s ran out
    }
    line.append(buf, static_cast<size_t>(n));
  }
  *request = RequestLine(line);
  if (request->empty()) {
    close(c);
    return -1;
  }
  return c;
}

std::string ControlSocket::RequestLine(const std::string& received) {
  return received.substr(0, received.find_first_of("\r\n"));
}

void SendAll(int fd, const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n =
        send(fd, text.data() + off, text.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      return;  // the peer went away or stopped reading for its timeout
    }
    off += static_cast<size_t>(n);
  }
}

void ControlSocket::Reply(int conn, const std::string& lines) {
  SendAll(conn, lines + "end\n");
  close(conn);
}

}  // namespace ntlsd
