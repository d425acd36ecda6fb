#ifndef TRUSTLINK_NTL_SERVER_SOFTWARE_PARTITION_H_
#define TRUSTLINK_NTL_SERVER_SOFTWARE_PARTITION_H_

// The built-in software partition: small real operations so the link can be
// exercised and benchmarked with nothing else installed. Op numbers are part of
// the wire contract (docs/server.md).

#include <cstdint>
#include <string>

#include "ntl/server/handler.h"
#include "ntl/wire/software_ops.h"

namespace trustlink::ntl::server {

using wire::kOpEcho;
using wire::kOpHmacSha256;
using wire::kOpRandom;
using wire::kOpSha256;
using wire::SoftwareOp;

inline constexpr uint32_t kMaxRandomBytes = 65536;

// SoftwarePartitionHandler answers every request inline. Each partition's HMAC
// key is HMAC-SHA256(master, "trustlink partition key\0" + partition name), so
// keys differ between partitions and, with a master kept by the embedder,
// survive restarts. Thread safety: safe to call from many loop threads at once
// (it holds no mutable state).
class SoftwarePartitionHandler : public PartitionHandler {
 public:
  // SoftwarePartitionHandler with a random master secret (keys last for this
  // process).
  SoftwarePartitionHandler();
  explicit SoftwarePartitionHandler(std::string master_secret);

  void HandleRequest(const CallContext& ctx, uint32_t op,
                     absl::string_view data,
                     std::unique_ptr<Responder> responder) override;

  // PartitionKey returns the HMAC key of `partition` (for tests).
  std::string PartitionKey(absl::string_view partition) const;

 private:
  const std::string master_;
};

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_SOFTWARE_PARTITION_H_
