#ifndef TRUSTLINK_NTL_SERVER_HTL_EVENTS_H_
#define TRUSTLINK_NTL_SERVER_HTL_EVENTS_H_

// HtlEventRouter delivers the HtlGate's events to the event loops: kDown
// closes the client's HTL links on every loop (through each loop's mailbox),
// kAlert goes to the log. It holds no pointer into the Server, so an event
// that races with shutdown is dropped instead of touching freed memory.
// Private to ntl/server.

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "ntl/server/event_loop.h"
#include "ntl/server/htl_gate.h"
#include "ntl/stats/server_stats.h"

namespace trustlink::ntl::server::internal_engine {

// Thread safety: immutable after construction; OnEvent may run on any thread.
class HtlEventRouter {
 public:
  struct Target {
    std::shared_ptr<Mailbox> mailbox;
    Loop* loop;  // used only by tasks the loop itself runs
  };
  HtlEventRouter(std::function<void(absl::string_view)> log,
                 std::vector<Target> targets,
                 std::shared_ptr<stats::ServerStats> stats)
      : log_(std::move(log)),
        targets_(std::move(targets)),
        stats_(std::move(stats)) {}

  void OnEvent(const HtlGateEvent& event) const;

 private:
  const std::function<void(absl::string_view)> log_;
  const std::vector<Target> targets_;
  const std::shared_ptr<stats::ServerStats> stats_;
};

}  // namespace trustlink::ntl::server::internal_engine

#endif  // TRUSTLINK_NTL_SERVER_HTL_EVENTS_H_
