#include "examples/ntlsd/metrics_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "examples/ntlsd/control_socket.h"
#include "examples/ntlsd/instance.h"

namespace ntlsd {
namespace {

constexpr const char* kPrefix = "trustlink_ntls_";

bool StartsWith(const std::string& s, const char* prefix) {
  return s.compare(0, strlen(prefix), prefix) == 0;
}

std::string Response(const char* status, const char* type,
                     const std::string& body) {
  return std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

std::string PrometheusText(const tl_stats* stats) {
  std::string counters, gauges, summary;
  for (size_t i = 0; i < tl_stats_num_values(stats); ++i) {
    const char* name_c = "";
    uint64_t value = 0;
    if (tl_stats_value_at(stats, i, &name_c, &value) != TL_OK) {
      continue;
    }
    const std::string name = name_c;
    if (StartsWith(name, "call_latency_p") && name.size() > 17) {
      // call_latency_p50_ns -> quantile 0.50, in seconds as Prometheus wants.
      const std::string digits =
          name.substr(strlen("call_latency_p"),
                      name.size() - strlen("call_latency_p") - strlen("_ns"));
      char line[160];
      snprintf(line, sizeof(line),
               "%scall_latency_seconds{quantile=\"0.%s\"} %.9f\n", kPrefix,
               digits.c_str(), static_cast<double>(value) / 1e9);
      summary += line;
    } else if (name == "calls_in_flight") {
      gauges += std::string("# TYPE ") + kPrefix + name + " gauge\n" + kPrefix +
                name + " " + std::to_string(value) + "\n";
    } else {
      counters += std::string("# TYPE ") + kPrefix + name + "_total counter\n" +
                  kPrefix + name + "_total " + std::to_string(value) + "\n";
    }
  }
  if (!summary.empty()) {
    summary = std::string("# HELP ") + kPrefix +
              "call_latency_seconds time from a request's hand-off to the "
              "partition to its answer, since the service (re)started\n" +
              "# TYPE " + kPrefix + "call_latency_seconds summary\n" + summary;
  }
  return counters + gauges + summary;
}

MetricsEndpoint::~MetricsEndpoint() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

bool MetricsEndpoint::Open(const std::string& listen, std::string* error) {
  std::string host;
  uint16_t port = 0;
  if (!ParseListen(listen, &host, &port)) {
    *error = "--metrics '" + listen +
             "' is not ADDR:PORT; give an address of this host and a port, "
             "for example --metrics 127.0.0.1:9464 or --metrics [::1]:9464";
    return false;
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(*v6);
  } else {
    *error = "--metrics address '" + host +
             "' is not an IP address literal; give one, such as 127.0.0.1";
    return false;
  }
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(fd, 16) != 0) {
    *error = "cannot listen for --metrics on " + listen + ": " +
             strerror(errno) + "; pick a free port on an address of this host";
    if (fd >= 0) {
      close(fd);
    }
    return false;
  }
  len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  const uint16_t bound =
      ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  address_ = (ss.ss_family == AF_INET6 ? "[" + host + "]" : host) + ":" +
             std::to_string(bound);
  fd_ = fd;
  return true;
}

void MetricsEndpoint::Serve(const std::string& metrics) {
  const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) {
    return;
  }
  const timeval tv{1, 0};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  // Only the request line matters; headers up to 4 KiB are read and dropped.
  std::string request;
  char buf[1024];
  while (request.find("\r\n\r\n") == std::string::npos &&
         request.find("\n\n") == std::string::npos && request.size() < 4096) {
    const ssize_t n = recv(c, buf, sizeof(buf), 0);
    if (n <= 0) {
      break;
    }
    request.append(buf, static_cast<size_t>(n));
  }
  const std::string line = request.substr(0, request.find_first_of("\r\n"));
  if (StartsWith(line, "GET /metrics ") || line == "GET /metrics") {
    SendAll(c, Response("200 OK", "text/plain; version=0.0.4", metrics));
  } else if (StartsWith(line, "GET ")) {
    SendAll(c, Response("404 Not Found", "text/plain",
                        "ntlsd serves its counters at /metrics\n"));
  } else {
    SendAll(c, Response("405 Method Not Allowed", "text/plain",
                        "ntlsd answers GET /metrics only\n"));
  }
  close(c);
}

}  // namespace ntlsd
