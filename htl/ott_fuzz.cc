// Fuzz target: the one-time-token file an admin copies into <client root>/htl/
// (htl/ott.h) and the choice of which file in htl/ is which appliance's token
// (htl/token_files.h). Both read what a person copied by hand. A parsed token
// is exactly kTokenLen bytes and survives FormatTokenFile; a chosen file is
// one of the entries given.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "htl/crypto.h"
#include "htl/ott.h"
#include "htl/token_files.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace htl = trustlink::htl;
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::string> token = htl::ParseTokenFile(in, "fuzz.ott");
  if (token.ok()) {
    Check(token->size() == htl::kTokenLen);
    absl::StatusOr<std::string> again =
        htl::ParseTokenFile(htl::FormatTokenFile(*token, "fuzz"), "again.ott");
    Check(again.ok() && *again == *token);
  }
  // The same bytes as a listing of htl/: the first line names the appliance.
  std::vector<std::string> entries = absl::StrSplit(in, '\n');
  const std::string appliance = entries.front();
  entries.erase(entries.begin());
  if (absl::StatusOr<std::string> name = htl::TokenFileName(appliance);
      name.ok()) {
    Check(name->size() == appliance.size() + htl::kTokenFileSuffix.size());
  }
  absl::StatusOr<std::string> found = htl::FindTokenFile(entries, appliance);
  if (found.ok() && !found->empty()) {
    Check(std::find(entries.begin(), entries.end(), *found) != entries.end());
  }
  (void)htl::IgnoredTokenFiles(entries, {appliance});
  return 0;
}
