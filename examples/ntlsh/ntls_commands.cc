// ntlsh's NTLS service command group, on trustlink/registry.h's appliance
// settings and ntlsd's status socket (ntlsd_status.h). See ntls_commands.h.
#include "examples/ntlsh/ntls_commands.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "examples/ntlsh/ntlsd_status.h"
#include "examples/ntlsh/output.h"
#include "examples/ntlsh/service_commands.h"
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

// CheckHostAddress refuses an address literal this host does not have: ntlsd
// could not listen on it, and would find out only at its next restart. It
// binds a socket to the address (port 0), which is what ntlsd will do. Text
// that is no address literal is left to the registry, which says what it
// accepts.
void CheckHostAddress(const std::string& address) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    len = sizeof(*v6);
  } else {
    return;
  }
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;  // no such family here: ntlsd will say so
  const int rc = bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
  const int e = errno;
  close(fd);
  if (rc != 0 && e == EADDRNOTAVAIL) {
    CommandFailed(TL_E_INVALID_ARGUMENT,
                  "'" + address +
                      "' is not an address of this host, so ntlsd could not "
                      "listen on it; give one of the host's addresses (ip "
                      "address), or 0.0.0.0 or :: for all of them");
  }
}

// KeepAliveSet is `ntls tcp_keepalive set` (and its guide spelling `ntls
// TCPKeepAlive set`).
std::function<void(const Args&, Output*)> KeepAliveSet(
    const ShellAccess& shell) {
  return [shell](const Args& a, Output* out) {
    if (a.Has("enable") && a.Has("disable"))
      UsageError("give -enable or -disable, not both");
    long long idle = a.Has("idle") ? ParseNumber("idle", a.Get("idle")) : -1;
    long long interval =
        a.Has("interval") ? ParseNumber("interval", a.Get("interval")) : -1;
    long long probes =
        a.Has("probes") ? ParseNumber("probes", a.Get("probes")) : -1;
    PatchSettings(
        shell,
        [&](tl_appliance_settings* s) {
          if (a.Has("enable")) tl_appliance_settings_set_tcp_keepalive(s, 1);
          if (a.Has("disable")) tl_appliance_settings_set_tcp_keepalive(s, 0);
          if (idle >= 0)
            tl_appliance_settings_set_keepalive_idle(s, int32_t(idle));
          if (interval >= 0) {
            tl_appliance_settings_set_keepalive_interval(s, int32_t(interval));
          }
          if (probes >= 0)
            tl_appliance_settings_set_keepalive_probes(s, int32_t(probes));
        },
        out, false, true, false);
    out->Line("Applies at once to new links; open links keep theirs.");
  };
}

const std::vector<Flag> kKeepAliveFlags = {{"idle", true},
                                           {"interval", true},
                                           {"probes", true},
                                           {"enable", false},
                                           {"disable", false}};

// CounterLabel is how `ntls information show` names a counter of
// tl_server_stats for people (JSON keeps the counter's own name); a counter
// this ntlsh does not know yet is shown by its name.
std::string CounterLabel(const std::string& name) {
  static const std::map<std::string, std::string> kLabels = {
      {"handshakes_full", "Full handshakes"},
      {"handshakes_resumed", "Resumed handshakes"},
      {"handshakes_failed", "Failed handshakes"},
      {"refused_unknown_certificate", "Refused: unknown certificate"},
      {"refused_ip_mismatch", "Refused: source IP mismatch"},
      {"refused_dns", "Refused: hostname lookup failed"},
      {"refused_certificate_validity", "Refused: certificate dates"},
      {"refused_alpn", "Refused: no NTL protocol (ALPN)"},
      {"refused_htl", "Refused: HTL"},
      {"refused_link_cap", "Refused: link cap"},
      {"refused_unauthenticated_cap", "Refused: handshake cap"},
      {"refused_other", "Refused: other rule"},
      {"evicted_unauthenticated", "Evicted handshakes"},
      {"calls", "Calls"},
      {"calls_failed", "Failed calls"},
      {"calls_in_flight", "Calls in flight"},
      {"bytes_in", "Bytes received"},
      {"bytes_out", "Bytes sent"},
      {"htl_up", "HTL up"},
      {"htl_down", "HTL down"},
      {"htl_clone_alerts", "HTL clone alerts"},
      {"call_latency_p50_ns", "Call latency p50 (ns)"},
      {"call_latency_p90_ns", "Call latency p90 (ns)"},
      {"call_latency_p99_ns", "Call latency p99 (ns)"},
  };
  auto it = kLabels.find(name);
  return it == kLabels.end() ? name : it->second;
}

// InformationShow is `ntls information show`: the running service's state
// and the counters ntlsd keeps.
void InformationShow(const ShellAccess& shell, const Args& a, Output* out) {
  NtlsdStatus st;
  std::string error;
  const std::string socket =
      a.Has("socket") ? a.Get("socket") : DefaultNtlsdSocket(shell.root);
  out->Line("NTLS Information:");
  if (!QueryNtlsd(socket, &st, &error)) {
    out->Field("Operational Status", "operational_status", "0 (DOWN)");
    out->Field("Detail", "detail", error);
    return;
  }
  out->Field("Operational Status", "operational_status", "1 (UP)");
  AddDaemonFields(st, out);
  if (!st.stats.empty()) {
    out->Line("Counters since the service (re)started:");
  }
  for (const NtlsdStat& s : st.stats) {
    out->FieldNum(CounterLabel(s.name), s.name,
                  static_cast<long long>(s.value));
  }
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
             a.Has("socket") ? a.Get("socket") : DefaultNtlsdSocket(shell.root),
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
       kKeepAliveFlags,
       true,
       KeepAliveSet(shell),
       "ntls tcp_keepalive set [-idle SECONDS] [-interval SECONDS] [-probes N] "
       "[-enable|-disable]"},
      {{"ntls", "TCPKeepAlive", "set"},
       kKeepAliveFlags,
       true,
       KeepAliveSet(shell),
       "ntls TCPKeepAlive set (the guide's spelling of ntls tcp_keepalive "
       "set)"},
      {{"ntls", "tcp_keepalive", "show"},
       {},
       false,
       [shell](const Args&, Output* out) {
         ShowSettings(shell, out, false, true, false);
       },
       "ntls tcp_keepalive show"},
      {{"ntls", "TCPKeepAlive", "show"},
       {},
       false,
       [shell](const Args&, Output* out) {
         ShowSettings(shell, out, false, true, false);
       },
       "ntls TCPKeepAlive show (the guide's spelling of ntls tcp_keepalive "
       "show)"},
      {{"ntls", "bind"},
       {{"address", true}, {"port", true}},
       true,
       [shell](const Args& a, Output* out) {
         if (!a.Has("address") && !a.Has("port"))
           UsageError("give -address and/or -port");
         long long port =
             a.Has("port") ? ParseNumber("port", a.Get("port")) : -1;
         std::string address = a.Get("address");
         if (a.Has("address")) CheckHostAddress(address);
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
         out->Line(
             "The new bind address and port take effect at the next: ntlsh "
             "service restart ntls");
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
         out->Line(
             "Applies at once: a link that sends nothing for this long is "
             "closed, open links included.");
         // trustlink clients ping after 10 s of silence by default
         // (tl_client_settings_set_timeouts).
         if (ms < 10000) {
           out->Warning(
               "clients ping every 10 s by default: with a receive timeout "
               "under that, their idle links are closed and reconnect; keep "
               "it above the clients' heartbeat interval");
         }
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
      {{"ntls", "information", "show"},
       {{"socket", true}},
       false,
       [shell](const Args& a, Output* out) { InformationShow(shell, a, out); },
       "ntls information show [-socket PATH]"},
  };
}

}  // namespace ntlsh
