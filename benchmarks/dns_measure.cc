// dns_measure: the figures behind docs/adr/0006-dns-with-c-ares.md, getaddrinfo
// and c-ares side by side in one run.
//
//   dns_measure localhost [N]   N lookups of "localhost" each way: median and
//                               99th percentile, in microseconds.
//   dns_measure pending         how long a lookup that gets no answer holds its
//                               caller: getaddrinfo until it gives up (what a
//                               joined lookup thread would add to a close),
//                               c-ares from the cancel to its return (what it
//                               adds). Run it where the system resolver is a
//                               loopback server that never answers, with the
//                               wrapper benchmarks/dns_measure_pending.sh,
//                               which makes that in private mount and network
//                               namespaces: no query leaves the machine.
#include <netdb.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ntl/internal/dns.h"

namespace {

using trustlink::ntl::internal::LookupNow;

bool Getaddrinfo(const char* host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host, nullptr, &hints, &res);
  if (res != nullptr) {
    freeaddrinfo(res);
  }
  return rc == 0;
}

void Report(const char* what, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  std::printf("%-12s n=%zu median=%.1f us p99=%.1f us\n", what, us.size(),
              us[us.size() / 2], us[us.size() * 99 / 100]);
}

int Localhost(int n) {
  std::vector<double> gai;
  std::vector<double> ares;
  // Interleaved, so load on the machine falls on both alike.
  for (int i = 0; i < n; ++i) {
    absl::Time t = absl::Now();
    if (!Getaddrinfo("localhost")) {
      std::fprintf(stderr, "getaddrinfo(localhost) failed\n");
      return 1;
    }
    gai.push_back(absl::ToDoubleMicroseconds(absl::Now() - t));
    t = absl::Now();
    if (!LookupNow("localhost", absl::Now() + absl::Seconds(5), -1, {}).ok()) {
      std::fprintf(stderr, "c-ares(localhost) failed\n");
      return 1;
    }
    ares.push_back(absl::ToDoubleMicroseconds(absl::Now() - t));
  }
  Report("getaddrinfo", gai);
  Report("c-ares", ares);
  return 0;
}

int Pending() {
  const char* name = "never-answered.test";
  absl::Time t = absl::Now();
  const bool found = Getaddrinfo(name);
  std::printf(
      "getaddrinfo: gave up after %.2f s (found=%d): a close joining "
      "its thread waits this long\n",
      absl::ToDoubleSeconds(absl::Now() - t), found);
  const int cancel = eventfd(0, EFD_CLOEXEC);
  absl::Time cancelled;
  std::thread lookup([&]() {
    (void)LookupNow(name, absl::Now() + absl::Seconds(60), cancel, {});
  });
  // The query is out once c-ares has had a moment; the figure is measured
  // from the cancel, so the wait only has to be long enough to be mid-lookup.
  absl::SleepFor(absl::Milliseconds(200));
  cancelled = absl::Now();
  const uint64_t one = 1;
  if (write(cancel, &one, sizeof(one)) != 8) {
    return 1;
  }
  lookup.join();
  std::printf("c-ares: returned %.3f ms after the cancel\n",
              absl::ToDoubleMilliseconds(absl::Now() - cancelled));
  close(cancel);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "localhost") == 0) {
    return Localhost(argc >= 3 ? std::atoi(argv[2]) : 2000);
  }
  if (argc == 2 && std::strcmp(argv[1], "pending") == 0) {
    return Pending();
  }
  std::fprintf(stderr, "usage: %s localhost [N] | pending\n", argv[0]);
  return 2;
}
