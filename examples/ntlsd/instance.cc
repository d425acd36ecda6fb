#include "examples/ntlsd/instance.h"

#include <stdlib.h>

#include "examples/ntlsd/metrics_endpoint.h"

namespace ntlsd {

bool ParseListen(const std::string& text, std::string* addr, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return false;
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  char* end = nullptr;
  const long p = strtol(text.c_str() + colon + 1, &end, 10);
  if (host.empty() || colon + 1 == text.size() || *end != '\0' || p < 0 ||
      p > 65535) {
    return false;
  }
  *addr = host;
  *port = static_cast<uint16_t>(p);
  return true;
}

std::unique_ptr<Instance> Instance::New(const ServeConfig& config,
                                        const std::string& listen,
                                        std::string* error) {
  std::unique_ptr<Instance> in(new Instance());
  in->root_ = config.root;
  in->from_registry_ = listen.empty();
  tl_server_options* opts = nullptr;
  if (tl_server_options_new(&opts) != TL_OK) {
    *error = "out of memory";
    return nullptr;
  }
  bool ok = tl_server_options_set_root(
                opts, config.root.c_str(),
                config.name.empty() ? nullptr : config.name.c_str()) == TL_OK &&
            tl_server_options_set_threads(opts, config.threads) == TL_OK &&
            tl_server_options_set_busy_poll(opts, config.busy_poll_us) == TL_OK;
  if (ok && !listen.empty()) {
    std::string addr;
    uint16_t port = 0;
    if (!ParseListen(listen, &addr, &port)) {
      tl_server_options_free(opts);
      *error =
          "--listen wants ADDR:PORT or [V6ADDR]:PORT, not '" + listen + "'";
      return nullptr;
    }
    ok = tl_server_options_set_listen(opts, addr.c_str(), port) == TL_OK;
  }
  if (!ok || tl_server_new(opts, &in->server_) != TL_OK) {
    // The failing call's own message, whichever of them failed.
    char buf[TL_ERROR_MESSAGE_MAX] = "";
    size_t len = 0;
    tl_last_error(buf, sizeof(buf), &len);
    *error = buf;
    tl_server_options_free(opts);
    return nullptr;
  }
  tl_server_options_free(opts);
  return in;
}

Instance::~Instance() {
  tl_server_free(server_);
  tl_p11_service_free(p11_);
}

std::string Instance::Error() const {
  char buf[TL_ERROR_MESSAGE_MAX] = "";
  size_t len = 0;
  tl_server_last_error(server_, buf, sizeof(buf), &len);
  return buf;
}

bool Instance::Attach(std::string* error) {
  if (tl_server_enable_htl(server_, nullptr) != TL_OK) {
    *error = Error();
    return false;
  }
  // PKCS#11: each partition's token (<root>/pkcs11/) as the stream service
  // "pkcs11" (docs/pkcs11.md).
  if (tl_p11_service_new(&p11_) != TL_OK ||
      tl_p11_service_open(p11_, root_.c_str()) != TL_OK ||
      tl_p11_service_add_to_server(p11_, server_) != TL_OK) {
    char buf[TL_ERROR_MESSAGE_MAX] = "out of memory";
    size_t len = 0;
    tl_p11_service_last_error(p11_, buf, sizeof(buf), &len);
    *error = std::string("pkcs11 service: ") + buf;
    return false;
  }
  return true;
}

bool Instance::Start(std::string* error) {
  if (tl_server_start(server_) != TL_OK) {
    *error = Error();
    return false;
  }
  return true;
}

bool Instance::Stop(uint32_t grace_ms) {
  return tl_server_stop(server_, grace_ms) == TL_OK;
}

std::string Instance::Listen() const {
  tl_server_status* st = nullptr;
  if (tl_server_status_new(server_, &st) != TL_OK) {
    return "";
  }
  const char* listen = "";
  tl_server_status_listen(st, &listen);
  std::string out = listen;
  tl_server_status_free(st);
  return out;
}

std::string Instance::StatusLines() const {
  tl_server_status* st = nullptr;
  if (tl_server_status_new(server_, &st) != TL_OK) {
    return "";
  }
  const char* listen = "";
  uint32_t admitted = 0, unauth = 0;
  size_t n = 0;
  tl_server_status_listen(st, &listen);
  tl_server_status_connections(st, &admitted, &unauth);
  tl_server_status_num_clients(st, &n);
  std::string out = std::string("listen ") + listen + "\n" + "connections " +
                    std::to_string(admitted) + "\n" + "unauthenticated " +
                    std::to_string(unauth) + "\n" + "clients " +
                    std::to_string(n) + "\n";
  for (size_t i = 0; i < n; ++i) {
    const char* label = "";
    const char* fp = "";
    uint32_t conns = 0;
    if (tl_server_status_client(st, i, &label, &fp, &conns) == TL_OK) {
      out += "client " + std::to_string(conns) + " " + fp + " " + label + "\n";
    }
  }
  tl_server_status_free(st);
  return out + StatLines();
}

std::string Instance::MetricsText() const {
  tl_stats* stats = nullptr;
  if (tl_server_stats(server_, &stats) != TL_OK) {
    return "";
  }
  std::string out = PrometheusText(stats);
  tl_stats_free(stats);
  return out;
}

std::string Instance::StatLines() const {
  tl_stats* stats = nullptr;
  if (tl_server_stats(server_, &stats) != TL_OK) {
    return "";
  }
  std::string out;
  for (size_t i = 0; i < tl_stats_num_values(stats); ++i) {
    const char* name = "";
    uint64_t value = 0;
    if (tl_stats_value_at(stats, i, &name, &value) == TL_OK) {
      out += std::string("stat ") + name + " " + std::to_string(value) + "\n";
    }
  }
  tl_stats_free(stats);
  return out;
}

}  // namespace ntlsd
