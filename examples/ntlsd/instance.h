#ifndef TRUSTLINK_EXAMPLES_NTLSD_INSTANCE_H_
#define TRUSTLINK_EXAMPLES_NTLSD_INSTANCE_H_

// One serving generation of ntlsd: the tl_server for the root, with HTL and the
// pkcs11 stream service attached. `service restart ntls` replaces it with a new
// one, which reads the registry's bind address and port again.

#include <stdint.h>

#include <memory>
#include <string>

#include "trustlink/trustlink.h"

namespace ntlsd {

struct ServeConfig {
  std::string root;
  std::string name;  // the appliance name for a first server.pem; "" = host
  int threads = 0;
  // busy_poll_us: the loops' busy-poll budget (--busy-poll; 0: off).
  uint32_t busy_poll_us = 0;
};

// ParseListen splits "ADDR:PORT" or "[V6]:PORT".
bool ParseListen(const std::string& text, std::string* addr, uint16_t* port);

class Instance {
 public:
  // New makes the server for `config`, listening on `listen` ("ADDR:PORT")
  // or, when it is empty, on the registry's bind address and port. Returns
  // null and says why in `error`.
  static std::unique_ptr<Instance> New(const ServeConfig& config,
                                       const std::string& listen,
                                       std::string* error);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Attach adds the Host Trust Link and the pkcs11 service. Call it once,
  // after the instance lock is held: HTL records a new boot.
  bool Attach(std::string* error);
  // Start binds the listener and starts the event loops.
  bool Start(std::string* error);
  // Stop drains: in-flight calls finish (up to `grace_ms`), then every link
  // gets goaway and the listener closes. Returns false if the grace ran out.
  bool Stop(uint32_t grace_ms);

  // Listen is "ADDR:PORT" as bound (after Start).
  std::string Listen() const;
  // StatusLines is the status socket's description of the running server:
  // listen, connections, unauthenticated, clients and one line per client.
  std::string StatusLines() const;
  // StatLines is the server's counters (tl_server_stats), one
  // `stat NAME VALUE` line each, as StatusLines ends.
  std::string StatLines() const;
  // MetricsText is the counters in Prometheus's text format.
  std::string MetricsText() const;
  // from_registry says whether the bind address came from the registry.
  bool from_registry() const { return from_registry_; }

 private:
  Instance() = default;
  std::string Error() const;

  std::string root_;
  bool from_registry_ = true;
  tl_server* server_ = nullptr;
  tl_p11_service* p11_ = nullptr;  // used by server_, so freed after it
};

}  // namespace ntlsd

#endif  // TRUSTLINK_EXAMPLES_NTLSD_INSTANCE_H_
