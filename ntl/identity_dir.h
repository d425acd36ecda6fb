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
// rename. Without `force`, an existing file under either name is
// TL_E_ALREADY_EXISTS and nothing is written. The caller holds the lock that
// serialises updates of the directory and has run internal::RecoverSubdir
// under it.
absl::Status ReplaceIdentityInDir(
    const internal::SafeDir& parent, absl::string_view subdir,
    absl::string_view cert_name, absl::string_view key_name,
    const Identity& identity, bool force,
    const std::vector<internal::DirFile>& journal);

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_IDENTITY_DIR_H_
