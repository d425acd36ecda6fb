#ifndef TRUSTLINK_NTL_CLIENT_FRESH_STATUS_H_
#define TRUSTLINK_NTL_CLIENT_FRESH_STATUS_H_

// FreshStatus copies a status into a new representation that shares nothing
// with the original. Statuses handed to another thread (callbacks, Servers())
// go through it.
//
// Why: a non-OK absl::Status is a reference-counted heap object. Debian's
// Abseil is not TSan-instrumented, so its out-of-line Unref is invisible to
// TSan and a correct hand-over of a shared representation is reported as a race
// (BUILD-NOTES.md). Copies that share nothing avoid the false report and cost
// one small allocation on an error path.

#include "absl/status/status.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {

inline absl::Status FreshStatus(const absl::Status& s) {
  if (s.ok()) {
    return absl::OkStatus();
  }
  return Error(s.code(), ToTlStatus(s), s.message());
}

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_FRESH_STATUS_H_
