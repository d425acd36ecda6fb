// Registry speed at scale (docs/appliance.md, "Performance"). Every figure that
// has a natural floor is reported with a ratio against that floor measured in
// the same run, because the machines are shared and absolute numbers swing by
// 2x:
//   BM_LookupByFingerprint   vs a std::unordered_map<std::string, int> of the
//   same keys BM_FullLoad              vs reading the same files with
//   open/read/close only BM_RefreshAfterOneChange vs BM_FullLoad (how much the
//   journal saves a running server)
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "ntl/registry/registry.h"
#include "ntl/registry/test_util.h"

namespace trustlink::ntl::registry {
namespace {

std::string IpOf(int i) {
  return absl::StrCat("10.", (i >> 16) & 255, ".", (i >> 8) & 255, ".",
                      i & 255);
}

// A registry of n clients, made once per process and size.
struct Fixture {
  std::string root;
  std::vector<std::string> fingerprints;
};

const Fixture& FixtureOf(int n) {
  static auto* fixtures = new std::map<int, Fixture>();
  auto it = fixtures->find(n);
  if (it != fixtures->end()) return it->second;
  Fixture f;
  f.root = testing::FreshRoot(absl::StrCat("bench_", n));
  auto reg = Registry::Open(f.root);
  if (!reg.ok()) std::abort();
  constexpr int kBatch = 10000;
  for (int start = 0; start < n; start += kBatch) {
    std::vector<ClientRegistration> batch;
    for (int i = start; i < n && i < start + kBatch; ++i) {
      ClientRegistration r;
      r.label = absl::StrCat("client-", i);
      r.name = IpOf(i);
      r.name_is_ip = true;
      r.certificate_pem = testing::ClientCertPem(r.name);
      batch.push_back(std::move(r));
    }
    if (!(*reg)->RegisterClients(batch).ok()) std::abort();
  }
  for (const ClientRecord* c : (*reg)->Snapshot()->ClientsSortedByLabel()) {
    f.fingerprints.push_back(c->fingerprint);
  }
  return fixtures->emplace(n, std::move(f)).first->second;
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

void BM_LookupByFingerprint(benchmark::State& state) {
  const Fixture& f = FixtureOf(static_cast<int>(state.range(0)));
  auto reg = Registry::Open(f.root, false);
  auto snap = (*reg)->Snapshot();
  std::unordered_map<std::string, int> baseline;
  for (size_t i = 0; i < f.fingerprints.size(); ++i)
    baseline[f.fingerprints[i]] = int(i);
  size_t i = 0, n = f.fingerprints.size();
  double ours = 0, base = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < 1000; ++k) {
      benchmark::DoNotOptimize(
          snap->FindClientByFingerprint(f.fingerprints[(i + k) % n]));
    }
    auto t1 = std::chrono::steady_clock::now();
    for (int k = 0; k < 1000; ++k) {
      benchmark::DoNotOptimize(baseline.find(f.fingerprints[(i + k) % n]));
    }
    auto t2 = std::chrono::steady_clock::now();
    ours += Seconds(t1 - t0);
    base += Seconds(t2 - t1);
    i += 7919;
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.counters["ns_per_lookup"] = ours / (state.iterations() * 1000.0) * 1e9;
  state.counters["ratio_vs_unordered_map"] = ours / base;
}
BENCHMARK(BM_LookupByFingerprint)->Arg(100000)->Unit(benchmark::kMicrosecond);

// ReadAllFiles is the I/O floor of a full load: every client file opened, read
// and closed.
size_t ReadAllFiles(const std::string& dir) {
  size_t bytes = 0;
  DIR* d = opendir(dir.c_str());
  char buf[8192];
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = open((dir + "/" + e->d_name).c_str(), O_RDONLY);
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) bytes += size_t(n);
    close(fd);
  }
  closedir(d);
  return bytes;
}

void BM_FullLoad(benchmark::State& state) {
  const Fixture& f = FixtureOf(static_cast<int>(state.range(0)));
  double ours = 0, base = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto reg = Registry::Open(f.root, false);
    if (!reg.ok()) state.SkipWithError("load failed");
    auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(ReadAllFiles(f.root + "/clients"));
    auto t2 = std::chrono::steady_clock::now();
    ours += Seconds(t1 - t0);
    base += Seconds(t2 - t1);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["ratio_vs_raw_read"] = ours / base;
}
BENCHMARK(BM_FullLoad)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// What a running NTLS server pays when an admin changes one client: Refresh
// (journal, one file) plus a new Snapshot, compared with a full load of the
// same registry.
void BM_RefreshAfterOneChange(benchmark::State& state) {
  const Fixture& f = FixtureOf(static_cast<int>(state.range(0)));
  auto admin = Registry::Open(f.root, false);
  auto server = Registry::Open(f.root, false);
  std::string pem = testing::ClientCertPem("192.168.9.9");
  double refresh = 0, full = 0;
  int64_t rounds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    ClientRegistration r;
    r.label = "bench-extra";
    r.name = "192.168.9.9";
    r.name_is_ip = true;
    r.certificate_pem = pem;
    if (rounds % 2 == 0) {
      (void)(*admin)->RegisterClient(r);
    } else {
      (void)(*admin)->DeleteClient("bench-extra");
    }
    state.ResumeTiming();
    auto t0 = std::chrono::steady_clock::now();
    if (!(*server)->Refresh().ok()) state.SkipWithError("refresh failed");
    benchmark::DoNotOptimize((*server)->Snapshot());
    refresh += Seconds(std::chrono::steady_clock::now() - t0);
    ++rounds;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto again = Registry::Open(f.root, false);
  full = Seconds(std::chrono::steady_clock::now() - t0);
  state.counters["ms_per_refresh"] = refresh / rounds * 1e3;
  state.counters["ratio_vs_full_load"] = (refresh / rounds) / full;
}
BENCHMARK(BM_RefreshAfterOneChange)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(10);

// One admin registration into a registry of n clients: one client file, one
// journal entry, the generation, each fsynced. Its cost must not grow with n.
void BM_RegisterOne(benchmark::State& state) {
  const Fixture& f = FixtureOf(static_cast<int>(state.range(0)));
  auto admin = Registry::Open(f.root, false);
  std::vector<std::string> pems;
  for (int i = 0; i < 64; ++i)
    pems.push_back(testing::ClientCertPem(absl::StrCat("172.16.0.", i)));
  int i = 0;
  for (auto _ : state) {
    ClientRegistration r;
    r.label = absl::StrCat("one-", state.range(0), "-", i);
    r.name = absl::StrCat("172.16.0.", i % 64);
    r.name_is_ip = true;
    r.certificate_pem = pems[i % 64];
    if (!(*admin)->RegisterClient(r).ok())
      state.SkipWithError("register failed");
    state.PauseTiming();
    (void)(*admin)->DeleteClient(r.label);
    state.ResumeTiming();
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RegisterOne)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20);

}  // namespace
}  // namespace trustlink::ntl::registry
