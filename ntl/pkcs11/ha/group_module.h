#ifndef TRUSTLINK_NTL_PKCS11_HA_GROUP_MODULE_H_
#define TRUSTLINK_NTL_PKCS11_HA_GROUP_MODULE_H_

// `vtl p11 setup` for HA groups: one p11-kit module config per group,
//
//   remote: |<vtl> --root R p11 habridge -group G -member S1/P1 -member S2/P2
//   disable-in: vtl
//
// so p11-kit-proxy shows the group as one slot. `disable-in` keeps the
// group's own bridge (a vtl process, which loads p11-kit's module list to
// reach the members) from ever starting itself. With HAOnly the members'
// per-server configs get `enable-in: vtl`: only vtl (the group's bridge)
// loads them, so neither p11-kit-proxy nor GnuTLS (which reads the module
// list itself, where `disable-in: p11-kit-proxy` would not hide them) shows
// the member slots.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ntl/pkcs11/ha/serve.h"
#include "ntl/pkcs11/module_config.h"

namespace trustlink::ntl::pkcs11::ha {

inline constexpr char kGroupModulePrefix[] = "trustlink-group-";

// GroupModule returns the module config of `group`. habridge_argv is the
// command before "-group G ...", e.g. {"/usr/bin/vtl", "--root", R, "p11",
// "habridge"}.
absl::StatusOr<ModuleAssignment> GroupModule(
    const std::vector<std::string>& habridge_argv,
    const GroupServeOptions& group);

// MemberHidingLines returns the lines that hide a member's server module
// from every program but the bridge program `bridge_path` (its base name).
std::string MemberHidingLines(const std::string& bridge_path);

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_GROUP_MODULE_H_
