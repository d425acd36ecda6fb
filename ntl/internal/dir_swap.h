#ifndef TRUSTLINK_NTL_INTERNAL_DIR_SWAP_H_
#define TRUSTLINK_NTL_INTERNAL_DIR_SWAP_H_

// Generation directories: replace every file of a directory in one atomic step.
//
// Some files only mean something together: a private key and its certificate
// (cert/client), a server's named certificate and the trust list that must
// hold it (cert/server). Two renames, one per file, leave a mix after a crash
// between them. Instead the new contents of the whole directory are written
// into a sibling, `.<name>.next`, fsynced, and swapped with `<name>` by one
// renameat2(RENAME_EXCHANGE). A crash at any point leaves the old generation or
// the new one. The swap is the commit point; what is left over (`.<name>.next`,
// holding either the uncommitted new files or the replaced old ones) is
// garbage either way, and RecoverSubdir removes it.
//
// File systems without RENAME_EXCHANGE get two renames (`<name>` to
// `.<name>.prev`, then `.<name>.next` to `<name>`); RecoverSubdir rolls an
// interrupted pair back.
//
// A generation may carry journal files (names starting with kJournalPrefix):
// what must change together with the directory but lives elsewhere (the
// trustlink.conf it implies). Committed by the same swap, a journal is rolled
// forward by its owner and then removed; it is never carried into the next
// generation.
//
// Callers serialise updates of one directory (a lock) and call RecoverSubdir
// under that lock before reading the current generation.

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/internal/safe_dir.h"

namespace trustlink::ntl::internal {

inline constexpr absl::string_view kJournalPrefix = ".journal.";

// DirFile is one file of a generation.
struct DirFile {
  std::string name;
  std::string contents;
  mode_t mode = 0644;
};

// ReplaceSubdir makes `parent`/`name` hold exactly `files` (plus nothing
// else), as one atomic step. The directory gets `dir_mode`.
absl::Status ReplaceSubdir(const SafeDir& parent, absl::string_view name,
                           const std::vector<DirFile>& files, mode_t dir_mode);

// RecoverSubdir finishes what an interrupted ReplaceSubdir left: the
// uncommitted or replaced generation is removed, and a fallback swap cut
// between its two renames is rolled back.
absl::Status RecoverSubdir(const SafeDir& parent, absl::string_view name);

// ReadGeneration returns the regular files of `dir` with their modes, for
// carrying them into the next generation. Journals and temp files are left
// out. Each file is read with a cap of `max_size`; an entry that is not a
// regular file, or too large, is an error naming it (an update must not drop
// what it cannot copy).
absl::StatusOr<std::vector<DirFile>> ReadGeneration(const SafeDir& dir,
                                                    size_t max_size);

// IsJournalName reports whether `name` is a journal file's name.
bool IsJournalName(absl::string_view name);

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_DIR_SWAP_H_
