#include "ntl/server/resource_error.h"

#include <errno.h>
#include <string.h>

#include "absl/strings/str_cat.h"

namespace trustlink::ntl::server {

std::string ResourceErrorCause(int error, size_t descriptor_limit) {
  const std::string what = strerror(error);
  switch (error) {
    case EMFILE:
      return absl::StrCat(
          what, ": the process holds all the descriptors its limit allows",
          descriptor_limit > 0 ? absl::StrCat(" (", descriptor_limit, ")")
                               : std::string(),
          "; raise it (ulimit -n, or LimitNOFILE= in a systemd unit) or "
          "lower the number of links");
    case ENFILE:
      return absl::StrCat(
          what,
          ": the system's open-file table is full, for every process; close "
          "descriptors elsewhere or raise the system's limit (sysctl "
          "fs.file-max)");
    case ENOMEM:
    case ENOBUFS:
      return absl::StrCat(
          what,
          ": the kernel could not allocate memory for it; free memory (or "
          "raise this process's memory limit) and try again");
    default:
      return what;
  }
}

}  // namespace trustlink::ntl::server
