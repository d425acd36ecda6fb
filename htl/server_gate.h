#ifndef TRUSTLINK_HTL_SERVER_GATE_H_
#define TRUSTLINK_HTL_SERVER_GATE_H_

// ApplianceGate plugs the appliance's HTL state machine (htl::Appliance) into
// the NTLS server (ntl::server::HtlGate): htl/1 requests become
// Establish/Heartbeat calls, ntl/1 htl-proof frames become CheckLinkProof
// calls, and the Appliance's events become the server's (docs/htl.md,
// "Integration").

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "htl/appliance.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/htl_gate.h"

namespace trustlink::htl {

// Thread safety: safe to call from any thread (the Appliance serialises its
// changes).
class ApplianceGate : public ntl::server::HtlGate {
 public:
  // The gate installs itself as `appliance`'s event sink; it removes itself
  // when destroyed. Open the Appliance with daemon = true.
  explicit ApplianceGate(std::shared_ptr<Appliance> appliance);
  ~ApplianceGate() override;
  ApplianceGate(const ApplianceGate&) = delete;
  ApplianceGate& operator=(const ApplianceGate&) = delete;

  absl::StatusOr<std::string> Binding(const SSL* ssl) override;
  absl::StatusOr<std::string> HandleRequest(
      absl::string_view client, const ntl::server::HtlLinkInfo& link,
      uint32_t op, absl::string_view data) override;
  void LinkClosed(absl::string_view client, absl::string_view link_id) override;
  absl::Status CheckLinkProof(absl::string_view client,
                              absl::string_view binding,
                              absl::string_view proof) override;
  void Tick() override;
  void SetListener(
      std::function<void(const ntl::server::HtlGateEvent&)> listener) override;

 private:
  // Slot outlives the gate if the Appliance is shared and still emitting.
  struct Slot {
    ntl::internal::Mutex mu;
    std::function<void(const ntl::server::HtlGateEvent&)> listener
        ABSL_GUARDED_BY(mu);
  };
  const std::shared_ptr<Appliance> appliance_;
  const std::shared_ptr<Slot> slot_;
};

// OpenDaemonGate opens the HTL state under <root>/htl/ as the serving daemon
// (a new boot: see Appliance::Options::daemon) and wraps it in a gate.
absl::StatusOr<std::shared_ptr<ApplianceGate>> OpenDaemonGate(
    const std::string& root);

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_SERVER_GATE_H_
