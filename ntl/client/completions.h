#ifndef TRUSTLINK_NTL_CLIENT_COMPLETIONS_H_
#define TRUSTLINK_NTL_CLIENT_COMPLETIONS_H_

// Completions: the user callbacks one pass of the client collected under its
// lock, to run once the lock is released (STYLE.md: callbacks are never called
// with an internal lock held).
//
// Most are closures. A call made through the C ABI completes without one: its
// C callback, its status and its bytes go into a plain entry, the bytes into an
// arena that keeps its storage from pass to pass. With the Client reusing one
// Completions for its passes, a steady stream of pipelined answers allocates
// nothing (docs/client.md, "Pipelined calls").

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ntl/stats/client_stats.h"

namespace trustlink::ntl::client {

// RawCallCallback is a C ABI call's completion: `fn(arg, status, bytes, len)`,
// with the response bytes on success and the error message otherwise.
struct RawCallCallback {
  void (*fn)(void* arg, int32_t status, const uint8_t* bytes,
             size_t len) = nullptr;
  void* arg = nullptr;
};

// Thread safety: not thread-safe; filled under the Client's lock, run by one
// thread after it.
class Completions {
 public:
  // push_back queues a closure.
  void push_back(std::function<void()> fn);
  // AddRawCall queues `cb` with `status` (a tl_status) and a copy of `bytes`;
  // at the run, the call is counted as ended on `stats` (it was started at
  // `start` by ClientStats::CallStart), then `cb` runs.
  void AddRawCall(const RawCallCallback& cb, int32_t status,
                  absl::string_view bytes, stats::ClientStats* stats,
                  stats::ClientStats::CallStartTime start);
  bool empty() const { return entries_.empty(); }
  // RunAll runs every entry in order and clears, keeping the storage.
  void RunAll();

 private:
  struct Entry {
    std::function<void()> fn;  // empty for a raw call
    RawCallCallback raw;
    int32_t status = 0;
    size_t offset = 0;  // of the bytes in arena_
    size_t len = 0;
    stats::ClientStats* stats = nullptr;
    stats::ClientStats::CallStartTime start;
  };
  std::vector<Entry> entries_;
  std::string arena_;
};

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_COMPLETIONS_H_
