// Registry speed at scale (docs/appliance.md, "Performance"). Every figure that
// has a natural floor is reported with a ratio against that floor measured in
// the same run, because the machines are shared and absolute numbers swing by
// 2x:
//   BM_LookupByFingerprint   vs a std::unordered_map<std::string, int> of the
//   same keys BM_FullLoad              vs reading the same files with
//   open/read/close only BM_RefreshAfterOneChange vs BM_FullLoad (how much the
//   journal saves a running server)
//   BM_PublishSnapshotAfterOneChange vs copying the same index the way the
//   registry did before cow_map.h (four flat_hash_maps copied whole)
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

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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
// SyntheticClient is a record shaped like a real one (canonical fingerprint,
// IPv4 name), without the cost of making a certificate: publishing never reads
// the PEM.
std::shared_ptr<const ClientRecord> SyntheticClient(int i, int salt) {
  auto c = std::make_shared<ClientRecord>();
  c->label = absl::StrCat("client-", i);
  c->name_kind = NameKind::kIPv4;
  c->name = IpOf(i);
  uint64_t x = uint64_t(i) * 0x9E3779B97F4A7C15ull + uint64_t(salt);
  for (int byte = 0; byte < 32; ++byte) {
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    if (byte > 0) c->fingerprint += ':';
    absl::StrAppendFormat(&c->fingerprint, "%02X", unsigned(x >> 56));
  }
  return c;
}

// OldFullCopyIndex is the registry's index as it was before cow_map.h, which
// every snapshot copied whole: the same-run baseline.
struct OldFullCopyIndex {
  absl::flat_hash_map<std::string, std::shared_ptr<const ClientRecord>> by_id;
  absl::flat_hash_map<std::string, const ClientRecord*> by_fingerprint;
  absl::flat_hash_map<std::string, const ClientRecord*> by_label;
  absl::flat_hash_map<std::string, const ClientRecord*> by_ip;

  void Put(std::shared_ptr<const ClientRecord> c) {
    std::string id = ClientFileId(c->label);
    if (auto it = by_id.find(id); it != by_id.end()) {
      by_fingerprint.erase(it->second->fingerprint);
    }
    by_fingerprint[c->fingerprint] = c.get();
    by_label[c->label] = c.get();
    by_ip[c->name] = c.get();
    by_id[id] = std::move(c);
  }
};

// What the NTLS server pays on its event loop when one client changed: apply
// the change to the live index and publish an immutable snapshot of it, while
// the previous snapshot is still held (as a handshake in flight would), then
// drop that one. Ours: RegistryState + RegistrySnapshot (structural sharing).
// Baseline: the same change to the old flat index and a full copy of it.
void BM_PublishSnapshotAfterOneChange(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  RegistryState live;
  OldFullCopyIndex old_live;
  for (int i = 0; i < n; ++i) {
    auto c = SyntheticClient(i, 0);
    old_live.Put(c);
    if (!live.PutClient(std::move(c)).ok()) std::abort();
  }
  auto held = std::make_shared<const RegistrySnapshot>(live, 0);
  auto old_held = std::make_shared<const OldFullCopyIndex>(old_live);
  // The baseline runs after the measured loop, not interleaved with it: its
  // 100,000 frees per round would otherwise land in malloc's free lists and
  // bill our small allocations for consolidating them.
  std::vector<std::shared_ptr<const ClientRecord>> changes;
  double ours = 0, base = 0;
  for (auto _ : state) {
    // A new certificate for one client: three index entries change.
    const int round = int(changes.size()) + 1;
    changes.push_back(SyntheticClient(round * 7919 % n, round));
    auto t0 = std::chrono::steady_clock::now();
    if (!live.PutClient(changes.back()).ok()) state.SkipWithError("put");
    held = std::make_shared<const RegistrySnapshot>(live, uint64_t(round));
    ours += Seconds(std::chrono::steady_clock::now() - t0);
  }
  for (const auto& changed : changes) {
    auto t0 = std::chrono::steady_clock::now();
    old_live.Put(changed);
    old_held = std::make_shared<const OldFullCopyIndex>(old_live);
    base += Seconds(std::chrono::steady_clock::now() - t0);
  }
  if (held->client_count() != old_held->by_id.size()) {
    state.SkipWithError("the two indexes disagree");
  }
  const double rounds = double(changes.size());
  state.SetItemsProcessed(state.iterations());
  state.counters["us_per_publish"] = ours / rounds * 1e6;
  state.counters["us_per_full_copy"] = base / rounds * 1e6;
  state.counters["ratio_vs_full_copy"] = ours / base;
}
BENCHMARK(BM_PublishSnapshotAfterOneChange)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(30);

BENCHMARK(BM_RegisterOne)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20);

}  // namespace
}  // namespace trustlink::ntl::registry
