#include "ntl/server/resource_error.h"

#include <errno.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trustlink::ntl::server {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ResourceErrorTest, OutOfDescriptorsNamesTheLimitAndUlimit) {
  EXPECT_THAT(ResourceErrorCause(EMFILE, 256),
              AllOf(HasSubstr("Too many open files"),
                    HasSubstr("all the descriptors its limit allows (256)"),
                    HasSubstr("ulimit -n")));
  EXPECT_THAT(
      ResourceErrorCause(EMFILE, 0),
      AllOf(HasSubstr("its limit allows; raise it"), Not(HasSubstr("(0)"))));
}

TEST(ResourceErrorTest, AFullSystemTableNamesTheSystemLimitNotUlimit) {
  EXPECT_THAT(ResourceErrorCause(ENFILE, 256),
              AllOf(HasSubstr("Too many open files in system"),
                    HasSubstr("fs.file-max"), Not(HasSubstr("ulimit"))));
}

TEST(ResourceErrorTest, OutOfMemoryNamesMemoryNotDescriptors) {
  for (int error : {ENOMEM, ENOBUFS}) {
    EXPECT_THAT(ResourceErrorCause(error, 256),
                AllOf(HasSubstr("could not allocate memory"),
                      Not(HasSubstr("ulimit")), Not(HasSubstr("descriptor"))))
        << error;
  }
}

TEST(ResourceErrorTest, AnyOtherErrorIsItsOwnDescription) {
  EXPECT_EQ(ResourceErrorCause(EINVAL, 256), "Invalid argument");
  EXPECT_EQ(ResourceErrorCause(EBADF, 256), "Bad file descriptor");
}

}  // namespace
}  // namespace trustlink::ntl::server
