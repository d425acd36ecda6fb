#ifndef TRUSTLINK_NTL_INTERNAL_TEMP_FILES_H_
#define TRUSTLINK_NTL_INTERNAL_TEMP_FILES_H_

// Temp files of atomic writes, and the removal of those a dead process left.
//
// An atomic write creates a temp file beside its target, fills and fsyncs it,
// and renames it over the target. A process killed before the rename leaves
// the temp file behind. To tell such an orphan from a temp file a live process
// is still writing, every temp file
// - carries its writer's pid in its name (".<target>.tmp.<pid>.<random>"), and
// - is held under an OFD write lock by its writer for as long as it is open.
// RemoveOrphanTempFiles removes a temp file only when both say the writer is
// gone: no process has its pid, and nobody holds its lock. The lock covers
// what the pid cannot (a pid reused, or a writer in another pid namespace).

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::ntl::internal {

// TempFile is a created temp file: its open descriptor (holding the lock) and
// its name in the directory.
struct TempFile {
  int fd = -1;
  std::string name;
};

// CreateTempFile creates a temp file for `target` in the directory `dirfd`
// with O_CREAT|O_EXCL|O_NOFOLLOW and `mode`, and takes its OFD write lock. The
// caller owns `fd` and closes it after the rename (or unlinks on failure).
// `dir_path` names the directory in errors.
absl::StatusOr<TempFile> CreateTempFile(int dirfd, absl::string_view dir_path,
                                        absl::string_view target, mode_t mode);

// TempFileWriter returns the pid in a temp file's name, or nullopt if `name`
// is not a temp file's name. Both forms trustlink has written are known:
// ".<target>.tmp.<pid>.<hex>" and "<target>.tmp.<pid>".
std::optional<pid_t> TempFileWriter(absl::string_view name);

// RemoveOrphanTempFiles removes the temp files in `dirfd` whose writer is gone
// (see above) and fsyncs the directory if it removed any. Returns how many it
// removed. Best effort: a file it cannot check or remove is left alone.
int RemoveOrphanTempFiles(int dirfd);

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_TEMP_FILES_H_
