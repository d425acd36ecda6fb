// A member that missed writes, or that a new process finds behind the
// primary, gets the primary's token objects it lacks before it takes load.
// Private objects are visible only to a logged-in user, so this runs when the
// group is logged in: at login, and when a member returns after it. The probe
// thread's catch-up asks for the key-transfer streams it needs instead of
// opening them under the call lock (ha_transfers.cc).

#include <vector>

#include "absl/strings/str_cat.h"
#include "ntl/pkcs11/ha/ha_module.h"
#include "ntl/pkcs11/ha/key_template.h"

namespace trustlink::ntl::pkcs11::ha {

bool HaModule::DropUnknownCreates(size_t m, std::string* why) {
  Member& mem = *members_[m];
  if (mem.unknown_creates.empty()) {
    return true;
  }
  Session tmp;
  tmp.flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
  CK_SESSION_HANDLE ms = 0;
  CK_RV rv = SessionOn(&tmp, m, &ms);
  size_t dropped = 0;
  while (rv == CKR_OK && !mem.unknown_creates.empty()) {
    auto [cls, id] = mem.unknown_creates.back();
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_ID, &id[0], id.size()},
                        {CKA_TOKEN, &yes, sizeof(yes)}};
    std::vector<CK_OBJECT_HANDLE> found;
    rv = FindAll(mem.f(), ms, t, 3, &found);
    for (size_t i = 0; rv == CKR_OK && i < found.size(); ++i) {
      rv = mem.f()->C_DestroyObject(ms, found[i]);
      dropped += rv == CKR_OK;
    }
    if (rv == CKR_OK) {
      mem.unknown_creates.pop_back();
    }
  }
  for (const auto& [i, s] : tmp.on) {
    CloseMemberSession(i, s);
  }
  if (rv != CKR_OK) {
    *why = absl::StrCat(
        "removing the objects of writes whose outcome was "
        "unknown failed (",
        RvName(rv), ")");
    return false;
  }
  if (dropped > 0) {
    Log(absl::StrCat("member ", mem.name(), ": removed ", dropped,
                     " object(s) made by a write whose outcome was unknown "
                     "when it failed; the other members' copy replaces them"));
  }
  return true;
}

HaModule::CatchUpResult HaModule::CatchUp(size_t m, std::string* why,
                                          std::vector<size_t>* need) {
  if (!logged_in_) {
    // Without the PIN the private objects cannot be seen; the next login
    // compares the members again.
    return CatchUpResult::kDone;
  }
  if (!DropUnknownCreates(m, why)) {
    return CatchUpResult::kFailed;
  }
  int primary = -1;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (i != m && members_[i]->up()) {
      primary = static_cast<int>(i);
      break;
    }
  }
  if (primary < 0) {
    return CatchUpResult::kDone;  // nothing to copy from
  }
  Session tmp;
  tmp.flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
  CK_SESSION_HANDLE pms = 0, ms = 0;
  CK_RV rv = SessionOn(&tmp, primary, &pms);
  if (rv == CKR_OK) {
    rv = SessionOn(&tmp, m, &ms);
  }
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE token = {CKA_TOKEN, &yes, sizeof(yes)};
  std::vector<CK_OBJECT_HANDLE> all;
  if (rv == CKR_OK) {
    rv = FindAll(members_[primary]->f(), pms, &token, 1, &all);
  }
  // What m lacks, found before anything is copied, so a catch-up that needs
  // key-transfer streams first copies nothing before the lock is let go.
  std::vector<CK_OBJECT_HANDLE> missing;
  bool keys_missing = false;
  for (CK_OBJECT_HANDLE ph : all) {
    if (rv != CKR_OK) {
      break;
    }
    CK_OBJECT_HANDLE v = 0, mh = 0;
    if ((rv = VirtualHandle(primary, pms, ph, &v)) != CKR_OK) {
      break;
    }
    const Object& o = objects_[v];
    if (o.id.empty()) {
      continue;  // cannot be matched across members: left alone
    }
    CK_RV found = MemberObjectHandle(v, m, ms, &mh, /*may_lack=*/true);
    if (found == CKR_OK) {
      continue;
    }
    if (found != CKR_OBJECT_HANDLE_INVALID) {
      rv = found;
      break;
    }
    missing.push_back(v);
    keys_missing |= IsWrapped(o.cls);
  }
  if (rv == CKR_OK && keys_missing && need != nullptr) {
    for (size_t i : {static_cast<size_t>(primary), m}) {
      if (TransferClosed(i)) {
        need->push_back(i);
      }
    }
  }
  size_t copied = 0;
  for (CK_OBJECT_HANDLE v : missing) {
    if (rv != CKR_OK || (need != nullptr && !need->empty())) {
      break;
    }
    rv = Replicate(&tmp, primary, v, "catching up", static_cast<int>(m));
    copied += rv == CKR_OK;
  }
  for (const auto& [i, s] : tmp.on) {
    CloseMemberSession(i, s);
  }
  if (rv != CKR_OK) {
    *why = absl::StrCat(
        "catching up from ", members_[primary]->name(), " failed",
        copied == 0 ? ""
                    : absl::StrCat(" after copying ", copied, " object",
                                   copied == 1 ? "" : "s"),
        " (", RvName(rv), ")");
    return CatchUpResult::kFailed;
  }
  if (need != nullptr && !need->empty()) {
    return CatchUpResult::kNeedsTransfers;
  }
  if (copied > 0) {
    Log(absl::StrCat("member ", members_[m]->name(), " caught up: ", copied,
                     " object", copied == 1 ? "" : "s", " copied from ",
                     members_[primary]->name()));
  }
  return CatchUpResult::kDone;
}

}  // namespace trustlink::ntl::pkcs11::ha
