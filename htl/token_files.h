#ifndef TRUSTLINK_HTL_TOKEN_FILES_H_
#define TRUSTLINK_HTL_TOKEN_FILES_H_

// Which file in <client root>/htl/ is an appliance's one-time token. The
// appliance name is a host name, so the file name is matched without regard
// to letter case: the guide's `mv myLunaClient.ott ./htl/myLunaSA.ott` is
// picked up for a server added as `vtl addServer -n myLunaSA` (or mylunasa).
// Files the agent does not take up are reported with the reason, so an admin
// who copied a token under the wrong name is told so rather than left
// waiting.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::htl {

// FindTokenFile returns the entry of `entries` (the names in htl/) that is
// `appliance`'s token file: "<appliance>.ott" in any letter case. Empty when
// there is none. TL_E_ALREADY_EXISTS when several entries differ only by
// case: taking one of them silently could present a stale token.
absl::StatusOr<std::string> FindTokenFile(
    const std::vector<std::string>& entries, absl::string_view appliance);

// IgnoredTokenFiles returns, for every entry of htl/ that is no appliance's
// token file, "<entry> (<why>)". Dot files (temporary files of an atomic
// copy) are not reported.
std::vector<std::string> IgnoredTokenFiles(
    const std::vector<std::string>& entries,
    const std::vector<std::string>& appliances);

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_TOKEN_FILES_H_
