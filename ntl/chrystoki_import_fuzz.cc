// Fuzz target: `vtl importConfig` on a Chrystoki.conf (block form) or a
// crystoki.ini (Windows form), through ClientConfig::ImportChrystoki, the code
// vtl runs. An import either fails with a message or leaves a config that
// validates, and whose trustlink.conf, written and read back, lists the same
// servers, HA groups and HA options with the same settings: what vtl saves is
// what the next vtl reads.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ntl/config_client.h"
#include "ntl/config_ha.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using trustlink::ntl::ClientConfig;
  using trustlink::ntl::ServerConfig;
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  // Default() parses the default trustlink.conf text: done once, it was a sixth
  // of each execution. Every input starts from its own copy, as vtl starts from
  // a fresh default.
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
  absl::StatusOr<std::vector<trustlink::ntl::HaGroupConfig>> groups_before =
      trustlink::ntl::HaGroups(config);
  absl::StatusOr<std::vector<trustlink::ntl::HaGroupConfig>> groups_after =
      trustlink::ntl::HaGroups(*reread);
  Check(groups_before.ok() && groups_after.ok() &&
        groups_before->size() == groups_after->size());
  for (size_t i = 0; i < groups_before->size(); ++i) {
    const trustlink::ntl::HaGroupConfig& a = (*groups_before)[i];
    const trustlink::ntl::HaGroupConfig& b = (*groups_after)[i];
    Check(a.label == b.label && a.serial == b.serial &&
          a.members.size() == b.members.size() && !a.members.empty());
    for (size_t j = 0; j < a.members.size(); ++j) {
      Check(a.members[j].Text() == b.members[j].Text() &&
            a.members[j].standby == b.members[j].standby);
    }
  }
  const trustlink::ntl::HaOptions ha_before =
      trustlink::ntl::GetHaOptions(config);
  const trustlink::ntl::HaOptions ha_after =
      trustlink::ntl::GetHaOptions(*reread);
  Check(ha_before.ha_only == ha_after.ha_only &&
        ha_before.auto_reconnect_interval_seconds ==
            ha_after.auto_reconnect_interval_seconds &&
        ha_before.reconnect_attempts == ha_after.reconnect_attempts);
  Check(reread->TcpKeepAlive() == config.TcpKeepAlive() &&
        reread->ReceiveTimeoutMs() == config.ReceiveTimeoutMs() &&
        reread->ConnectTimeoutMs() == config.ConnectTimeoutMs());
  return 0;
}
