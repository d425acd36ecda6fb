#include "ntl/pkcs11/ha/member.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace trustlink::ntl::pkcs11::ha {

bool IsMemberFailure(CK_RV rv) {
  return rv == CKR_DEVICE_ERROR || rv == CKR_DEVICE_REMOVED ||
         rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_CRYPTOKI_NOT_INITIALIZED;
}

CK_RV FindAll(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE ms, CK_ATTRIBUTE* tmpl,
              CK_ULONG count, std::vector<CK_OBJECT_HANDLE>* out, size_t max) {
  out->clear();
  CK_RV rv = f->C_FindObjectsInit(ms, tmpl, count);
  if (rv != CKR_OK) {
    return rv;
  }
  CK_OBJECT_HANDLE batch[64];
  CK_ULONG n = 0;
  while ((max == 0 || out->size() < max) &&
         (rv = f->C_FindObjects(ms, batch, 64, &n)) == CKR_OK && n > 0) {
    out->insert(out->end(), batch, batch + n);
  }
  CK_RV fin = f->C_FindObjectsFinal(ms);
  if (max != 0 && out->size() > max) {
    out->resize(max);
  }
  return rv != CKR_OK ? rv : fin;
}

bool PaddedEquals(const CK_UTF8CHAR* field, size_t len,
                  const std::string& text) {
  if (text.size() > len || memcmp(field, text.data(), text.size()) != 0) {
    return false;
  }
  for (size_t i = text.size(); i < len; ++i) {
    if (field[i] != ' ') {
      return false;
    }
  }
  return true;
}

void Pad(CK_UTF8CHAR* field, size_t len, const std::string& text) {
  memset(field, ' ', len);
  memcpy(field, text.data(), text.size() < len ? text.size() : len);
}

bool Member::Start(std::string* why) {
  if (!Connect(why)) {
    return false;
  }
  MarkUp();
  return true;
}

void Member::MarkUp() {
  up_ = true;
  logged_in = false;
}

void Member::Disconnect() {
  if (initialized_) {
    lib_->module_finalize(f_);
    initialized_ = false;
  }
}

bool Member::Connect(std::string* why) {
  if (!initialized_) {
    CK_RV rv = lib_->module_initialize(f_);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      *why = absl::StrCat("its module trustlink-", server_,
                          " did not initialise (", RvName(rv),
                          "; its bridge said why above)");
      return false;
    }
    initialized_ = true;
  }
  CK_ULONG n = 0;
  CK_RV rv = f_->C_GetSlotList(CK_TRUE, nullptr, &n);
  std::vector<CK_SLOT_ID> slots(n);
  if (rv == CKR_OK && n > 0) {
    rv = f_->C_GetSlotList(CK_TRUE, slots.data(), &n);
    slots.resize(n);
  }
  if (rv != CKR_OK) {
    *why = absl::StrCat("listing its slots failed (", RvName(rv), ")");
    Disconnect();
    return false;
  }
  for (CK_SLOT_ID s : slots) {
    CK_TOKEN_INFO info;
    if (f_->C_GetTokenInfo(s, &info) == CKR_OK &&
        PaddedEquals(info.label, sizeof(info.label), partition_)) {
      slot_ = s;
      return true;
    }
  }
  *why = absl::StrCat("server '", server_, "' serves no token labelled '",
                      partition_,
                      "' to this client (is the partition assigned and made "
                      "with a token? vtl listSlots shows the slots)");
  Disconnect();
  return false;
}

void Member::Withdraw() {
  if (up_) {
    ++epoch_;
  }
  up_ = false;
  logged_in = false;
}

void Member::Stop() {
  transfer.reset();
  Disconnect();
  if (up_) {
    ++epoch_;
  }
  up_ = false;
  logged_in = false;
}

}  // namespace trustlink::ntl::pkcs11::ha
