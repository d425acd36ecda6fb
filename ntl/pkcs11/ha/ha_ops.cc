// HaModule's cryptographic operations: single-part ones are redone on another
// member when theirs fails; multi-part ones cannot be (the member held the
// state of the parts already sent) and fail with a line saying to restart.

#include "absl/strings/str_cat.h"
#include "ntl/pkcs11/ha/ha_module.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

const char* OpName(OpKind k) {
  switch (k) {
    case OpKind::kSign:
      return "sign";
    case OpKind::kVerify:
      return "verify";
    case OpKind::kEncrypt:
      return "encrypt";
    case OpKind::kDecrypt:
      return "decrypt";
    case OpKind::kDigest:
      return "digest";
    case OpKind::kNone:
      break;
  }
  return "none";
}

// StaysActive: a length query (out NULL) or a short buffer leaves the
// operation active (PKCS#11 2.40 section 5.2); anything else ends it.
bool StaysActive(OpKind kind, CK_RV rv, const CK_BYTE* out) {
  return kind != OpKind::kVerify &&
         ((rv == CKR_OK && out == nullptr) || rv == CKR_BUFFER_TOO_SMALL);
}

}  // namespace

CK_RV HaModule::InitOn(Session* s, size_t m, CK_SESSION_HANDLE ms) {
  CK_FUNCTION_LIST* f = members_[m]->f();
  CK_MECHANISM mech = {s->op.mechanism,
                       s->op.parameter.empty() ? nullptr : &s->op.parameter[0],
                       s->op.parameter.size()};
  CK_OBJECT_HANDLE key = 0;
  if (s->op.kind != OpKind::kDigest) {
    CK_RV rv = MemberObjectHandle(s->op.key, m, ms, &key);
    if (rv == CKR_OBJECT_HANDLE_INVALID) {
      return CKR_KEY_HANDLE_INVALID;
    }
    if (rv != CKR_OK) {
      return rv;
    }
  }
  switch (s->op.kind) {
    case OpKind::kSign:
      return f->C_SignInit(ms, &mech, key);
    case OpKind::kVerify:
      return f->C_VerifyInit(ms, &mech, key);
    case OpKind::kEncrypt:
      return f->C_EncryptInit(ms, &mech, key);
    case OpKind::kDecrypt:
      return f->C_DecryptInit(ms, &mech, key);
    case OpKind::kDigest:
      return f->C_DigestInit(ms, &mech);
    case OpKind::kNone:
      break;
  }
  return CKR_OPERATION_NOT_INITIALIZED;
}

CK_RV HaModule::OpInit(OpKind kind, CK_SESSION_HANDLE h, CK_MECHANISM* mech,
                       CK_OBJECT_HANDLE key) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  if (mech == nullptr) {
    return CKR_ARGUMENTS_BAD;
  }
  if (s->op.kind != OpKind::kNone) {
    return CKR_OPERATION_ACTIVE;
  }
  Op op;
  op.kind = kind;
  op.mechanism = mech->mechanism;
  if (mech->pParameter != nullptr && mech->ulParameterLen > 0) {
    op.parameter.assign(static_cast<const char*>(mech->pParameter),
                        mech->ulParameterLen);
  }
  op.key = key;
  // Spread the load unless the key is one member's own.
  int first = LeastBusy();
  if (key != 0) {
    auto it = objects_.find(key);
    if (it != objects_.end() && (it->second.id.empty() || !it->second.token)) {
      first = -1;
      for (const auto& [m, mo] : it->second.on) {
        if (members_[m]->up() && members_[m]->epoch() == mo.epoch) {
          first = static_cast<int>(m);
        }
      }
    }
  }
  s->op = op;
  size_t used = 0;
  CK_RV rv = OnAnyMember(
      s, "an operation's C_*Init",
      [&](size_t m, CK_SESSION_HANDLE ms) { return InitOn(s, m, ms); }, &used,
      first);
  if (rv != CKR_OK) {
    s->op = Op();
    return rv;
  }
  s->op.member = used;
  s->op.epoch = members_[used]->epoch();
  return CKR_OK;
}

CK_RV HaModule::RunOp(Session* s, OpKind kind, CK_BYTE* in, CK_ULONG in_len,
                      CK_BYTE* out, CK_ULONG* out_len) {
  // The operation was begun on op.member; if that member has failed since,
  // begin it again on the next one before the call.
  bool begun = members_[s->op.member]->up() &&
               members_[s->op.member]->epoch() == s->op.epoch;
  size_t used = 0;
  CK_RV rv = OnAnyMember(
      s, absl::StrCat("a single-part ", OpName(kind)).c_str(),
      [&](size_t m, CK_SESSION_HANDLE ms) {
        if (!begun || m != s->op.member) {
          CK_RV r = InitOn(s, m, ms);
          if (r != CKR_OK) {
            return r;
          }
          s->op.member = m;
          s->op.epoch = members_[m]->epoch();
          begun = true;
        }
        CK_FUNCTION_LIST* f = members_[m]->f();
        CK_RV r = CKR_OPERATION_NOT_INITIALIZED;
        switch (kind) {
          case OpKind::kSign:
            r = f->C_Sign(ms, in, in_len, out, out_len);
            break;
          case OpKind::kVerify:
            r = f->C_Verify(ms, in, in_len, out, *out_len);
            break;
          case OpKind::kEncrypt:
            r = f->C_Encrypt(ms, in, in_len, out, out_len);
            break;
          case OpKind::kDecrypt:
            r = f->C_Decrypt(ms, in, in_len, out, out_len);
            break;
          case OpKind::kDigest:
            r = f->C_Digest(ms, in, in_len, out, out_len);
            break;
          case OpKind::kNone:
            break;
        }
        if (IsMemberFailure(r)) {
          begun = false;
        }
        return r;
      },
      &used, static_cast<int>(s->op.member));
  return rv;
}

CK_RV HaModule::OpOnce(OpKind kind, CK_SESSION_HANDLE h, CK_BYTE* in,
                       CK_ULONG in_len, CK_BYTE* out, CK_ULONG* out_len) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  if (s->op.kind != kind) {
    return CKR_OPERATION_NOT_INITIALIZED;
  }
  if (out_len == nullptr) {
    s->op = Op();
    return CKR_ARGUMENTS_BAD;
  }
  if (s->op.multipart) {
    // Parts were sent with C_*Update: C_Sign and the like are not allowed
    // now (PKCS#11 2.40 section 5.2).
    return CKR_OPERATION_ACTIVE;
  }
  CK_RV rv = RunOp(s, kind, in, in_len, out, out_len);
  if (!StaysActive(kind, rv, out)) {
    s->op = Op();
  }
  return rv;
}

CK_RV HaModule::OpUpdate(OpKind kind, CK_SESSION_HANDLE h, CK_BYTE* in,
                         CK_ULONG in_len, CK_BYTE* out, CK_ULONG* out_len) {
  return MultiPart(kind, h, false, in, in_len, out, out_len);
}

CK_RV HaModule::OpFinal(OpKind kind, CK_SESSION_HANDLE h, CK_BYTE* out,
                        CK_ULONG* out_len) {
  return MultiPart(kind, h, true, nullptr, 0, out, out_len);
}

CK_RV HaModule::MultiPart(OpKind kind, CK_SESSION_HANDLE h, bool final,
                          CK_BYTE* in, CK_ULONG in_len, CK_BYTE* out,
                          CK_ULONG* out_len) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  if (s->op.kind != kind) {
    return CKR_OPERATION_NOT_INITIALIZED;
  }
  s->op.multipart = true;
  Member& mem = *members_[s->op.member];
  CK_SESSION_HANDLE ms = 0;
  CK_RV rv = CKR_DEVICE_ERROR;
  if (mem.up() && mem.epoch() == s->op.epoch) {
    rv = SessionOn(s, s->op.member, &ms);
  }
  CK_FUNCTION_LIST* f = mem.f();
  if (rv == CKR_OK && !final) {
    switch (kind) {
      case OpKind::kSign:
        rv = f->C_SignUpdate(ms, in, in_len);
        break;
      case OpKind::kVerify:
        rv = f->C_VerifyUpdate(ms, in, in_len);
        break;
      case OpKind::kEncrypt:
        rv = f->C_EncryptUpdate(ms, in, in_len, out, out_len);
        break;
      case OpKind::kDecrypt:
        rv = f->C_DecryptUpdate(ms, in, in_len, out, out_len);
        break;
      case OpKind::kDigest:
        rv = f->C_DigestUpdate(ms, in, in_len);
        break;
      case OpKind::kNone:
        break;
    }
  } else if (rv == CKR_OK) {
    switch (kind) {
      case OpKind::kSign:
        rv = f->C_SignFinal(ms, out, out_len);
        break;
      case OpKind::kVerify:
        rv = out_len == nullptr ? CKR_ARGUMENTS_BAD
                                : f->C_VerifyFinal(ms, out, *out_len);
        break;
      case OpKind::kEncrypt:
        rv = f->C_EncryptFinal(ms, out, out_len);
        break;
      case OpKind::kDecrypt:
        rv = f->C_DecryptFinal(ms, out, out_len);
        break;
      case OpKind::kDigest:
        rv = f->C_DigestFinal(ms, out, out_len);
        break;
      case OpKind::kNone:
        break;
    }
  }
  if (IsMemberFailure(rv)) {
    // The member held the parts already sent: nothing to redo elsewhere.
    MarkDown(s->op.member, rv, "a multi-part operation");
    Log(absl::StrCat("the multi-part ", OpName(kind), " in flight on member ",
                     mem.name(),
                     " is lost; restart it (multi-part "
                     "operations do not fail over)"));
    s->op = Op();
    return CKR_DEVICE_ERROR;
  }
  bool active = final ? StaysActive(kind, rv, out)
                      : (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL);
  if (!active) {
    s->op = Op();
  }
  return rv;
}

}  // namespace trustlink::ntl::pkcs11::ha
