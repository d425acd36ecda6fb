#include "htl/link_connector.h"

#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

class UnwiredConnector : public HtlConnector {
 public:
  absl::StatusOr<std::unique_ptr<HtlSession>> Connect(
      absl::string_view appliance) override {
    return ntl::Error(
        absl::StatusCode::kUnimplemented, TL_E_UNIMPLEMENTED,
        absl::StrCat("cannot open the htl/1 link to '", appliance,
                     "': this build of trustlink has no client link yet"));
  }
};

}  // namespace

std::unique_ptr<HtlConnector> NewLinkConnector(const std::string&) {
  return std::make_unique<UnwiredConnector>();
}

}  // namespace trustlink::htl
