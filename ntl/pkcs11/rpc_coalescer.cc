#include "ntl/pkcs11/rpc_coalescer.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace trustlink::ntl::pkcs11 {
namespace {

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

void RpcCoalescer::Add(absl::string_view data) {
  const size_t base = held_.size();
  held_.append(data.data(), data.size());
  size_t i = 0;
  auto unit_ends = [&] {
    phase_ = Phase::kHeader;
    header_have_ = 0;
    too_long_ = false;
    ready_ = base + i;
  };
  while (i < data.size()) {
    switch (phase_) {
      case Phase::kPassThrough:
        return;
      case Phase::kVersion:
        ++i;
        unit_ends();
        break;
      case Phase::kHeader: {
        const size_t take =
            std::min(sizeof(header_) - header_have_, data.size() - i);
        memcpy(header_ + header_have_, data.data() + i, take);
        header_have_ += take;
        i += take;
        if (header_have_ < sizeof(header_)) {
          break;
        }
        if (BigEndian32(header_) == 0) {
          // Not a p11-kit call code: stop guessing at boundaries.
          phase_ = Phase::kPassThrough;
          return;
        }
        body_left_ =
            uint64_t{BigEndian32(header_ + 4)} + BigEndian32(header_ + 8);
        too_long_ = sizeof(header_) + body_left_ > max_held_;
        phase_ = Phase::kBody;
        if (body_left_ == 0) {
          unit_ends();
        }
        break;
      }
      case Phase::kBody: {
        const size_t take = static_cast<size_t>(
            std::min<uint64_t>(body_left_, data.size() - i));
        i += take;
        body_left_ -= take;
        if (body_left_ == 0) {
          unit_ends();
        }
        break;
      }
    }
  }
}

std::string RpcCoalescer::TakeReady() {
  std::string out =
      Take(phase_ == Phase::kPassThrough || too_long_ ? held_.size() : ready_);
  // The clock starts when bytes are first held, and restarts when the bytes
  // held before have left.
  if (!held_.empty() && (!clock_running_ || !out.empty())) {
    clock_running_ = true;
    hold_until_ =
        std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(max_hold_);
  }
  return out;
}

int RpcCoalescer::PollTimeoutMs() const {
  if (!clock_running_) {
    return -1;
  }
  const auto left = hold_until_ - std::chrono::steady_clock::now();
  const int64_t ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60 * 1000));
}

std::string RpcCoalescer::TakeDue() {
  if (!clock_running_ || std::chrono::steady_clock::now() < hold_until_) {
    return std::string();
  }
  return TakeAll();
}

std::string RpcCoalescer::TakeAll() { return Take(held_.size()); }

std::string RpcCoalescer::Take(size_t n) {
  std::string out;
  if (n == 0) {
    return out;
  }
  if (n == held_.size()) {
    out.swap(held_);
  } else {
    out = held_.substr(0, n);
    held_.erase(0, n);
  }
  ready_ = ready_ > n ? ready_ - n : 0;
  if (held_.empty()) {
    clock_running_ = false;
  }
  return out;
}

}  // namespace trustlink::ntl::pkcs11
