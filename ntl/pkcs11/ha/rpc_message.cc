#include "ntl/pkcs11/ha/rpc_message.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ntl/pkcs11/ha/wipe.h"
#include "ntl/status.h"

namespace trustlink::ntl::pkcs11::ha::rpc {
namespace {

// No length on the wire reaches this: p11-kit refuses it too (0x7fffffff).
constexpr uint32_t kMaxLen = 0x7ffffffe;
constexpr uint32_t kAbsent = 0xffffffff;

struct Signature {
  Call call;
  const char* name;
  const char* request;
  const char* response;
};

// The signatures of the calls we make, as p11-kit's call table gives them.
constexpr Signature kSignatures[] = {
    {Call::kError, "an error", "", "u"},
    {Call::kInitialize, "C_Initialize", "ayyay", ""},
    {Call::kFinalize, "C_Finalize", "", ""},
    {Call::kGetSlotList, "C_GetSlotList", "yfu", "au"},
    {Call::kGetTokenInfo, "C_GetTokenInfo", "u", "ssssuuuuuuuuuuuvvs"},
    {Call::kOpenSession, "C_OpenSession", "uu", "u"},
    {Call::kCloseSession, "C_CloseSession", "u", ""},
    {Call::kLogin, "C_Login", "uuay", ""},
    {Call::kDestroyObject, "C_DestroyObject", "uu", ""},
    {Call::kFindObjectsInit, "C_FindObjectsInit", "uaA", ""},
    {Call::kFindObjects, "C_FindObjects", "ufu", "au"},
    {Call::kFindObjectsFinal, "C_FindObjectsFinal", "u", ""},
    {Call::kWrapKey, "C_WrapKey", "uMuufy", "ay"},
    {Call::kUnwrapKey, "C_UnwrapKey", "uMuayaA", "u"},
};

const Signature* Find(Call call) {
  for (const Signature& s : kSignatures) {
    if (s.call == call) {
      return &s;
    }
  }
  return nullptr;
}

// How p11-kit's RPC encodes an attribute's value (rpc-message.c): booleans
// as one byte, CK_ULONGs as 64 bits, dates as 8 bytes, nested templates and
// mechanism lists specially; everything else as bytes.
enum class ValueType { kByte, kUlong, kDate, kNested, kBytes };

ValueType TypeOf(CK_ATTRIBUTE_TYPE t) {
  switch (t) {
    case CKA_TOKEN:
    case CKA_PRIVATE:
    case CKA_TRUSTED:
    case CKA_SENSITIVE:
    case CKA_ENCRYPT:
    case CKA_DECRYPT:
    case CKA_WRAP:
    case CKA_UNWRAP:
    case CKA_SIGN:
    case CKA_SIGN_RECOVER:
    case CKA_VERIFY:
    case CKA_VERIFY_RECOVER:
    case CKA_DERIVE:
    case CKA_EXTRACTABLE:
    case CKA_LOCAL:
    case CKA_NEVER_EXTRACTABLE:
    case CKA_ALWAYS_SENSITIVE:
    case CKA_MODIFIABLE:
    case CKA_COPYABLE:
    case CKA_SECONDARY_AUTH:
    case CKA_ALWAYS_AUTHENTICATE:
    case CKA_WRAP_WITH_TRUSTED:
    case CKA_RESET_ON_INIT:
    case CKA_HAS_RESET:
    case CKA_COLOR:
      return ValueType::kByte;
    case CKA_CLASS:
    case CKA_CERTIFICATE_TYPE:
    case CKA_CERTIFICATE_CATEGORY:
    case CKA_JAVA_MIDP_SECURITY_DOMAIN:
    case CKA_KEY_TYPE:
    case CKA_MODULUS_BITS:
    case CKA_PRIME_BITS:
    case CKA_SUB_PRIME_BITS:
    case CKA_VALUE_BITS:
    case CKA_VALUE_LEN:
    case CKA_KEY_GEN_MECHANISM:
    case CKA_AUTH_PIN_FLAGS:
    case CKA_HW_FEATURE_TYPE:
    case CKA_PIXEL_X:
    case CKA_PIXEL_Y:
    case CKA_RESOLUTION:
    case CKA_CHAR_ROWS:
    case CKA_CHAR_COLUMNS:
    case CKA_BITS_PER_PIXEL:
    case CKA_MECHANISM_TYPE:
      return ValueType::kUlong;
    case CKA_START_DATE:
    case CKA_END_DATE:
      return ValueType::kDate;
    case CKA_WRAP_TEMPLATE:
    case CKA_UNWRAP_TEMPLATE:
    case CKA_DERIVE_TEMPLATE:
    case CKA_ALLOWED_MECHANISMS:
      return ValueType::kNested;
    default:
      return ValueType::kBytes;
  }
}

}  // namespace

const char* CallName(Call call) {
  const Signature* s = Find(call);
  return s != nullptr ? s->name : "an unknown call";
}

Writer::Writer(Call call) {
  U32(static_cast<uint32_t>(call));
  const char* sig = Find(call)->request;
  U32(strlen(sig));
  out_.append(sig);
}

void Writer::U32(uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
               static_cast<char>(v >> 8), static_cast<char>(v)};
  out_.append(b, 4);
}

void Writer::Byte(uint8_t v) { out_.push_back(static_cast<char>(v)); }

void Writer::Ulong(uint64_t v) {
  U32(static_cast<uint32_t>(v >> 32));
  U32(static_cast<uint32_t>(v));
}

void Writer::ByteArray(const void* data, size_t len) {
  if (data == nullptr) {
    Byte(0);
    U32(static_cast<uint32_t>(len));
    return;
  }
  Byte(1);
  U32(static_cast<uint32_t>(len));
  out_.append(static_cast<const char*>(data), len);
}

void Writer::ByteBuffer(uint32_t len) { U32(len); }
void Writer::UlongBuffer(uint32_t count) { U32(count); }

bool Writer::Attributes(const CK_ATTRIBUTE* attrs, CK_ULONG count,
                        std::string* why) {
  U32(static_cast<uint32_t>(count));
  for (CK_ULONG i = 0; i < count; ++i) {
    const CK_ATTRIBUTE& a = attrs[i];
    if (a.type > 0xffffffffu) {
      *why = absl::StrCat("attribute 0x", absl::Hex(a.type),
                          " does not fit p11-kit's 32-bit attribute type");
      return false;
    }
    U32(static_cast<uint32_t>(a.type));
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
      Byte(0);
      continue;
    }
    Byte(1);
    if (a.ulValueLen > kMaxLen) {
      *why = absl::StrCat("attribute 0x", absl::Hex(a.type), " is too long");
      return false;
    }
    U32(static_cast<uint32_t>(a.ulValueLen));
    switch (TypeOf(a.type)) {
      case ValueType::kByte: {
        if (a.ulValueLen > 1) {
          *why =
              absl::StrCat("attribute 0x", absl::Hex(a.type),
                           " is a CK_BBOOL but has ", a.ulValueLen, " bytes");
          return false;
        }
        uint8_t b = 0;
        if (a.pValue != nullptr && a.ulValueLen == 1) {
          b = *static_cast<const uint8_t*>(a.pValue);
        }
        Byte(b);
        break;
      }
      case ValueType::kUlong: {
        if (a.ulValueLen > sizeof(CK_ULONG)) {
          *why =
              absl::StrCat("attribute 0x", absl::Hex(a.type),
                           " is a CK_ULONG but has ", a.ulValueLen, " bytes");
          return false;
        }
        CK_ULONG v = 0;
        if (a.pValue != nullptr) {
          memcpy(&v, a.pValue, a.ulValueLen);
        }
        Ulong(v);
        break;
      }
      case ValueType::kDate:
        if (a.ulValueLen != 0 && a.ulValueLen != sizeof(CK_DATE)) {
          *why = absl::StrCat("attribute 0x", absl::Hex(a.type),
                              " is a CK_DATE but has ", a.ulValueLen, " bytes");
          return false;
        }
        [[fallthrough]];
      case ValueType::kBytes:
        if (a.pValue == nullptr || a.ulValueLen == 0) {
          U32(kAbsent);
        } else {
          U32(static_cast<uint32_t>(a.ulValueLen));
          out_.append(static_cast<const char*>(a.pValue), a.ulValueLen);
        }
        break;
      case ValueType::kNested:
        *why = absl::StrCat("attribute 0x", absl::Hex(a.type),
                            " (a nested template or mechanism list) is not "
                            "sent by key transfer");
        return false;
    }
  }
  return true;
}

void Writer::Mechanism(CK_MECHANISM_TYPE type) {
  U32(static_cast<uint32_t>(type));
  U32(kAbsent);
}

void Writer::Wipe() { ZeroString(&out_); }

Reader::Reader(absl::string_view body, Call expected)
    : in_(body), call_(expected) {
  uint32_t id = 0;
  if (!U32("call id", &id)) {
    return;
  }
  const Signature* want = nullptr;
  if (id == static_cast<uint32_t>(Call::kError)) {
    want = Find(Call::kError);
  } else if (id != static_cast<uint32_t>(expected)) {
    Fail("call id", absl::StrCat("is ", id, ", the answer to another call"));
    return;
  } else {
    want = Find(expected);
  }
  uint32_t len = 0;
  if (!U32("signature", &len)) {
    return;
  }
  if (len != strlen(want->response) || !Need("signature", len)) {
    Fail("signature", absl::StrCat("has ", len, " bytes where '",
                                   want->response, "' was expected"));
    return;
  }
  if (in_.substr(pos_, len) != want->response) {
    Fail("signature", absl::StrCat("is '", in_.substr(pos_, len), "', not '",
                                   want->response, "'"));
    return;
  }
  pos_ += len;
  if (id == static_cast<uint32_t>(Call::kError)) {
    uint64_t rv = 0;
    if (Ulong("error code", &rv) && Done()) {
      if (rv == CKR_OK) {
        Fail("error code", "is CKR_OK in an error answer");
        return;
      }
      remote_error_ = static_cast<CK_RV>(rv);
    }
  }
}

bool Reader::Fail(const char* field, const std::string& what) {
  if (error_.empty()) {
    error_ = absl::StrCat("the reply to ", CallName(call_),
                          " is malformed: ", field, " ", what);
  }
  return false;
}

bool Reader::Need(const char* field, size_t n) {
  if (!ok()) {
    return false;
  }
  if (in_.size() - pos_ < n) {
    return Fail(field, absl::StrCat("needs ", n, " bytes at offset ", pos_,
                                    " of a ", in_.size(), "-byte message"));
  }
  return true;
}

bool Reader::U32(const char* field, uint32_t* out) {
  if (!Need(field, 4)) {
    return false;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(in_.data() + pos_);
  *out = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | p[3];
  pos_ += 4;
  return true;
}

bool Reader::Byte(const char* field, uint8_t* out) {
  if (!Need(field, 1)) {
    return false;
  }
  *out = static_cast<uint8_t>(in_[pos_++]);
  return true;
}

bool Reader::Ulong(const char* field, uint64_t* out) {
  uint32_t hi = 0, lo = 0;
  if (!U32(field, &hi) || !U32(field, &lo)) {
    return false;
  }
  *out = (uint64_t{hi} << 32) | lo;
  return true;
}

bool Reader::ArrayHead(const char* field, size_t max, const char* unit,
                       bool* present, uint64_t* n) {
  uint8_t valid = 0;
  uint32_t len = 0;
  if (!Byte(field, &valid) || !U32(field, &len)) {
    return false;
  }
  *present = valid != 0;
  *n = len;
  // No length reaches kMaxLen (p11-kit's own limit) or the caller's room.
  max = std::min<size_t>(max, kMaxLen);
  if (*present && len > max) {
    return Fail(field, absl::StrCat("has ", len, " ", unit, ", more than the ",
                                    max, " asked for"));
  }
  return true;
}

bool Reader::ByteArray(const char* field, size_t max, std::string* out,
                       bool* present, uint64_t* len) {
  out->clear();
  if (!ArrayHead(field, max, "bytes", present, len) || !*present) {
    return ok();
  }
  if (!Need(field, *len)) {
    return false;
  }
  out->assign(in_.data() + pos_, *len);
  pos_ += *len;
  return true;
}

bool Reader::UlongArray(const char* field, size_t max,
                        std::vector<uint64_t>* out, bool* present,
                        uint64_t* count) {
  out->clear();
  if (!ArrayHead(field, max, "entries", present, count) || !*present) {
    return ok();
  }
  // Checked before reserving: a count can never make us allocate more than
  // the message holds.
  if (!Need(field, *count * 8)) {
    return false;
  }
  out->reserve(*count);
  for (uint64_t i = 0; i < *count; ++i) {
    uint64_t v = 0;
    Ulong(field, &v);
    out->push_back(v);
  }
  return true;
}

bool Reader::SpaceString(const char* field, size_t len, std::string* out) {
  uint32_t n = 0;
  if (!U32(field, &n)) {
    return false;
  }
  if (n != len) {
    return Fail(field, absl::StrCat("has ", n, " bytes, not ", len));
  }
  if (!Need(field, n)) {
    return false;
  }
  if (out != nullptr) {
    out->assign(in_.data() + pos_, n);
  }
  pos_ += n;
  return true;
}

bool Reader::Version(const char* field) {
  if (!Need(field, 2)) {
    return false;
  }
  pos_ += 2;
  return true;
}

bool Reader::Done() {
  if (!ok()) {
    return false;
  }
  if (pos_ != in_.size()) {
    return Fail("the message", absl::StrCat("has ", in_.size() - pos_,
                                            " bytes after its last field"));
  }
  return true;
}

namespace {

absl::Status Malformed(const Reader& r) {
  return Error(absl::StatusCode::kDataLoss, TL_E_PARSE, r.error());
}

}  // namespace

absl::Status DecodeEmpty(absl::string_view body, Call call, CK_RV* rv) {
  Reader r(body, call);
  if (r.ok() && r.remote_error() == CKR_OK) {
    r.Done();
  }
  if (!r.ok()) {
    return Malformed(r);
  }
  *rv = r.remote_error();
  return absl::OkStatus();
}

absl::Status DecodeUlong(absl::string_view body, Call call, CK_RV* rv,
                         uint64_t* out) {
  Reader r(body, call);
  if (r.ok() && r.remote_error() == CKR_OK && r.Ulong("handle", out)) {
    r.Done();
  }
  if (!r.ok()) {
    return Malformed(r);
  }
  *rv = r.remote_error();
  return absl::OkStatus();
}

absl::Status DecodeUlongArray(absl::string_view body, Call call, size_t max,
                              CK_RV* rv, std::vector<uint64_t>* out) {
  Reader r(body, call);
  bool present = false;
  uint64_t count = 0;
  if (r.ok() && r.remote_error() == CKR_OK &&
      r.UlongArray("list", max, out, &present, &count)) {
    r.Done();
  }
  if (!r.ok()) {
    return Malformed(r);
  }
  *rv = r.remote_error();
  if (*rv == CKR_OK && !present) {
    *rv = CKR_BUFFER_TOO_SMALL;  // the server had more than `max`
  }
  return absl::OkStatus();
}

absl::Status DecodeTokenLabel(absl::string_view body, CK_RV* rv,
                              std::string* label) {
  Reader r(body, Call::kGetTokenInfo);
  if (r.ok() && r.remote_error() == CKR_OK) {
    uint64_t u = 0;
    bool ok = r.SpaceString("label", 32, label) &&
              r.SpaceString("manufacturerID", 32, nullptr) &&
              r.SpaceString("model", 16, nullptr) &&
              r.SpaceString("serialNumber", 16, nullptr);
    for (int i = 0; ok && i < 11; ++i) {
      ok = r.Ulong("flags and counts", &u);
    }
    ok = ok && r.Version("hardwareVersion") && r.Version("firmwareVersion") &&
         r.SpaceString("utcTime", 16, nullptr);
    if (ok) {
      r.Done();
    }
  }
  if (!r.ok()) {
    return Malformed(r);
  }
  *rv = r.remote_error();
  return absl::OkStatus();
}

absl::Status DecodeWrapped(absl::string_view body, size_t max, CK_RV* rv,
                           std::string* out, bool* present, uint64_t* len) {
  Reader r(body, Call::kWrapKey);
  if (r.ok() && r.remote_error() == CKR_OK &&
      r.ByteArray("wrapped key", max, out, present, len)) {
    r.Done();
  }
  if (!r.ok()) {
    return Malformed(r);
  }
  *rv = r.remote_error();
  return absl::OkStatus();
}

}  // namespace trustlink::ntl::pkcs11::ha::rpc
