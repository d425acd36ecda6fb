#ifndef TRUSTLINK_NTL_PKCS11_HA_HA_MODULE_H_
#define TRUSTLINK_NTL_PKCS11_HA_HA_MODULE_H_

// HaModule is the PKCS#11 module of one HA group (docs/ha.md, "PKCS#11"): one
// virtual slot over member tokens on several appliances, with virtual
// sessions and virtual object handles. A member's session or object handle
// never reaches the application: an object is found again on another member
// by CKA_CLASS plus CKA_ID.
//
// - Reads run on the first member that is up, in the group's order; an
//   operation (sign, verify, encrypt, decrypt, digest) begins on the member
//   up with the fewest operations in flight (LeastBusy). Both are redone on
//   the next member when theirs fails: log in again with the PIN (kept only in
//   this object, zeroed at logout and finalize), find the key again, redo the
//   operation. A multi-part operation whose member fails returns
//   CKR_DEVICE_ERROR and logs a line saying to restart it.
// - Writes go to the primary (the first member up), then to every other
//   member up before the call returns (writes.h).
// - A member that is down is tried again by a background probe thread once
//   its backoff has passed (ha_recovery.cc), without the calls' lock while
//   its bridge starts or the key-transfer streams its catch-up needs open;
//   one that missed writes is caught up before it takes load. Without the
//   calls' lock (SetCallLock), or when C_Initialize says the module may not
//   make threads, the retry runs at the start of a call.
//
// Thread safety: not thread-safe; the function list (function_list.h)
// serialises calls with one lock, which it lends to the probe thread.

#include <p11-kit/pkcs11.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "ntl/pkcs11/ha/member.h"
#include "ntl/pkcs11/ha/rpc_stream.h"

namespace trustlink::ntl::pkcs11::ha {

inline constexpr CK_SLOT_ID kVirtualSlot = 1;

struct HaModuleOptions {
  std::string label;   // token label of the virtual slot
  std::string serial;  // token serial; empty: derived from the label
  // First wait before a failed member is tried again; doubles up to 8 times
  // that (AutoReconnectInterval).
  absl::Duration retry_interval = absl::Seconds(1);
  // Failed retries of a member before it is given up on until the next
  // C_Initialize: -1 for ever, 0 at the first (reconnAtt).
  int reconnect_attempts = -1;
  // log receives one line per event (member down, up, failover); the bridge
  // writes them to stderr, which p11-kit passes to the application.
  std::function<void(const std::string&)> log;
};

// The state of an operation begun with C_<Op>Init.
enum class OpKind { kNone, kSign, kVerify, kEncrypt, kDecrypt, kDigest };

class HaModule {
 public:
  HaModule(HaModuleOptions options,
           std::vector<std::unique_ptr<Member>> members);
  ~HaModule();
  HaModule(const HaModule&) = delete;
  HaModule& operator=(const HaModule&) = delete;

  // SetCallLock lends the module the lock that serialises its calls, held by
  // the caller around every call; the probe thread takes it to change state.
  // Call before Initialize.
  void SetCallLock(std::mutex* lock) { call_lock_ = lock; }

  // args: C_Initialize's (may be null). CKF_LIBRARY_CANT_CREATE_OS_THREADS
  // keeps the retries in the calls.
  CK_RV Initialize(const CK_C_INITIALIZE_ARGS* args = nullptr);
  // held: the call lock as the caller holds it; Finalize lets go of it while
  // it joins the probe thread (which may be waiting for it).
  CK_RV Finalize(std::unique_lock<std::mutex>* held = nullptr);
  CK_RV GetInfo(CK_INFO* info);
  CK_RV GetSlotList(CK_BBOOL present, CK_SLOT_ID* list, CK_ULONG* count);
  CK_RV GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO* info);
  CK_RV GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO* info);
  CK_RV GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE* list,
                         CK_ULONG* count);
  CK_RV GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                         CK_MECHANISM_INFO* info);
  CK_RV OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE* out);
  CK_RV CloseSession(CK_SESSION_HANDLE h);
  CK_RV CloseAllSessions(CK_SLOT_ID slot);
  CK_RV GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO* info);
  CK_RV Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR* pin,
              CK_ULONG pin_len);
  CK_RV Logout(CK_SESSION_HANDLE h);
  CK_RV GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                          CK_ATTRIBUTE* tmpl, CK_ULONG count);
  CK_RV FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE* tmpl,
                        CK_ULONG count);
  CK_RV FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE* out, CK_ULONG max,
                    CK_ULONG* count);
  CK_RV FindObjectsFinal(CK_SESSION_HANDLE h);
  CK_RV GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE* out, CK_ULONG len);

  // Single- and multi-part operations (ha_ops.cc). key is 0 for digests.
  CK_RV OpInit(OpKind kind, CK_SESSION_HANDLE h, CK_MECHANISM* mech,
               CK_OBJECT_HANDLE key);
  // C_Sign, C_Encrypt, C_Decrypt, C_Digest; C_Verify passes the signature as
  // `out` with *out_len its length.
  CK_RV OpOnce(OpKind kind, CK_SESSION_HANDLE h, CK_BYTE* in, CK_ULONG in_len,
               CK_BYTE* out, CK_ULONG* out_len);
  CK_RV OpUpdate(OpKind kind, CK_SESSION_HANDLE h, CK_BYTE* in, CK_ULONG in_len,
                 CK_BYTE* out, CK_ULONG* out_len);
  CK_RV OpFinal(OpKind kind, CK_SESSION_HANDLE h, CK_BYTE* out,
                CK_ULONG* out_len);

  // Writes (ha_writes.cc).
  CK_RV CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE* tmpl, CK_ULONG count,
                     CK_OBJECT_HANDLE* out);
  CK_RV DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj);
  CK_RV GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM* mech, CK_ATTRIBUTE* tmpl,
                    CK_ULONG count, CK_OBJECT_HANDLE* out);
  CK_RV GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM* mech,
                        CK_ATTRIBUTE* pub, CK_ULONG pub_count,
                        CK_ATTRIBUTE* priv, CK_ULONG priv_count,
                        CK_OBJECT_HANDLE* out_pub, CK_OBJECT_HANDLE* out_priv);

 private:
  struct MemberSession {
    CK_SESSION_HANDLE handle = 0;
    uint64_t epoch = 0;
  };
  struct Op {
    OpKind kind = OpKind::kNone;
    CK_MECHANISM_TYPE mechanism = 0;
    std::string parameter;
    CK_OBJECT_HANDLE key = 0;  // virtual
    size_t member = 0;
    uint64_t epoch = 0;
    bool multipart = false;
  };
  struct Session {
    CK_FLAGS flags = 0;
    std::map<size_t, MemberSession> on;  // by member index
    Op op;
    bool finding = false;
    std::vector<CK_OBJECT_HANDLE> found;
    size_t found_pos = 0;
  };
  struct MemberObject {
    CK_OBJECT_HANDLE handle = 0;
    uint64_t epoch = 0;
  };
  struct Object {
    CK_OBJECT_CLASS cls = 0;
    std::string id;  // CKA_ID; empty: cannot be found on another member
    bool token = true;
    std::map<size_t, MemberObject> on;
  };
  // MemberFn runs on member m with its session for the virtual session.
  using MemberFn = std::function<CK_RV(size_t m, CK_SESSION_HANDLE ms)>;

  void Log(const std::string& line) const;
  // Recover retries, in the calling thread, every member down whose backoff
  // has passed; with the probe thread running it does nothing (ha_recovery.cc).
  void Recover();
  // RetryDone ends a retry of member m (up: started; ok: and caught up):
  // back in service, or down with the next backoff, or given up.
  void RetryDone(size_t m, bool ok, const std::string& why);
  // The probe thread: StartProbe at Initialize, StopProbe (joins) at
  // Finalize and destruction; ProbeLoop is its body, under the call lock but
  // for each member's Connect.
  void StartProbe();
  void StopProbe(std::unique_lock<std::mutex>* held);
  void ProbeLoop();
  // Readmit puts connected member m in service and catches it up, for the
  // probe thread holding `lock` (the call lock). The key-transfer streams the
  // catch-up needs are opened with the lock let go and m out of service
  // meanwhile. False (with *why): m must stay down.
  bool Readmit(size_t m, std::unique_lock<std::mutex>* lock, std::string* why);
  // CatchUp copies to member m every token object of the primary that m
  // lacks (found by class and ID), before m takes load (ha_catch_up.cc).
  // kFailed says why in *why; m must not take load. With `need` (the probe
  // thread) it opens no key-transfer stream: when a key m lacks needs one
  // that is not open, it copies nothing and returns kNeedsTransfers with the
  // members whose streams to open in *need.
  enum class CatchUpResult { kDone, kFailed, kNeedsTransfers };
  CatchUpResult CatchUp(size_t m, std::string* why,
                        std::vector<size_t>* need = nullptr);
  // DropUnknownCreates removes from m the objects of creates whose outcome
  // was unknown when m failed (Member::unknown_creates).
  bool DropUnknownCreates(size_t m, std::string* why);
  void MarkDown(size_t m, CK_RV rv, const char* during);
  Session* FindSession(CK_SESSION_HANDLE h);
  // SlotCheck and SessionFor answer what PKCS#11 says for an uninitialised
  // module, another slot or an unknown session.
  CK_RV SlotCheck(CK_SLOT_ID slot) const;
  CK_RV SessionFor(CK_SESSION_HANDLE h, Session** out);
  // CloseMemberSession closes ms on member m; if it was the last, m is
  // logged out.
  void CloseMemberSession(size_t m, const MemberSession& ms);
  void ForgetHandles(size_t m);
  // SessionOn opens (and logs in) the member session for s on member m.
  CK_RV SessionOn(Session* s, size_t m, CK_SESSION_HANDLE* out);
  // OnAnyMember runs fn on the first member up (`first` if it is up), then
  // on the next while members fail. *used is the member that answered.
  CK_RV OnAnyMember(Session* s, const char* what, const MemberFn& fn,
                    size_t* used = nullptr, int first = -1);
  // MemberObjectHandle resolves virtual object v on member m. An object
  // missing there is logged unless `may_lack` (catch-up asks to find out).
  CK_RV MemberObjectHandle(CK_OBJECT_HANDLE v, size_t m, CK_SESSION_HANDLE ms,
                           CK_OBJECT_HANDLE* out, bool may_lack = false);
  // VirtualHandle returns the virtual handle of member m's object mh, making
  // one (reading its class and ID) if it has none.
  CK_RV VirtualHandle(size_t m, CK_SESSION_HANDLE ms, CK_OBJECT_HANDLE mh,
                      CK_OBJECT_HANDLE* out);
  int FirstUp() const;
  // LeastBusy: the member up with the fewest operations begun and not
  // finished, the first in the group's order on a tie; -1 when none is up.
  // Operations on a key that only one member can hold (no CKA_ID, or a
  // session object) stay where the key is (ha_ops.cc).
  int LeastBusy() const;
  CK_RV RunOp(Session* s, OpKind kind, CK_BYTE* in, CK_ULONG in_len,
              CK_BYTE* out, CK_ULONG* out_len);
  CK_RV InitOn(Session* s, size_t m, CK_SESSION_HANDLE ms);
  // MultiPart runs C_*Update (final false) or C_*Final on the member the
  // operation began on; if that member has failed, the operation is lost.
  CK_RV MultiPart(OpKind kind, CK_SESSION_HANDLE h, bool final, CK_BYTE* in,
                  CK_ULONG in_len, CK_BYTE* out, CK_ULONG* out_len);
  // Writes (ha_writes.cc). Replicate copies v from `primary` to every other
  // member up (`only` >= 0: to that member only).
  CK_RV Replicate(Session* s, size_t primary, CK_OBJECT_HANDLE v,
                  const char* what, int only = -1);
  using WriteFn =
      std::function<CK_RV(size_t m, CK_SESSION_HANDLE ms, CK_ATTRIBUTE* t1,
                          CK_ULONG n1, CK_ATTRIBUTE* t2, CK_ULONG n2,
                          CK_OBJECT_HANDLE* o1, CK_OBJECT_HANDLE* o2)>;
  CK_RV Write(Session* s, const char* what, CK_ATTRIBUTE* plain,
              CK_ULONG plain_count, CK_ATTRIBUTE* key, CK_ULONG key_count,
              const WriteFn& fn, CK_OBJECT_HANDLE* out1,
              CK_OBJECT_HANDLE* out2);
  void Undo(Session* s, CK_OBJECT_HANDLE v);
  // The members' key-transfer streams (ha_transfers.cc). TransferOn returns
  // member m's, opening it (and logging it in with the group's PIN) if
  // needed. TransferClosed: m has a command for one but none open.
  CK_RV TransferOn(size_t m, KeyTransfer** out, std::string* why);
  bool TransferClosed(size_t m) const;
  RpcStreamOptions TransferOptions(size_t m) const;
  // OpenTransfers opens the streams of the members in `need` with `lock` let
  // go, and puts each in place if its member and the login are still as they
  // were. False (with *why) if one did not open.
  bool OpenTransfers(const std::vector<size_t>& need,
                     std::unique_lock<std::mutex>* lock, std::string* why);
  // DropTransfers closes every member's key-transfer stream (logout).
  void DropTransfers();

  HaModuleOptions options_;
  std::vector<std::unique_ptr<Member>> members_;
  bool initialized_ = false;
  // The PIN of the logged-in user, kept to log in on a member that takes
  // over; zeroed at logout and finalize.
  std::string pin_;
  bool logged_in_ = false;
  CK_USER_TYPE user_type_ = CKU_USER;
  std::map<CK_SESSION_HANDLE, Session> sessions_;
  std::map<CK_OBJECT_HANDLE, Object> objects_;
  CK_SESSION_HANDLE next_session_ = 1;
  CK_OBJECT_HANDLE next_object_ = 1;
  // The probe thread and what it waits on (a member going down, or stop).
  std::mutex* call_lock_ = nullptr;
  std::condition_variable probe_wake_;
  std::thread probe_;
  bool probe_stop_ = false;
};

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_HA_MODULE_H_
