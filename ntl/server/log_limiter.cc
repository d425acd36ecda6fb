#include "ntl/server/log_limiter.h"

#include "absl/strings/str_cat.h"

namespace trustlink::ntl::server::internal_engine {

std::string LogLimiter::Summary(const std::string& kind,
                                const Window& w) const {
  return absl::StrCat("log-suppressed kind=", kind, " lines=", w.suppressed,
                      " reason=\"", w.suppressed,
                      " similar lines suppressed in the last ",
                      absl::FormatDuration(window_), " (at most ", burst_,
                      " per ", absl::FormatDuration(window_), ")\"");
}

bool LogLimiter::Admit(absl::string_view kind, absl::Time now,
                       std::vector<std::string>* summaries) {
  if (burst_ == 0) {
    return true;
  }
  internal::MutexLock lock(&mu_);
  auto it = windows_.find(kind);
  if (it == windows_.end()) {
    it = windows_.emplace(std::string(kind), Window{now}).first;
  }
  Window& w = it->second;
  if (now - w.start >= window_) {
    if (w.suppressed > 0) {
      summaries->push_back(Summary(it->first, w));
    }
    w = Window{now};
  }
  if (w.passed < burst_) {
    ++w.passed;
    return true;
  }
  ++w.suppressed;
  return false;
}

std::vector<std::string> LogLimiter::Flush(absl::Time now) {
  std::vector<std::string> out;
  if (burst_ == 0) {
    return out;
  }
  internal::MutexLock lock(&mu_);
  for (auto it = windows_.begin(); it != windows_.end();) {
    Window& w = it->second;
    if (now - w.start < window_) {
      ++it;
      continue;
    }
    if (w.suppressed > 0) {
      out.push_back(Summary(it->first, w));
    }
    // A quiet kind is forgotten; the next line of it opens a fresh window.
    it = windows_.erase(it);
  }
  return out;
}

}  // namespace trustlink::ntl::server::internal_engine
