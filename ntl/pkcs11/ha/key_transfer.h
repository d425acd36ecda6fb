#ifndef TRUSTLINK_NTL_PKCS11_HA_KEY_TRANSFER_H_
#define TRUSTLINK_NTL_PKCS11_HA_KEY_TRANSFER_H_

// KeyTransfer moves private and secret keys between the members of an HA
// group under the cloning-domain key (cloning_domain.h) with
// CKM_AES_KEY_WRAP_PAD. It exists because p11-kit's RPC client, which the
// group's bridge uses for everything else, refuses to send that mechanism
// (it has no serializer for it), while p11-kit's server on the appliance
// accepts it. So each member gets a second stream of our own (rpc_stream.h),
// opened on first need, with its own PKCS#11 session: its own bridge process
// and link stream, and its own `p11-kit remote` on the appliance, over the
// same token. Object handles differ between the two streams, so keys are
// found by class and CKA_ID, and the token by its label (the appliance's
// p11-kit numbers the slots of each stream by itself).
//
// Every method returns the CK_RV to act on and, when it is not CKR_OK, says
// why in *why. CKR_DEVICE_ERROR means the stream failed (the member is gone,
// or its answer was malformed: IsMemberFailure); any other code is the
// member's own answer.
//
// Thread safety: used by one thread at a time.

#include <p11-kit/pkcs11.h>

#include <memory>
#include <string>
#include <vector>

#include "ntl/pkcs11/ha/rpc_message.h"
#include "ntl/pkcs11/ha/rpc_stream.h"

namespace trustlink::ntl::pkcs11::ha {

class KeyTransfer {
 public:
  // Open starts the stream, initialises the member's module, finds the token
  // labelled `token_label`, opens a read-write session and, when `pin` is
  // given, logs in as `user`. The request that carried the PIN is wiped.
  static CK_RV Open(RpcStreamOptions options, const std::string& token_label,
                    CK_USER_TYPE user, const std::string* pin,
                    std::unique_ptr<KeyTransfer>* out, std::string* why);
  // The destructor closes the session and finalises (best effort, one short
  // exchange each) before the stream closes.
  ~KeyTransfer();
  KeyTransfer(const KeyTransfer&) = delete;
  KeyTransfer& operator=(const KeyTransfer&) = delete;

  bool logged_in() const { return logged_in_; }
  // broken: the stream failed; open a new KeyTransfer.
  bool broken() const { return stream_->broken(); }
  // Login logs the stream's session in (the group logged in after it opened).
  CK_RV Login(CK_USER_TYPE user, const std::string& pin, std::string* why);

  // Wrap wraps the token key of class `cls` with CKA_ID `id` under the
  // cloning-domain key into *wrapped.
  CK_RV Wrap(CK_OBJECT_CLASS cls, const std::string& id, std::string* wrapped,
             std::string* why);
  // Unwrap makes a key from `wrapped` with template `tmpl` (which must not
  // hold what the wrapped bytes carry: the value, the modulus, the curve).
  // *out is the new key's handle on this stream only.
  CK_RV Unwrap(const std::string& wrapped, const CK_ATTRIBUTE* tmpl,
               CK_ULONG count, CK_OBJECT_HANDLE* out, std::string* why);
  // Destroy removes an object this stream made (undoing an Unwrap).
  CK_RV Destroy(CK_OBJECT_HANDLE h, std::string* why);
  // Find returns at most `max` handles of objects matching `tmpl`.
  CK_RV Find(const CK_ATTRIBUTE* tmpl, CK_ULONG count, size_t max,
             std::vector<CK_OBJECT_HANDLE>* out, std::string* why);

 private:
  explicit KeyTransfer(std::unique_ptr<RpcStream> stream)
      : stream_(std::move(stream)) {}
  // Run sends a request and returns the reply body in *reply, or
  // CKR_DEVICE_ERROR with *why.
  CK_RV Run(const std::string& request, std::string* reply, std::string* why);
  // Answer turns a decoded reply into the CK_RV to return (with *why for a
  // refusal, naming the call).
  CK_RV Answer(const absl::Status& decoded, CK_RV rv, const char* call,
               std::string* why);
  // Exchange runs a call whose answer has no fields, or, given
  // `out_handle`, one whose answer is one handle.
  CK_RV Exchange(const rpc::Writer& w, rpc::Call call, std::string* why,
                 uint64_t* out_handle = nullptr);
  CK_RV FindSlot(const std::string& label, std::string* why);
  CK_RV CloningKey(CK_OBJECT_HANDLE* out, std::string* why);

  std::unique_ptr<RpcStream> stream_;
  CK_SLOT_ID slot_ = 0;
  CK_SESSION_HANDLE session_ = 0;
  bool initialized_ = false;
  bool has_session_ = false;
  bool logged_in_ = false;
  CK_OBJECT_HANDLE cloning_key_ = 0;  // 0: not found yet
};

}  // namespace trustlink::ntl::pkcs11::ha

#endif  // TRUSTLINK_NTL_PKCS11_HA_KEY_TRANSFER_H_
