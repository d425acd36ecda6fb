#ifndef TRUSTLINK_EXAMPLES_NTLSH_HINTS_H_
#define TRUSTLINK_EXAMPLES_NTLSH_HINTS_H_

// ntlsh's command-line advice for a failure. The library's messages name fixes
// in terms of its API (tl_htl_generate_ott, tl_registry_assign_partition),
// because any program may be built on it; an admin at the shell needs the
// ntlsh command instead. This file is the one place that maps a failure to it.

#include <string>

#include "trustlink/trustlink.h"

namespace ntlsh {

// HintFor returns the ntlsh command that fixes a failure of `command` (its
// words as the usage spells them, "client register") with `status`, or "" when
// the message alone says all ntlsh could.
std::string HintFor(const std::string& command, tl_status status);

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_HINTS_H_
