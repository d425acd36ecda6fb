#ifndef TRUSTLINK_NTL_PKCS11_HA_MEMBER_H_
#define TRUSTLINK_NTL_PKCS11_HA_MEMBER_H_

// Member is one partition of an HA group as the group's bridge sees it: the
// token labelled with the partition's name on the p11-kit module of its
// server (trustlink-<server>, the per-server bridge `vtl p11 bridge`). A
// member that fails is finalised, which ends its bridge; bringing it back
// initialises the module again, which starts a new bridge and link stream.

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "ntl/pkcs11/ha/key_transfer.h"
#include "ntl/pkcs11/ha/p11kit_lib.h"

namespace trustlink::ntl::pkcs11::ha {

// IsMemberFailure: rv says the member (its link, bridge or appliance) is gone,
// not that the request was wrong. p11-kit's RPC client answers
// CKR_DEVICE_ERROR for every call once its pipe has died.
bool IsMemberFailure(CK_RV rv);

class Member {
 public:
  // module: the member's server module, owned by the caller's module list.
  Member(const P11KitLib* lib, std::string server, std::string partition,
         CK_FUNCTION_LIST* module)
      : lib_(lib),
        server_(std::move(server)),
        partition_(std::move(partition)),
        f_(module) {}

  // Start initialises the module and finds the slot whose token label is the
  // partition. On failure *why says what happened and the member stays down.
  // Start is Connect then MarkUp.
  bool Start(std::string* why);
  // Connect is Start's slow half (it starts the member's bridge, which waits
  // for its link): it touches only the module and the slot, never what calls
  // read of a member that is down, so the group's background probe runs it
  // without the group's lock. The member stays down until MarkUp.
  bool Connect(std::string* why);
  // MarkUp puts a connected member in service (fresh login state).
  void MarkUp();
  // Withdraw takes a member that MarkUp put in service out of it again and
  // keeps its module and key-transfer stream: the group's probe lets go of
  // its lock while the streams a catch-up needs open. Its sessions and object
  // handles are forgotten (epoch() changes).
  void Withdraw();
  // Stop finalises the module (ending its bridge). Its sessions and object
  // handles are gone: epoch() changes.
  void Stop();

  bool up() const { return up_; }
  uint64_t epoch() const { return epoch_; }
  CK_FUNCTION_LIST* f() const { return f_; }
  CK_SLOT_ID slot() const { return slot_; }
  const std::string& server() const { return server_; }
  const std::string& partition() const { return partition_; }
  std::string name() const { return server_ + "/" + partition_; }

  // The command p11-kit runs for this member's module (its `remote: |...`
  // line, split into words) and the module's name: the key-transfer stream
  // (key_transfer.h) runs it too. Empty when the module is not a command.
  void set_transfer_command(std::vector<std::string> argv,
                            std::string module_name) {
    transfer_argv_ = std::move(argv);
    module_name_ = std::move(module_name);
  }
  const std::vector<std::string>& transfer_argv() const {
    return transfer_argv_;
  }
  const std::string& module_name() const { return module_name_; }
  // The key-transfer stream, opened by the group on first need; closed by
  // Stop and when the group logs out.
  std::unique_ptr<KeyTransfer> transfer;

  // Login state of this member's token in this process (PKCS#11 login is per
  // application and token, not per session).
  bool logged_in = false;
  // Retry schedule while down.
  absl::Time next_try = absl::InfinitePast();
  absl::Duration backoff = absl::ZeroDuration();
  // Retries that failed since the member went down, and whether reconnAtt
  // of them made the group give up on it until the next C_Initialize.
  int failed_retries = 0;
  bool given_up = false;
  // Creates this member may or may not have done before it failed (class and
  // CKA_ID): the write went to another member instead, so any such object
  // here is removed before the member takes load again (ha_catch_up.cc).
  std::vector<std::pair<CK_OBJECT_CLASS, std::string>> unknown_creates;

 private:
  const P11KitLib* lib_;
  std::string server_;
  std::string partition_;
  // Disconnect finalises the module of a member that is not up.
  void Disconnect();

  CK_FUNCTION_LIST* f_;
  std::vector<std::string> transfer_argv_;
  std::string module_name_;
  CK_SLOT_ID slot_ = 0;
  bool up_ = false;
  bool initialized_ = false;
  uint64_t epoch_ = 0;
};

// FindAll runs a whole search in session ms and returns the handles found,
// at most `max` (0: all). The search is always finished (C_FindObjectsFinal).
CK_RV FindAll(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE ms, CK_ATTRIBUTE* tmpl,
              CK_ULONG count, std::vector<CK_OBJECT_HANDLE>* out,
              size_t max = 0);

// PaddedEquals: a blank-padded PKCS#11 label field equals text.
bool PaddedEquals(const CK_UTF8CHAR* field, size_t len,
                  const std::string& text);
// Pad copies text into a blank-padded field of len bytes.
void Pad(CK_UTF8CHAR* field, size_t len, const std::string& text);

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_MEMBER_H_
