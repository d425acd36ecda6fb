#include "ntl/client/resolver.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

absl::Status ResolveError(const std::string& server_name,
                          const std::string& host, absl::string_view why) {
  return Error(absl::StatusCode::kUnavailable, TL_E_UNAVAILABLE,
               absl::StrCat("cannot resolve server '", server_name, "' host '",
                            host, "': ", why));
}

}  // namespace

std::optional<SocketAddress> ParseNumericAddress(const std::string& host,
                                                 uint16_t port) {
  SocketAddress out;
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.addr);
  if (inet_pton(AF_INET, bare.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    out.text = absl::StrCat(bare, ":", port);
    return out;
  }
  out.addr = sockaddr_storage{};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
  if (inet_pton(AF_INET6, bare.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
    out.text = absl::StrCat("[", bare, "]:", port);
    return out;
  }
  return std::nullopt;
}

namespace {

// ToAddresses turns a resolver's literals into addresses with `port`.
absl::StatusOr<std::vector<SocketAddress>> ToAddresses(
    const absl::StatusOr<std::vector<std::string>>& literals,
    const std::string& server_name, const std::string& host, uint16_t port) {
  if (!literals.ok()) {
    return ResolveError(server_name, host, literals.status().message());
  }
  std::vector<SocketAddress> out;
  for (const std::string& literal : *literals) {
    std::optional<SocketAddress> a = ParseNumericAddress(literal, port);
    if (!a.has_value()) {
      return ResolveError(server_name, host,
                          absl::StrCat("the resolver returned '", literal,
                                       "', which is not an IP address"));
    }
    out.push_back(*std::move(a));
  }
  if (out.empty()) {
    return ResolveError(server_name, host, "no addresses");
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<SocketAddress>> ResolveNow(
    const ClientSettings& settings, const std::string& server_name,
    const std::string& host, uint16_t port, absl::Time deadline) {
  if (settings.resolver) {
    return ToAddresses(settings.resolver(host), server_name, host, port);
  }
  internal::DnsOptions options;
  options.servers = settings.dns_servers;
  absl::StatusOr<std::vector<std::string>> found =
      internal::LookupNow(host, deadline, -1, options);
  if (found.status().code() == absl::StatusCode::kDeadlineExceeded) {
    return Error(
        absl::StatusCode::kDeadlineExceeded, TL_E_DEADLINE_EXCEEDED,
        absl::StrCat("cannot resolve server '", server_name, "' host '", host,
                     "': ", found.status().message()));
  }
  return ToAddresses(found, server_name, host, port);
}

std::shared_ptr<PendingResolution> PendingResolution::Start(
    ResolverFn resolver, std::string server_name, std::string host,
    uint16_t port, std::shared_ptr<Doorbell> doorbell, Workers* workers) {
  auto pending = std::make_shared<PendingResolution>();
  workers->Run([pending, resolver = std::move(resolver),
                server_name = std::move(server_name), host = std::move(host),
                port, doorbell = std::move(doorbell)]() {
    pending->Finish(ToAddresses(resolver(host), server_name, host, port));
    doorbell->Ring();
  });
  return pending;
}

std::shared_ptr<PendingResolution> PendingResolution::StartDns(
    internal::DnsChannel* dns, const std::string& server_name,
    const std::string& host, uint16_t port) {
  auto pending = std::make_shared<PendingResolution>();
  dns->Lookup(host, [pending, server_name, host,
                     port](absl::StatusOr<std::vector<std::string>> found) {
    pending->Finish(ToAddresses(found, server_name, host, port));
  });
  return pending;
}

void PendingResolution::Finish(
    absl::StatusOr<std::vector<SocketAddress>> result) {
  internal::MutexLock lock(&mu_);
  done_ = true;
  if (result.ok()) {
    addresses_ = *std::move(result);
  } else {
    error_code_ = static_cast<int>(result.status().code());
    error_tl_ = static_cast<int>(ToTlStatus(result.status()));
    error_message_ = std::string(result.status().message());
  }
}

std::optional<absl::StatusOr<std::vector<SocketAddress>>>
PendingResolution::Take() {
  internal::MutexLock lock(&mu_);
  if (!done_) {
    return std::nullopt;
  }
  if (error_code_ != 0) {
    return absl::StatusOr<std::vector<SocketAddress>>(
        Error(static_cast<absl::StatusCode>(error_code_),
              static_cast<tl_status>(error_tl_), error_message_));
  }
  return absl::StatusOr<std::vector<SocketAddress>>(addresses_);
}

}  // namespace trustlink::ntl::client
