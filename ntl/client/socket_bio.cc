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

// A constant, not BIO_meth_new: an allocated method is never freed, so every
// dlopen/dlclose of the library would leak one (found by
// //tests/embedding:dlopen_loop_test under ASan). BoringSSL keeps
// struct bio_method_st public for exactly this use.
const BIO_METHOD kMethod = {
    BIO_TYPE_SOCKET, "trustlink-socket", Write,   Read,    /*bputs=*/nullptr,
    /*bgets=*/nullptr, Ctrl,             /*create=*/nullptr, /*destroy=*/nullptr,
    /*callback_ctrl=*/nullptr,
};

}  // namespace

BIO* NewSocketBio(int fd) {
  BIO* bio = BIO_new(&kMethod);
  if (bio != nullptr) {
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
    BIO_set_init(bio, 1);
  }
  return bio;
}

}  // namespace trustlink::ntl::client
