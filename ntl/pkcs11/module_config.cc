#include "ntl/pkcs11/module_config.h"

#include <stdlib.h>

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/pkcs11/token_store.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11 {
namespace {

// Server names are host names or IP addresses (IPv6 has ':').
absl::Status ValidateServerName(absl::string_view name) {
  if (absl::Status s = internal::ValidateName(name, "server name"); !s.ok()) {
    return s;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
              c == ':';
    if (!ok) {
      return Error(
          absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
          absl::StrCat(
              "server name '", absl::CHexEscape(name),
              "' has a character a host name or IP address cannot have"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateWord(absl::string_view word) {
  if (word.empty()) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 "the bridge command has an empty word");
  }
  for (char c : word) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '"' || c == '\'' ||
        c == '\\' || c == '#' || c == 0x7f) {
      return Error(
          absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
          absl::StrCat("bridge command word '", absl::CHexEscape(word),
                       "' has whitespace, a quote, a backslash or '#'; p11-kit "
                       "cannot pass it through unchanged. Install the bridge "
                       "under a plain path"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateBridgeArgv(const std::vector<std::string>& bridge_argv) {
  if (bridge_argv.empty() || bridge_argv[0].empty() ||
      bridge_argv[0][0] != '/') {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 "the bridge command must start with an absolute path "
                 "(p11-kit-proxy runs it "
                 "without a shell, from any directory)");
  }
  for (const std::string& w : bridge_argv) {
    if (absl::Status s = ValidateWord(w); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DefaultModuleDir() {
  const char* home = getenv("HOME");
  if (home == nullptr || home[0] != '/') {
    return Error(absl::StatusCode::kFailedPrecondition,
                 TL_E_FAILED_PRECONDITION,
                 "HOME is not set to an absolute path; give the module "
                 "directory explicitly");
  }
  return absl::StrCat(home, "/.config/pkcs11/modules");
}

absl::StatusOr<std::string> ModuleFileName(const ModuleAssignment& a) {
  if (absl::Status s = ValidateServerName(a.server); !s.ok()) {
    return s;
  }
  if (a.partition.empty()) {
    return absl::StrCat(kModulePrefix, a.server, kModuleSuffix);
  }
  if (absl::Status s = ValidatePartitionName(a.partition); !s.ok()) {
    return s;
  }
  std::string name =
      absl::StrCat(kModulePrefix, a.server, "-", a.partition, kModuleSuffix);
  if (absl::Status s = internal::ValidateName(name, "module file name");
      !s.ok()) {
    return s;
  }
  return name;
}

absl::StatusOr<std::string> ModuleConfigText(
    const std::vector<std::string>& bridge_argv, const ModuleAssignment& a) {
  if (absl::Status s = ValidateBridgeArgv(bridge_argv); !s.ok()) {
    return s;
  }
  if (absl::Status s = ModuleFileName(a).status(); !s.ok()) {
    return s;
  }
  std::string cmd;
  for (const std::string& w : bridge_argv) {
    absl::StrAppend(&cmd, w, " ");
  }
  absl::StrAppend(&cmd, "-server ", a.server);
  std::string what = absl::StrCat(
      "every partition assigned to this client on server '", a.server, "'");
  if (!a.partition.empty()) {
    absl::StrAppend(&cmd, " -partition ", a.partition);
    what = absl::StrCat("partition '", a.partition, "' on server '", a.server,
                        "'");
  }
  return absl::StrCat(
      "# trustlink: ", what,
      ".\n# Written by trustlink's p11 setup; run it again instead of "
      "editing.\n",
      "remote: |", cmd, "\n", a.extra_lines);
}

absl::StatusOr<SetupResult> WriteModuleConfigs(
    const std::string& dir, const std::vector<std::string>& bridge_argv,
    const std::vector<ModuleAssignment>& assignments) {
  std::vector<std::pair<std::string, std::string>> files;
  std::set<std::string> wanted;
  for (const ModuleAssignment& a : assignments) {
    absl::StatusOr<std::string> name =
        a.file_name.empty() ? ModuleFileName(a) : a.file_name;
    if (!name.ok()) {
      return name.status();
    }
    absl::StatusOr<std::string> text =
        a.file_name.empty() ? ModuleConfigText(bridge_argv, a) : a.file_text;
    if (!text.ok()) {
      return text.status();
    }
    if (!wanted.insert(*name).second) {
      return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                   absl::StrCat("module ", *name, " (server '", a.server,
                                "') is listed twice"));
    }
    files.emplace_back(*name, *text);
  }
  absl::StatusOr<internal::SafeDir> d =
      internal::SafeDir::Open(dir, true, 0700);
  if (!d.ok()) {
    return d.status();
  }
  // No lock file here: p11-kit reads every file in this directory as a module
  // config. Each file is replaced atomically, so a concurrent setup leaves
  // whole files behind.
  SetupResult result;
  std::set<std::string> sorted(wanted);
  for (const auto& [name, text] : files) {
    if (absl::Status s = d->WriteFileAtomic(name, text, 0644); !s.ok()) {
      return s;
    }
  }
  result.written.assign(sorted.begin(), sorted.end());
  absl::StatusOr<std::vector<std::string>> existing = d->List();
  if (!existing.ok()) {
    return existing.status();
  }
  for (const std::string& name : *existing) {
    if (absl::StartsWith(name, kModulePrefix) &&
        absl::EndsWith(name, kModuleSuffix) && wanted.count(name) == 0) {
      if (absl::Status s = d->RemoveFile(name); !s.ok()) {
        return s;
      }
      result.removed.push_back(name);
    }
  }
  return result;
}

}  // namespace trustlink::ntl::pkcs11
