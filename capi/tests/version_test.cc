#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "trustlink/trustlink.h"

namespace {

TEST(VersionTest, MacrosAgreeWithTheLibrary) {
  EXPECT_EQ(tl_version_number(), static_cast<uint32_t>(TL_VERSION_NUMBER));
  EXPECT_EQ(TL_VERSION_NUMBER, TL_VERSION_MAJOR * 1000000 +
                                   TL_VERSION_MINOR * 1000 + TL_VERSION_PATCH);
  EXPECT_EQ(std::string(tl_version_string()),
            absl::StrFormat("%d.%d.%d", TL_VERSION_MAJOR, TL_VERSION_MINOR,
                            TL_VERSION_PATCH));
  EXPECT_STREQ(tl_version_string(), TL_VERSION_STRING);
}

}  // namespace
