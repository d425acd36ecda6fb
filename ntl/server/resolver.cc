#include "ntl/server/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"

namespace trustlink::ntl::server {
namespace {

class GetAddrInfoResolver : public Resolver {
 public:
  absl::StatusOr<std::vector<std::string>> Resolve(
      const std::string& hostname) override {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const int rc = getaddrinfo(hostname.c_str(), nullptr, &hints, &list);
    if (rc != 0) {
      return absl::NotFoundError(absl::StrCat("the hostname '", hostname,
                                              "' does not resolve (",
                                              gai_strerror(rc), ")"));
    }
    std::vector<std::string> out;
    for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
      char text[INET6_ADDRSTRLEN] = {};
      const void* addr = nullptr;
      if (a->ai_family == AF_INET) {
        addr = &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr;
      } else if (a->ai_family == AF_INET6) {
        addr = &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr;
      }
      if (addr != nullptr &&
          inet_ntop(a->ai_family, addr, text, sizeof(text)) != nullptr) {
        out.emplace_back(text);
      }
    }
    freeaddrinfo(list);
    if (out.empty()) {
      return absl::NotFoundError(absl::StrCat("the hostname '", hostname,
                                              "' has no IPv4 or IPv6 address"));
    }
    return out;
  }
};

}  // namespace

std::shared_ptr<Resolver> SystemResolver() {
  return std::make_shared<GetAddrInfoResolver>();
}

}  // namespace trustlink::ntl::server
