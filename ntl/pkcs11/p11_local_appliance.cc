// p11_local_appliance: the appliance half of the local stand-in for the link,
// for tests, the benchmark and demos.
//
//   p11_local_appliance create -root DIR -partition NAME    (PINs from
//   TL_SO_PIN, TL_USER_PIN) p11_local_appliance serve -root DIR -socket PATH
//   -assignments FILE
//
// `serve` lets a client open only the partitions listed in FILE (one per line),
// the registry's assignment check. SIGHUP re-reads FILE; a partition no longer
// listed has its live streams closed at once with TL_E_PARTITION_NOT_ASSIGNED.
// It prints "ready" when listening and "assignments N" after each (re)load, and
// ends on SIGTERM or SIGINT.

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "ntl/internal/bounded_read.h"
#include "ntl/internal/mutex.h"
#include "ntl/pkcs11/local_transport.h"
#include "ntl/pkcs11/service.h"
#include "ntl/pkcs11/token_store.h"
#include "ntl/status.h"

namespace {

using trustlink::ntl::pkcs11::LocalStreamServer;
using trustlink::ntl::pkcs11::Pkcs11Service;
using trustlink::ntl::pkcs11::TokenStore;

int Usage() {
  fprintf(stderr,
          "usage: p11_local_appliance create -root DIR -partition NAME\n"
          "       p11_local_appliance serve -root DIR -socket PATH "
          "-assignments FILE\n");
  return 2;
}

std::set<std::string> ReadAssignments(const std::string& path) {
  std::set<std::string> out;
  // Bounded and typed like every file trustlink reads: a FIFO or a device
  // here must not hang the appliance. Unreadable means no assignment.
  absl::StatusOr<std::string> text = trustlink::ntl::internal::ReadBoundedFile(
      path, trustlink::ntl::internal::kMaxPemInputSize, /*nofollow=*/false);
  if (!text.ok()) return out;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (!line.empty()) out.insert(std::string(line));
  }
  return out;
}

int Fail(const absl::Status& s) {
  fprintf(stderr, "p11_local_appliance: %s\n",
          std::string(s.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    return Usage();
  }
  std::string cmd = argv[1];
  std::map<std::string, std::string> flags;
  for (int i = 2; i + 1 < argc; i += 2) {
    flags[argv[i]] = argv[i + 1];
  }
  absl::StatusOr<TokenStore> store = TokenStore::Open(flags["-root"]);
  if (!store.ok()) {
    return Fail(store.status());
  }
  if (cmd == "create") {
    const char* so = getenv("TL_SO_PIN");
    const char* user = getenv("TL_USER_PIN");
    if (so == nullptr || user == nullptr) {
      fprintf(stderr, "set TL_SO_PIN and TL_USER_PIN\n");
      return 2;
    }
    absl::Status s = store->Create(flags["-partition"], so, user);
    if (!s.ok()) {
      return Fail(s);
    }
    printf("created partition %s in %s\n", flags["-partition"].c_str(),
           store->partitions_path().c_str());
    return 0;
  }
  if (cmd != "serve" || flags["-socket"].empty() ||
      flags["-assignments"].empty()) {
    return Usage();
  }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGPIPE);
  // Blocked before any thread starts, so only the signalfd below sees them.
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

  trustlink::ntl::internal::Mutex mu;
  std::set<std::string> assigned = ReadAssignments(flags["-assignments"]);
  Pkcs11Service service(std::move(*store));
  absl::StatusOr<std::unique_ptr<LocalStreamServer>> server =
      LocalStreamServer::Start(
          flags["-socket"], &service,
          [&](absl::string_view partition) -> absl::Status {
            trustlink::ntl::internal::MutexLock lock(&mu);
            if (assigned.count(std::string(partition)) == 0) {
              return trustlink::ntl::Error(
                  absl::StatusCode::kPermissionDenied,
                  TL_E_PARTITION_NOT_ASSIGNED,
                  absl::StrCat("partition '", partition,
                               "' is not assigned to this client; the "
                               "appliance admin must assign it "
                               "(tl_registry_assign_partition)"));
            }
            return absl::OkStatus();
          });
  if (!server.ok()) {
    return Fail(server.status());
  }
  printf("ready\nassignments %zu\n", assigned.size());
  fflush(stdout);
  for (;;) {
    struct signalfd_siginfo si;
    if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
      continue;
    }
    if (si.ssi_signo == SIGHUP) {
      std::set<std::string> now = ReadAssignments(flags["-assignments"]);
      std::set<std::string> revoked;
      {
        trustlink::ntl::internal::MutexLock lock(&mu);
        for (const std::string& p : assigned) {
          if (now.count(p) == 0) {
            revoked.insert(p);
          }
        }
        assigned = now;
      }
      for (const std::string& p : revoked) {
        service.ClosePartition(
            p, TL_E_PARTITION_NOT_ASSIGNED,
            absl::StrCat("partition '", p,
                         "' is no longer assigned to this client"));
      }
      printf("assignments %zu\n", now.size());
      fflush(stdout);
    } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
      break;
    }
  }
  server->reset();
  return 0;
}
