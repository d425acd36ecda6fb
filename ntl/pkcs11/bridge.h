#ifndef TRUSTLINK_NTL_PKCS11_BRIDGE_H_
#define TRUSTLINK_NTL_PKCS11_BRIDGE_H_

// RunBridge: the client half of PKCS#11 over the link. p11-kit-proxy starts the
// bridge command named in a `remote: |...` module config and speaks its PKCS#11
// RPC on the command's stdin and stdout; the bridge joins those to a channel to
// the partition's "pkcs11" service. It never parses PKCS#11: it follows only
// p11-kit's transport framing, to send each request whole (rpc_coalescer.h).

#include <cstddef>
#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ntl/pkcs11/stream.h"

namespace trustlink::ntl::pkcs11 {

struct BridgeOptions {
  // Bytes from the service not yet written to out_fd. p11-kit reads each answer
  // whole, so this is about one RPC message; past it the bridge gives up.
  size_t max_pending_bytes = 16u << 20;
  // How long the bridge holds the start of a request whose rest has not come
  // (it sends each p11-kit RPC message whole, rpc_coalescer.h). p11-kit writes
  // a message's pieces back to back, so this bounds only a stalled writer or a
  // peer that does not speak p11-kit's framing.
  absl::Duration max_hold = absl::Milliseconds(20);
  // Called when the stream ends while the application is still attached, before
  // the bridge waits for it to finalise: the place to tell the user why (stderr
  // reaches them).
  std::function<void(const absl::Status&)> on_stream_end;
};

// RunBridge opens a channel with `open` and pumps in_fd -> channel (one Send
// per p11-kit RPC message) and channel -> out_fd until one side ends. It
// returns OK when in_fd reaches EOF (the application finalised) or the service
// closed the stream cleanly; otherwise the status that ended it (the service's
// close status, the open failure, or an I/O error). If the stream ends while
// in_fd is still open, it calls on_stream_end, closes out_fd (shuts it down if
// a socket; the application's pending call then fails with CKR_DEVICE_ERROR)
// and reads in_fd until EOF (so the application never gets SIGPIPE); otherwise
// it leaves the fds open. Thread safety: call from one thread; it blocks until
// the bridge ends.
absl::Status RunBridge(int in_fd, int out_fd, const ChannelOpener& open,
                       const BridgeOptions& options = {});

}  // namespace trustlink::ntl::pkcs11

#endif  // TRUSTLINK_NTL_PKCS11_BRIDGE_H_
