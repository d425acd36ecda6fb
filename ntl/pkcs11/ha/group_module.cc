#include "ntl/pkcs11/ha/group_module.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

absl::StatusOr<ModuleAssignment> GroupModule(
    const std::vector<std::string>& habridge_argv,
    const GroupServeOptions& group) {
  if (absl::Status s = ValidateBridgeArgv(habridge_argv); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateGroup(group); !s.ok()) {
    return s;
  }
  std::vector<std::string> cmd = habridge_argv;
  cmd.push_back("-group");
  cmd.push_back(group.label);
  std::vector<std::string> names;
  for (const GroupMember& m : group.members) {
    names.push_back(absl::StrCat(m.server, "/", m.partition));
    if (!group.from_config) {
      cmd.push_back("-member");
      cmd.push_back(names.back());
    }
  }
  if (!group.serial.empty() && !group.from_config) {
    cmd.push_back("-serial");
    cmd.push_back(group.serial);
  }
  if (absl::Status s = ValidateBridgeArgv(cmd); !s.ok()) {
    return s;
  }
  ModuleAssignment a;
  a.file_name = absl::StrCat(kGroupModulePrefix, group.label, kModuleSuffix);
  a.file_text = absl::StrCat(
      "# trustlink: HA group '", group.label, "' over ",
      absl::StrJoin(names, ", "),
      ": one slot.\n# Written by trustlink's p11 setup; run it again instead "
      "of editing.\n",
      "remote: |", absl::StrJoin(cmd, " "), "\n",
      "disable-in: ", BaseName(habridge_argv[0]), "\n");
  return a;
}

std::string MemberHidingLines(const std::string& bridge_path) {
  return absl::StrCat(
      "# A member of an HA group with HAOnly: only the group's bridge loads "
      "it.\nenable-in: ",
      BaseName(bridge_path), "\n");
}

}  // namespace trustlink::ntl::pkcs11::ha
