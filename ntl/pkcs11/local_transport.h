#ifndef TRUSTLINK_NTL_PKCS11_LOCAL_TRANSPORT_H_
#define TRUSTLINK_NTL_PKCS11_LOCAL_TRANSPORT_H_

// A stand-in for the link: one byte stream per AF_UNIX connection, framed with
// the link's own stream frames (ntl/wire: stream-open, stream-data,
// stream-close). It lets the whole PKCS#11 path run with real peers
// (p11-kit-proxy, the bridge, Pkcs11Service, p11-kit remote, SoftHSM2) before
// the NTLS server and the NTLA exist, and it is the seam they replace:
// LocalStreamServer's job is the server's stream-service dispatch, and
// OpenLocalChannel's is Client::StreamOpen. It has no authentication of its
// own; the socket lives in a 0700 directory.

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/internal/mutex.h"
#include "ntl/pkcs11/service.h"
#include "ntl/pkcs11/stream.h"

namespace trustlink::ntl::pkcs11 {

// Authorizer decides whether the peer may open `partition` (the registry's
// assignment check on the real server). A non-OK status is sent back as the
// stream's close reason.
using Authorizer = std::function<absl::Status(absl::string_view partition)>;

// Thread safety: the destructor must not race with itself; everything else is
// internal. One thread accepts; each connection has its own reader thread.
class LocalStreamServer {
 public:
  // Start listens on `socket_path` (which must not exist; paths longer than
  // sun_path work).
  static absl::StatusOr<std::unique_ptr<LocalStreamServer>> Start(
      const std::string& socket_path, Pkcs11Service* service,
      Authorizer authorize);
  // The destructor stops accepting, ends every connection and joins the
  // threads. The service's own sessions end when their streams close.
  ~LocalStreamServer();

 private:
  struct Conn;
  LocalStreamServer(int listen_fd, Pkcs11Service* service,
                    Authorizer authorize);
  void AcceptLoop();
  void Serve(std::shared_ptr<Conn> conn);

  const int listen_fd_;
  Pkcs11Service* const service_;
  const Authorizer authorize_;
  std::thread acceptor_;
  internal::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::list<std::shared_ptr<Conn>> conns_ ABSL_GUARDED_BY(mu_);
};

// OpenLocalChannel connects to a LocalStreamServer and opens the "pkcs11"
// stream on `partition`. Callbacks run on the channel's reader thread; Close
// joins that thread, so it must not be called from a callback.
absl::StatusOr<std::unique_ptr<Channel>> OpenLocalChannel(
    const std::string& socket_path, absl::string_view partition,
    ChannelCallbacks callbacks);

// StatusFromTl turns a stream-close status and message into an absl::Status (OK
// for 0).
absl::Status StatusFromTl(int32_t tl_code, absl::string_view message);

}  // namespace trustlink::ntl::pkcs11

#endif  // TRUSTLINK_NTL_PKCS11_LOCAL_TRANSPORT_H_
