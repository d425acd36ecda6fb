#include "ntl/pkcs11/ha/key_transfer.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "ntl/pkcs11/ha/cloning_domain.h"
#include "ntl/pkcs11/ha/member.h"
#include "ntl/pkcs11/ha/p11kit_lib.h"
#include "ntl/pkcs11/ha/rpc_message.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

using rpc::Call;
using rpc::Writer;

// Slots one stream may list, and the first guess at a wrapped key's size
// (an RSA-4096 private key wraps to about 2.4 KB); a larger key is asked for
// again with the size the member gives.
constexpr size_t kMaxSlots = 256;
constexpr uint32_t kWrapGuess = 8192;

// KeyClassName names the key classes a transfer moves, for messages.
std::string KeyClassName(CK_OBJECT_CLASS cls) {
  switch (cls) {
    case CKO_SECRET_KEY:
      return "CKO_SECRET_KEY";
    case CKO_PRIVATE_KEY:
      return "CKO_PRIVATE_KEY";
    case CKO_PUBLIC_KEY:
      return "CKO_PUBLIC_KEY";
  }
  return absl::StrCat("0x", absl::Hex(cls));
}

}  // namespace

CK_RV KeyTransfer::Run(const std::string& request, std::string* reply,
                       std::string* why) {
  absl::StatusOr<std::string> got = stream_->Call(request);
  if (!got.ok()) {
    *why = std::string(got.status().message());
    return CKR_DEVICE_ERROR;
  }
  *reply = std::move(*got);
  return CKR_OK;
}

CK_RV KeyTransfer::Answer(const absl::Status& decoded, CK_RV rv,
                          const char* call, std::string* why) {
  if (!decoded.ok()) {
    // A reply we cannot read leaves us unsure what the member did: treat it
    // as the member failing, so the write is undone or caught up later.
    *why = absl::StrCat("key-transfer stream to ", stream_->options().peer,
                        ": ", decoded.message());
    return CKR_DEVICE_ERROR;
  }
  if (rv != CKR_OK) {
    *why = absl::StrCat(call, " on ", stream_->options().peer, " answered ",
                        RvName(rv));
  }
  return rv;
}

CK_RV KeyTransfer::Exchange(const Writer& w, Call call, std::string* why,
                            uint64_t* out_handle) {
  std::string reply;
  CK_RV rv = Run(w.bytes(), &reply, why);
  if (rv != CKR_OK) {
    return rv;
  }
  CK_RV remote = CKR_OK;
  absl::Status st = out_handle == nullptr
                        ? rpc::DecodeEmpty(reply, call, &remote)
                        : rpc::DecodeUlong(reply, call, &remote, out_handle);
  return Answer(st, remote, rpc::CallName(call), why);
}

CK_RV KeyTransfer::Open(RpcStreamOptions options,
                        const std::string& token_label, CK_USER_TYPE user,
                        const std::string* pin,
                        std::unique_ptr<KeyTransfer>* out, std::string* why) {
  absl::StatusOr<std::unique_ptr<RpcStream>> stream =
      RpcStream::Start(std::move(options));
  if (!stream.ok()) {
    *why = std::string(stream.status().message());
    return CKR_DEVICE_ERROR;
  }
  std::unique_ptr<KeyTransfer> t(new KeyTransfer(std::move(*stream)));
  Writer init(Call::kInitialize);
  init.ByteArray(rpc::kHandshake, sizeof(rpc::kHandshake) - 1);
  init.Byte(0);           // no reserved string ...
  init.ByteArray("", 1);  // ... sent as p11-kit does: one NUL
  CK_RV rv = t->Exchange(init, Call::kInitialize, why);
  if (rv != CKR_OK) {
    return rv;
  }
  t->initialized_ = true;
  if ((rv = t->FindSlot(token_label, why)) != CKR_OK) {
    return rv;
  }
  Writer open(Call::kOpenSession);
  open.Ulong(t->slot_);
  open.Ulong(CKF_SERIAL_SESSION | CKF_RW_SESSION);
  uint64_t session = 0;
  if ((rv = t->Exchange(open, Call::kOpenSession, why, &session)) != CKR_OK) {
    return rv;
  }
  t->session_ = static_cast<CK_SESSION_HANDLE>(session);
  t->has_session_ = true;
  if (pin != nullptr && (rv = t->Login(user, *pin, why)) != CKR_OK) {
    return rv;
  }
  *out = std::move(t);
  return CKR_OK;
}

KeyTransfer::~KeyTransfer() {
  if (stream_->broken()) {
    return;
  }
  // Tidy, but never long: the member may be failing as we close.
  stream_->set_call_timeout(absl::Seconds(1));
  std::string why;
  if (has_session_) {
    Writer w(Call::kCloseSession);
    w.Ulong(session_);
    Exchange(w, Call::kCloseSession, &why);
  }
  if (initialized_ && !stream_->broken()) {
    Exchange(Writer(Call::kFinalize), Call::kFinalize, &why);
  }
}

CK_RV KeyTransfer::FindSlot(const std::string& label, std::string* why) {
  Writer w(Call::kGetSlotList);
  w.Byte(CK_TRUE);
  w.UlongBuffer(kMaxSlots);
  std::string reply;
  CK_RV rv = Run(w.bytes(), &reply, why);
  if (rv != CKR_OK) {
    return rv;
  }
  std::vector<uint64_t> slots;
  CK_RV remote = CKR_OK;
  absl::Status st = rpc::DecodeUlongArray(reply, Call::kGetSlotList, kMaxSlots,
                                          &remote, &slots);
  if ((rv = Answer(st, remote, "C_GetSlotList", why)) != CKR_OK) {
    return rv;
  }
  for (uint64_t slot : slots) {
    Writer q(Call::kGetTokenInfo);
    q.Ulong(slot);
    if ((rv = Run(q.bytes(), &reply, why)) != CKR_OK) {
      return rv;
    }
    std::string field;
    st = rpc::DecodeTokenLabel(reply, &remote, &field);
    if (!st.ok()) {
      return Answer(st, remote, "C_GetTokenInfo", why);
    }
    if (remote == CKR_OK &&
        PaddedEquals(reinterpret_cast<const CK_UTF8CHAR*>(field.data()),
                     field.size(), label)) {
      slot_ = static_cast<CK_SLOT_ID>(slot);
      return CKR_OK;
    }
  }
  *why = absl::StrCat("the key-transfer stream to ", stream_->options().peer,
                      " serves no token labelled '", label,
                      "' (was the partition unassigned?)");
  return CKR_TOKEN_NOT_PRESENT;
}

CK_RV KeyTransfer::Login(CK_USER_TYPE user, const std::string& pin,
                         std::string* why) {
  Writer w(Call::kLogin);
  w.Ulong(session_);
  w.Ulong(user);
  w.ByteArray(pin.data(), pin.size());
  CK_RV rv = Exchange(w, Call::kLogin, why);
  w.Wipe();
  if (rv == CKR_USER_ALREADY_LOGGED_IN) {
    why->clear();
    rv = CKR_OK;
  }
  logged_in_ = rv == CKR_OK;
  return rv;
}

CK_RV KeyTransfer::Find(const CK_ATTRIBUTE* tmpl, CK_ULONG count, size_t max,
                        std::vector<CK_OBJECT_HANDLE>* out, std::string* why) {
  out->clear();
  Writer init(Call::kFindObjectsInit);
  init.Ulong(session_);
  if (!init.Attributes(tmpl, count, why)) {
    return CKR_TEMPLATE_INCONSISTENT;
  }
  Writer find(Call::kFindObjects);
  find.Ulong(session_);
  find.UlongBuffer(static_cast<uint32_t>(max));
  // The search is always finished, so the session can search again.
  Writer fin(Call::kFindObjectsFinal);
  fin.Ulong(session_);
  // The three go out together, one round trip instead of three; the server
  // answers them in order. Every answer is read, whatever the first said,
  // so the stream stays in step (after a failed init the other two are
  // refused as not initialised).
  std::string replies[3];
  const Writer* requests[3] = {&init, &find, &fin};
  for (const Writer* w : requests) {
    if (absl::Status st = stream_->Send(w->bytes()); !st.ok()) {
      *why = std::string(st.message());
      return CKR_DEVICE_ERROR;
    }
  }
  for (std::string& reply : replies) {
    absl::StatusOr<std::string> got = stream_->Receive();
    if (!got.ok()) {
      *why = std::string(got.status().message());
      return CKR_DEVICE_ERROR;
    }
    reply = std::move(*got);
  }
  CK_RV remote = CKR_OK;
  absl::Status st =
      rpc::DecodeEmpty(replies[0], Call::kFindObjectsInit, &remote);
  CK_RV rv = Answer(st, remote, "C_FindObjectsInit", why);
  if (rv != CKR_OK) {
    return rv;
  }
  std::vector<uint64_t> got;
  st =
      rpc::DecodeUlongArray(replies[1], Call::kFindObjects, max, &remote, &got);
  if ((rv = Answer(st, remote, "C_FindObjects", why)) != CKR_OK) {
    return rv;
  }
  st = rpc::DecodeEmpty(replies[2], Call::kFindObjectsFinal, &remote);
  if ((rv = Answer(st, remote, "C_FindObjectsFinal", why)) != CKR_OK) {
    return rv;
  }
  out->assign(got.begin(), got.end());
  return CKR_OK;
}

CK_RV KeyTransfer::CloningKey(CK_OBJECT_HANDLE* out, std::string* why) {
  if (cloning_key_ != 0) {
    *out = cloning_key_;
    return CKR_OK;
  }
  CK_RV rv = FindCloningKey(
      [&](CK_ATTRIBUTE* t, CK_ULONG n, size_t max,
          std::vector<CK_OBJECT_HANDLE>* got) {
        return Find(t, n, max, got, why);
      },
      &cloning_key_, why);
  if (rv != CKR_OK) {
    cloning_key_ = 0;
    return rv;
  }
  *out = cloning_key_;
  return CKR_OK;
}

CK_RV KeyTransfer::Wrap(CK_OBJECT_CLASS cls, const std::string& id,
                        std::string* wrapped, std::string* why) {
  CK_OBJECT_HANDLE kek = 0;
  CK_RV rv = CloningKey(&kek, why);
  if (rv != CKR_OK) {
    return rv;
  }
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                      {CKA_ID, const_cast<char*>(id.data()), id.size()},
                      {CKA_TOKEN, &yes, sizeof(yes)}};
  std::vector<CK_OBJECT_HANDLE> keys;
  if ((rv = Find(t, 3, 2, &keys, why)) != CKR_OK) {
    return rv;
  }
  if (keys.size() != 1) {
    *why = absl::StrCat(stream_->options().peer, " has ",
                        keys.empty() ? "no key" : "two or more keys",
                        " of class ", KeyClassName(cls), " with CKA_ID ",
                        absl::BytesToHexString(id),
                        keys.empty() ? "" : "; IDs must be unique per class");
    return CKR_KEY_HANDLE_INVALID;
  }
  uint32_t room = kWrapGuess;
  for (int attempt = 0; attempt < 2; ++attempt) {
    Writer w(Call::kWrapKey);
    w.Ulong(session_);
    w.Mechanism(kCloningWrapMechanism);
    w.Ulong(kek);
    w.Ulong(keys[0]);
    w.ByteBuffer(room);
    std::string reply;
    if ((rv = Run(w.bytes(), &reply, why)) != CKR_OK) {
      return rv;
    }
    CK_RV remote = CKR_OK;
    bool present = false;
    uint64_t len = 0;
    absl::Status st = rpc::DecodeWrapped(reply, stream_->options().max_message,
                                         &remote, wrapped, &present, &len);
    if ((rv = Answer(st, remote, "C_WrapKey", why)) != CKR_OK) {
      return rv;
    }
    if (present) {
      return CKR_OK;
    }
    if (len <= room || len > stream_->options().max_message) {
      *why = absl::StrCat("C_WrapKey on ", stream_->options().peer,
                          " asked for ", len, " bytes with ", room, " offered");
      return CKR_DEVICE_ERROR;
    }
    room = static_cast<uint32_t>(len);
  }
  *why = absl::StrCat("C_WrapKey on ", stream_->options().peer,
                      " kept asking for more room");
  return CKR_DEVICE_ERROR;
}

CK_RV KeyTransfer::Unwrap(const std::string& wrapped, const CK_ATTRIBUTE* tmpl,
                          CK_ULONG count, CK_OBJECT_HANDLE* out,
                          std::string* why) {
  CK_OBJECT_HANDLE kek = 0;
  CK_RV rv = CloningKey(&kek, why);
  if (rv != CKR_OK) {
    return rv;
  }
  Writer w(Call::kUnwrapKey);
  w.Ulong(session_);
  w.Mechanism(kCloningWrapMechanism);
  w.Ulong(kek);
  w.ByteArray(wrapped.data(), wrapped.size());
  if (!w.Attributes(tmpl, count, why)) {
    return CKR_TEMPLATE_INCONSISTENT;
  }
  uint64_t h = 0;
  if ((rv = Exchange(w, Call::kUnwrapKey, why, &h)) == CKR_OK) {
    *out = static_cast<CK_OBJECT_HANDLE>(h);
  }
  return rv;
}

CK_RV KeyTransfer::Destroy(CK_OBJECT_HANDLE h, std::string* why) {
  Writer w(Call::kDestroyObject);
  w.Ulong(session_);
  w.Ulong(h);
  return Exchange(w, Call::kDestroyObject, why);
}

}  // namespace trustlink::ntl::pkcs11::ha
