#ifndef TRUSTLINK_NTL_CLIENT_SOCKET_BIO_H_
#define TRUSTLINK_NTL_CLIENT_SOCKET_BIO_H_

// NewSocketBio wraps a connected non-blocking socket in a BIO that writes with
// send(MSG_NOSIGNAL). A library must not die of SIGPIPE when a peer resets the
// connection, and must not change the process's signal disposition to avoid it;
// the plain socket BIO uses write(), which raises SIGPIPE. The BIO does not own
// `fd`.

#include <openssl/bio.h>

#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::client {

BIO* NewSocketBio(int fd);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_SOCKET_BIO_H_
