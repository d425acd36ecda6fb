// HaModule's writes: they run on the primary (the first member up) and are
// then copied to every other member that is up before the call returns.
// Private and secret keys travel wrapped under the group's cloning-domain key
// (an AES key with CKA_TRUSTED, the same on every member, made by
// `ntlsh partition create -cloningdomain`) over the members' key-transfer
// streams (key_transfer.h: p11-kit's RPC client will not send the wrap
// mechanism); public objects are copied by their attributes. A copy that a
// member refuses for a reason other than being down undoes the write on the
// primary, so nothing is half-written.

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ntl/pkcs11/ha/ha_module.h"
#include "ntl/pkcs11/ha/key_template.h"
#include "ntl/pkcs11/ha/key_transfer.h"

namespace trustlink::ntl::pkcs11::ha {
namespace {

const CK_ATTRIBUTE_TYPE kCopied[] = {
    CKA_CLASS,
    CKA_KEY_TYPE,
    CKA_TOKEN,
    CKA_PRIVATE,
    CKA_ID,
    CKA_LABEL,
    CKA_SIGN,
    CKA_VERIFY,
    CKA_ENCRYPT,
    CKA_DECRYPT,
    CKA_WRAP,
    CKA_UNWRAP,
    CKA_DERIVE,
    CKA_SENSITIVE,
    CKA_EXTRACTABLE,
    CKA_WRAP_WITH_TRUSTED,
    CKA_EC_PARAMS,
    CKA_EC_POINT,
    CKA_MODULUS,
    CKA_PUBLIC_EXPONENT,
    CKA_VALUE,
    CKA_CERTIFICATE_TYPE,
    CKA_SUBJECT,
    CKA_ISSUER,
    CKA_SERIAL_NUMBER,
    CKA_APPLICATION,
    CKA_OBJECT_ID,
    CKA_SIGN_RECOVER,
    CKA_VERIFY_RECOVER,
    CKA_MODIFIABLE,
};

// Attributes is a template that owns its values.
struct Attributes {
  std::vector<CK_ATTRIBUTE> list;
  std::vector<std::string> values;
  void Add(CK_ATTRIBUTE_TYPE t, std::string v) {
    values.push_back(std::move(v));
    list.push_back({t, nullptr, 0});
  }
  CK_ATTRIBUTE* Fix() {
    for (size_t i = 0; i < list.size(); ++i) {
      list[i].pValue = values[i].empty() ? nullptr : &values[i][0];
      list[i].ulValueLen = values[i].size();
    }
    return list.data();
  }
};

// ReadCopyable reads the attributes of object h that a copy needs. Secret
// values (CKA_VALUE of private and secret keys) are never readable and so
// never copied; `wrapped` says the copy is made by unwrapping, whose template
// must leave out what the wrapped bytes carry (PKCS#11 2.40: the value, an
// RSA key's modulus and public exponent, an EC key's curve and point).
CK_RV ReadCopyable(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE ms,
                   CK_OBJECT_HANDLE h, bool wrapped, Attributes* out) {
  // Two round trips, not two per attribute: the sizes of all, then the
  // values of those the object has and shows. PKCS#11 fills in what it can
  // and marks the rest CK_UNAVAILABLE_INFORMATION.
  std::vector<CK_ATTRIBUTE> sizes;
  for (CK_ATTRIBUTE_TYPE t : kCopied) {
    if (!wrapped ||
        (t != CKA_VALUE && t != CKA_EC_POINT && t != CKA_EC_PARAMS &&
         t != CKA_MODULUS && t != CKA_PUBLIC_EXPONENT)) {
      sizes.push_back({t, nullptr, 0});
    }
  }
  auto usable = [](CK_RV rv) {
    return rv == CKR_OK || rv == CKR_ATTRIBUTE_TYPE_INVALID ||
           rv == CKR_ATTRIBUTE_SENSITIVE;
  };
  CK_RV rv = f->C_GetAttributeValue(ms, h, sizes.data(), sizes.size());
  if (!usable(rv)) {
    return rv;
  }
  Attributes got;
  for (const CK_ATTRIBUTE& a : sizes) {
    if (a.ulValueLen != CK_UNAVAILABLE_INFORMATION) {
      got.Add(a.type, std::string(a.ulValueLen, '\0'));
    }
  }
  if (got.list.empty()) {
    return CKR_OK;
  }
  rv = f->C_GetAttributeValue(ms, h, got.Fix(), got.list.size());
  if (!usable(rv)) {
    return rv;
  }
  for (size_t i = 0; i < got.list.size(); ++i) {
    if (got.list[i].ulValueLen != CK_UNAVAILABLE_INFORMATION) {
      got.values[i].resize(got.list[i].ulValueLen);
      out->Add(got.list[i].type, std::move(got.values[i]));
    }
  }
  return CKR_OK;
}

}  // namespace

// Replicate copies virtual object v, just written on member `primary`, to
// every other member that is up. A member that fails is marked down and
// catches up when it returns; with `only` (a catch-up) its failure is
// returned instead, so the catch-up fails and the member stays down. Private
// and secret keys travel wrapped over the members' key-transfer streams
// (key_transfer.h); the copy is then found on the member's own session by class
// and CKA_ID, as every object is.
CK_RV HaModule::Replicate(Session* s, size_t primary, CK_OBJECT_HANDLE v,
                          const char* what, int only) {
  CK_SESSION_HANDLE pms = 0;
  CK_OBJECT_HANDLE ph = 0;
  CK_RV rv = SessionOn(s, primary, &pms);
  if (rv == CKR_OK) {
    rv = MemberObjectHandle(v, primary, pms, &ph);
  }
  if (rv != CKR_OK) {
    return rv;
  }
  Object& o = objects_[v];
  if (!o.token) {
    return CKR_OK;  // session objects live and die on one member
  }
  std::vector<size_t> targets;
  for (size_t m = 0; m < members_.size(); ++m) {
    if ((only < 0 || static_cast<int>(m) == only) && m != primary &&
        members_[m]->up()) {
      targets.push_back(m);  // a member down catches up when it returns
    }
  }
  if (targets.empty()) {
    return CKR_OK;
  }
  CK_FUNCTION_LIST* pf = members_[primary]->f();
  bool wrapped = IsWrapped(o.cls);
  Attributes attrs;
  if ((rv = ReadCopyable(pf, pms, ph, wrapped, &attrs)) != CKR_OK) {
    return rv;
  }
  // What becomes of a failed copy: a write is undone; a member being caught
  // up stays out of service and is tried again.
  const char* outcome = only < 0 ? "; the write is undone on every member"
                                 : "; the member stays out of service until "
                                   "it has every object";
  std::string blob;
  if (wrapped) {
    std::string why;
    KeyTransfer* pt = nullptr;
    if (o.id.empty()) {
      why = "it has no CKA_ID, so it cannot be found on another session";
      rv = CKR_FUNCTION_FAILED;
    } else if ((rv = TransferOn(primary, &pt, &why)) == CKR_OK) {
      rv = pt->Wrap(o.cls, o.id, &blob, &why);
    }
    if (rv != CKR_OK) {
      Log(absl::StrCat(what,
                       ": the new key cannot be wrapped under the "
                       "cloning-domain key on ",
                       members_[primary]->name(), ": ", why,
                       rv == CKR_KEY_UNEXTRACTABLE ||
                               rv == CKR_KEY_NOT_WRAPPABLE ||
                               rv == CKR_KEY_FUNCTION_NOT_PERMITTED
                           ? "; a group's keys need CKA_EXTRACTABLE true "
                             "and, with CKA_WRAP_WITH_TRUSTED, a trusted "
                             "cloning-domain key"
                           : "",
                       outcome));
      return IsMemberFailure(rv) ? CKR_DEVICE_ERROR : CKR_FUNCTION_FAILED;
    }
  }
  for (size_t m : targets) {
    Member& mem = *members_[m];
    std::string why;
    CK_SESSION_HANDLE ms = 0;
    CK_OBJECT_HANDLE h = 0, th = 0;
    KeyTransfer* t = nullptr;
    if (wrapped) {
      rv = TransferOn(m, &t, &why);
      if (rv == CKR_OK) {
        rv = t->Unwrap(blob, attrs.Fix(), attrs.list.size(), &th, &why);
      }
      if (rv == CKR_OK && ((rv = SessionOn(s, m, &ms)) != CKR_OK ||
                           (rv = MemberObjectHandle(v, m, ms, &h)) != CKR_OK)) {
        // Not visible to the group's own session: take it away again.
        std::string ignored;
        t->Destroy(th, &ignored);
        if (!IsMemberFailure(rv)) {
          why = "the unwrapped key is not visible to the group's session";
        }
      }
    } else {
      rv = SessionOn(s, m, &ms);
      if (rv == CKR_OK) {
        rv = mem.f()->C_CreateObject(ms, attrs.Fix(), attrs.list.size(), &h);
      }
      if (rv == CKR_OK) {
        o.on[m] = {h, mem.epoch()};
      }
    }
    if (IsMemberFailure(rv)) {
      if (!why.empty()) {
        Log(absl::StrCat(what, ": ", why));
      }
      if (only >= 0) {
        // A catch-up that failed half-way: the caller keeps the member out
        // of service (RetryDone, or MarkDown at login) and it is tried again.
        return rv;
      }
      MarkDown(m, rv, what);
      continue;
    }
    if (rv != CKR_OK) {
      Log(absl::StrCat(what, ": member ", mem.name(), " refused the copy (",
                       RvName(rv), ")", why.empty() ? "" : ": ", why, outcome));
      return rv;
    }
  }
  return CKR_OK;
}

CK_RV HaModule::CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE* tmpl,
                             CK_ULONG count, CK_OBJECT_HANDLE* out) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  if (out == nullptr) {
    return CKR_ARGUMENTS_BAD;
  }
  return Write(
      s, "C_CreateObject", tmpl, count, nullptr, 0,
      [&](size_t m, CK_SESSION_HANDLE ms, CK_ATTRIBUTE* t, CK_ULONG n,
          CK_ATTRIBUTE*, CK_ULONG, CK_OBJECT_HANDLE* o1, CK_OBJECT_HANDLE*) {
        return members_[m]->f()->C_CreateObject(ms, t, n, o1);
      },
      out, nullptr);
}

CK_RV HaModule::GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM* mech,
                            CK_ATTRIBUTE* tmpl, CK_ULONG count,
                            CK_OBJECT_HANDLE* out) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  if (out == nullptr || mech == nullptr) {
    return CKR_ARGUMENTS_BAD;
  }
  return Write(
      s, "C_GenerateKey", nullptr, 0, tmpl, count,
      [&](size_t m, CK_SESSION_HANDLE ms, CK_ATTRIBUTE*, CK_ULONG,
          CK_ATTRIBUTE* t, CK_ULONG n, CK_OBJECT_HANDLE* o1,
          CK_OBJECT_HANDLE*) {
        return members_[m]->f()->C_GenerateKey(ms, mech, t, n, o1);
      },
      out, nullptr);
}

CK_RV HaModule::GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM* mech,
                                CK_ATTRIBUTE* pub, CK_ULONG pub_count,
                                CK_ATTRIBUTE* priv, CK_ULONG priv_count,
                                CK_OBJECT_HANDLE* out_pub,
                                CK_OBJECT_HANDLE* out_priv) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  if (out_pub == nullptr || out_priv == nullptr || mech == nullptr) {
    return CKR_ARGUMENTS_BAD;
  }
  return Write(
      s, "C_GenerateKeyPair", pub, pub_count, priv, priv_count,
      [&](size_t m, CK_SESSION_HANDLE ms, CK_ATTRIBUTE* t1, CK_ULONG n1,
          CK_ATTRIBUTE* t2, CK_ULONG n2, CK_OBJECT_HANDLE* o1,
          CK_OBJECT_HANDLE* o2) {
        return members_[m]->f()->C_GenerateKeyPair(ms, mech, t1, n1, t2, n2, o1,
                                                   o2);
      },
      out_pub, out_priv);
}

CK_RV HaModule::Write(Session* s, const char* what, CK_ATTRIBUTE* plain,
                      CK_ULONG plain_count, CK_ATTRIBUTE* key,
                      CK_ULONG key_count, const WriteFn& fn,
                      CK_OBJECT_HANDLE* out1, CK_OBJECT_HANDLE* out2) {
  // One CKA_ID for a new key (and its public half) when the application gave
  // none: without one it could not be found on another member.
  std::string id;
  const CK_ATTRIBUTE* given =
      plain != nullptr ? FindAttr(plain, plain_count, CKA_ID) : nullptr;
  if (given == nullptr && key != nullptr) {
    given = FindAttr(key, key_count, CKA_ID);
  }
  if (given != nullptr && given->pValue != nullptr) {
    id.assign(static_cast<const char*>(given->pValue), given->ulValueLen);
  } else {
    id.resize(16);
    CK_RV rv =
        OnAnyMember(s, "C_GenerateRandom (a new CKA_ID)",
                    [&](size_t m, CK_SESSION_HANDLE ms) {
                      return members_[m]->f()->C_GenerateRandom(
                          ms, reinterpret_cast<CK_BYTE*>(&id[0]), id.size());
                    });
    if (rv != CKR_OK) {
      return rv;
    }
  }
  std::vector<CK_ATTRIBUTE> plain_t(plain, plain + plain_count);
  if (plain != nullptr && FindAttr(plain, plain_count, CKA_ID) == nullptr &&
      key != nullptr) {
    plain_t.push_back({CKA_ID, &id[0], id.size()});
  }
  std::vector<CK_ATTRIBUTE> key_t;
  std::string refusal;
  if (key != nullptr && !KeyTemplate(key, key_count, id, &key_t, &refusal)) {
    Log(absl::StrCat(what, " refused: ", refusal));
    return CKR_TEMPLATE_INCONSISTENT;
  }
  if (key == nullptr && plain != nullptr) {
    // C_CreateObject of a private or secret key: the same rules.
    const CK_ATTRIBUTE* cls = FindAttr(plain, plain_count, CKA_CLASS);
    if (cls != nullptr && cls->ulValueLen == sizeof(CK_OBJECT_CLASS) &&
        IsWrapped(*static_cast<const CK_OBJECT_CLASS*>(cls->pValue))) {
      if (!KeyTemplate(plain, plain_count, id, &plain_t, &refusal)) {
        Log(absl::StrCat(what, " refused: ", refusal));
        return CKR_TEMPLATE_INCONSISTENT;
      }
    }
  }
  // The classes this write makes, for a member whose outcome is unknown.
  std::vector<CK_OBJECT_CLASS> classes;
  if (plain != nullptr && key != nullptr) {
    classes = {CKO_PUBLIC_KEY, CKO_PRIVATE_KEY};
  } else if (key != nullptr) {
    classes = {CKO_SECRET_KEY};
  } else if (const CK_ATTRIBUTE* c = FindAttr(plain, plain_count, CKA_CLASS);
             c != nullptr && c->ulValueLen == sizeof(CK_OBJECT_CLASS)) {
    classes = {*static_cast<const CK_OBJECT_CLASS*>(c->pValue)};
  }
  size_t primary = 0;
  CK_OBJECT_HANDLE m1 = 0, m2 = 0;
  CK_RV rv = OnAnyMember(
      s, what,
      [&](size_t m, CK_SESSION_HANDLE ms) {
        CK_RV r = fn(m, ms, plain_t.empty() ? nullptr : plain_t.data(),
                     plain_t.size(), key_t.empty() ? nullptr : key_t.data(),
                     key_t.size(), &m1, out2 != nullptr ? &m2 : nullptr);
        if (IsMemberFailure(r)) {
          // The link dropped with the request sent: the member may have made
          // the object. The next member makes it; this one's copy, if any,
          // goes when it returns (ha_catch_up.cc).
          for (CK_OBJECT_CLASS c : classes) {
            members_[m]->unknown_creates.emplace_back(c, id);
          }
        }
        return r;
      },
      &primary);
  if (rv != CKR_OK) {
    return rv;
  }
  CK_SESSION_HANDLE pms = 0;
  SessionOn(s, primary, &pms);
  CK_OBJECT_HANDLE v1 = 0, v2 = 0;
  if ((rv = VirtualHandle(primary, pms, m1, &v1)) != CKR_OK ||
      (out2 != nullptr &&
       (rv = VirtualHandle(primary, pms, m2, &v2)) != CKR_OK)) {
    return rv;
  }
  rv = Replicate(s, primary, v1, what);
  if (rv == CKR_OK && out2 != nullptr) {
    rv = Replicate(s, primary, v2, what);
  }
  if (rv != CKR_OK) {
    Undo(s, v1);
    if (out2 != nullptr) {
      Undo(s, v2);
    }
    return rv;
  }
  *out1 = v1;
  if (out2 != nullptr) {
    *out2 = v2;
  }
  return CKR_OK;
}

void HaModule::Undo(Session* s, CK_OBJECT_HANDLE v) {
  auto it = objects_.find(v);
  if (it == objects_.end()) {
    return;
  }
  for (const auto& [m, mo] : it->second.on) {
    CK_SESSION_HANDLE ms = 0;
    if (members_[m]->up() && members_[m]->epoch() == mo.epoch &&
        SessionOn(s, m, &ms) == CKR_OK) {
      members_[m]->f()->C_DestroyObject(ms, mo.handle);
    }
  }
  objects_.erase(it);
}

CK_RV HaModule::DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  size_t primary = 0;
  CK_RV rv = OnAnyMember(
      s, "C_DestroyObject",
      [&](size_t m, CK_SESSION_HANDLE ms) {
        CK_OBJECT_HANDLE mh = 0;
        CK_RV r = MemberObjectHandle(obj, m, ms, &mh);
        return r != CKR_OK ? r : members_[m]->f()->C_DestroyObject(ms, mh);
      },
      &primary);
  if (rv != CKR_OK) {
    return rv;
  }
  for (size_t m = 0; m < members_.size(); ++m) {
    if (m == primary) {
      continue;
    }
    if (!members_[m]->up()) {
      continue;
    }
    CK_SESSION_HANDLE ms = 0;
    CK_OBJECT_HANDLE mh = 0;
    CK_RV r = SessionOn(s, m, &ms);
    if (r == CKR_OK) {
      r = MemberObjectHandle(obj, m, ms, &mh);
    }
    if (r == CKR_OK) {
      r = members_[m]->f()->C_DestroyObject(ms, mh);
    }
    if (IsMemberFailure(r)) {
      MarkDown(m, r, "C_DestroyObject");
    }
  }
  objects_.erase(obj);
  return CKR_OK;
}

}  // namespace trustlink::ntl::pkcs11::ha
