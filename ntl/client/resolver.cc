#include "ntl/client/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <thread>
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

absl::StatusOr<std::vector<std::string>> SystemResolve(
    const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Error(absl::StatusCode::kUnavailable, TL_E_UNAVAILABLE,
                 rc != 0 ? gai_strerror(rc) : "no addresses");
  }
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  int first_family = 0;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    std::vector<std::string>* list = nullptr;
    if (ai->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr,
                text, sizeof(text));
      list = &v4;
    } else if (ai->ai_family == AF_INET6) {
      inet_ntop(AF_INET6,
                &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, text,
                sizeof(text));
      list = &v6;
    } else {
      continue;
    }
    if (first_family == 0) {
      first_family = ai->ai_family;
    }
    if (std::find(list->begin(), list->end(), text) == list->end()) {
      list->push_back(text);
    }
  }
  freeaddrinfo(res);
  // Alternate the families, starting with the system's preference, so one
  // unreachable family costs one attempt before the other is tried.
  std::vector<std::string>& a = first_family == AF_INET6 ? v6 : v4;
  std::vector<std::string>& b = first_family == AF_INET6 ? v4 : v6;
  std::vector<std::string> out;
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i < a.size()) {
      out.push_back(a[i]);
    }
    if (i < b.size()) {
      out.push_back(b[i]);
    }
  }
  return out;
}

absl::StatusOr<std::vector<SocketAddress>> ResolveNow(
    const ResolverFn& resolver, const std::string& server_name,
    const std::string& host, uint16_t port) {
  absl::StatusOr<std::vector<std::string>> literals =
      resolver ? resolver(host) : SystemResolve(host);
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

std::shared_ptr<PendingResolution> PendingResolution::Start(
    ResolverFn resolver, std::string server_name, std::string host,
    uint16_t port, std::shared_ptr<Doorbell> doorbell) {
  auto pending = std::make_shared<PendingResolution>();
  // Detached: a lookup stuck in getaddrinfo must not hold up the loop or the
  // Client's destruction. It keeps only shared state alive.
  std::thread([pending, resolver = std::move(resolver),
               server_name = std::move(server_name), host = std::move(host),
               port, doorbell = std::move(doorbell)]() {
    pending->Finish(ResolveNow(resolver, server_name, host, port));
    doorbell->Ring();
  }).detach();
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
