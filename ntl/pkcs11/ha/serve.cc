#include "ntl/pkcs11/ha/serve.h"

#include <cstdlib>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ntl/pkcs11/ha/function_list.h"
#include "ntl/pkcs11/ha/ha_module.h"
#include "ntl/pkcs11/ha/p11kit_lib.h"
#include "ntl/pkcs11/module_config.h"
#include "ntl/pkcs11/token_store.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11::ha {

absl::Status ValidateGroup(const GroupServeOptions& options) {
  if (absl::Status s = ValidatePartitionName(options.label); !s.ok()) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_NAME_INVALID,
                 absl::StrCat("HA group label: ", s.message()));
  }
  if (options.members.empty()) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 absl::StrCat("HA group '", options.label,
                              "' has no members; add one (vtl hagroup "
                              "addMember)"));
  }
  std::set<std::string> servers;
  for (const GroupMember& m : options.members) {
    absl::StatusOr<std::string> file = ModuleFileName({m.server, m.partition});
    if (!file.ok()) {
      return file.status();
    }
    if (!servers.insert(m.server).second) {
      // One server's partitions share one module and one stream, which fail
      // together: two members there would give no availability.
      return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                   absl::StrCat("HA group '", options.label,
                                "' has two members on server '", m.server,
                                "'; a group's members must be on different "
                                "appliances"));
    }
  }
  return absl::OkStatus();
}

namespace {

// RemoteCommand returns the words of module f's `remote: |COMMAND` line, as
// p11-kit splits them (setup writes no quotes or backslashes:
// ValidateBridgeArgv), or nothing when the module is not a command.
std::vector<std::string> RemoteCommand(const P11KitLib* lib,
                                       CK_FUNCTION_LIST* f) {
  char* remote = lib->config_option(f, "remote");
  if (remote == nullptr) {
    return {};
  }
  std::string line(remote);
  free(remote);
  if (line.empty() || line[0] != '|') {
    return {};
  }
  return absl::StrSplit(line.substr(1), absl::ByAnyChar(" \t"),
                        absl::SkipEmpty());
}

}  // namespace

absl::Status ServeGroup(const GroupServeOptions& options, int in_fd,
                        int out_fd) {
  if (absl::Status s = ValidateGroup(options); !s.ok()) {
    return s;
  }
  absl::StatusOr<const P11KitLib*> lib = LoadP11Kit();
  if (!lib.ok()) {
    return lib.status();
  }
  // Every configured module is loaded, none initialised: only the members'
  // are (which starts their bridges). The group's own module is never
  // initialised here, and its config says disable-in for this program.
  CK_FUNCTION_LIST** modules = (*lib)->modules_load(nullptr, 0);
  if (modules == nullptr) {
    return Error(absl::StatusCode::kFailedPrecondition,
                 TL_E_FAILED_PRECONDITION,
                 "p11-kit loaded no module configs; run vtl p11 setup");
  }
  std::vector<std::unique_ptr<Member>> members;
  for (const GroupMember& m : options.members) {
    std::string name = absl::StrCat(kModulePrefix, m.server);
    CK_FUNCTION_LIST* f = (*lib)->module_for_name(modules, name.c_str());
    if (f == nullptr) {
      (*lib)->modules_release(modules);
      return Error(absl::StatusCode::kNotFound, TL_E_NOT_FOUND,
                   absl::StrCat("HA group '", options.label, "': member ",
                                m.server, "/", m.partition,
                                " has no p11-kit module ", name, kModuleSuffix,
                                " (or p11-kit does not load it in this "
                                "program); run vtl p11 setup"));
    }
    members.push_back(std::make_unique<Member>(*lib, m.server, m.partition, f));
    members.back()->set_transfer_command(RemoteCommand(*lib, f), name);
  }
  HaModuleOptions mo;
  mo.label = options.label;
  mo.serial = options.serial;
  mo.retry_interval = options.retry_interval;
  mo.reconnect_attempts = options.reconnect_attempts;
  mo.log = options.log;
  absl::Status result;
  {
    HaModule module(std::move(mo), std::move(members));
    CK_FUNCTION_LIST* f = InstallHaModule(&module);
    int rc = (*lib)->remote_serve_module(f, in_fd, out_fd);
    InstallHaModule(nullptr);
    if (rc != 0) {
      result = Error(absl::StatusCode::kUnavailable, TL_E_IO,
                     absl::StrCat("serving HA group '", options.label,
                                  "' ended with a p11-kit RPC error"));
    }
  }  // the module finalises its members here
  (*lib)->modules_release(modules);
  return result;
}

}  // namespace trustlink::ntl::pkcs11::ha
