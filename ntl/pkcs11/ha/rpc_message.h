#ifndef TRUSTLINK_NTL_PKCS11_HA_RPC_MESSAGE_H_
#define TRUSTLINK_NTL_PKCS11_HA_RPC_MESSAGE_H_

// The body of one p11-kit PKCS#11 RPC message (p11-kit 0.24.1, the
// rpc-message.c wire format), written by us and read back from the server:
// a big-endian uint32 call id, the call's signature as a byte array, then the
// fields the signature names. Only the calls key transfer needs are known
// (key_transfer.h). p11-kit's own RPC *client* refuses to send mechanisms it
// has no serializer for (CKM_AES_KEY_WRAP_PAD among them), while its server
// decodes any mechanism's parameter as plain bytes; this writer sends what the
// server accepts.
//
// Every read is bounds-checked against the message and the caller's limits;
// the first failure is kept as a message naming the call and the field.
//
// Thread safety: a Writer or Reader is used by one thread at a time.

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::ntl::pkcs11::ha::rpc {

// Call ids: their position in p11-kit's call table (rpc-message.h).
enum class Call : uint32_t {
  kError = 0,
  kInitialize = 1,
  kFinalize = 2,
  kGetSlotList = 4,
  kGetTokenInfo = 6,
  kOpenSession = 10,
  kCloseSession = 11,
  kLogin = 18,
  kDestroyObject = 22,
  kFindObjectsInit = 26,
  kFindObjects = 27,
  kFindObjectsFinal = 28,
  kWrapKey = 60,
  kUnwrapKey = 61,
};

// CallName is "C_WrapKey" (or "call N").
const char* CallName(Call call);

// The handshake C_Initialize carries (p11-kit's protocol name).
inline constexpr char kHandshake[] =
    "PRIVATE-GNOME-KEYRING-PKCS11-PROTOCOL-V-1";

// Writer builds a request: the call id and its signature, then the fields in
// the signature's order.
class Writer {
 public:
  explicit Writer(Call call);
  // Byte is a "y" field, Ulong a "u" (64 bits on the wire).
  void Byte(uint8_t v);
  void Ulong(uint64_t v);
  // ByteArray is an "ay" field: a present flag, then length and bytes.
  void ByteArray(const void* data, size_t len);
  // ByteBuffer / UlongBuffer ("fy", "fu") say how much room the answer may use.
  void ByteBuffer(uint32_t len);
  void UlongBuffer(uint32_t count);
  // Attributes is an "aA" template: each value encoded by its attribute's
  // type (a CK_BBOOL as one byte, a CK_ULONG as 64 bits, bytes as bytes).
  // False (nothing usable written) if a value does not fit its type.
  bool Attributes(const CK_ATTRIBUTE* attrs, CK_ULONG count, std::string* why);
  // Mechanism is an "M" field without a parameter (the server passes NULL):
  // key transfer wraps with one parameterless mechanism, so the parameter
  // encodings (bytes, or structures for RSA-PSS and OAEP) are not written.
  // `type` must fit p11-kit's 32 bits.
  void Mechanism(CK_MECHANISM_TYPE type);

  // bytes() is the message body; Wipe overwrites it (a PIN was in it).
  const std::string& bytes() const { return out_; }
  void Wipe();

 private:
  void U32(uint32_t v);
  std::string out_;
};

// Reader reads a response body. Every method returns false once a read has
// failed; error() then says which field of which call was wrong.
class Reader {
 public:
  // Reader checks the call id and signature. A server's error answer (call
  // id 0) is not a failure: remote_error() returns its CK_RV.
  Reader(absl::string_view body, Call expected);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  // remote_error is the CK_RV of an error answer, CKR_OK otherwise.
  CK_RV remote_error() const { return remote_error_; }

  bool Byte(const char* field, uint8_t* out);
  bool Ulong(const char* field, uint64_t* out);
  // ByteArray reads "ay". An absent array (the answer to a size query, or to
  // a buffer that was too small) sets *present false and *len to the size.
  bool ByteArray(const char* field, size_t max, std::string* out, bool* present,
                 uint64_t* len);
  // UlongArray reads "au" of at most `max` entries.
  bool UlongArray(const char* field, size_t max, std::vector<uint64_t>* out,
                  bool* present, uint64_t* count);
  // SpaceString reads "s" of exactly `len` bytes.
  bool SpaceString(const char* field, size_t len, std::string* out);
  // Version reads "v" (two bytes).
  bool Version(const char* field);
  // Done checks that the whole body was read.
  bool Done();

 private:
  bool Fail(const char* field, const std::string& what);
  bool Need(const char* field, size_t n);
  bool U32(const char* field, uint32_t* out);
  // ArrayHead reads the present flag and the length or count of an array,
  // refusing one of more than `max` units.
  bool ArrayHead(const char* field, size_t max, const char* unit, bool* present,
                 uint64_t* n);

  absl::string_view in_;
  size_t pos_ = 0;
  Call call_;
  CK_RV remote_error_ = CKR_OK;
  std::string error_;
};

// The replies key transfer reads, decoded whole (also the fuzz target's
// entry points). Each returns the server's CK_RV in *rv when it answered
// with an error (and then OK), or a PARSE status naming what was wrong.

// DecodeEmpty: a reply with no fields (C_Initialize, C_Login, ...).
absl::Status DecodeEmpty(absl::string_view body, Call call, CK_RV* rv);
// DecodeUlong: one "u" (C_OpenSession's session, C_UnwrapKey's key).
absl::Status DecodeUlong(absl::string_view body, Call call, CK_RV* rv,
                         uint64_t* out);
// DecodeUlongArray: "au" (C_GetSlotList, C_FindObjects), at most `max`.
absl::Status DecodeUlongArray(absl::string_view body, Call call, size_t max,
                              CK_RV* rv, std::vector<uint64_t>* out);
// DecodeTokenLabel: C_GetTokenInfo's reply; *label is the 32-byte field.
absl::Status DecodeTokenLabel(absl::string_view body, CK_RV* rv,
                              std::string* label);
// DecodeWrapped: C_WrapKey's "ay" of at most `max` bytes. *present false:
// the key needs *len bytes.
absl::Status DecodeWrapped(absl::string_view body, size_t max, CK_RV* rv,
                           std::string* out, bool* present, uint64_t* len);

}  // namespace trustlink::ntl::pkcs11::ha::rpc

#endif  // TRUSTLINK_NTL_PKCS11_HA_RPC_MESSAGE_H_
