#include "benchmarks/peers/dial.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace trustlink::peers {

int DialLoopback(uint16_t port, bool nonblocking, std::string* error) {
  const int fd =
      socket(AF_INET,
             SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) {
    *error = absl::StrCat("socket: ", strerror(errno));
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 &&
      !(nonblocking && errno == EINPROGRESS)) {
    *error = absl::StrCat("connect 127.0.0.1:", port, ": ", strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace trustlink::peers
