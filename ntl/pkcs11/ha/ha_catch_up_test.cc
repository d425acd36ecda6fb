// The probe thread's catch-up of a returning member (ha_recovery.cc,
// ha_catch_up.cc, ha_transfers.cc) over two real SoftHSM2 tokens that share a
// cloning-domain key: the group's members are SoftHSM2 loaded in this process
// (one function-list copy per member, so a test can fail one), their
// key-transfer streams `p11-kit remote` over the same tokens, started through
// a gate the test holds shut to make a stream's bridge slow to come up.
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ntl/pkcs11/ha/ha_module.h"
#include "ntl/pkcs11/ha/member.h"
#include "ntl/pkcs11/ha/p11kit_lib.h"
#include "ntl/pkcs11/ha/test_util.h"
#include "ntl/pkcs11/token_store.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

using ::testing::HasSubstr;

constexpr char kSo[] = "12345678";
constexpr char kPin[] = "87654321";
const char* const kTokens[2] = {"tA", "tB"};

// What the test controls of member 2 (s2/tB), and SoftHSM2 shared by both.
struct State {
  std::mutex mu;
  std::condition_variable cv;
  CK_FUNCTION_LIST* soft = nullptr;
  CK_FUNCTION_LIST f[2];
  int inits = 0;  // members that have SoftHSM2 initialised
  // Member 2's starts: the first (C_Initialize's) fails; later ones wait
  // while `hold`, then succeed if `reachable`.
  int starts2 = 0;
  bool hold = true;
  bool reachable = false;
  // Member 2's C_CreateObject: after this many succeed, one fails with
  // CKR_DEVICE_ERROR (its link dies mid-catch-up); -1: never.
  int creates_before_failure = -1;
  int digests2 = 0;  // C_DigestInit on member 2
};
State* state = nullptr;

CK_RV Initialize(CK_FUNCTION_LIST* f) {
  std::unique_lock<std::mutex> lock(state->mu);
  if (f == &state->f[1]) {
    if (++state->starts2 == 1) {
      return CKR_DEVICE_ERROR;
    }
    state->cv.wait(lock, [] { return !state->hold; });
    if (!state->reachable) {
      return CKR_DEVICE_ERROR;
    }
  }
  if (state->inits++ == 0) {
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    return state->soft->C_Initialize(&args);
  }
  return CKR_OK;
}
CK_RV Finalize(CK_FUNCTION_LIST*) {
  std::lock_guard<std::mutex> lock(state->mu);
  if (--state->inits == 0) {
    state->soft->C_Finalize(nullptr);
  }
  return CKR_OK;
}
CK_RV CreateObject2(CK_SESSION_HANDLE s, CK_ATTRIBUTE* t, CK_ULONG n,
                    CK_OBJECT_HANDLE* out) {
  {
    std::lock_guard<std::mutex> lock(state->mu);
    if (state->creates_before_failure == 0) {
      state->creates_before_failure = -1;
      return CKR_DEVICE_ERROR;
    }
    if (state->creates_before_failure > 0) {
      --state->creates_before_failure;
    }
  }
  return state->soft->C_CreateObject(s, t, n, out);
}
CK_RV DigestInit2(CK_SESSION_HANDLE s, CK_MECHANISM* m) {
  {
    std::lock_guard<std::mutex> lock(state->mu);
    ++state->digests2;
  }
  return state->soft->C_DigestInit(s, m);
}

class HaCatchUpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state = &state_;
    root_ = TestRoot();
    absl::StatusOr<TokenStore> store =
        ClonedTokens(root_, {kTokens[0], kTokens[1]}, kSo, kPin);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<PartitionToken> token = store->Find(kTokens[0]);
    ASSERT_TRUE(token.ok()) << token.status();
    // For SoftHSM2 here and the streams' `p11-kit remote` (our environment).
    setenv("SOFTHSM2_CONF", token->softhsm2_conf.c_str(), 1);
    soft_lib_ = dlopen(kDefaultSoftHsmModule, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(soft_lib_, nullptr) << dlerror();
    auto get = reinterpret_cast<CK_C_GetFunctionList>(
        dlsym(soft_lib_, "C_GetFunctionList"));
    ASSERT_NE(get, nullptr);
    ASSERT_EQ(get(&state_.soft), CKR_OK);
    state_.f[0] = *state_.soft;
    state_.f[1] = *state_.soft;
    state_.f[1].C_CreateObject = CreateObject2;
    state_.f[1].C_DigestInit = DigestInit2;
    lib_.module_initialize = Initialize;
    lib_.module_finalize = Finalize;

    gate_ = root_ + "/gate";
    gate_fd_ = open(gate_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(gate_fd_, 0);
  }
  void TearDown() override {
    Release();
    {
      // A start still waiting would keep the probe thread from its join.
      std::lock_guard<std::mutex> lock(state_.mu);
      state_.hold = false;
      state_.cv.notify_all();
    }
    module_.reset();
    if (gate_fd_ >= 0) {
      close(gate_fd_);
    }
    if (soft_lib_ != nullptr) {
      dlclose(soft_lib_);
    }
    unsetenv("SOFTHSM2_CONF");
    state = nullptr;
  }

  // Make builds the group s1/tA, s2/tB. A key-transfer stream's command
  // leaves a file saying it started, waits at the gate, then runs
  // `p11-kit remote` over its token as an appliance does.
  void Make(int reconnect_attempts = -1) {
    std::vector<std::unique_ptr<Member>> members;
    for (int i = 0; i < 2; ++i) {
      members.push_back(std::make_unique<Member>(
          &lib_, absl::StrCat("s", i + 1), kTokens[i], &state_.f[i]));
      members.back()->set_transfer_command(
          {"/bin/sh", "-c",
           ": > \"$1/started.$2.$$\" && /usr/bin/flock -s \"$1/gate\" true "
           "&& exec /usr/bin/p11-kit remote -p \"$3\" \"pkcs11:token=$2\"",
           "sh", root_, kTokens[i], kDefaultSoftHsmModule},
          "trustlink-test");
    }
    module_ = std::make_unique<HaModule>(
        FastRetryOptions(&log_, reconnect_attempts), std::move(members));
    module_->SetCallLock(&call_lock_);
  }

  // Up: the group initialised with member 2 down (its first start fails,
  // later ones wait for Let), logged in on an R/W session.
  void Up(int reconnect_attempts = -1) {
    Make(reconnect_attempts);
    std::lock_guard<std::mutex> lock(call_lock_);
    ASSERT_EQ(module_->Initialize(), CKR_OK);
    ASSERT_EQ(module_->OpenSession(kVirtualSlot,
                                   CKF_SERIAL_SESSION | CKF_RW_SESSION, &s_),
              CKR_OK);
    ASSERT_EQ(
        module_->Login(s_, CKU_USER,
                       reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(kPin)),
                       sizeof(kPin) - 1),
        CKR_OK);
  }
  // Let releases member 2's waiting start: it connects and is caught up.
  void Let() {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.reachable = true;
    state_.hold = false;
    state_.cv.notify_all();
  }
  void Hold() { ASSERT_EQ(flock(gate_fd_, LOCK_EX), 0); }
  void Release() {
    if (gate_fd_ >= 0) {
      flock(gate_fd_, LOCK_UN);
    }
  }
  // Started counts the key-transfer streams started for `token`.
  int Started(const std::string& token) {
    int n = 0;
    DIR* d = opendir(root_.c_str());
    std::string prefix = "started." + token + ".";
    while (dirent* e = d != nullptr ? readdir(d) : nullptr) {
      n += std::string(e->d_name).rfind(prefix, 0) == 0;
    }
    if (d != nullptr) {
      closedir(d);
    }
    return n;
  }
  // WaitFor waits (20 s at most) until pred holds.
  template <typename Pred>
  bool WaitFor(Pred pred) {
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!pred()) {
      if (absl::Now() > deadline) {
        return false;
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    return true;
  }
  // CreateCert makes a certificate object through the group (member 2 is
  // down: it misses it). SoftHSM2 takes no CKA_ID on a data object.
  void CreateCert(std::string id) {
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE type = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    std::string subject = "subject " + id, value = "certificate " + id;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_CERTIFICATE_TYPE, &type, sizeof(type)},
                        {CKA_TOKEN, &yes, sizeof(yes)},
                        {CKA_ID, &id[0], id.size()},
                        {CKA_SUBJECT, &subject[0], subject.size()},
                        {CKA_VALUE, &value[0], value.size()}};
    CK_OBJECT_HANDLE h = 0;
    std::lock_guard<std::mutex> lock(call_lock_);
    ASSERT_EQ(module_->CreateObject(s_, t, 6, &h), CKR_OK);
  }
  // GenerateAesKey makes a token AES key through the group while member 2 is
  // down: its catch-up needs both members' key-transfer streams, which no
  // write has opened.
  void GenerateAesKey(std::string id) {
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, nullptr, 0};
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG len = 32;
    CK_ATTRIBUTE t[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                        {CKA_VALUE_LEN, &len, sizeof(len)},
                        {CKA_ENCRYPT, &yes, sizeof(yes)},
                        {CKA_ID, &id[0], id.size()}};
    CK_OBJECT_HANDLE key = 0;
    std::lock_guard<std::mutex> lock(call_lock_);
    ASSERT_EQ(module_->GenerateKey(s_, &gen, t, 4, &key), CKR_OK);
  }
  CK_RV Finish() {
    std::unique_lock<std::mutex> lock(call_lock_);
    return module_->Finalize(&lock);
  }
  // CountOnB: objects of class cls with CKA_ID id on tB, read straight from
  // SoftHSM2.
  int CountOnB(CK_OBJECT_CLASS cls, std::string id) {
    std::lock_guard<std::mutex> lock(call_lock_);
    CK_FUNCTION_LIST* f = state_.soft;
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    EXPECT_EQ(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    for (CK_ULONG i = 0; i < n; ++i) {
      CK_TOKEN_INFO info;
      CK_SESSION_HANDLE s = 0;
      if (f->C_GetTokenInfo(slots[i], &info) != CKR_OK ||
          !PaddedEquals(info.label, sizeof(info.label), kTokens[1]) ||
          f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, nullptr, nullptr,
                           &s) != CKR_OK) {
        continue;
      }
      CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                          {CKA_ID, &id[0], id.size()}};
      std::vector<CK_OBJECT_HANDLE> found;
      // Keys are private; the token may still be logged in through member 2.
      CK_RV rv = f->C_Login(
          s, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(kPin)),
          sizeof(kPin) - 1);
      EXPECT_TRUE(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
          << RvName(rv);
      EXPECT_EQ(FindAll(f, s, t, 2, &found), CKR_OK);
      f->C_CloseSession(s);
      return static_cast<int>(found.size());
    }
    ADD_FAILURE() << "no token " << kTokens[1];
    return -1;
  }

  State state_;
  TestLog log_;
  std::string root_;
  std::string gate_;
  int gate_fd_ = -1;
  void* soft_lib_ = nullptr;
  P11KitLib lib_{};
  std::mutex call_lock_;
  std::unique_ptr<HaModule> module_;
  CK_SESSION_HANDLE s_ = 0;
};

TEST_F(HaCatchUpTest, CallsGoOnWhileACatchUpOpensKeyTransferStreams) {
  ASSERT_NO_FATAL_FAILURE(Up());
  ASSERT_NO_FATAL_FAILURE(GenerateAesKey("\x07"));
  ASSERT_NO_FATAL_FAILURE(Hold());
  Let();
  ASSERT_TRUE(WaitFor([&] { return Started("tA") + Started("tB") > 0; }))
      << "the catch-up started no key-transfer stream\n"
      << log_.Text();

  // A stream's bridge is coming up: calls on the group go on meanwhile, and
  // member 2, which lacks the key, takes none of them.
  CK_SESSION_HANDLE a = 0, b = 0;
  std::future<CK_RV> call = std::async(std::launch::async, [&] {
    std::lock_guard<std::mutex> lock(call_lock_);
    CK_MECHANISM sha = {CKM_SHA256, nullptr, 0};
    CK_RV rv = module_->OpenSession(kVirtualSlot, CKF_SERIAL_SESSION, &a);
    if (rv == CKR_OK) {
      rv = module_->OpenSession(kVirtualSlot, CKF_SERIAL_SESSION, &b);
    }
    if (rv == CKR_OK) {
      rv = module_->OpInit(OpKind::kDigest, a, &sha, 0);
    }
    if (rv == CKR_OK) {
      rv = module_->OpInit(OpKind::kDigest, b, &sha, 0);
    }
    return rv;
  });
  bool done =
      call.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  EXPECT_TRUE(done) << "a call waited for the catch-up's key-transfer stream "
                       "to come up (the probe held the call lock)";
  Release();
  EXPECT_EQ(call.get(), CKR_OK);
  if (done) {
    std::lock_guard<std::mutex> lock(state_.mu);
    EXPECT_EQ(state_.digests2, 0)
        << "member 2 took an operation before it was caught up";
  }

  ASSERT_TRUE(log_.Wait("member s2/tB is back")) << log_.Text();
  EXPECT_THAT(log_.Text(), HasSubstr("member s2/tB caught up: 1 object copied "
                                     "from s1/tA"));
  // One stream each, opened by the probe and used by the catch-up.
  EXPECT_EQ(Started("tA"), 1);
  EXPECT_EQ(Started("tB"), 1);
  EXPECT_EQ(CountOnB(CKO_SECRET_KEY, "\x07"), 1);
  EXPECT_EQ(Finish(), CKR_OK);
}

TEST_F(HaCatchUpTest, FinalizeDuringACatchUpStartsNoFurtherStream) {
  ASSERT_NO_FATAL_FAILURE(Up());
  ASSERT_NO_FATAL_FAILURE(GenerateAesKey("\x07"));
  ASSERT_NO_FATAL_FAILURE(Hold());
  Let();
  ASSERT_TRUE(WaitFor([&] { return Started("tA") == 1; }))
      << "the catch-up started no key-transfer stream to s1/tA\n"
      << log_.Text();
  std::future<CK_RV> finalized =
      std::async(std::launch::async, [&] { return Finish(); });
  // C_Finalize has told the probe to stop once calls see the module
  // finalised (both under the call lock, in one go).
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(call_lock_);
    CK_ULONG n = 0;
    return module_->GetSlotList(CK_TRUE, nullptr, &n) ==
           CKR_CRYPTOKI_NOT_INITIALIZED;
  }));
  Release();
  EXPECT_EQ(finalized.get(), CKR_OK);
  EXPECT_EQ(Started("tB"), 0)
      << "the probe started another stream after C_Finalize began";
}

TEST_F(HaCatchUpTest, ACatchUpThatFailsHalfWayKeepsTheMemberDown) {
  ASSERT_NO_FATAL_FAILURE(Up());
  ASSERT_NO_FATAL_FAILURE(CreateCert("\x01"));
  ASSERT_NO_FATAL_FAILURE(CreateCert("\x02"));
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.creates_before_failure = 1;  // dies after the first copy
  }
  Let();
  ASSERT_TRUE(log_.Wait("member s2/tB is back")) << log_.Text();
  std::vector<std::string> log = log_.Lines();
  int failed =
      LineWith(log,
               "member s2/tB is down: catching up from s1/tA failed after "
               "copying 1 object (CKR_DEVICE_ERROR); next try in");
  int caught_up = LineWith(log, "member s2/tB caught up");
  int back = LineWith(log, "member s2/tB is back");
  EXPECT_GE(failed, 0) << "the failed catch-up was not reported\n"
                       << log_.Text();
  EXPECT_LT(failed, back) << log_.Text();
  // The next probe copied what the first did not.
  ASSERT_GE(caught_up, 0) << log_.Text();
  EXPECT_THAT(log[caught_up],
              HasSubstr("caught up: 1 object copied from s1/tA"));
  EXPECT_LT(caught_up, back) << log_.Text();
  EXPECT_EQ(CountOnB(CKO_CERTIFICATE, "\x01"), 1);
  EXPECT_EQ(CountOnB(CKO_CERTIFICATE, "\x02"), 1);
  EXPECT_EQ(Finish(), CKR_OK);
}

TEST_F(HaCatchUpTest, AFailedCatchUpCountsAsAFailedRetry) {
  ASSERT_NO_FATAL_FAILURE(Up(/*reconnect_attempts=*/1));
  ASSERT_NO_FATAL_FAILURE(CreateCert("\x01"));
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.creates_before_failure = 0;
  }
  Let();
  ASSERT_TRUE(log_.Wait("member s2/tB is back", "given up")) << log_.Text();
  EXPECT_THAT(log_.Text(),
              HasSubstr("member s2/tB is down: catching up from s1/tA "
                        "failed (CKR_DEVICE_ERROR); given up after 1 "
                        "failed retries (reconnAtt)"));
  EXPECT_THAT(log_.Text(), ::testing::Not(HasSubstr("is back")));
  EXPECT_EQ(Finish(), CKR_OK);
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11::ha
