// PKCS#11 sign operations per second through a bridged path against the same
// operations on SoftHSM2 loaded directly, as a ratio measured in the same run.
//
// The bridged path is one of:
//   - the real link (`bazel run -c opt //benchmarks:pkcs11_link_benchmark`):
//     p11-kit-proxy -> vtl p11 bridge -> NTLA stream -> mTLS link -> ntlsd's
//     pkcs11 service -> p11-kit remote -> SoftHSM2. The wrapper script starts
//     ntlsd, makes the partition and runs `vtl p11 setup`, then runs this
//     binary with TL_BENCH_LINK_HOME (the HOME with the module config) and
//     TL_BENCH_LINK_SOFTHSM2_CONF (the partition's token, for the direct run);
//   - the stand-in link (this binary alone): p11-kit-proxy -> p11_bridge_local
//     -> unix socket -> Pkcs11Service -> p11-kit remote -> SoftHSM2.
//
// Each benchmark is bounded in time (MinTime) and so in count. p11-kit ignores
// user module configs when getuid() is 0, so as root the binary re-runs itself
// as uid 1000 in a user namespace (same files, same privileges).
//
// The few PKCS#11 declarations needed are below rather than from a -dev
// package's header: the function list's layout and these constants are fixed by
// the PKCS#11 2.40 standard.

#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "ntl/pkcs11/local_transport.h"
#include "ntl/pkcs11/module_config.h"
#include "ntl/pkcs11/service.h"
#include "ntl/pkcs11/token_store.h"

namespace {

using CK_ULONG = unsigned long;  // NOLINT: the PKCS#11 ABI type
using CK_RV = CK_ULONG;
struct CkMechanism {
  CK_ULONG type;
  void* param;
  CK_ULONG param_len;
};
struct CkAttribute {
  CK_ULONG type;
  void* value;
  CK_ULONG value_len;
};
using Fn = void*;
struct CkFunctionList {
  unsigned char version[2];
  CK_RV (*C_Initialize)(void*);
  CK_RV (*C_Finalize)(void*);
  Fn C_GetInfo, C_GetFunctionList;
  CK_RV (*C_GetSlotList)(unsigned char, CK_ULONG*, CK_ULONG*);
  Fn C_GetSlotInfo;
  CK_RV (*C_GetTokenInfo)(CK_ULONG, void*);
  Fn C_GetMechanismList, C_GetMechanismInfo, C_InitToken, C_InitPIN, C_SetPIN;
  CK_RV (*C_OpenSession)(CK_ULONG, CK_ULONG, void*, void*, CK_ULONG*);
  CK_RV (*C_CloseSession)(CK_ULONG);
  Fn C_CloseAllSessions, C_GetSessionInfo, C_GetOperationState,
      C_SetOperationState;
  CK_RV (*C_Login)(CK_ULONG, CK_ULONG, const unsigned char*, CK_ULONG);
  Fn C_Logout, C_CreateObject, C_CopyObject, C_DestroyObject, C_GetObjectSize,
      C_GetAttributeValue, C_SetAttributeValue, C_FindObjectsInit,
      C_FindObjects, C_FindObjectsFinal, C_EncryptInit, C_Encrypt,
      C_EncryptUpdate, C_EncryptFinal, C_DecryptInit, C_Decrypt,
      C_DecryptUpdate, C_DecryptFinal, C_DigestInit, C_Digest, C_DigestUpdate,
      C_DigestKey, C_DigestFinal;
  CK_RV (*C_SignInit)(CK_ULONG, CkMechanism*, CK_ULONG);
  CK_RV(*C_Sign)
  (CK_ULONG, const unsigned char*, CK_ULONG, unsigned char*, CK_ULONG*);
  Fn C_SignUpdate, C_SignFinal, C_SignRecoverInit, C_SignRecover, C_VerifyInit,
      C_Verify, C_VerifyUpdate, C_VerifyFinal, C_VerifyRecoverInit,
      C_VerifyRecover, C_DigestEncryptUpdate, C_DecryptDigestUpdate,
      C_SignEncryptUpdate, C_DecryptVerifyUpdate, C_GenerateKey;
  CK_RV(*C_GenerateKeyPair)
  (CK_ULONG, CkMechanism*, CkAttribute*, CK_ULONG, CkAttribute*, CK_ULONG,
   CK_ULONG*, CK_ULONG*);
};

constexpr CK_ULONG kSerialSession = 4, kRwSession = 2, kUser = 1;
constexpr CK_ULONG kEcKeyPairGen = 0x1040, kEcdsa = 0x1041, kRsaKeyPairGen = 0,
                   kSha256RsaPkcs = 0x40;
constexpr CK_ULONG kToken = 1, kSign = 0x108, kVerify = 0x10a,
                   kEcParams = 0x180, kModulusBits = 0x121;
constexpr char kUserPin[] = "87654321";

// Token is one logged-in session with an EC P-256 and an RSA-2048 session key
// pair.
struct Token {
  CkFunctionList* f = nullptr;
  CK_ULONG session = 0, ec_key = 0, rsa_key = 0;
  std::string error;
};

bool Check(Token* t, CK_RV rv, const char* what) {
  if (rv != 0 && t->error.empty()) {
    t->error = absl::StrCat(what, " failed: CKR 0x", absl::Hex(rv));
  }
  return rv == 0;
}

Token OpenToken(const std::string& module, const std::string& label) {
  Token t;
  void* lib = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    t.error = absl::StrCat("dlopen ", module, ": ", dlerror());
    return t;
  }
  auto get = reinterpret_cast<CK_RV (*)(CkFunctionList**)>(
      dlsym(lib, "C_GetFunctionList"));
  if (get == nullptr || !Check(&t, get(&t.f), "C_GetFunctionList") ||
      !Check(&t, t.f->C_Initialize(nullptr), "C_Initialize")) {
    return t;
  }
  CK_ULONG slots[64], n = 64;
  if (!Check(&t, t.f->C_GetSlotList(1, slots, &n), "C_GetSlotList")) {
    return t;
  }
  for (CK_ULONG i = 0; i < n; ++i) {
    unsigned char info[1024] = {};
    if (t.f->C_GetTokenInfo(slots[i], info) != 0) {
      continue;
    }
    std::string l(reinterpret_cast<char*>(info), 32);
    l.erase(l.find_last_not_of(' ') + 1);
    if (l != label) {
      continue;
    }
    unsigned char yes = 1, no = 0;
    unsigned char ec_params[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_ULONG bits = 2048;
    CkAttribute ec_pub[] = {{kToken, &no, 1},
                            {kVerify, &yes, 1},
                            {kEcParams, ec_params, sizeof(ec_params)}};
    CkAttribute rsa_pub[] = {{kToken, &no, 1},
                             {kVerify, &yes, 1},
                             {kModulusBits, &bits, sizeof(bits)}};
    CkAttribute priv[] = {{kToken, &no, 1}, {kSign, &yes, 1}};
    CkMechanism ec_gen = {kEcKeyPairGen, nullptr, 0},
                rsa_gen = {kRsaKeyPairGen, nullptr, 0};
    CK_ULONG pub;
    if (Check(&t,
              t.f->C_OpenSession(slots[i], kSerialSession | kRwSession, nullptr,
                                 nullptr, &t.session),
              "C_OpenSession") &&
        Check(&t,
              t.f->C_Login(t.session, kUser,
                           reinterpret_cast<const unsigned char*>(kUserPin),
                           strlen(kUserPin)),
              "C_Login") &&
        Check(&t,
              t.f->C_GenerateKeyPair(t.session, &ec_gen, ec_pub, 3, priv, 2,
                                     &pub, &t.ec_key),
              "C_GenerateKeyPair(EC)")) {
      Check(&t,
            t.f->C_GenerateKeyPair(t.session, &rsa_gen, rsa_pub, 3, priv, 2,
                                   &pub, &t.rsa_key),
            "C_GenerateKeyPair(RSA)");
    }
    return t;
  }
  t.error = absl::StrCat("no token labelled '", label, "' via ", module);
  return t;
}

const char* g_transport = "stand-in link";
Token* g_direct = nullptr;
Token* g_bridged = nullptr;
double g_direct_rate[2] = {0, 0};  // EC, RSA

void Sign(benchmark::State& state, Token* t, bool rsa) {
  if (t == nullptr || !t->error.empty()) {
    state.SkipWithError(t == nullptr ? "no token" : t->error.c_str());
    return;
  }
  unsigned char digest[32] = {1, 2, 3};
  unsigned char sig[512];
  CkMechanism mech = {rsa ? kSha256RsaPkcs : kEcdsa, nullptr, 0};
  for (auto _ : state) {
    CK_ULONG len = sizeof(sig);
    if (t->f->C_SignInit(t->session, &mech, rsa ? t->rsa_key : t->ec_key) !=
            0 ||
        t->f->C_Sign(t->session, digest, sizeof(digest), sig, &len) != 0) {
      state.SkipWithError("sign failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// StartStandIn serves a fresh "bench" partition over the stand-in link and
// points HOME's p11-kit module config at p11_bridge_local.
bool StartStandIn(
    std::unique_ptr<trustlink::ntl::pkcs11::Pkcs11Service>* service,
    std::unique_ptr<trustlink::ntl::pkcs11::LocalStreamServer>* server) {
  // The bridge binary sits next to this one in the runfiles tree (a data
  // dependency).
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) {
    return false;
  }
  self[n] = '\0';
  std::string bridge =
      absl::StrCat(self, ".runfiles/trustlink/ntl/pkcs11/p11_bridge_local");
  if (access(bridge.c_str(), X_OK) != 0) {
    bridge = std::string(self);
    bridge = bridge.substr(0, bridge.rfind("/benchmarks/")) +
             "/ntl/pkcs11/p11_bridge_local";
  }
  const char* tmp = getenv("TEST_TMPDIR");
  std::string dir_template =
      absl::StrCat(tmp ? tmp : "/tmp", "/p11bench.XXXXXX");
  std::vector<char> dir_buf(dir_template.begin(), dir_template.end());
  dir_buf.push_back('\0');
  if (mkdtemp(dir_buf.data()) == nullptr) {
    return false;
  }
  std::string dir = dir_buf.data();

  using trustlink::ntl::pkcs11::TokenStore;
  absl::StatusOr<TokenStore> store = TokenStore::Open(dir + "/appliance");
  if (!store.ok() || !store->Create("bench", "12345678", kUserPin).ok()) {
    fprintf(stderr, "cannot create the benchmark partition\n");
    return false;
  }
  std::string conf = store->Find("bench")->softhsm2_conf;
  *service = std::make_unique<trustlink::ntl::pkcs11::Pkcs11Service>(
      std::move(*store));
  std::string sock = dir + "/ntl.sock";
  auto started = trustlink::ntl::pkcs11::LocalStreamServer::Start(
      sock, service->get(), [](absl::string_view) { return absl::OkStatus(); });
  if (!started.ok()) {
    fprintf(stderr, "%s\n", std::string(started.status().message()).c_str());
    return false;
  }
  *server = std::move(*started);
  std::string modules = dir + "/home/.config/pkcs11/modules";
  auto setup = trustlink::ntl::pkcs11::WriteModuleConfigs(
      modules, {bridge, "-socket", sock}, {{"bench-hsm", "bench"}});
  if (!setup.ok()) {
    fprintf(stderr, "%s\n", std::string(setup.status().message()).c_str());
    return false;
  }
  // Only the bridged partition in the proxy's slot list (see
  // tests/pkcs11/lib.sh).
  for (const char* m : {"softhsm2", "opensc-pkcs11"}) {
    FILE* f = fopen(absl::StrCat(modules, "/", m, ".module").c_str(), "w");
    if (f != nullptr) {
      fprintf(f, "module: %s\nenable-in: trustlink-bench-none\n", m);
      fclose(f);
    }
  }
  setenv("HOME", (dir + "/home").c_str(), 1);
  setenv("SOFTHSM2_CONF", conf.c_str(), 1);
  return true;
}

// HopsMode is the driver of benchmarks/pkcs11_hops.py: with the bridged session
// open (bridge, stream and p11-kit remote running), it says "ready", waits for
// a line on stdin so the script can take its "before" counts, signs `signs`
// times with ECDSA, says "done <microseconds>" and waits for another line
// before it finalises.
int HopsMode(Token* t, int signs) {
  if (!t->error.empty() || signs <= 0) {
    fprintf(
        stderr, "hops mode: %s\n",
        t->error.empty() ? "give TL_BENCH_HOPS_SIGNS > 0" : t->error.c_str());
    return 1;
  }
  unsigned char digest[32] = {1, 2, 3};
  unsigned char sig[512];
  CkMechanism mech = {kEcdsa, nullptr, 0};
  auto sign = [&] {
    CK_ULONG len = sizeof(sig);
    return t->f->C_SignInit(t->session, &mech, t->ec_key) == 0 &&
           t->f->C_Sign(t->session, digest, sizeof(digest), sig, &len) == 0;
  };
  for (int i = 0; i < 50; ++i) {  // warm up: every page and cache touched
    sign();
  }
  char line[64];
  printf("ready %d\n", static_cast<int>(getpid()));
  fflush(stdout);
  if (fgets(line, sizeof(line), stdin) == nullptr) {
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < signs; ++i) {
    if (!sign()) {
      fprintf(stderr, "hops mode: sign %d failed\n", i);
      return 1;
    }
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - start)
                .count();
  printf("done %lld\n", static_cast<long long>(us));
  fflush(stdout);
  if (fgets(line, sizeof(line), stdin) == nullptr) {
    return 1;
  }
  t->f->C_Finalize(nullptr);
  return 0;
}

}  // namespace

// The direct and bridged runs measure their own wall time so the bridged run
// can report a ratio against the direct run of the same process.
static void Run(benchmark::State& state, bool bridged, bool rsa) {
  Token* t = bridged ? g_bridged : g_direct;
  auto start = std::chrono::steady_clock::now();
  Sign(state, t, rsa);
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  double rate = secs > 0 ? static_cast<double>(state.iterations()) / secs : 0;
  if (!bridged) {
    g_direct_rate[rsa] = rate;
  } else {
    state.SetLabel(g_transport);
    if (g_direct_rate[rsa] > 0) {
      state.counters["ratio_vs_direct"] = rate / g_direct_rate[rsa];
    }
  }
}

static void BM_Pkcs11SignDirect_EcdsaP256(benchmark::State& s) {
  Run(s, false, false);
}
static void BM_Pkcs11SignBridged_EcdsaP256(benchmark::State& s) {
  Run(s, true, false);
}
static void BM_Pkcs11SignDirect_Rsa2048(benchmark::State& s) {
  Run(s, false, true);
}
static void BM_Pkcs11SignBridged_Rsa2048(benchmark::State& s) {
  Run(s, true, true);
}
BENCHMARK(BM_Pkcs11SignDirect_EcdsaP256)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_Pkcs11SignBridged_EcdsaP256)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_Pkcs11SignDirect_Rsa2048)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_Pkcs11SignBridged_Rsa2048)->MinTime(1.0)->UseRealTime();

int main(int argc, char** argv) {
  if (getuid() == 0 && getenv("TL_BENCH_REEXEC") == nullptr) {
    setenv("TL_BENCH_REEXEC", "1", 1);
    std::vector<char*> args = {const_cast<char*>("unshare"),
                               const_cast<char*>("--user"),
                               const_cast<char*>("--map-user=1000"),
                               const_cast<char*>("--map-group=1000")};
    std::string self = "/proc/self/exe";
    char path[4096];
    ssize_t n = readlink(self.c_str(), path, sizeof(path) - 1);
    if (n > 0) {
      path[n] = '\0';
      args.push_back(path);
      for (int i = 1; i < argc; ++i) {
        args.push_back(argv[i]);
      }
      args.push_back(nullptr);
      execv("/usr/bin/unshare", args.data());
    }
    fprintf(
        stderr,
        "cannot re-run as non-root; p11-kit ignores user configs for root\n");
    return 1;
  }
  std::unique_ptr<trustlink::ntl::pkcs11::LocalStreamServer> server;
  std::unique_ptr<trustlink::ntl::pkcs11::Pkcs11Service> service;
  const char* link_home = getenv("TL_BENCH_LINK_HOME");
  const char* link_conf = getenv("TL_BENCH_LINK_SOFTHSM2_CONF");
  if (link_home != nullptr && link_conf != nullptr) {
    g_transport = "real link";
    setenv("HOME", link_home, 1);
    setenv("SOFTHSM2_CONF", link_conf, 1);
  } else if (!StartStandIn(&service, &server)) {
    return 1;
  }

  Token direct =
      OpenToken(trustlink::ntl::pkcs11::kDefaultSoftHsmModule, "bench");
  Token bridged =
      OpenToken("/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so", "bench");
  g_direct = &direct;
  g_bridged = &bridged;
  if (!direct.error.empty() || !bridged.error.empty()) {
    fprintf(stderr, "set-up failed: %s %s\n", direct.error.c_str(),
            bridged.error.c_str());
  }
  if (const char* hops = getenv("TL_BENCH_HOPS_SIGNS"); hops != nullptr) {
    return HopsMode(&bridged, atoi(hops));
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (bridged.f != nullptr) {
    bridged.f->C_Finalize(nullptr);
  }
  if (direct.f != nullptr) {
    direct.f->C_Finalize(nullptr);
  }
  server.reset();
  service.reset();
  return 0;
}
