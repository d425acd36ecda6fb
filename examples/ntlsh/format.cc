// Times and lists as ntlsh prints them. See format.h.
#include "examples/ntlsh/format.h"

#include <ctime>

namespace ntlsh {

std::string Time(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "-";
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

}  // namespace ntlsh
