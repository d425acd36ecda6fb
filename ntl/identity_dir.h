#ifndef TRUSTLINK_NTL_IDENTITY_DIR_H_
#define TRUSTLINK_NTL_IDENTITY_DIR_H_

// The identity directory (the client's cert/client): its key and certificate
// are replaced together, in one atomic step, or not at all.
//
// Two renames (key, then certificate) leave the new key beside the old
// certificate when a process dies between them, and the old key is gone: the
// identity is destroyed. Here the whole directory is a generation
// (ntl/internal/dir_swap.h): the new key and certificate, and every other file
// already in the directory, are written into a sibling and swapped in by one
// renameat2(RENAME_EXCHANGE). The file names do not change, so a root made
// before this layout, and every tool that reads cert/client/<name>.pem, keeps
// working.

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ntl/identity.h"
#include "ntl/internal/dir_swap.h"
#include "ntl/internal/safe_dir.h"

namespace trustlink::ntl {

// ReplaceIdentityInDir writes `identity` into `parent`/`subdir` as `cert_name`
// (0644) and `key_name` (0600), carrying over every other file there, and
// commits `journal` (journal files, see dir_swap.h; may be empty) by the same
// rename. The new directory gets `dir_mode`. Without `force`, an existing file
// under either name is TL_E_ALREADY_EXISTS and nothing is written. The caller
// holds the lock that serialises updates of the directory and has run
// internal::RecoverSubdir under it.
absl::Status ReplaceIdentityInDir(const internal::SafeDir& parent,
                                  absl::string_view subdir,
                                  absl::string_view cert_name,
                                  absl::string_view key_name,
                                  const Identity& identity, bool force,
                                  const std::vector<internal::DirFile>& journal,
                                  mode_t dir_mode);

// ReplaceIdentityAtPath replaces the identity in the directory at `path` (made
// 0755 with its parents if missing) the same way, for a directory outside a
// client root (tl_identity_write with force). The directory keeps its mode;
// its other regular files are carried over, and an entry that cannot be
// (a subdirectory, a file over 1 MiB) is an error naming it, with nothing
// changed. Updates are serialised by an OFD lock on `.<dir>.lock` beside the
// directory, and whatever an interrupted update left there is cleared first.
// The directory is a new one afterwards: a process whose working directory it
// was keeps the old one.
absl::Status ReplaceIdentityAtPath(const std::string& path,
                                   absl::string_view cert_name,
                                   absl::string_view key_name,
                                   const Identity& identity);

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_IDENTITY_DIR_H_
