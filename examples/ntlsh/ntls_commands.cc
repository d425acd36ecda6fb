// ntlsh's NTLS service command group, on trustlink/registry.h's appliance
// settings and ntlsd's status socket (ntlsd_status.h). See ntls_commands.h.
#include "examples/ntlsh/ntls_commands.h"

#include <functional>
#include <memory>
#include <string>

#include "examples/ntlsh/ntlsd_status.h"
#include "examples/ntlsh/output.h"
#include "trustlink/trustlink.h"

namespace ntlsh {
namespace {

// SettingsBlock adds the chosen parts of the appliance settings to `out`:
// each command shows only what it can change.
void SettingsBlock(const tl_appliance_settings* s, bool ntls, bool keepalive,
                   bool htl, Output* out) {
  if (ntls) {
    out->Field("NTLS bind address", "bind_address",
               tl_appliance_settings_bind_address(s));
    out->FieldNum("NTLS port", "port", tl_appliance_settings_port(s));
    out->Field("NTLS client source IP validation", "ipcheck",
               tl_appliance_settings_ipcheck(s) ? "Enable" : "Disable");
    out->FieldNum("NTLS receive timeout (ms)", "receive_timeout_ms",
                  tl_appliance_settings_receive_timeout_ms(s));
    out->FieldNum("NTLS max links per client", "max_links_per_client",
                  tl_appliance_settings_max_links_per_client(s));
  }
  if (keepalive) {
    out->Field("TCP keep-alive", "tcp_keepalive",
               tl_appliance_settings_tcp_keepalive(s) ? "Enable" : "Disable");
    out->FieldNum("TCP keep-alive idle (s)", "keepalive_idle",
                  tl_appliance_settings_keepalive_idle(s));
    out->FieldNum("TCP keep-alive interval (s)", "keepalive_interval",
                  tl_appliance_settings_keepalive_interval(s));
    out->FieldNum("TCP keep-alive probes", "keepalive_probes",
                  tl_appliance_settings_keepalive_probes(s));
  }
  if (htl) {
    out->FieldNum("HTL grace period (s)", "htl_grace_period",
                  tl_appliance_settings_htl_grace_period(s));
    out->FieldNum("HTL default OTT expiry (s)", "htl_default_ott_expiry",
                  tl_appliance_settings_htl_default_ott_expiry(s));
  }
}

// ShowService adds what the running ntlsd reports, or why there is nothing to
// report; either way `ntls show` succeeds, as the settings are still shown.
void ShowService(const std::string& socket_path, Output* out) {
  NtlsdStatus st;
  std::string error;
  if (!QueryNtlsd(socket_path, &st, &error)) {
    out->Field("NTLS service", "service", "not running");
    out->Field("NTLS service detail", "service_detail", error);
    return;
  }
  out->Field("NTLS service", "service", "running");
  out->Field("NTLS listening on", "listen", st.listen);
  out->FieldNum("Admitted connections", "connections", st.connections);
  out->FieldNum("Connections in handshake", "unauthenticated",
                st.unauthenticated);
  std::vector<std::vector<std::string>> rows;
  for (const NtlsdClient& c : st.clients) {
    rows.push_back({c.label, std::to_string(c.connections), c.fingerprint});
  }
  out->Table("connected_clients",
             {"Connected Client", "Connections", "SHA-256 Fingerprint"},
             {"client", "connections", "fingerprint"}, rows);
}

// PatchSettings applies what `fill` sets on an empty patch to the registry's
// settings, then shows the chosen parts of the result.
void PatchSettings(const ShellAccess& shell,
                   const std::function<void(tl_appliance_settings*)>& fill,
                   Output* out, bool ntls, bool keepalive, bool htl) {
  tl_registry* reg = shell.registry(true);
  tl_appliance_settings* patch = nullptr;
  if (tl_appliance_settings_new(&patch) != TL_OK)
    CommandFailed(TL_E_NO_MEMORY, "out of memory");
  std::unique_ptr<tl_appliance_settings, void (*)(tl_appliance_settings*)> p(
      patch, tl_appliance_settings_free);
  fill(patch);
  tl_appliance_settings* now = nullptr;
  tl_status st = tl_registry_update_settings(reg, patch, &now);
  std::unique_ptr<tl_appliance_settings, void (*)(tl_appliance_settings*)> n(
      now, tl_appliance_settings_free);
  shell.check(st, reg);
  SettingsBlock(now, ntls, keepalive, htl, out);
}

// ShowSettings shows the chosen parts of the registry's settings.
void ShowSettings(const ShellAccess& shell, Output* out, bool ntls,
                  bool keepalive, bool htl) {
  tl_registry* reg = shell.registry(false);
  tl_appliance_settings* s = nullptr;
  tl_status st = tl_registry_get_settings(reg, &s);
  std::unique_ptr<tl_appliance_settings, void (*)(tl_appliance_settings*)> p(
      s, tl_appliance_settings_free);
  shell.check(st, reg);
  SettingsBlock(s, ntls, keepalive, htl, out);
}

}  // namespace

std::vector<Command> NtlsCommands(const ShellAccess& shell) {
  return {
      {{"ntls", "show"},
       {{"socket", true}},
       false,
       [shell](const Args& a, Output* out) {
         ShowSettings(shell, out, true, true, false);
         ShowService(
             a.Has("socket") ? a.Get("socket") : shell.root + "/ntlsd.sock",
             out);
       },
       "ntls show [-socket PATH]"},
      {{"ntls", "ipcheck", "enable"},
       {},
       true,
       [shell](const Args&, Output* out) {
         PatchSettings(
             shell,
             [](tl_appliance_settings* s) {
               tl_appliance_settings_set_ipcheck(s, 1);
             },
             out, true, false, false);
       },
       "ntls ipcheck enable"},
      {{"ntls", "ipcheck", "disable"},
       {},
       true,
       [shell](const Args&, Output* out) {
         PatchSettings(
             shell,
             [](tl_appliance_settings* s) {
               tl_appliance_settings_set_ipcheck(s, 0);
             },
             out, true, false, false);
       },
       "ntls ipcheck disable"},
      {{"ntls", "ipcheck", "show"},
       {},
       false,
       [shell](const Args&, Output* out) {
         ShowSettings(shell, out, true, false, false);
       },
       "ntls ipcheck show"},
      {{"ntls", "tcp_keepalive", "set"},
       {{"idle", true},
        {"interval", true},
        {"probes", true},
        {"enable", false},
        {"disable", false}},
       true,
       [shell](const Args& a, Output* out) {
         if (a.Has("enable") && a.Has("disable"))
           UsageError("give -enable or -disable, not both");
         long long idle =
             a.Has("idle") ? ParseNumber("idle", a.Get("idle")) : -1;
         long long interval = a.Has("interval")
                                  ? ParseNumber("interval", a.Get("interval"))
                                  : -1;
         long long probes =
             a.Has("probes") ? ParseNumber("probes", a.Get("probes")) : -1;
         PatchSettings(
             shell,
             [&](tl_appliance_settings* s) {
               if (a.Has("enable"))
                 tl_appliance_settings_set_tcp_keepalive(s, 1);
               if (a.Has("disable"))
                 tl_appliance_settings_set_tcp_keepalive(s, 0);
               if (idle >= 0)
                 tl_appliance_settings_set_keepalive_idle(s, int32_t(idle));
               if (interval >= 0) {
                 tl_appliance_settings_set_keepalive_interval(
                     s, int32_t(interval));
               }
               if (probes >= 0)
                 tl_appliance_settings_set_keepalive_probes(s, int32_t(probes));
             },
             out, false, true, false);
       },
       "ntls tcp_keepalive set [-idle SECONDS] [-interval SECONDS] [-probes N] "
       "[-enable|-disable]"},
      {{"ntls", "tcp_keepalive", "show"},
       {},
       false,
       [shell](const Args&, Output* out) {
         ShowSettings(shell, out, false, true, false);
       },
       "ntls tcp_keepalive show"},
      {{"ntls", "bind"},
       {{"address", true}, {"port", true}},
       true,
       [shell](const Args& a, Output* out) {
         if (!a.Has("address") && !a.Has("port"))
           UsageError("give -address and/or -port");
         long long port =
             a.Has("port") ? ParseNumber("port", a.Get("port")) : -1;
         std::string address = a.Get("address");
         PatchSettings(
             shell,
             [&](tl_appliance_settings* s) {
               if (!address.empty() && tl_appliance_settings_set_bind_address(
                                           s, address.c_str()) != TL_OK) {
                 char buf[TL_ERROR_MESSAGE_MAX];
                 size_t len = 0;
                 tl_appliance_settings_last_error(s, buf, sizeof(buf), &len);
                 CommandFailed(TL_E_NAME_INVALID, std::string(buf, len));
               }
               if (port >= 0) tl_appliance_settings_set_port(s, int32_t(port));
             },
             out, true, false, false);
       },
       "ntls bind [-address ADDR] [-port PORT]"},
      {{"ntls", "timeout", "set"},
       {{"receive", true}},
       true,
       [shell](const Args& a, Output* out) {
         long long ms = ParseNumber("receive", RequireFlag(a, "receive"));
         PatchSettings(
             shell,
             [&](tl_appliance_settings* s) {
               tl_appliance_settings_set_receive_timeout_ms(s, int32_t(ms));
             },
             out, true, false, false);
       },
       "ntls timeout set -receive MILLISECONDS"},
      {{"ntls", "limits", "set"},
       {{"maxlinksperclient", true}},
       true,
       [shell](const Args& a, Output* out) {
         long long n = ParseNumber("maxlinksperclient",
                                   RequireFlag(a, "maxlinksperclient"));
         PatchSettings(
             shell,
             [&](tl_appliance_settings* s) {
               tl_appliance_settings_set_max_links_per_client(s, int32_t(n));
             },
             out, true, false, false);
       },
       "ntls limits set -maxlinksperclient N"},
      {{"ntls", "limits", "show"},
       {},
       false,
       [shell](const Args&, Output* out) {
         ShowSettings(shell, out, true, false, false);
       },
       "ntls limits show"},
  };
}

std::vector<Command> ServiceCommands() {
  return {
      {{"service", "restart", "ntls"},
       {},
       false,
       [](const Args&, Output* out) {
         out->Line(
             "Nothing to restart: NTLS applies registry and setting changes at "
             "once, "
             "without a restart.");
       },
       "service restart ntls"},
  };
}

}  // namespace ntlsh
