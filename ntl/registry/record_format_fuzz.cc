// Fuzz target: the registry's file parsers never crash on a damaged or hostile
// file, and whatever they accept round-trips: formatting a parsed record and
// parsing it again gives the same record (so a load never silently changes what
// an admin stored).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ntl/registry/record_format.h"

namespace reg = trustlink::ntl::registry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto c = reg::ParseClient(text, "clients/fuzz"); c.ok()) {
    auto again = reg::ParseClient(reg::FormatClient(*c), "clients/fuzz");
    if (!again.ok() || again->label != c->label ||
        again->fingerprint != c->fingerprint ||
        again->host_ips != c->host_ips || again->partitions != c->partitions ||
        again->certificate_pem != c->certificate_pem) {
      std::abort();
    }
  }
  if (auto p = reg::ParsePartition(text, "partitions/fuzz"); p.ok()) {
    auto again =
        reg::ParsePartition(reg::FormatPartition(*p), "partitions/fuzz");
    if (!again.ok() || again->name != p->name || again->serial != p->serial)
      std::abort();
  }
  if (auto s = reg::ParseSettings(text, "settings"); s.ok()) {
    auto again = reg::ParseSettings(reg::FormatSettings(*s), "settings");
    if (!again.ok() || again->port != s->port ||
        again->bind_address != s->bind_address) {
      std::abort();
    }
  }
  return 0;
}
