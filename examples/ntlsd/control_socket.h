#ifndef TRUSTLINK_EXAMPLES_NTLSD_CONTROL_SOCKET_H_
#define TRUSTLINK_EXAMPLES_NTLSD_CONTROL_SOCKET_H_

// ntlsd's status and control socket (default <root>/ntlsd.sock;
// docs/server.md, "Status and control socket"). A client connects, sends one
// request line (`status`, `stop` or `restart`) and reads lines up to `end`.
// Only root and the owner of the appliance root may use it: the socket is
// 0600, and the peer's uid (SO_PEERCRED) is checked on every connection, so a
// socket file made readable by mistake still lets no one else in.

#include <sys/types.h>

#include <string>

namespace ntlsd {

// SendAll sends `text` on the connected socket `fd` (without SIGPIPE), up to
// the socket's send timeout; a peer that goes away ends it early.
void SendAll(int fd, const std::string& text);

class ControlSocket {
 public:
  ControlSocket() = default;
  // The destructor closes the socket and removes its file.
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Open listens on `path`, replacing a stale socket file (the instance lock
  // says no other daemon owns it). `owner` is the uid besides root allowed to
  // connect. Returns false and says why in `error`.
  bool Open(const std::string& path, uid_t owner, std::string* error);
  int fd() const { return fd_; }

  // Accept takes one connection and reads its request line (2 s at most).
  // Returns the connection's descriptor with `request` set, or -1 if there
  // was nothing to serve. A peer that is not allowed, or that sends nothing,
  // is answered (if it can be) and closed here.
  int Accept(std::string* request);

  // kMaxRequest bounds what Accept reads of a request: every request is one
  // short word.
  static constexpr size_t kMaxRequest = 64;

  // RequestLine returns the request in what a peer sent: everything before the
  // first CR or LF (all of it if there is none).
  static std::string RequestLine(const std::string& received);

  // Reply sends `lines` (each ending in "\n"), then "end", and closes `conn`.
  static void Reply(int conn, const std::string& lines);

 private:
  int fd_ = -1;
  uid_t owner_ = 0;
  std::string path_;
};

}  // namespace ntlsd

#endif  // TRUSTLINK_EXAMPLES_NTLSD_CONTROL_SOCKET_H_
