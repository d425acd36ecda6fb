#include "ntl/server/send_hold.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace trustlink::ntl::server::testing {
namespace {

// std::mutex, not absl::Mutex: Debian's Abseil is not TSan-instrumented.
struct Hold {
  std::mutex mu;
  std::condition_variable cv;
  bool armed = false;
  bool held = false;
  bool released = false;
  std::string peer_ip;
};

// PeerIp is the IPv4 address `fd` is connected to, or "".
std::string PeerIp(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  char text[INET_ADDRSTRLEN] = "";
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      a.sin_family != AF_INET ||
      inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text)) == nullptr) {
    return "";
  }
  return text;
}

Hold& TheHold() {
  static Hold* h = new Hold;  // never destroyed: server threads may outlive
  return *h;
}

// HoldHere holds the calling thread if the hold is armed for the peer of
// `fd`.
void HoldHere(int fd) {
  Hold& h = TheHold();
  std::unique_lock<std::mutex> lock(h.mu);
  if (!h.armed || PeerIp(fd) != h.peer_ip) {
    return;
  }
  h.armed = false;
  h.held = true;
  h.cv.notify_all();
  h.cv.wait_for(lock, std::chrono::seconds(10), [&] { return h.released; });
}

}  // namespace

void HoldNextSendTo(const std::string& peer_ip) {
  Hold& h = TheHold();
  std::lock_guard<std::mutex> lock(h.mu);
  h.armed = true;
  h.held = false;
  h.released = false;
  h.peer_ip = peer_ip;
}

bool SendHeld(absl::Duration limit) {
  Hold& h = TheHold();
  std::unique_lock<std::mutex> lock(h.mu);
  return h.cv.wait_for(lock, absl::ToChronoNanoseconds(limit),
                       [&] { return h.held; });
}

void ReleaseHeldSend() {
  Hold& h = TheHold();
  std::lock_guard<std::mutex> lock(h.mu);
  h.armed = false;
  h.released = true;
  h.cv.notify_all();
}

}  // namespace trustlink::ntl::server::testing

// Exported (the build hides symbols by default), as clock_counter.cc does.
extern "C" __attribute__((visibility("default"))) ssize_t send(int fd,
                                                               const void* buf,
                                                               size_t len,
                                                               int flags) {
  using Fn = ssize_t (*)(int, const void*, size_t, int);
  // The C library's (or the sanitizer's interceptor), found once.
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "send"));
  const ssize_t n = real(fd, buf, len, flags);
  if (n > 0) {
    trustlink::ntl::server::testing::HoldHere(fd);
  }
  return n;
}
