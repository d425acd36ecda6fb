// The group's probe thread (ha_recovery.cc) against a fake member module: a
// failed member comes back with no call, calls go on while its start is slow,
// reconnAtt gives it up, CKF_LIBRARY_CANT_CREATE_OS_THREADS keeps the retries
// in the calls, and C_Finalize joins the thread. And, with two fake members,
// operations begin on the member with the fewest in flight.

#include <dirent.h>

#include <condition_variable>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ntl/pkcs11/ha/ha_module.h"
#include "ntl/pkcs11/ha/member.h"
#include "ntl/pkcs11/ha/p11kit_lib.h"
#include "ntl/pkcs11/ha/test_util.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

// The fake member: module_initialize fails while unreachable and waits while
// held (a bridge waiting for its link).
struct Fake {
  std::mutex mu;
  std::condition_variable cv;
  bool reachable = false;
  bool hold = false;
  bool holding = false;  // a start is waiting in module_initialize
  int starts = 0;
  int digests[2] = {0, 0};  // C_DigestInit per member (two-member tests)
  CK_SESSION_HANDLE next_session = 0;
};
Fake* fake = nullptr;

CK_RV FakeInitialize(CK_FUNCTION_LIST*) {
  std::unique_lock<std::mutex> lock(fake->mu);
  ++fake->starts;
  fake->holding = true;
  fake->cv.notify_all();
  fake->cv.wait(lock, [] { return !fake->hold; });
  fake->holding = false;
  return fake->reachable ? CKR_OK : CKR_DEVICE_ERROR;
}
CK_RV FakeFinalize(CK_FUNCTION_LIST*) { return CKR_OK; }
CK_RV FakeSlotList(CK_BBOOL, CK_SLOT_ID* list, CK_ULONG* n) {
  if (list != nullptr) {
    list[0] = 7;
  }
  *n = 1;
  return CKR_OK;
}
CK_RV FakeTokenInfo(CK_SLOT_ID, CK_TOKEN_INFO* info) {
  memset(info, 0, sizeof(*info));
  Pad(info->label, sizeof(info->label), "partA");
  return CKR_OK;
}

// Member K of a two-member group: its slot is K + 1, and its session handles
// say the slot (slot * 1000 + n).
template <int K>
CK_RV FakeSlotListOf(CK_BBOOL, CK_SLOT_ID* list, CK_ULONG* n) {
  if (list != nullptr) {
    list[0] = K + 1;
  }
  *n = 1;
  return CKR_OK;
}
CK_RV FakeOpenSession(CK_SLOT_ID slot, CK_FLAGS, void*, CK_NOTIFY,
                      CK_SESSION_HANDLE* out) {
  std::lock_guard<std::mutex> lock(fake->mu);
  *out = slot * 1000 + ++fake->next_session;
  return CKR_OK;
}
CK_RV FakeCloseSession(CK_SESSION_HANDLE) { return CKR_OK; }
CK_RV FakeDigestInit(CK_SESSION_HANDLE ms, CK_MECHANISM*) {
  std::lock_guard<std::mutex> lock(fake->mu);
  ++fake->digests[ms / 1000 - 1];
  return CKR_OK;
}
CK_RV FakeDigest(CK_SESSION_HANDLE, CK_BYTE*, CK_ULONG, CK_BYTE*,
                 CK_ULONG* out_len) {
  *out_len = 0;
  return CKR_OK;
}

// ProbeThreads counts this process's threads named by the probe.
int ProbeThreads() {
  int n = 0;
  DIR* d = opendir("/proc/self/task");
  while (dirent* e = d != nullptr ? readdir(d) : nullptr) {
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    n += std::getline(comm, name) && name == "tl-ha-probe";
  }
  if (d != nullptr) {
    closedir(d);
  }
  return n;
}

class HaRecoveryTest : public ::testing::Test {
 protected:
  HaRecoveryTest() {
    fake = &state_;
    lib_.module_initialize = FakeInitialize;
    lib_.module_finalize = FakeFinalize;
    f_.C_GetSlotList = FakeSlotList;
    f_.C_GetTokenInfo = FakeTokenInfo;
  }
  ~HaRecoveryTest() override {
    module_.reset();
    fake = nullptr;
  }

  void Make(int reconnect_attempts = -1) {
    std::vector<std::unique_ptr<Member>> members;
    members.push_back(std::make_unique<Member>(&lib_, "s1", "partA", &f_));
    module_ = std::make_unique<HaModule>(
        FastRetryOptions(&log_, reconnect_attempts), std::move(members));
    module_->SetCallLock(&call_lock_);
  }
  // Slots: C_GetSlotList(present) as the function list makes it, under the
  // call lock; 1 when the member is up.
  CK_ULONG Slots() {
    std::lock_guard<std::mutex> lock(call_lock_);
    CK_ULONG n = 0;
    EXPECT_EQ(module_->GetSlotList(CK_TRUE, nullptr, &n), CKR_OK);
    return n;
  }
  void Set(bool Fake::*field, bool value) {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.*field = value;
    state_.cv.notify_all();
  }
  CK_RV Initialize(const CK_C_INITIALIZE_ARGS* args = nullptr) {
    std::lock_guard<std::mutex> lock(call_lock_);
    return module_->Initialize(args);
  }
  CK_RV Finalize() {
    std::unique_lock<std::mutex> lock(call_lock_);
    return module_->Finalize(&lock);
  }
  // WaitNoProbe: a joined thread leaves /proc/self/task a moment later.
  bool WaitNoProbe() {
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (ProbeThreads() != 0) {
      if (absl::Now() > deadline) {
        return false;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

  Fake state_;
  TestLog log_;
  P11KitLib lib_{};
  CK_FUNCTION_LIST f_{};
  std::mutex call_lock_;
  std::unique_ptr<HaModule> module_;
};

TEST_F(HaRecoveryTest, MemberComesBackWithNoCall) {
  Make();
  ASSERT_EQ(Initialize(), CKR_OK);
  EXPECT_EQ(Slots(), 0u);
  EXPECT_EQ(ProbeThreads(), 1);
  Set(&Fake::reachable, true);
  ASSERT_TRUE(log_.Wait("member s1/partA is back"));
  EXPECT_EQ(Slots(), 1u);
  EXPECT_EQ(Finalize(), CKR_OK);
  EXPECT_TRUE(WaitNoProbe()) << "C_Finalize left the probe thread running";
}

TEST_F(HaRecoveryTest, CallsGoOnWhileAStartWaits) {
  Make();
  ASSERT_EQ(Initialize(), CKR_OK);
  Set(&Fake::reachable, true);
  Set(&Fake::hold, true);
  {
    std::unique_lock<std::mutex> lock(state_.mu);
    ASSERT_TRUE(state_.cv.wait_for(lock, std::chrono::seconds(10),
                                   [&] { return state_.holding; }));
  }
  // The probe is inside the member's start: a call still gets the lock. A
  // probe that held the lock would block the call until the hold is released,
  // which only happens below: wait for the call with a deadline, not a bound.
  std::future<CK_ULONG> slots =
      std::async(std::launch::async, [&] { return Slots(); });
  const bool answered =
      slots.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  Set(&Fake::hold, false);
  ASSERT_TRUE(answered) << "a call waited for the probe's held start";
  EXPECT_EQ(slots.get(), 0u);
  ASSERT_TRUE(log_.Wait("is back"));
  EXPECT_EQ(Slots(), 1u);
  EXPECT_EQ(Finalize(), CKR_OK);
}

TEST_F(HaRecoveryTest, ReconnAttGivesUpUntilInitialize) {
  Make(/*reconnect_attempts=*/2);
  ASSERT_EQ(Initialize(), CKR_OK);
  ASSERT_TRUE(log_.Wait("given up after 2 failed retries"));
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    EXPECT_EQ(state_.starts, 3);  // the first start and two retries
  }
  Set(&Fake::reachable, true);
  // Given up: neither the probe nor a call retries it. Watch for 25 times the
  // longest backoff (8 x 5 ms): an absence has no event to wait for.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Slots(), 0u);
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    EXPECT_EQ(state_.starts, 3) << "a member given up was started again";
  }
  EXPECT_EQ(Finalize(), CKR_OK);
  ASSERT_EQ(Initialize(), CKR_OK);
  EXPECT_EQ(Slots(), 1u);
  EXPECT_EQ(Finalize(), CKR_OK);
}

TEST_F(HaRecoveryTest, NoThreadsKeepsTheRetryInCalls) {
  Make();
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS;
  ASSERT_EQ(Initialize(&args), CKR_OK);
  EXPECT_EQ(ProbeThreads(), 0);
  Set(&Fake::reachable, true);
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Slots() == 0) {  // each call retries once the backoff has passed
    ASSERT_LT(absl::Now(), deadline) << "no call brought the member back";
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(ProbeThreads(), 0);
  EXPECT_EQ(Finalize(), CKR_OK);
}

class HaDispatchTest : public HaRecoveryTest {
 protected:
  HaDispatchTest() {
    state_.reachable = true;
    CK_FUNCTION_LIST* lists[] = {&f_, &f2_};
    f_.C_GetSlotList = FakeSlotListOf<0>;
    f2_.C_GetSlotList = FakeSlotListOf<1>;
    for (CK_FUNCTION_LIST* f : lists) {
      f->C_GetTokenInfo = FakeTokenInfo;
      f->C_OpenSession = FakeOpenSession;
      f->C_CloseSession = FakeCloseSession;
      f->C_DigestInit = FakeDigestInit;
      f->C_Digest = FakeDigest;
    }
    HaModuleOptions o;
    o.label = "g";
    std::vector<std::unique_ptr<Member>> members;
    members.push_back(std::make_unique<Member>(&lib_, "s1", "partA", &f_));
    members.push_back(std::make_unique<Member>(&lib_, "s2", "partA", &f2_));
    module_ = std::make_unique<HaModule>(std::move(o), std::move(members));
    module_->SetCallLock(&call_lock_);
  }
  CK_SESSION_HANDLE Open() {
    CK_SESSION_HANDLE h = 0;
    EXPECT_EQ(module_->OpenSession(kVirtualSlot, CKF_SERIAL_SESSION, &h),
              CKR_OK);
    return h;
  }
  CK_RV DigestInit(CK_SESSION_HANDLE h) {
    CK_MECHANISM mech = {CKM_SHA256, nullptr, 0};
    return module_->OpInit(OpKind::kDigest, h, &mech, 0);
  }
  std::pair<int, int> Digests() {
    std::lock_guard<std::mutex> lock(state_.mu);
    return {state_.digests[0], state_.digests[1]};
  }

  CK_FUNCTION_LIST f2_{};
};

TEST_F(HaDispatchTest, OperationsGoToTheLeastBusyMember) {
  ASSERT_EQ(Initialize(), CKR_OK);
  std::lock_guard<std::mutex> lock(call_lock_);
  CK_SESSION_HANDLE a = Open(), b = Open(), c = Open();
  ASSERT_EQ(DigestInit(a), CKR_OK);
  EXPECT_EQ(Digests(), std::make_pair(1, 0));  // a tie: the primary
  ASSERT_EQ(DigestInit(b), CKR_OK);
  EXPECT_EQ(Digests(), std::make_pair(1, 1));  // the primary has one
  ASSERT_EQ(DigestInit(c), CKR_OK);
  EXPECT_EQ(Digests(), std::make_pair(2, 1));  // one each: the primary
  // a finishes: the primary has one (c), the second one (b).
  CK_BYTE in[1] = {0}, out[32];
  CK_ULONG out_len = sizeof(out);
  ASSERT_EQ(module_->OpOnce(OpKind::kDigest, a, in, 1, out, &out_len), CKR_OK);
  ASSERT_EQ(module_->OpOnce(OpKind::kDigest, c, in, 1, out, &out_len), CKR_OK);
  ASSERT_EQ(DigestInit(a), CKR_OK);
  EXPECT_EQ(Digests(), std::make_pair(3, 1));  // b still on the second
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11::ha
