// One entry per function of PKCS#11 2.40's CK_FUNCTION_LIST, in its order. The
// functions an HA group cannot offer consistently across members (changing
// PINs or attributes on one member, C_CopyObject, C_DeriveKey, wrapping with
// application keys, operation state, dual-function updates) answer
// CKR_FUNCTION_NOT_SUPPORTED rather than act on one member only.

#include "ntl/pkcs11/ha/function_list.h"

#include <mutex>

namespace trustlink::ntl::pkcs11::ha {
namespace {

std::mutex mu;
HaModule* current = nullptr;

#define TL_HA_CALL(expr)                 \
  std::lock_guard<std::mutex> lock(mu);  \
  if (current == nullptr) {              \
    return CKR_CRYPTOKI_NOT_INITIALIZED; \
  }                                      \
  return current->expr

extern CK_FUNCTION_LIST function_list;

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  if (out == nullptr) {
    return CKR_ARGUMENTS_BAD;
  }
  *out = &function_list;
  return CKR_OK;
}

CK_RV C_Initialize(CK_VOID_PTR a) {
  TL_HA_CALL(Initialize(static_cast<const CK_C_INITIALIZE_ARGS*>(a)));
}

CK_RV C_Finalize(CK_VOID_PTR a) {
  (void)a;
  // Finalize lets go of the lock while it joins the probe thread.
  std::unique_lock<std::mutex> lock(mu);
  if (current == nullptr) {
    return CKR_CRYPTOKI_NOT_INITIALIZED;
  }
  return current->Finalize(&lock);
}

CK_RV C_GetInfo(CK_INFO_PTR info) { TL_HA_CALL(GetInfo(info)); }

CK_RV C_GetSlotList(CK_BBOOL p, CK_SLOT_ID_PTR l, CK_ULONG_PTR c) {
  TL_HA_CALL(GetSlotList(p, l, c));
}

CK_RV C_GetSlotInfo(CK_SLOT_ID s, CK_SLOT_INFO_PTR i) {
  TL_HA_CALL(GetSlotInfo(s, i));
}

CK_RV C_GetTokenInfo(CK_SLOT_ID s, CK_TOKEN_INFO_PTR i) {
  TL_HA_CALL(GetTokenInfo(s, i));
}

CK_RV C_GetMechanismList(CK_SLOT_ID s, CK_MECHANISM_TYPE_PTR l,
                         CK_ULONG_PTR c) {
  TL_HA_CALL(GetMechanismList(s, l, c));
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID s, CK_MECHANISM_TYPE t,
                         CK_MECHANISM_INFO_PTR i) {
  TL_HA_CALL(GetMechanismInfo(s, t, i));
}

CK_RV C_InitToken(CK_SLOT_ID, CK_UTF8CHAR_PTR, CK_ULONG, CK_UTF8CHAR_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_InitPIN(CK_SESSION_HANDLE, CK_UTF8CHAR_PTR, CK_ULONG) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_SetPIN(CK_SESSION_HANDLE, CK_UTF8CHAR_PTR, CK_ULONG, CK_UTF8CHAR_PTR,
               CK_ULONG) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_OpenSession(CK_SLOT_ID s, CK_FLAGS f, CK_VOID_PTR, CK_NOTIFY,
                    CK_SESSION_HANDLE_PTR h) {
  TL_HA_CALL(OpenSession(s, f, h));
}

CK_RV C_CloseSession(CK_SESSION_HANDLE h) { TL_HA_CALL(CloseSession(h)); }

CK_RV C_CloseAllSessions(CK_SLOT_ID s) { TL_HA_CALL(CloseAllSessions(s)); }

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR i) {
  TL_HA_CALL(GetSessionInfo(h, i));
}

CK_RV C_GetOperationState(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_SetOperationState(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG,
                          CK_OBJECT_HANDLE, CK_OBJECT_HANDLE) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE u, CK_UTF8CHAR_PTR p,
              CK_ULONG n) {
  TL_HA_CALL(Login(h, u, p, n));
}

CK_RV C_Logout(CK_SESSION_HANDLE h) { TL_HA_CALL(Logout(h)); }

CK_RV
C_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n,
               CK_OBJECT_HANDLE_PTR o) {
  TL_HA_CALL(CreateObject(h, t, n, o));
}

CK_RV C_CopyObject(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, CK_ATTRIBUTE_PTR,
                   CK_ULONG, CK_OBJECT_HANDLE_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o) {
  TL_HA_CALL(DestroyObject(h, o));
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
                          CK_ATTRIBUTE_PTR t, CK_ULONG n) {
  TL_HA_CALL(GetAttributeValue(h, o, t, n));
}

CK_RV C_SetAttributeValue(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, CK_ATTRIBUTE_PTR,
                          CK_ULONG) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
  TL_HA_CALL(FindObjectsInit(h, t, n));
}

CK_RV C_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR o, CK_ULONG m,
                    CK_ULONG_PTR n) {
  TL_HA_CALL(FindObjects(h, o, m, n));
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE h) {
  TL_HA_CALL(FindObjectsFinal(h));
}

// The four entry points of a cipher (C_<Op>Init, C_<Op>, C_<Op>Update,
// C_<Op>Final): encryption and decryption differ only in the kind.
#define TL_HA_CIPHER(Op, kind)                                                \
  CK_RV C_##Op##Init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,                 \
                     CK_OBJECT_HANDLE k) {                                    \
    TL_HA_CALL(OpInit(kind, h, m, k));                                        \
  }                                                                           \
  CK_RV C_##Op(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n, CK_BYTE_PTR o, \
               CK_ULONG_PTR on) {                                             \
    TL_HA_CALL(OpOnce(kind, h, d, n, o, on));                                 \
  }                                                                           \
  CK_RV C_##Op##Update(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n,        \
                       CK_BYTE_PTR o, CK_ULONG_PTR on) {                      \
    TL_HA_CALL(OpUpdate(kind, h, d, n, o, on));                               \
  }                                                                           \
  CK_RV C_##Op##Final(CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR on) {  \
    TL_HA_CALL(OpFinal(kind, h, o, on));                                      \
  }

TL_HA_CIPHER(Encrypt, OpKind::kEncrypt)
TL_HA_CIPHER(Decrypt, OpKind::kDecrypt)
#undef TL_HA_CIPHER

CK_RV C_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m) {
  TL_HA_CALL(OpInit(OpKind::kDigest, h, m, 0));
}

CK_RV C_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n, CK_BYTE_PTR o,
               CK_ULONG_PTR on) {
  TL_HA_CALL(OpOnce(OpKind::kDigest, h, d, n, o, on));
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n) {
  TL_HA_CALL(OpUpdate(OpKind::kDigest, h, d, n, nullptr, nullptr));
}

CK_RV C_DigestKey(CK_SESSION_HANDLE, CK_OBJECT_HANDLE) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR on) {
  TL_HA_CALL(OpFinal(OpKind::kDigest, h, o, on));
}

CK_RV C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  TL_HA_CALL(OpInit(OpKind::kSign, h, m, k));
}

CK_RV C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n, CK_BYTE_PTR o,
             CK_ULONG_PTR on) {
  TL_HA_CALL(OpOnce(OpKind::kSign, h, d, n, o, on));
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n) {
  TL_HA_CALL(OpUpdate(OpKind::kSign, h, d, n, nullptr, nullptr));
}

CK_RV C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR on) {
  TL_HA_CALL(OpFinal(OpKind::kSign, h, o, on));
}

CK_RV C_SignRecoverInit(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_SignRecover(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR,
                    CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
                   CK_OBJECT_HANDLE k) {
  TL_HA_CALL(OpInit(OpKind::kVerify, h, m, k));
}

CK_RV
C_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n, CK_BYTE_PTR s,
         CK_ULONG sn) {
  TL_HA_CALL(OpOnce(OpKind::kVerify, h, d, n, s, &sn));
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG n) {
  TL_HA_CALL(OpUpdate(OpKind::kVerify, h, d, n, nullptr, nullptr));
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG sn) {
  TL_HA_CALL(OpFinal(OpKind::kVerify, h, s, &sn));
}

CK_RV
C_VerifyRecoverInit(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_VerifyRecover(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR,
                      CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

// The dual-function updates run two operations on one member at once, which
// a group could not redo elsewhere.
#define TL_HA_NO_DUAL(name)                                         \
  CK_RV name(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, \
             CK_ULONG_PTR) {                                        \
    return CKR_FUNCTION_NOT_SUPPORTED;                              \
  }

TL_HA_NO_DUAL(C_DigestEncryptUpdate)
TL_HA_NO_DUAL(C_DecryptDigestUpdate)
TL_HA_NO_DUAL(C_SignEncryptUpdate)
TL_HA_NO_DUAL(C_DecryptVerifyUpdate)
#undef TL_HA_NO_DUAL

CK_RV C_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t,
                    CK_ULONG n, CK_OBJECT_HANDLE_PTR o) {
  TL_HA_CALL(GenerateKey(h, m, t, n, o));
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
                        CK_ATTRIBUTE_PTR pt, CK_ULONG pn, CK_ATTRIBUTE_PTR vt,
                        CK_ULONG vn, CK_OBJECT_HANDLE_PTR po,
                        CK_OBJECT_HANDLE_PTR vo) {
  TL_HA_CALL(GenerateKeyPair(h, m, pt, pn, vt, vn, po, vo));
}

CK_RV C_WrapKey(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE,
                CK_OBJECT_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_UnwrapKey(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE,
                  CK_BYTE_PTR, CK_ULONG, CK_ATTRIBUTE_PTR, CK_ULONG,
                  CK_OBJECT_HANDLE_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_DeriveKey(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE,
                  CK_ATTRIBUTE_PTR, CK_ULONG, CK_OBJECT_HANDLE_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_SeedRandom(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG n) {
  TL_HA_CALL(GenerateRandom(h, o, n));
}

CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_CancelFunction(CK_SESSION_HANDLE) { return CKR_FUNCTION_NOT_SUPPORTED; }

CK_RV C_WaitForSlotEvent(CK_FLAGS, CK_SLOT_ID_PTR, CK_VOID_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_FUNCTION_LIST function_list = {
    {2, 40},
    C_Initialize,
    C_Finalize,
    C_GetInfo,
    C_GetFunctionList,
    C_GetSlotList,
    C_GetSlotInfo,
    C_GetTokenInfo,
    C_GetMechanismList,
    C_GetMechanismInfo,
    C_InitToken,
    C_InitPIN,
    C_SetPIN,
    C_OpenSession,
    C_CloseSession,
    C_CloseAllSessions,
    C_GetSessionInfo,
    C_GetOperationState,
    C_SetOperationState,
    C_Login,
    C_Logout,
    C_CreateObject,
    C_CopyObject,
    C_DestroyObject,
    C_GetObjectSize,
    C_GetAttributeValue,
    C_SetAttributeValue,
    C_FindObjectsInit,
    C_FindObjects,
    C_FindObjectsFinal,
    C_EncryptInit,
    C_Encrypt,
    C_EncryptUpdate,
    C_EncryptFinal,
    C_DecryptInit,
    C_Decrypt,
    C_DecryptUpdate,
    C_DecryptFinal,
    C_DigestInit,
    C_Digest,
    C_DigestUpdate,
    C_DigestKey,
    C_DigestFinal,
    C_SignInit,
    C_Sign,
    C_SignUpdate,
    C_SignFinal,
    C_SignRecoverInit,
    C_SignRecover,
    C_VerifyInit,
    C_Verify,
    C_VerifyUpdate,
    C_VerifyFinal,
    C_VerifyRecoverInit,
    C_VerifyRecover,
    C_DigestEncryptUpdate,
    C_DecryptDigestUpdate,
    C_SignEncryptUpdate,
    C_DecryptVerifyUpdate,
    C_GenerateKey,
    C_GenerateKeyPair,
    C_WrapKey,
    C_UnwrapKey,
    C_DeriveKey,
    C_SeedRandom,
    C_GenerateRandom,
    C_GetFunctionStatus,
    C_CancelFunction,
    C_WaitForSlotEvent,
};

}  // namespace

CK_FUNCTION_LIST* InstallHaModule(HaModule* module) {
  std::lock_guard<std::mutex> lock(mu);
  current = module;
  if (module != nullptr) {
    module->SetCallLock(&mu);  // for its probe thread
  }
  return &function_list;
}

}  // namespace trustlink::ntl::pkcs11::ha
