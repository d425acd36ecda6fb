#ifndef TRUSTLINK_NTL_CLIENT_SOCKET_BIO_H_
#define TRUSTLINK_NTL_CLIENT_SOCKET_BIO_H_

// NewSocketBio wraps a connected non-blocking socket in a BIO that writes with
// send(MSG_NOSIGNAL). A library must not die of SIGPIPE when a peer resets the
// connection, and must not change the process's signal disposition to avoid it;
// the plain socket BIO uses write(), which raises SIGPIPE. The BIO does not own
// `fd`.
//
// It also reads ahead. BoringSSL asks its BIO for a record's 5-byte header,
// then for the body, and ignores SSL_set_read_ahead; on a plain socket that is
// two recv calls per record plus a third that finds EAGAIN. This BIO takes up
// to kSocketReadAhead bytes per recv into its own buffer and serves BoringSSL
// from there, and SocketBioDrained tells the reader when the socket has nothing
// more, so a wake-up costs one recv (issue 16).

#include <openssl/bio.h>

#include <cstddef>
#include <cstdint>

#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::client {

inline constexpr size_t kSocketReadAhead = 64 * 1024;

// `reads`, when not null, counts the BIO's recv calls; it must outlive the
// BIO.
BIO* NewSocketBio(int fd, uint64_t* reads = nullptr);

// SocketBioDrained says whether a BIO from NewSocketBio holds no read-ahead
// and its last recv came back short of a full buffer: the socket had nothing
// more then, so another SSL_read would only find EAGAIN. (Level-triggered
// epoll reports anything that arrives later.)
bool SocketBioDrained(BIO* bio);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_SOCKET_BIO_H_
