#ifndef TRUSTLINK_NTL_SERVER_LOG_LIMITER_H_
#define TRUSTLINK_NTL_SERVER_LOG_LIMITER_H_

// LogLimiter bounds the log lines that strangers can cause (docs/server.md,
// "Log lines"): per kind of line, at most `burst` per window; the rest are
// counted and reported as one "suppressed N similar lines" line.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/internal/mutex.h"

namespace trustlink::ntl::server::internal_engine {

// Thread safety: safe to use from any thread.
class LogLimiter {
 public:
  // burst == 0 turns the limit off.
  LogLimiter(size_t burst, absl::Duration window)
      : burst_(burst), window_(window) {}

  // Admit says whether a line of `kind` may be written at `now`. When an
  // earlier window of this kind ended with lines suppressed, its summary is
  // appended to `summaries`, to be written first.
  bool Admit(absl::string_view kind, absl::Time now,
             std::vector<std::string>* summaries);
  // Flush returns the summaries of windows that have ended by `now` with lines
  // suppressed, so a flood that stops is still accounted for.
  std::vector<std::string> Flush(absl::Time now);

 private:
  struct Window {
    absl::Time start;
    size_t passed = 0;
    size_t suppressed = 0;
  };
  std::string Summary(const std::string& kind, const Window& w) const;

  const size_t burst_;
  const absl::Duration window_;
  internal::Mutex mu_;
  std::map<std::string, Window, std::less<>> windows_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trustlink::ntl::server::internal_engine

#endif  // TRUSTLINK_NTL_SERVER_LOG_LIMITER_H_
