// Fuzz target: `vtl importConfig` on a Chrystoki.conf (block form) or a
// crystoki.ini (Windows form), through ClientConfig::ImportChrystoki, the code
// vtl runs. An import either fails with a message or leaves a config that
// validates, and whose trustlink.conf, written and read back, lists the same
// servers with the same settings: what vtl saves is what the next vtl reads.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ntl/config_client.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using trustlink::ntl::ClientConfig;
  using trustlink::ntl::ServerConfig;
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  // Default() parses the default trustlink.conf text: done once, it was a sixth of each
  // execution. Every input starts from its own copy, as vtl starts from a fresh default.
  static const ClientConfig* const kDefault =
      new ClientConfig(ClientConfig::Default());
  ClientConfig config = *kDefault;
  if (!config.ImportChrystoki(in, "fuzz.conf").ok()) return 0;
  Check(config.Validate().ok());
  absl::StatusOr<ClientConfig> reread =
      ClientConfig::Parse(config.Serialize(), "trustlink.conf");
  Check(reread.ok());
  absl::StatusOr<std::vector<ServerConfig>> before = config.Servers();
  absl::StatusOr<std::vector<ServerConfig>> after = reread->Servers();
  Check(before.ok() && after.ok() && before->size() == after->size());
  for (size_t i = 0; i < before->size(); ++i) {
    const ServerConfig& a = (*before)[i];
    const ServerConfig& b = (*after)[i];
    Check(a.name == b.name && a.port == b.port && a.htl == b.htl);
  }
  Check(reread->TcpKeepAlive() == config.TcpKeepAlive() &&
        reread->ReceiveTimeoutMs() == config.ReceiveTimeoutMs() &&
        reread->ConnectTimeoutMs() == config.ConnectTimeoutMs());
  return 0;
}
