#include "ntl/client/reconnect_backoff.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdint>

namespace trustlink::ntl::client {

ReconnectBackoff::ReconnectBackoff(const ReconnectPolicy& policy)
    : policy_(policy) {
  // A refused-connection cap outside [min, max] means the nearer bound.
  policy_.refused_max =
      std::clamp(policy_.refused_max, policy_.min, policy_.max);
}

void ReconnectBackoff::OnUp() { level_ = 0; }

absl::Duration ReconnectBackoff::Step(AttemptFailure failure,
                                      absl::Time now) const {
  absl::Duration d = policy_.min;
  for (int i = 0; i < level_ && d < policy_.max; ++i) {
    d *= 2;
  }
  d = std::min(d, policy_.max);
  if (failure == AttemptFailure::kRefused &&
      now - lost_at_ < policy_.refused_window) {
    d = std::min(d, policy_.refused_max);
  }
  return d;
}

absl::Duration ReconnectBackoff::Next(AttemptFailure failure, bool was_up,
                                      absl::Time now, double jitter) {
  if (was_up) {
    lost_at_ = now;
  }
  const absl::Duration d = Step(failure, now);
  // Capped as a restart, the schedule stays where its step first reaches
  // refused_max, so a later timeout (or a restart that outlasts the window)
  // goes on doubling from there rather than from a step grown unseen to the
  // 30 s maximum.
  if (d == Step(AttemptFailure::kOther, now)) {
    ++level_;
  }
  jitter = std::clamp(jitter, 0.0, 1.0);
  return d / 2 + (d / 2) * jitter;
}

double RandomJitter() {
  uint32_t r = 0;
  RAND_bytes(reinterpret_cast<uint8_t*>(&r), sizeof(r));
  return static_cast<double>(r) / 4294967296.0;
}

}  // namespace trustlink::ntl::client
