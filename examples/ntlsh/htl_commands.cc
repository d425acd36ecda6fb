// ntlsh's htl command group, on trustlink/htl.h (the appliance's HTL state)
// and trustlink/registry.h (who the clients are). See htl_commands.h.
#include "examples/ntlsh/htl_commands.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "examples/ntlsh/client_view.h"

namespace ntlsh {
namespace {

// Ranges, as docs/appliance.md gives them (and the registry enforces for its
// mirror of the settings).
constexpr long long kMaxGracePeriod = 24 * 3600;       // 1 day
constexpr long long kMaxOttExpiry = 30LL * 24 * 3600;  // 30 days

// Quoted returns the label as an admin would type it in ntlsh.
std::string Quoted(const std::string& label) {
  return label.find(' ') == std::string::npos ? label : "\"" + label + "\"";
}

// Seconds parses a whole number of seconds for `what` and checks it against
// [1, max]. Not a number is a usage error; out of range (negative, zero,
// overflow) is TL_E_OUT_OF_RANGE with the range to use instead. `zero_means`
// says why 0 is refused.
long long Seconds(const std::string& flag, const std::string& text,
                  const std::string& what, long long max,
                  const std::string& zero_means) {
  const std::string range = "give 1 to " + std::to_string(max) + " seconds";
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0') {
    UsageError("-" + flag + " takes a whole number of seconds, not '" + text +
               "'");
  }
  if (errno == ERANGE || v > max) {
    CommandFailed(TL_E_OUT_OF_RANGE,
                  what + " " + text + " s is too long; " + range);
  }
  if (v < 0) {
    CommandFailed(TL_E_OUT_OF_RANGE,
                  what + " cannot be negative (" + text + "); " + range);
  }
  if (v == 0) {
    CommandFailed(TL_E_OUT_OF_RANGE, what + " 0 " + zero_means + "; " + range);
  }
  return v;
}

// Htl is an open handle on the appliance's HTL state (<root>/htl/).
class Htl {
 public:
  explicit Htl(const std::string& root) {
    if (tl_htl_appliance_new(&handle_) != TL_OK) {
      CommandFailed(TL_E_NO_MEMORY, "out of memory");
    }
    Check(tl_htl_appliance_open(handle_, root.c_str(), 0),
          "cannot open the HTL state under " + root + "/htl: ");
  }
  ~Htl() { tl_htl_appliance_free(handle_); }
  Htl(const Htl&) = delete;
  Htl& operator=(const Htl&) = delete;

  tl_htl_appliance* get() const { return handle_; }

  // Message returns the handle's last error message.
  std::string Message() const {
    char buf[TL_ERROR_MESSAGE_MAX];
    size_t len = 0;
    if (tl_htl_appliance_last_error(handle_, buf, sizeof(buf), &len) != TL_OK) {
      return "unknown error";
    }
    return std::string(buf, len);
  }

  // Check fails with `prefix` + the handle's message unless st is TL_OK.
  void Check(tl_status st, const std::string& prefix = "") const {
    if (st != TL_OK) CommandFailed(st, prefix + Message());
  }

 private:
  tl_htl_appliance* handle_ = nullptr;
};

// Row is one client's line of `htl show`.
struct Row {
  std::string label;
  int32_t htl = TL_HTL_STATUS_UNKNOWN;
  int32_t ott = TL_OTT_STATUS_NO_FILE;
  int64_t ott_expiry = 0;
  bool ott_expiry_is_default = true;
  std::string detail;
};

struct ShowListFree {
  void operator()(tl_htl_show_list* l) const { tl_htl_show_list_free(l); }
};
using ShowList = std::unique_ptr<tl_htl_show_list, ShowListFree>;

// Rows returns the HTL rows of `client` (or of every client with HTL state,
// when client is NULL), by label.
std::map<std::string, Row> Rows(const Htl& htl, const char* client) {
  tl_htl_show_list* raw = nullptr;
  tl_status st = tl_htl_show(htl.get(), client, &raw);
  ShowList list(raw);
  htl.Check(st);
  std::map<std::string, Row> rows;
  for (size_t i = 0; i < tl_htl_show_list_count(list.get()); ++i) {
    Row r;
    r.label = tl_htl_show_list_client(list.get(), i);
    int32_t is_default = 1;
    if (tl_htl_show_list_row(list.get(), i, &r.htl, &r.ott, &r.ott_expiry,
                             &is_default) != TL_OK) {
      continue;
    }
    r.ott_expiry_is_default = is_default != 0;
    r.detail = tl_htl_show_list_detail(list.get(), i);
    rows[r.label] = r;
  }
  return rows;
}

// HasHtlState says whether `label` has anything `htl clear` would drop: a
// chain or a token. (A fresh state reads Unknown / No file.)
bool HasHtlState(const Htl& htl, const std::string& label) {
  std::map<std::string, Row> rows = Rows(htl, label.c_str());
  auto it = rows.find(label);
  return it != rows.end() && (it->second.htl != TL_HTL_STATUS_UNKNOWN ||
                              it->second.ott != TL_OTT_STATUS_NO_FILE);
}

std::string ExpiryText(int64_t seconds, bool is_default) {
  return std::to_string(seconds) + (is_default ? " (default)" : "");
}

// kMaxTokenFileStem keeps "<stem>.ott" within the 253 characters trustlink
// allows a file name (a DNS name can have 253 by itself).
constexpr size_t kMaxTokenFileStem = 249;

// FitTokenFileStem returns `stem`, or, when "<stem>.ott" would be too long a
// file name, its first characters and a hash of the whole, so two long names
// that share a beginning still get different files. The file name is only
// for the admin, who renames it on the client (<appliance>.ott).
std::string FitTokenFileStem(const std::string& stem) {
  if (stem.size() <= kMaxTokenFileStem) return stem;
  uint32_t hash = 2166136261u;  // FNV-1a: tells names apart, no secret here
  for (unsigned char c : stem) hash = (hash ^ c) * 16777619u;
  char suffix[10];
  std::snprintf(suffix, sizeof(suffix), "-%08x", hash);
  return stem.substr(0, kMaxTokenFileStem - 9) + suffix;
}

// TokenFileStem returns the name of the token file of client `info`: its host
// name or IP, as the reference product names it. Two clients may share a host
// name (two certificates of one host); their tokens must not overwrite each
// other, so then the label is added: <host>-<label>.ott. The caller says so.
std::string TokenFileStem(const ShellAccess& shell, const tl_client_info* info,
                          std::string* shared_with) {
  const std::string label = tl_client_info_label(info);
  const std::string name = tl_client_info_name(info);
  ClientListPtr owned = RegisteredClients(shell);
  const tl_client_list* list = owned.get();
  for (size_t i = 0; i < tl_client_list_count(list); ++i) {
    const tl_client_info* c = tl_client_list_get(list, i);
    // Registered names are canonical (lower case, canonical IPv6).
    if (label != tl_client_info_label(c) && name == tl_client_info_name(c)) {
      *shared_with += (shared_with->empty() ? "" : ", ") +
                      std::string(tl_client_info_label(c));
    }
  }
  if (shared_with->empty()) return FitTokenFileStem(name);
  std::string safe;
  for (char ch : label) {
    safe += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' ||
             ch == '_' || ch == '.')
                ? ch
                : '_';
  }
  return FitTokenFileStem(name + "-" + safe);
}

// GenerateToken makes a new token for the registered client `info` and writes
// <root>/outgoing/<client host or IP>.ott (TokenFileStem). expiry_seconds 0
// keeps the client's OTT expiry. On failure it throws with `failure_prefix`
// before the message.
void GenerateToken(const ShellAccess& shell, const Htl& htl,
                   const tl_client_info* info, long long expiry_seconds,
                   const std::string& failure_prefix, Output* out) {
  const std::string label = tl_client_info_label(info);
  std::string shared_with;
  const std::string name = TokenFileStem(shell, info, &shared_with);
  const std::string dir = shell.root + "/" + kTokenDirectory;
  // 0700: the token is a credential until the agent has used it.
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    CommandFailed(TL_E_IO, failure_prefix + "cannot create " + dir + ": " +
                               std::strerror(errno));
  }
  htl.Check(tl_htl_generate_ott(htl.get(), label.c_str(), expiry_seconds,
                                dir.c_str(), name.c_str()),
            failure_prefix);
  // An absolute path, so the admin can paste it into scp whatever --root was.
  char resolved[PATH_MAX];
  const std::string path =
      (realpath(dir.c_str(), resolved) != nullptr ? std::string(resolved)
                                                  : dir) +
      "/" + name + ".ott";
  if (name.size() == kMaxTokenFileStem && tl_client_info_name(info) != name &&
      shared_with.empty()) {
    out->Warning("the host name of client " + label +
                 " is too long for a token file name, so the name was "
                 "shortened: " +
                 name + ".ott");
  }
  if (!shared_with.empty()) {
    out->Warning("client " + label + " shares its host name with " +
                 shared_with + ", so its token file is " + name +
                 ".ott, which cannot overwrite theirs");
  }
  std::map<std::string, Row> rows = Rows(htl, label.c_str());
  const Row& row = rows[label];
  out->Field("Token file", "token_file", path);
  out->Field("OTT expiry (s)", "ott_expiry_text",
             ExpiryText(row.ott_expiry, row.ott_expiry_is_default));
  out->Data("ott_expiry", Json::Num(row.ott_expiry));
  out->Line(
      "Copy the token file to the client as <client root>/htl/"
      "<appliance>.ott, where <appliance> is this appliance's name in "
      "the client's configuration (vtl addServer -n), then delete it "
      "here. The client's agent (htlclient) takes it up once; it "
      "expires in " +
      std::to_string(row.ott_expiry) + " s, and any earlier token of " + label +
      " is void.");
  if (!tl_client_info_require_htl(info)) {
    out->Warning("client " + label +
                 " does not require HTL, so its links are admitted without "
                 "it; to require it: client modify -client " +
                 Quoted(label) + " -requirehtl yes");
  }
}

// MirrorSettings copies an HTL setting to the registry's settings, so that
// readers of tl_registry_get_settings agree with the HTL state. A failure is
// a warning: the HTL state, which the server uses, has already changed.
void MirrorSettings(const ShellAccess& shell, bool grace, long long seconds,
                    Output* out) {
  tl_registry* reg = shell.registry(true);
  tl_appliance_settings* patch = nullptr;
  if (tl_appliance_settings_new(&patch) != TL_OK) {
    CommandFailed(TL_E_NO_MEMORY, "out of memory");
  }
  if (grace) {
    tl_appliance_settings_set_htl_grace_period(patch, int32_t(seconds));
  } else {
    tl_appliance_settings_set_htl_default_ott_expiry(patch, int32_t(seconds));
  }
  tl_appliance_settings* now = nullptr;
  tl_status st = tl_registry_update_settings(reg, patch, &now);
  tl_appliance_settings_free(now);
  tl_appliance_settings_free(patch);
  if (st != TL_OK) {
    out->Warning(std::string("the registry's copy of the setting was not "
                             "updated (") +
                 tl_status_name(st) + "); the HTL state has the new value");
  }
}

void SettingsBlock(const Htl& htl, Output* out) {
  int64_t grace = 0, expiry = 0, heartbeat = 0;
  htl.Check(tl_htl_get_settings(htl.get(), &grace, &expiry, &heartbeat));
  out->FieldNum("HTL grace period (s)", "htl_grace_period", grace);
  out->FieldNum("HTL default OTT expiry (s)", "htl_default_ott_expiry", expiry);
  out->FieldNum("HTL heartbeat interval (s)", "htl_heartbeat_interval",
                heartbeat);
}

void Show(const ShellAccess& shell, const Args& args, Output* out) {
  tl_registry* reg = shell.registry(false);
  Htl htl(shell.root);
  SettingsBlock(htl, out);
  int64_t grace = 0, default_expiry = 0, heartbeat = 0;
  htl.Check(
      tl_htl_get_settings(htl.get(), &grace, &default_expiry, &heartbeat));

  std::vector<Row> rows;
  if (args.Has("client")) {
    ClientInfoPtr info = RegisteredClient(shell, RequireFlag(args, "client"));
    const std::string label = tl_client_info_label(info.get());
    rows.push_back(Rows(htl, label.c_str())[label]);
  } else {
    // Every registered client that requires HTL or has HTL state; HTL state
    // left by a deleted client is not shown.
    std::map<std::string, Row> state = Rows(htl, nullptr);
    tl_client_list* raw = nullptr;
    tl_status st = tl_registry_list_clients(reg, &raw);
    std::unique_ptr<tl_client_list, void (*)(tl_client_list*)> list(
        raw, tl_client_list_free);
    shell.check(st, reg);
    for (size_t i = 0; i < tl_client_list_count(list.get()); ++i) {
      const tl_client_info* c = tl_client_list_get(list.get(), i);
      const std::string label = tl_client_info_label(c);
      auto it = state.find(label);
      if (it != state.end()) {
        rows.push_back(it->second);
      } else if (tl_client_info_require_htl(c)) {
        Row r;
        r.label = label;
        r.ott_expiry = default_expiry;
        rows.push_back(r);
      }
    }
  }
  std::vector<std::vector<std::string>> text;
  Json array = Json::Arr();
  for (const Row& r : rows) {
    text.push_back(
        {r.label, tl_htl_status_name(r.htl), tl_ott_status_name(r.ott),
         ExpiryText(r.ott_expiry, r.ott_expiry_is_default), r.detail});
    Json o = Json::Obj();
    o.Set("label", Json::Str(r.label));
    o.Set("htl_status", Json::Str(tl_htl_status_name(r.htl)));
    o.Set("ott_status", Json::Str(tl_ott_status_name(r.ott)));
    o.Set("ott_expiry", Json::Num(r.ott_expiry));
    o.Set("ott_expiry_is_default", Json::Bool(r.ott_expiry_is_default));
    o.Set("detail", Json::Str(r.detail));
    array.Add(o);
  }
  out->HumanTable(
      {"Client", "HTL Status", "OTT Status", "OTT Expiry (s)", "Detail"}, text);
  out->Data("clients", array);
}

void SetSetting(const ShellAccess& shell, const Args& args, bool grace,
                Output* out) {
  long long seconds =
      grace ? Seconds("seconds", RequireFlag(args, "seconds"),
                      "the HTL grace period", kMaxGracePeriod,
                      "would take a client Down the moment its HTL link "
                      "drops, so even an agent restart would need a new token")
            : Seconds("seconds", RequireFlag(args, "seconds"),
                      "the default OTT expiry", kMaxOttExpiry,
                      "would make tokens that expire before they can be used");
  shell.registry(true);  // the root must be an appliance root
  Htl htl(shell.root);
  htl.Check(grace ? tl_htl_set_grace_period(htl.get(), seconds)
                  : tl_htl_set_default_ott_expiry(htl.get(), seconds));
  MirrorSettings(shell, grace, seconds, out);
  SettingsBlock(htl, out);
}

void GenerateOtt(const ShellAccess& shell, const Args& args, Output* out) {
  long long expiry =
      args.Has("expiry")
          ? Seconds("expiry", RequireFlag(args, "expiry"), "the OTT expiry",
                    kMaxOttExpiry,
                    "would make a token that expires before it can be used")
          : 0;
  ClientInfoPtr info = RegisteredClient(shell, RequireFlag(args, "client"));
  Htl htl(shell.root);
  GenerateToken(shell, htl, info.get(), expiry, "", out);
  if (expiry > 0) {
    // -expiry is the client's OTT expiry from now on: keep client show right.
    tl_registry* reg = shell.registry(false);
    tl_status st = tl_registry_set_require_htl(
        reg, tl_client_info_label(info.get()),
        tl_client_info_require_htl(info.get()), expiry, nullptr);
    if (st != TL_OK) {
      out->Warning(
          "the registry's copy of the client's OTT expiry was not "
          "updated; client show may print the old value");
    }
  }
  out->Data("client", Json::Str(tl_client_info_label(info.get())));
}

void Clear(const ShellAccess& shell, const Args& args, Output* out) {
  const std::string label = RequireFlag(args, "client");
  tl_registry* reg = shell.registry(false);
  Htl htl(shell.root);
  tl_client_info* info = nullptr;
  tl_status st = tl_registry_get_client(reg, label.c_str(), &info);
  const int64_t ott_expiry = st == TL_OK ? tl_client_info_ott_expiry(info) : 0;
  tl_client_info_free(info);
  if (st == TL_E_NOT_FOUND && !HasHtlState(htl, label)) {
    CommandFailed(TL_E_NOT_FOUND, "no client '" + label +
                                      "' is registered or has HTL state; see "
                                      "client list and htl show");
  }
  if (st != TL_OK && st != TL_E_NOT_FOUND) shell.check(st, reg);
  htl.Check(tl_htl_clear(htl.get(), label.c_str()));
  if (st == TL_OK) {
    // Clearing a corrupt state file loses the client's OTT expiry with it; the
    // registry's copy puts it back (a no-op otherwise).
    htl.Check(tl_htl_set_client_ott_expiry(htl.get(), label.c_str(),
                                           ott_expiry > 0 ? ott_expiry : -1));
  }
  out->Line("HTL state of client " + label +
            " cleared: its links are closed and its agent is refused until "
            "it takes up a new token (htl generateott -client " +
            Quoted(label) + ").");
  out->Data("client", Json::Str(label));
}

}  // namespace

std::vector<Command> HtlCommands(const ShellAccess& shell) {
  return {
      {{"htl", "show"},
       {{"client", true}},
       false,
       [shell](const Args& a, Output* out) { Show(shell, a, out); },
       "htl show [-client LABEL]"},
      {{"htl", "generateott"},
       {{"client", true}, {"expiry", true}},
       true,
       [shell](const Args& a, Output* out) { GenerateOtt(shell, a, out); },
       "htl generateott -client LABEL [-expiry SECONDS]"},
      {{"htl", "set", "gracePeriod"},
       {{"seconds", true}},
       true,
       [shell](const Args& a, Output* out) { SetSetting(shell, a, true, out); },
       "htl set gracePeriod -seconds N"},
      {{"htl", "set", "defaultOTTExpiry"},
       {{"seconds", true}},
       true,
       [shell](const Args& a, Output* out) {
         SetSetting(shell, a, false, out);
       },
       "htl set defaultOTTExpiry -seconds N"},
      {{"htl", "clear"},
       {{"client", true}},
       true,
       [shell](const Args& a, Output* out) { Clear(shell, a, out); },
       "htl clear -client LABEL"},
  };
}

void CheckHtlRegisterFlags(const Args& args) {
  if (args.Has("generateott") && !args.Has("requirehtl")) {
    UsageError(
        "-generateott needs -requirehtl: a token only matters for a client "
        "that must prove HTL (nothing was registered)");
  }
}

void HtlAfterRegister(const ShellAccess& shell, const tl_client_info* info,
                      const Args& args, Output* out) {
  if (!tl_client_info_require_htl(info) && !args.Has("ottexpiry")) return;
  const std::string label = tl_client_info_label(info);
  const int64_t own = tl_client_info_ott_expiry(info);  // 0: the default
  const std::string next =
      "htl generateott -client " + Quoted(label) +
      (own > 0 ? " -expiry " + std::to_string(own) : std::string());
  const std::string prefix =
      "client " + label + " IS registered, but its HTL " +
      (args.Has("generateott") ? "token was not made"
                               : "state was not set up") +
      "; run " + next + " next. Cause: ";
  try {
    Htl htl(shell.root);
    // A label used before may have HTL state left over; a new registration
    // starts from this one's settings.
    htl.Check(tl_htl_set_client_ott_expiry(htl.get(), label.c_str(),
                                           own > 0 ? own : -1));
    if (args.Has("generateott")) {
      GenerateToken(shell, htl, info, 0, "", out);
    }
  } catch (const Failure& f) {
    throw Failure{kExitFailed, f.status, prefix + f.message};
  }
}

void HtlSyncOttExpiry(const ShellAccess& shell, const std::string& label,
                      long long ott_expiry) {
  try {
    Htl htl(shell.root);
    htl.Check(tl_htl_set_client_ott_expiry(htl.get(), label.c_str(),
                                           ott_expiry > 0 ? ott_expiry : -1));
  } catch (const Failure& f) {
    throw Failure{kExitFailed, f.status,
                  "client " + label +
                      " was modified in the registry, but its HTL OTT expiry "
                      "was not; run client modify -client " +
                      Quoted(label) + " -ottexpiry " +
                      std::to_string(ott_expiry) +
                      " again. Cause: " + f.message};
  }
}

void HtlAfterDelete(const ShellAccess& shell, const std::string& label,
                    Output* out) {
  try {
    Htl htl(shell.root);
    if (!HasHtlState(htl, label)) return;
    htl.Check(tl_htl_clear(htl.get(), label.c_str()));
    out->Line("Its HTL state (chain and token) was cleared.");
  } catch (const Failure& f) {
    throw Failure{kExitFailed, f.status,
                  "client " + label +
                      " was deleted from the registry, but its HTL state was "
                      "not cleared; run htl clear -client " +
                      Quoted(label) + ". Cause: " + f.message};
  }
}

}  // namespace ntlsh
