// p11_setup_local: `vtl p11 setup` for the local stand-in transport: writes one
// p11-kit module config per partition.
//
//   p11_setup_local [-dir DIR] -bridge PATH -socket SOCKET -server NAME
//   -partitions a,b,...
//
// With the link merged, vtl gets the assigned partitions from the NTLA's slot
// list and the bridge command is "<vtl path> p11 bridge".

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "ntl/pkcs11/module_config.h"

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    flags[argv[i]] = argv[i + 1];
  }
  std::string dir = flags["-dir"];
  if (dir.empty()) {
    absl::StatusOr<std::string> d = trustlink::ntl::pkcs11::DefaultModuleDir();
    if (!d.ok()) {
      fprintf(stderr, "p11 setup: %s\n",
              std::string(d.status().message()).c_str());
      return 1;
    }
    dir = *d;
  }
  std::vector<trustlink::ntl::pkcs11::ModuleAssignment> assignments;
  for (absl::string_view p :
       absl::StrSplit(flags["-partitions"], ',', absl::SkipEmpty())) {
    assignments.push_back({flags["-server"], std::string(p)});
  }
  absl::StatusOr<trustlink::ntl::pkcs11::SetupResult> r =
      trustlink::ntl::pkcs11::WriteModuleConfigs(
          dir, {flags["-bridge"], "-socket", flags["-socket"]}, assignments);
  if (!r.ok()) {
    fprintf(stderr, "p11 setup: %s\n",
            std::string(r.status().message()).c_str());
    return 1;
  }
  for (const std::string& f : r->written) {
    printf("wrote %s/%s\n", dir.c_str(), f.c_str());
  }
  for (const std::string& f : r->removed) {
    printf("removed %s/%s\n", dir.c_str(), f.c_str());
  }
  return 0;
}
