#ifndef TRUSTLINK_NTL_WIRE_SOFTWARE_OPS_H_
#define TRUSTLINK_NTL_WIRE_SOFTWARE_OPS_H_

// The built-in software partition's op numbers: wire contract (docs/server.md),
// shared by the server that answers them and the client's HA retry rules.

#include <cstdint>

namespace trustlink::ntl::wire {

enum SoftwareOp : uint32_t {
  kOpEcho = 1,  // data -> the same data
  kOpRandom =
      2,  // u32 big-endian count (at most kMaxRandomBytes) -> that many bytes
  kOpSha256 = 3,      // data -> its 32-byte SHA-256
  kOpHmacSha256 = 4,  // data -> HMAC-SHA256(partition key, data), 32 bytes
};

}  // namespace trustlink::ntl::wire

#endif  // TRUSTLINK_NTL_WIRE_SOFTWARE_OPS_H_
