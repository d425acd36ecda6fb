#include "ntl/server/resolver.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/internal/dns.h"

namespace trustlink::ntl::server {
namespace {

class CAresResolver : public Resolver {
 public:
  explicit CAresResolver(std::string dns_servers)
      : cancel_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    options_.servers = std::move(dns_servers);
  }
  ~CAresResolver() override {
    if (cancel_fd_ >= 0) {
      close(cancel_fd_);
    }
  }

  absl::StatusOr<std::vector<std::string>> Resolve(
      const std::string& hostname) override {
    // No deadline of its own: c-ares gives up after resolv.conf's timeouts,
    // the handshake waiting for the answer keeps its own, and Cancel ends it.
    absl::StatusOr<std::vector<std::string>> found = internal::LookupNow(
        hostname, absl::InfiniteFuture(), cancel_fd_, options_);
    if (found.ok() || found.status().code() == absl::StatusCode::kCancelled) {
      return found;
    }
    return absl::NotFoundError(absl::StrCat("the hostname '", hostname,
                                            "' does not resolve (",
                                            found.status().message(), ")"));
  }

  void Cancel() override {
    const uint64_t one = 1;
    ssize_t n = write(cancel_fd_, &one, sizeof(one));
    (void)n;  // a full counter is readable all the same
  }

 private:
  const int cancel_fd_;
  internal::DnsOptions options_;
};

}  // namespace

std::shared_ptr<Resolver> SystemResolver(std::string dns_servers) {
  return std::make_shared<CAresResolver>(std::move(dns_servers));
}

}  // namespace trustlink::ntl::server
