#include "ntl/client/socket_bio.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

namespace trustlink::ntl::client {
namespace {

int Fd(BIO* bio) {
  return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
}

bool Retriable(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

int Write(BIO* bio, const char* data, int len) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = send(Fd(bio), data, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && Retriable(errno)) {
    BIO_set_retry_write(bio);
  }
  return static_cast<int>(n);
}

int Read(BIO* bio, char* data, int len) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = recv(Fd(bio), data, static_cast<size_t>(len), 0);
  if (n < 0 && Retriable(errno)) {
    BIO_set_retry_read(bio);
  }
  return static_cast<int>(n);
}

long Ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

const BIO_METHOD* Method() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "trustlink-socket");
    BIO_meth_set_write(m, Write);
    BIO_meth_set_read(m, Read);
    BIO_meth_set_ctrl(m, Ctrl);
    return m;
  }();
  return method;
}

}  // namespace

BIO* NewSocketBio(int fd) {
  BIO* bio = BIO_new(Method());
  if (bio != nullptr) {
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
    BIO_set_init(bio, 1);
  }
  return bio;
}

}  // namespace trustlink::ntl::client
