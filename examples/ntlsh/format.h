#ifndef TRUSTLINK_EXAMPLES_NTLSH_FORMAT_H_
#define TRUSTLINK_EXAMPLES_NTLSH_FORMAT_H_

// How values read in ntlsh's output, wherever a command group prints them:
// one spelling of a time and of a list, so that `client show`, `partition
// show` and `sysconf showCert` agree.

#include <cstdint>
#include <string>
#include <vector>

namespace ntlsh {

// Time returns `unix_seconds` as "YYYY-MM-DD HH:MM:SS UTC", or "-" when it is
// not set (0 or less).
std::string Time(int64_t unix_seconds);

// Join returns the items of `v` with `sep` between them.
std::string Join(const std::vector<std::string>& v, const char* sep);

}  // namespace ntlsh

#endif  // TRUSTLINK_EXAMPLES_NTLSH_FORMAT_H_
