#include "ntl/server/htl_events.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace trustlink::ntl::server::internal_engine {

void HtlEventRouter::OnEvent(const HtlGateEvent& event) const {
  if (event.kind == HtlGateEvent::Kind::kAlert) {
    stats_->shard(0)->htl_clone_alerts.Add();
    // Alert level: a clone or a rolled-back copy of the client exists.
    log_(absl::StrCat("ALERT htl client='", event.client, "' presented=",
                      event.source_presented, " other=", event.source_other,
                      " reason=\"", event.message, "\""));
    return;
  }
  stats_->shard(0)->htl_down.Add();
  log_(absl::StrCat("htl-down client='", event.client, "' reason=\"",
                    event.message, "\"; closing its links"));
  for (const Target& t : targets_) {
    Loop* loop = t.loop;
    t.mailbox->Post([loop, client = event.client, reason = event.message] {
      loop->CloseHtlClient(client, reason);
    });
  }
}

}  // namespace trustlink::ntl::server::internal_engine
