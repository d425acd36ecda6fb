#ifndef TRUSTLINK_NTL_INTERNAL_SILENT_DNS_SERVER_H_
#define TRUSTLINK_NTL_INTERNAL_SILENT_DNS_SERVER_H_

// SilentDnsServer, for tests: a name server on 127.0.0.1 (a port the kernel
// picks) that takes queries and never answers, so a lookup through it stays
// pending until its deadline or a cancel. Point a client at it with
// ClientSettings::dns_servers (or DnsOptions::servers): no query leaves
// loopback.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace trustlink::ntl::internal {

class SilentDnsServer {
 public:
  SilentDnsServer() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd_ >= 0 &&
        bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port_ = ntohs(a.sin_port);
    }
  }
  ~SilentDnsServer() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  SilentDnsServer(const SilentDnsServer&) = delete;
  SilentDnsServer& operator=(const SilentDnsServer&) = delete;

  // servers is the c-ares CSV naming this server; port 0 if it did not bind.
  std::string servers() const { return absl::StrCat("127.0.0.1:", port_); }
  uint16_t port() const { return port_; }
  // AwaitQuery waits up to 10 s for a query and takes it; true when one came.
  bool AwaitQuery() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) {
      return false;
    }
    char buf[512];
    return recv(fd_, buf, sizeof(buf), 0) > 0;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_SILENT_DNS_SERVER_H_
