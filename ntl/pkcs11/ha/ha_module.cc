#include "ntl/pkcs11/ha/ha_module.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/pkcs11/ha/wipe.h"

namespace trustlink::ntl::pkcs11::ha {

HaModule::HaModule(HaModuleOptions options,
                   std::vector<std::unique_ptr<Member>> members)
    : options_(std::move(options)), members_(std::move(members)) {
  if (options_.serial.empty()) {
    // A stable serial from the label (FNV-1a), so the slot looks the same in
    // every process and after every failover.
    uint64_t h = 1469598103934665603ull;
    for (char c : options_.label) {
      h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    options_.serial = absl::StrCat(h % 10000000000000000ull);
  }
}

HaModule::~HaModule() {
  StopProbe(nullptr);
  ZeroString(&pin_);
  for (auto& m : members_) {
    m->Stop();
  }
}

void HaModule::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(absl::StrCat("group '", options_.label, "': ", line));
  }
}

int HaModule::FirstUp() const {
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i]->up()) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

int HaModule::LeastBusy() const {
  std::vector<int> busy(members_.size(), 0);
  for (const auto& [h, s] : sessions_) {
    const Op& op = s.op;
    if (op.kind != OpKind::kNone && members_[op.member]->epoch() == op.epoch) {
      ++busy[op.member];
    }
  }
  int best = -1;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i]->up() && (best < 0 || busy[i] < busy[best])) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

void HaModule::MarkDown(size_t m, CK_RV rv, const char* during) {
  Member& mem = *members_[m];
  if (!mem.up()) {
    return;
  }
  mem.Stop();
  mem.backoff = options_.retry_interval;
  mem.next_try = absl::Now() + mem.backoff;
  Log(absl::StrCat("member ", mem.name(), " failed during ", during, " (",
                   RvName(rv), "); its work moves to the other members"));
  probe_wake_.notify_all();
}

CK_RV HaModule::Initialize(const CK_C_INITIALIZE_ARGS* args) {
  if (initialized_) {
    return CKR_CRYPTOKI_ALREADY_INITIALIZED;
  }
  if (probe_.joinable()) {
    // A C_Finalize in another thread is still joining the probe thread.
    return CKR_FUNCTION_FAILED;
  }
  initialized_ = true;
  for (auto& m : members_) {
    m->next_try = absl::InfinitePast();
    m->backoff = absl::ZeroDuration();
    m->failed_retries = 0;
    m->given_up = false;
  }
  // Every member's first start is here, so the first C_GetSlotList already
  // shows the token; the retries of those that failed are the probe's.
  Recover();
  bool no_threads = args != nullptr &&
                    (args->flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS) != 0;
  if (call_lock_ != nullptr && !no_threads) {
    StartProbe();
  }
  // The virtual slot exists with no member up (its token is then absent), so
  // its number never changes.
  return CKR_OK;
}

CK_RV HaModule::Finalize(std::unique_lock<std::mutex>* held) {
  if (!initialized_) {
    return CKR_CRYPTOKI_NOT_INITIALIZED;
  }
  initialized_ = false;  // calls made while the probe is joined fail
  StopProbe(held);
  sessions_.clear();
  objects_.clear();
  ZeroString(&pin_);
  logged_in_ = false;
  for (auto& m : members_) {
    m->Stop();
  }
  return CKR_OK;
}

CK_RV HaModule::GetInfo(CK_INFO* info) {
  if (info == nullptr) {
    return CKR_ARGUMENTS_BAD;
  }
  memset(info, 0, sizeof(*info));
  info->cryptokiVersion = {2, 40};
  Pad(info->manufacturerID, sizeof(info->manufacturerID), "trustlink");
  Pad(info->libraryDescription, sizeof(info->libraryDescription),
      "trustlink HA group " + options_.label);
  info->libraryVersion = {1, 0};
  return CKR_OK;
}

CK_RV HaModule::GetSlotList(CK_BBOOL present, CK_SLOT_ID* list,
                            CK_ULONG* count) {
  if (!initialized_) {
    return CKR_CRYPTOKI_NOT_INITIALIZED;
  }
  if (count == nullptr) {
    return CKR_ARGUMENTS_BAD;
  }
  Recover();
  CK_ULONG n = (present && FirstUp() < 0) ? 0 : 1;
  if (list != nullptr) {
    if (*count < n) {
      *count = n;
      return CKR_BUFFER_TOO_SMALL;
    }
    if (n == 1) {
      list[0] = kVirtualSlot;
    }
  }
  *count = n;
  return CKR_OK;
}

CK_RV HaModule::GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO* info) {
  if (CK_RV rv = SlotCheck(slot); rv != CKR_OK) {
    return rv;
  }
  if (info == nullptr) {
    return CKR_ARGUMENTS_BAD;
  }
  Recover();
  memset(info, 0, sizeof(*info));
  Pad(info->slotDescription, sizeof(info->slotDescription),
      "trustlink HA group " + options_.label);
  Pad(info->manufacturerID, sizeof(info->manufacturerID), "trustlink");
  info->flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT;
  if (FirstUp() >= 0) {
    info->flags |= CKF_TOKEN_PRESENT;
  }
  info->hardwareVersion = {1, 0};
  info->firmwareVersion = {1, 0};
  return CKR_OK;
}

CK_RV HaModule::GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO* info) {
  if (CK_RV rv = SlotCheck(slot); rv != CKR_OK) {
    return rv;
  }
  if (info == nullptr) {
    return CKR_ARGUMENTS_BAD;
  }
  CK_RV rv =
      OnAnyMember(nullptr, "C_GetTokenInfo", [&](size_t m, CK_SESSION_HANDLE) {
        return members_[m]->f()->C_GetTokenInfo(members_[m]->slot(), info);
      });
  if (rv != CKR_OK) {
    return rv;
  }
  Pad(info->label, sizeof(info->label), options_.label);
  Pad(info->manufacturerID, sizeof(info->manufacturerID), "trustlink");
  Pad(info->model, sizeof(info->model), "HA group");
  Pad(info->serialNumber, sizeof(info->serialNumber), options_.serial);
  info->ulSessionCount = sessions_.size();
  CK_ULONG rw = 0;
  for (const auto& [h, s] : sessions_) {
    rw += (s.flags & CKF_RW_SESSION) != 0;
  }
  info->ulRwSessionCount = rw;
  return CKR_OK;
}

CK_RV HaModule::GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE* list,
                                 CK_ULONG* count) {
  if (CK_RV rv = SlotCheck(slot); rv != CKR_OK) {
    return rv;
  }
  if (count == nullptr) {
    return CKR_ARGUMENTS_BAD;
  }
  // Into a buffer one longer than the caller's: p11-kit's RPC client drops
  // the mechanisms it cannot carry with a memmove that reads one element
  // past the end of the list it is given (p11-kit 0.24.1, found by ASan).
  std::vector<CK_MECHANISM_TYPE> got(list != nullptr ? *count + 1 : 0);
  CK_ULONG n = *count;
  CK_RV rv = OnAnyMember(
      nullptr, "C_GetMechanismList", [&](size_t m, CK_SESSION_HANDLE) {
        n = *count;
        return members_[m]->f()->C_GetMechanismList(
            members_[m]->slot(), list != nullptr ? got.data() : nullptr, &n);
      });
  if (rv == CKR_OK && list != nullptr) {
    std::copy(got.begin(), got.begin() + n, list);
  }
  if (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL) {
    *count = n;
  }
  return rv;
}

CK_RV HaModule::GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                                 CK_MECHANISM_INFO* info) {
  if (CK_RV rv = SlotCheck(slot); rv != CKR_OK) {
    return rv;
  }
  return OnAnyMember(nullptr, "C_GetMechanismInfo",
                     [&](size_t m, CK_SESSION_HANDLE) {
                       return members_[m]->f()->C_GetMechanismInfo(
                           members_[m]->slot(), type, info);
                     });
}

CK_RV HaModule::OpenSession(CK_SLOT_ID slot, CK_FLAGS flags,
                            CK_SESSION_HANDLE* out) {
  if (CK_RV rv = SlotCheck(slot); rv != CKR_OK) {
    return rv;
  }
  if (out == nullptr) {
    return CKR_ARGUMENTS_BAD;
  }
  if ((flags & CKF_SERIAL_SESSION) == 0) {
    return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
  }
  Recover();
  if (FirstUp() < 0) {
    Log("no member is up; the session cannot open");
    return CKR_TOKEN_NOT_PRESENT;
  }
  CK_SESSION_HANDLE h = next_session_++;
  sessions_[h].flags = flags;
  *out = h;
  return CKR_OK;
}

CK_RV HaModule::CloseSession(CK_SESSION_HANDLE h) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  std::map<size_t, MemberSession> on;
  on.swap(s->on);
  sessions_.erase(h);
  for (const auto& [m, ms] : on) {
    CloseMemberSession(m, ms);
  }
  if (sessions_.empty()) {
    // Closing the last session logs the application out (PKCS#11 2.40).
    ZeroString(&pin_);
    DropTransfers();
    logged_in_ = false;
    for (auto& m : members_) {
      m->logged_in = false;
    }
  }
  return CKR_OK;
}

CK_RV HaModule::CloseAllSessions(CK_SLOT_ID slot) {
  if (CK_RV rv = SlotCheck(slot); rv != CKR_OK) {
    return rv;
  }
  while (!sessions_.empty()) {
    CloseSession(sessions_.begin()->first);
  }
  return CKR_OK;
}

CK_RV HaModule::GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO* info) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  if (info == nullptr) {
    return CKR_ARGUMENTS_BAD;
  }
  bool rw = (s->flags & CKF_RW_SESSION) != 0;
  info->slotID = kVirtualSlot;
  info->flags = s->flags;
  info->ulDeviceError = 0;
  if (!logged_in_) {
    info->state = rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
  } else if (user_type_ == CKU_SO) {
    info->state = CKS_RW_SO_FUNCTIONS;
  } else {
    info->state = rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
  }
  return CKR_OK;
}

CK_RV HaModule::Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR* pin,
                      CK_ULONG pin_len) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  if (user == CKU_CONTEXT_SPECIFIC) {
    return CKR_OPERATION_NOT_INITIALIZED;
  }
  if (logged_in_) {
    return user == user_type_ ? CKR_USER_ALREADY_LOGGED_IN
                              : CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
  }
  if (pin == nullptr) {
    return CKR_ARGUMENTS_BAD;  // no protected authentication path
  }
  size_t used = 0;
  CK_RV rv = OnAnyMember(
      s, "C_Login",
      [&](size_t m, CK_SESSION_HANDLE ms) {
        CK_RV r = members_[m]->f()->C_Login(ms, user, pin, pin_len);
        return r == CKR_USER_ALREADY_LOGGED_IN ? CKR_OK : r;
      },
      &used);
  if (rv != CKR_OK) {
    return rv;
  }
  pin_.assign(reinterpret_cast<const char*>(pin), pin_len);
  logged_in_ = true;
  user_type_ = user;
  members_[used]->logged_in = true;
  // Now the private objects are visible: bring every other member up to the
  // primary before it takes load (ha_catch_up.cc).
  std::string why;
  if (user == CKU_USER && !DropUnknownCreates(used, &why)) {
    Log(absl::StrCat("member ", members_[used]->name(), ": ", why));
  }
  for (size_t m = 0; user == CKU_USER && m < members_.size(); ++m) {
    if (m != used && members_[m]->up() &&
        CatchUp(m, &why) != CatchUpResult::kDone) {
      MarkDown(m, CKR_DEVICE_ERROR, "catching up at login");
      Log(absl::StrCat("member ", members_[m]->name(), ": ", why));
    }
  }
  return CKR_OK;
}

CK_RV HaModule::Logout(CK_SESSION_HANDLE h) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  if (!logged_in_) {
    return CKR_USER_NOT_LOGGED_IN;
  }
  for (size_t m = 0; m < members_.size(); ++m) {
    if (!members_[m]->up() || !members_[m]->logged_in) {
      continue;
    }
    CK_SESSION_HANDLE ms = 0;
    if (SessionOn(s, m, &ms) == CKR_OK) {
      members_[m]->f()->C_Logout(ms);
    }
    members_[m]->logged_in = false;
    ForgetHandles(m);
  }
  ZeroString(&pin_);
  DropTransfers();
  logged_in_ = false;
  return CKR_OK;
}

void HaModule::CloseMemberSession(size_t m, const MemberSession& ms) {
  Member& mem = *members_[m];
  if (!mem.up() || mem.epoch() != ms.epoch) {
    return;
  }
  mem.f()->C_CloseSession(ms.handle);
  // Closing an application's last session on a token logs it out there
  // (PKCS#11 2.40, C_CloseSession).
  for (const auto& [h, s] : sessions_) {
    auto it = s.on.find(m);
    if (it != s.on.end() && it->second.epoch == mem.epoch()) {
      return;
    }
  }
  mem.logged_in = false;
  ForgetHandles(m);
}

CK_RV HaModule::SlotCheck(CK_SLOT_ID slot) const {
  if (!initialized_) {
    return CKR_CRYPTOKI_NOT_INITIALIZED;
  }
  return slot == kVirtualSlot ? CKR_OK : CKR_SLOT_ID_INVALID;
}

CK_RV HaModule::SessionFor(CK_SESSION_HANDLE h, Session** out) {
  if (!initialized_) {
    return CKR_CRYPTOKI_NOT_INITIALIZED;
  }
  *out = FindSession(h);
  return *out != nullptr ? CKR_OK : CKR_SESSION_HANDLE_INVALID;
}

HaModule::Session* HaModule::FindSession(CK_SESSION_HANDLE h) {
  auto it = sessions_.find(h);
  return it == sessions_.end() ? nullptr : &it->second;
}

CK_RV HaModule::SessionOn(Session* s, size_t m, CK_SESSION_HANDLE* out) {
  Member& mem = *members_[m];
  auto it = s->on.find(m);
  if (it != s->on.end() && it->second.epoch == mem.epoch()) {
    *out = it->second.handle;
    return CKR_OK;
  }
  CK_SESSION_HANDLE ms = 0;
  CK_RV rv =
      mem.f()->C_OpenSession(mem.slot(), s->flags, nullptr, nullptr, &ms);
  if (rv != CKR_OK) {
    return rv;
  }
  s->on[m] = {ms, mem.epoch()};
  if (logged_in_ && !mem.logged_in) {
    rv = mem.f()->C_Login(
        ms, user_type_,
        reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(pin_.data())),
        pin_.size());
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
      if (!IsMemberFailure(rv)) {
        Log(absl::StrCat("member ", mem.name(), " refused the group's PIN (",
                         RvName(rv),
                         "); every member of a group needs the same PINs"));
        rv = CKR_DEVICE_ERROR;  // unusable for this login: fail over
      }
      return rv;
    }
    mem.logged_in = true;
  }
  *out = ms;
  return CKR_OK;
}

CK_RV HaModule::OnAnyMember(Session* s, const char* what, const MemberFn& fn,
                            size_t* used, int first) {
  if (!initialized_) {
    return CKR_CRYPTOKI_NOT_INITIALIZED;
  }
  Recover();
  std::vector<size_t> order;
  if (first >= 0 && members_[first]->up()) {
    order.push_back(first);
  }
  for (size_t m = 0; m < members_.size(); ++m) {
    if (static_cast<int>(m) != first) {
      order.push_back(m);
    }
  }
  CK_RV last = CKR_DEVICE_ERROR;
  for (size_t m : order) {
    if (!members_[m]->up()) {
      continue;
    }
    CK_SESSION_HANDLE ms = 0;
    CK_RV rv = s != nullptr ? SessionOn(s, m, &ms) : CKR_OK;
    if (rv == CKR_OK) {
      rv = fn(m, ms);
    }
    if (!IsMemberFailure(rv)) {
      if (used != nullptr) {
        *used = m;
      }
      return rv;
    }
    last = rv;
    MarkDown(m, rv, what);
  }
  Log(absl::StrCat("no member is up for ", what, " (", RvName(last), ")"));
  return CKR_DEVICE_ERROR;
}

CK_RV HaModule::GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE* out,
                               CK_ULONG len) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  return OnAnyMember(s, "C_GenerateRandom",
                     [&](size_t m, CK_SESSION_HANDLE ms) {
                       return members_[m]->f()->C_GenerateRandom(ms, out, len);
                     });
}

}  // namespace trustlink::ntl::pkcs11::ha
