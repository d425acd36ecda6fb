#ifndef TRUSTLINK_NTL_INTERNAL_BOUNDED_READ_H_
#define TRUSTLINK_NTL_INTERNAL_BOUNDED_READ_H_

// The one home for reading a file into memory. Every file trustlink reads (a
// certificate an admin names on the command line, a file under a root opened
// by SafeDir) goes through ReadBoundedFd, so no reader can be made to hang on a
// FIFO, to read /dev/zero until memory runs out, or to read a device:
// - the file is opened with O_NONBLOCK, so opening a FIFO returns at once;
// - its type is checked on the open descriptor (fstat), so the file checked is
//   the file read: anything but a regular file is refused;
// - its size is checked before reading, and the read stops at the cap even if
//   the file grows meanwhile.

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::ntl::internal {

// kMaxPemInputSize caps a certificate, key or trust-list file named by a user.
inline constexpr size_t kMaxPemInputSize = 1 << 20;

// OpenForReadFlags returns the open(2) flags of every bounded read: read-only,
// close-on-exec and non-blocking (a FIFO must not hang the open).
int OpenForReadFlags(bool nofollow);

// ReadBoundedFd reads the whole of the regular file open on `fd` (not closed
// here). `path` names the file in errors. Refuses anything but a regular file
// (TL_E_INVALID_ARGUMENT, naming what it is) and a file larger than `max_size`
// (TL_E_OUT_OF_RANGE), before reading a byte of it.
absl::StatusOr<std::string> ReadBoundedFd(int fd, absl::string_view path,
                                          size_t max_size);

// CheckPrivateKeyMode refuses the private key open on `fd` if group or others
// have any permission on it (TL_E_KEY_PERMISSIONS, naming `path`, its mode and
// the chmod that fixes it). The one home of that rule: keys under a root
// (SafeDir::ReadPrivateFile) and keys a user names (tl_file_read) alike.
absl::Status CheckPrivateKeyMode(int fd, absl::string_view path);

// ReadBoundedFile opens `path` (with `nofollow`, a symlink as its last
// component is refused with TL_E_PERMISSION_DENIED) and reads it with
// ReadBoundedFd; with `private_key`, CheckPrivateKeyMode first. NOT_FOUND
// (TL_E_NOT_FOUND) if it does not exist.
absl::StatusOr<std::string> ReadBoundedFile(const std::string& path,
                                            size_t max_size, bool nofollow,
                                            bool private_key = false);

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_BOUNDED_READ_H_
