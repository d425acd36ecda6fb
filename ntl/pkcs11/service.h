#ifndef TRUSTLINK_NTL_PKCS11_SERVICE_H_
#define TRUSTLINK_NTL_PKCS11_SERVICE_H_

// Pkcs11Service: the appliance's "pkcs11" stream service. Each stream gets its
// own `p11-kit remote -p <module> pkcs11:token=<A> pkcs11:token=<B> ...`
// process serving exactly the stream's partitions (one for a stream on a
// partition, all the client's for a client-wide one), started in a minimal
// environment, and bytes are pumped both ways between the process's stdio and
// the stream. p11-kit speaks its PKCS#11 RPC over those bytes; this code never
// parses PKCS#11, and follows only p11-kit's transport framing to send each
// answer whole (rpc_coalescer.h). A process per stream keeps PKCS#11 login
// state, which a module shares between all sessions of one process, apart
// between streams (ADR 0002).

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ntl/internal/mutex.h"
#include "ntl/pkcs11/stream.h"
#include "ntl/pkcs11/token_store.h"

namespace trustlink::ntl::pkcs11 {

inline constexpr char kServiceName[] = "pkcs11";
inline constexpr char kDefaultP11Kit[] = "/usr/bin/p11-kit";

struct ServiceOptions {
  std::string p11_kit = kDefaultP11Kit;
  std::string module_path = kDefaultSoftHsmModule;
  // Bytes from the client not yet written to the child. PKCS#11 RPC is
  // request/response, so a well-behaved peer keeps this near one message; past
  // it the stream is closed.
  size_t max_pending_bytes = 16u << 20;
  // How long a child may take to exit after its stdin is closed, before
  // SIGKILL.
  absl::Duration exit_grace = absl::Seconds(2);
  // How long the start of an answer whose rest has not come is held before it
  // is sent anyway (each p11-kit RPC message goes to the client whole,
  // rpc_coalescer.h); bounds only a stalled or non-p11-kit child.
  absl::Duration max_hold = absl::Milliseconds(20);
};

// Thread safety: all methods are safe to call from any thread. Sessions run on
// one thread each (a poll loop over the child's pipes); sink calls come from
// those threads.
class Pkcs11Service {
 public:
  Pkcs11Service(TokenStore store, ServiceOptions options = {});
  // The destructor closes every live stream (TL_E_CANCELLED) and waits for its
  // thread.
  ~Pkcs11Service();
  Pkcs11Service(const Pkcs11Service&) = delete;
  Pkcs11Service& operator=(const Pkcs11Service&) = delete;

  // Open starts a stream on `partitions`: it finds their tokens, starts
  // p11-kit serving them and returns the session the transport feeds. The
  // caller has already checked that the client may use every partition. With
  // one partition, a missing token is NOT_FOUND; with several, partitions
  // without a token are left out, and NOT_FOUND only when none has one. On
  // error nothing was started and `sink` is untouched.
  absl::StatusOr<std::unique_ptr<StreamSession>> Open(
      absl::Span<const std::string> partitions,
      std::shared_ptr<StreamSink> sink);
  absl::StatusOr<std::unique_ptr<StreamSession>> Open(
      absl::string_view partition, std::shared_ptr<StreamSink> sink) {
    const std::string one(partition);
    return Open(absl::MakeConstSpan(&one, 1), std::move(sink));
  }

  // ClosePartition ends every live stream that serves `partition` at once
  // (assignment revoked, partition deleted): the child is killed, and each
  // sink is closed with `status` and `message`. Returns how many streams it
  // closed.
  size_t ClosePartition(absl::string_view partition, int32_t status,
                        const std::string& message);

  // live_sessions counts sessions whose thread has not finished.
  size_t live_sessions();

  const TokenStore& store() const { return store_; }

  class Core;  // one session's state, shared by its thread and its
               // StreamSession

 private:
  friend class Core;
  void Finished(Core* core);

  const TokenStore store_;
  const ServiceOptions options_;
  internal::Mutex mu_;
  internal::CondVar cv_;
  std::map<Core*, std::shared_ptr<Core>> live_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trustlink::ntl::pkcs11

#endif  // TRUSTLINK_NTL_PKCS11_SERVICE_H_
