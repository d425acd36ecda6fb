// The members' key-transfer streams (key_transfer.h). A call opens one on
// first need, under the call lock (that call waits for it anyway). The probe
// thread never does: opening one starts a bridge process that waits for its
// link (seconds under load, up to the stream's start timeout), so it opens
// the streams a catch-up needs with the lock let go (OpenTransfers) and puts
// them in place under it.

#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/pkcs11/ha/ha_module.h"
#include "ntl/pkcs11/ha/key_transfer.h"
#include "ntl/pkcs11/ha/wipe.h"

namespace trustlink::ntl::pkcs11::ha {

RpcStreamOptions HaModule::TransferOptions(size_t m) const {
  const Member& mem = *members_[m];
  RpcStreamOptions o;
  o.argv = mem.transfer_argv();
  o.module_name = mem.module_name();
  o.peer = mem.name();
  return o;
}

bool HaModule::TransferClosed(size_t m) const {
  const Member& mem = *members_[m];
  // A member without a command cannot have one; TransferOn says so.
  return !mem.transfer_argv().empty() &&
         (mem.transfer == nullptr || mem.transfer->broken());
}

CK_RV HaModule::TransferOn(size_t m, KeyTransfer** out, std::string* why) {
  Member& mem = *members_[m];
  if (mem.transfer_argv().empty()) {
    *why = absl::StrCat("the p11-kit module of ", mem.name(),
                        " is not started from a command (remote: |...), so "
                        "keys cannot be transferred to or from it; run vtl "
                        "p11 setup");
    return CKR_FUNCTION_FAILED;
  }
  if (mem.transfer != nullptr && mem.transfer->broken()) {
    mem.transfer.reset();
  }
  CK_RV rv = CKR_OK;
  if (mem.transfer == nullptr) {
    rv = KeyTransfer::Open(TransferOptions(m), mem.partition(), user_type_,
                           logged_in_ ? &pin_ : nullptr, &mem.transfer, why);
  } else if (logged_in_ && !mem.transfer->logged_in()) {
    rv = mem.transfer->Login(user_type_, pin_, why);
  }
  if (rv != CKR_OK) {
    mem.transfer.reset();
    return rv;
  }
  *out = mem.transfer.get();
  return CKR_OK;
}

void HaModule::DropTransfers() {
  for (auto& m : members_) {
    m->transfer.reset();
  }
}

bool HaModule::OpenTransfers(const std::vector<size_t>& need,
                             std::unique_lock<std::mutex>* lock,
                             std::string* why) {
  struct Opening {
    size_t m;
    uint64_t epoch;  // a member stopped meanwhile gets none
    RpcStreamOptions options;
    std::string token;
    std::unique_ptr<KeyTransfer> transfer;
  };
  std::vector<Opening> opening;
  for (size_t m : need) {
    opening.push_back({m, members_[m]->epoch(), TransferOptions(m),
                       members_[m]->partition(), nullptr});
  }
  // The login as it is now: a stream logged in with another PIN, or while
  // the group has logged out, is not put in place.
  bool logged_in = logged_in_;
  CK_USER_TYPE user = user_type_;
  std::string pin = pin_;
  lock->unlock();
  CK_RV rv = CKR_OK;
  std::string failed;
  for (Opening& o : opening) {
    if (&o != &opening.front()) {
      // C_Finalize waits for this thread: at most one stream's start.
      lock->lock();
      bool stop = probe_stop_;
      lock->unlock();
      if (stop) {
        break;
      }
    }
    rv = KeyTransfer::Open(std::move(o.options), o.token, user,
                           logged_in ? &pin : nullptr, &o.transfer, &failed);
    if (rv != CKR_OK) {
      *why = absl::StrCat("opening the key-transfer stream to ",
                          members_[o.m]->name(), " for the catch-up failed (",
                          RvName(rv), "): ", failed);
      break;
    }
  }
  lock->lock();
  bool same_login =
      logged_in_ == logged_in && user_type_ == user && pin_ == pin;
  ZeroString(&pin);
  // Streams not put in place are closed with the lock let go: closing one
  // is a round trip or two and reaping its bridge.
  std::vector<std::unique_ptr<KeyTransfer>> unused;
  for (Opening& o : opening) {
    Member& mem = *members_[o.m];
    if (rv == CKR_OK && !probe_stop_ && same_login && mem.epoch() == o.epoch &&
        TransferClosed(o.m)) {
      mem.transfer.swap(o.transfer);  // a broken one goes to `unused`
    }
    if (o.transfer != nullptr) {
      unused.push_back(std::move(o.transfer));
    }
  }
  if (!unused.empty()) {
    lock->unlock();
    unused.clear();
    lock->lock();
  }
  return rv == CKR_OK;
}

}  // namespace trustlink::ntl::pkcs11::ha
