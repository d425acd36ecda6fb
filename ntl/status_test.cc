#include "ntl/status.h"

#include "gtest/gtest.h"

namespace trustlink::ntl {
namespace {

TEST(StatusTest, PreciseCodeSurvivesCopies) {
  absl::Status status = Error(absl::StatusCode::kFailedPrecondition,
                              TL_E_CERT_EXPIRED, "certificate 'hsm1' expired");
  absl::Status copy = status;
  EXPECT_EQ(ToTlStatus(copy), TL_E_CERT_EXPIRED);
  EXPECT_EQ(copy.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(copy.message(), "certificate 'hsm1' expired");
}

TEST(StatusTest, CanonicalCodesMapWithoutPayload) {
  EXPECT_EQ(ToTlStatus(absl::OkStatus()), TL_OK);
  EXPECT_EQ(ToTlStatus(absl::NotFoundError("x")), TL_E_NOT_FOUND);
  EXPECT_EQ(ToTlStatus(absl::InvalidArgumentError("x")), TL_E_INVALID_ARGUMENT);
  EXPECT_EQ(ToTlStatus(absl::UnknownError("x")), TL_E_INTERNAL);
  EXPECT_EQ(ToTlStatus(absl::DeadlineExceededError("x")),
            TL_E_DEADLINE_EXCEEDED);
}

}  // namespace
}  // namespace trustlink::ntl
