#ifndef TRUSTLINK_NTL_PKCS11_MODULE_CONFIG_H_
#define TRUSTLINK_NTL_PKCS11_MODULE_CONFIG_H_

// `vtl p11 setup`: one p11-kit module config per server, saying
//
//   remote: |<bridge command> -server <server>
//
// so p11-kit-proxy.so starts one bridge (one stream) per server, which shows
// every partition assigned there as a slot (ADR 0002). The older form, one
// config per partition (`... -server S -partition P`), stays for the stand-in
// link. Files are named trustlink-<server>.module (or
// trustlink-<server>-<partition>.module); setup replaces them atomically,
// removes its own files that it did not write this time, and never touches
// other modules.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::ntl::pkcs11 {

inline constexpr char kModulePrefix[] = "trustlink-";
inline constexpr char kModuleSuffix[] = ".module";

// ModuleAssignment is one server (partition empty: every partition assigned
// there) or one partition on one server.
struct ModuleAssignment {
  ModuleAssignment(std::string s = "", std::string p = "")
      : server(std::move(s)), partition(std::move(p)) {}
  std::string server;
  std::string partition;
  // Lines added to the config, such as "enable-in: vtl" for a member of an HA
  // group with HAOnly (ha/group_module.h).
  std::string extra_lines;
  // A prepared config (an HA group's, ha/group_module.h): written as is under
  // file_name; server and partition are then unused.
  std::string file_name;
  std::string file_text;
};

struct SetupResult {
  std::vector<std::string> written;  // file names, in slot order
  std::vector<std::string> removed;  // stale trustlink-*.module files deleted
};

// DefaultModuleDir returns $HOME/.config/pkcs11/modules (p11-kit's user module
// directory). p11-kit ignores user configs in programs running as root; root
// uses /etc/pkcs11/modules.
absl::StatusOr<std::string> DefaultModuleDir();

// ModuleFileName returns "trustlink-<server>.module" or
// "trustlink-<server>-<partition>.module" after validating the names.
absl::StatusOr<std::string> ModuleFileName(const ModuleAssignment& a);

// ValidateBridgeArgv checks a bridge command: an absolute path first, and no
// word with whitespace, quotes, backslashes or '#' (p11-kit splits the command
// itself, without a shell).
absl::Status ValidateBridgeArgv(const std::vector<std::string>& bridge_argv);

// ModuleConfigText returns the config for one assignment. `bridge_argv` is the
// bridge command before "-server S [-partition P]"; every word must be free of
// whitespace, quotes, backslashes and '#' (p11-kit splits the command itself,
// without a shell).
absl::StatusOr<std::string> ModuleConfigText(
    const std::vector<std::string>& bridge_argv, const ModuleAssignment& a);

// WriteModuleConfigs makes `dir` (0700, with parents) if needed, writes one
// config per assignment and removes trustlink-*.module files that are not in
// `assignments`. Slots appear in p11-kit's module order, which is by file name.
absl::StatusOr<SetupResult> WriteModuleConfigs(
    const std::string& dir, const std::vector<std::string>& bridge_argv,
    const std::vector<ModuleAssignment>& assignments);

}  // namespace trustlink::ntl::pkcs11

#endif  // TRUSTLINK_NTL_PKCS11_MODULE_CONFIG_H_
