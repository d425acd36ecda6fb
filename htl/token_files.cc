#include "htl/token_files.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "htl/ott.h"
#include "ntl/status.h"

namespace trustlink::htl {

absl::StatusOr<std::string> FindTokenFile(
    const std::vector<std::string>& entries, absl::string_view appliance) {
  const std::string wanted = absl::StrCat(appliance, kTokenFileSuffix);
  std::vector<std::string> found;
  for (const std::string& e : entries) {
    if (absl::EqualsIgnoreCase(e, wanted)) found.push_back(e);
  }
  if (found.size() > 1) {
    return ntl::Error(
        absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
        absl::StrCat("htl/ holds ", absl::StrJoin(found, " and "),
                     ", which differ only by letter case; keep the newest "
                     "token and delete the others"));
  }
  return found.empty() ? std::string() : found[0];
}

std::vector<std::string> IgnoredTokenFiles(
    const std::vector<std::string>& entries,
    const std::vector<std::string>& appliances) {
  std::vector<std::string> ignored;
  const std::string servers = absl::StrJoin(appliances, ", ");
  for (const std::string& e : entries) {
    if (e.empty() || e[0] == '.') continue;
    bool taken = false;
    for (const std::string& a : appliances) {
      taken =
          taken || absl::EqualsIgnoreCase(e, absl::StrCat(a, kTokenFileSuffix));
    }
    if (taken) continue;
    if (!absl::EndsWithIgnoreCase(e, kTokenFileSuffix)) {
      ignored.push_back(absl::StrCat(e,
                                     " (not a token file: a token file is "
                                     "named <appliance>.ott)"));
    } else {
      ignored.push_back(absl::StrCat(
          e, " (it names no HTL server of this client; the servers are ",
          servers, ": rename it to ",
          appliances.empty() ? "<appliance>" : appliances[0], ".ott",
          appliances.size() > 1 ? " or another of them" : "",
          ", the server's name in the client configuration)"));
    }
  }
  return ignored;
}

}  // namespace trustlink::htl
