#ifndef TRUSTLINK_NTL_CONFIG_ROOT_INTERNAL_H_
#define TRUSTLINK_NTL_CONFIG_ROOT_INTERNAL_H_

// What the files implementing ClientRoot (config_root*.cc) share and nobody
// else needs: the config journal that lets a directory generation and
// trustlink.conf change together. It lives here
// rather than in config_root.h so the public header stays the API; it is
// private to the //ntl:config_root target.

#include <vector>

#include "absl/strings/string_view.h"
#include "ntl/config_client.h"
#include "ntl/internal/dir_swap.h"

namespace trustlink::ntl::config_root_internal {

// kConfigJournal is the trustlink.conf an update of cert/client or cert/server
// implies, committed inside that directory's new generation by the same
// rename (ntl/internal/dir_swap.h). Whoever next holds the root lock writes it
// to trustlink.conf and removes it, so the directory and the config change
// together even if the writer is killed between the two.
inline constexpr absl::string_view kConfigJournal = ".journal.trustlink.conf";

// ConfigJournal is the journal file carrying `config` into a generation.
std::vector<internal::DirFile> ConfigJournal(const ClientConfig& config);

}  // namespace trustlink::ntl::config_root_internal

#endif  // TRUSTLINK_NTL_CONFIG_ROOT_INTERNAL_H_
