#include "ntl/client/socket_bio.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "ntl/internal/byte_buffer.h"

namespace trustlink::ntl::client {
namespace {

struct State {
  int fd = -1;
  internal::ByteBuffer ahead;  // received, not yet given to BoringSSL
  bool drained = false;        // the last recv was short
  uint64_t* reads = nullptr;   // recv calls, for tests and benchmarks
};

State* StateOf(BIO* bio) { return static_cast<State*>(BIO_get_data(bio)); }

bool Retriable(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

int Write(BIO* bio, const char* data, int len) {
  BIO_clear_retry_flags(bio);
  const ssize_t n =
      send(StateOf(bio)->fd, data, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && Retriable(errno)) {
    BIO_set_retry_write(bio);
  }
  return static_cast<int>(n);
}

int Read(BIO* bio, char* data, int len) {
  BIO_clear_retry_flags(bio);
  State* s = StateOf(bio);
  if (s->ahead.empty()) {
    if (s->reads != nullptr) {
      ++*s->reads;
    }
    const ssize_t n =
        recv(s->fd, s->ahead.Tail(kSocketReadAhead), kSocketReadAhead, 0);
    if (n <= 0) {
      if (n < 0 && Retriable(errno)) {
        BIO_set_retry_read(bio);
        s->drained = true;
      }
      return static_cast<int>(n);
    }
    s->ahead.Commit(static_cast<size_t>(n));
    s->drained = static_cast<size_t>(n) < kSocketReadAhead;
  }
  const size_t n = std::min(s->ahead.size(), static_cast<size_t>(len));
  std::memcpy(data, s->ahead.data(), n);
  s->ahead.Consume(n);
  return static_cast<int>(n);
}

long Ctrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return static_cast<long>(StateOf(bio)->ahead.size());
    default:
      return 0;
  }
}

int Destroy(BIO* bio) {
  delete StateOf(bio);
  BIO_set_data(bio, nullptr);
  return 1;
}

// A constant, not BIO_meth_new: an allocated method is never freed, so every
// dlopen/dlclose of the library would leak one (found by
// //tests/embedding:dlopen_loop_test under ASan). BoringSSL keeps
// struct bio_method_st public for exactly this use.
const BIO_METHOD kMethod = {
    BIO_TYPE_SOCKET,
    "trustlink-socket",
    Write,
    Read,
    /*bputs=*/nullptr,
    /*bgets=*/nullptr,
    Ctrl,
    /*create=*/nullptr,
    Destroy,
    /*callback_ctrl=*/nullptr,
};

}  // namespace

BIO* NewSocketBio(int fd, uint64_t* reads) {
  BIO* bio = BIO_new(&kMethod);
  if (bio != nullptr) {
    State* s = new State();
    s->fd = fd;
    s->reads = reads;
    BIO_set_data(bio, s);
    BIO_set_init(bio, 1);
  }
  return bio;
}

bool SocketBioDrained(BIO* bio) {
  const State* s = StateOf(bio);
  return s != nullptr && s->ahead.empty() && s->drained;
}

}  // namespace trustlink::ntl::client
