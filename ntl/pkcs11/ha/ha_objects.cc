// HaModule's objects: a member's object handle never reaches the
// application. Each object the application sees has a virtual handle, mapped
// per member to that member's handle, and found again on another member by
// CKA_CLASS plus CKA_ID (token objects only).

#include "absl/strings/str_cat.h"
#include "ntl/pkcs11/ha/ha_module.h"

namespace trustlink::ntl::pkcs11::ha {

CK_RV HaModule::MemberObjectHandle(CK_OBJECT_HANDLE v, size_t m,
                                   CK_SESSION_HANDLE ms, CK_OBJECT_HANDLE* out,
                                   bool may_lack) {
  auto it = objects_.find(v);
  if (it == objects_.end()) {
    return CKR_OBJECT_HANDLE_INVALID;
  }
  Object& o = it->second;
  Member& mem = *members_[m];
  auto on = o.on.find(m);
  if (on != o.on.end() && on->second.epoch == mem.epoch()) {
    *out = on->second.handle;
    return CKR_OK;
  }
  if (o.id.empty() || !o.token) {
    Log(absl::StrCat("object ", v,
                     " has no CKA_ID or is a session object, so "
                     "it cannot be found on member ",
                     mem.name(),
                     "; give objects a CKA_ID to use them in a group"));
    return CKR_OBJECT_HANDLE_INVALID;
  }
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &o.cls, sizeof(o.cls)},
      {CKA_ID, const_cast<char*>(o.id.data()), o.id.size()},
      {CKA_TOKEN, &yes, sizeof(yes)},
  };
  std::vector<CK_OBJECT_HANDLE> got;
  if (CK_RV rv = FindAll(mem.f(), ms, tmpl, 3, &got, 2); rv != CKR_OK) {
    return rv;
  }
  size_t n = got.size();
  if (n != 1) {
    if (n == 0 && may_lack) {
      return CKR_OBJECT_HANDLE_INVALID;
    }
    Log(absl::StrCat("member ", mem.name(), " has ", n,
                     n == 0 ? " objects" : " or more objects",
                     " of this class with the object's CKA_ID; ",
                     n == 0 ? "it was not replicated there"
                            : "IDs must be unique per class in a group"));
    return CKR_OBJECT_HANDLE_INVALID;
  }
  o.on[m] = {got[0], mem.epoch()};
  *out = got[0];
  return CKR_OK;
}

CK_RV HaModule::VirtualHandle(size_t m, CK_SESSION_HANDLE ms,
                              CK_OBJECT_HANDLE mh, CK_OBJECT_HANDLE* out) {
  uint64_t epoch = members_[m]->epoch();
  for (const auto& [v, o] : objects_) {
    auto on = o.on.find(m);
    if (on != o.on.end() && on->second.handle == mh &&
        on->second.epoch == epoch) {
      *out = v;
      return CKR_OK;
    }
  }
  Object o;
  CK_BBOOL token = CK_FALSE;
  CK_ATTRIBUTE a[] = {{CKA_CLASS, &o.cls, sizeof(o.cls)},
                      {CKA_TOKEN, &token, sizeof(token)},
                      {CKA_ID, nullptr, 0}};
  CK_RV rv = members_[m]->f()->C_GetAttributeValue(ms, mh, a, 3);
  if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID &&
      rv != CKR_ATTRIBUTE_SENSITIVE) {
    return rv;
  }
  if (a[2].ulValueLen != CK_UNAVAILABLE_INFORMATION && a[2].ulValueLen > 0) {
    o.id.resize(a[2].ulValueLen);
    a[2].pValue = &o.id[0];
    rv = members_[m]->f()->C_GetAttributeValue(ms, mh, &a[2], 1);
    if (rv != CKR_OK) {
      return rv;
    }
  }
  o.token = token == CK_TRUE;
  // Objects found by class and ID are the same object on every member: a
  // second virtual handle would make one key look like two.
  if (!o.id.empty() && o.token) {
    for (auto& [v, other] : objects_) {
      if (other.token && other.cls == o.cls && other.id == o.id) {
        other.on[m] = {mh, epoch};
        *out = v;
        return CKR_OK;
      }
    }
  }
  o.on[m] = {mh, epoch};
  CK_OBJECT_HANDLE v = next_object_++;
  objects_[v] = std::move(o);
  *out = v;
  return CKR_OK;
}

CK_RV HaModule::GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                                  CK_ATTRIBUTE* tmpl, CK_ULONG count) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  return OnAnyMember(
      s, "C_GetAttributeValue", [&](size_t m, CK_SESSION_HANDLE ms) {
        CK_OBJECT_HANDLE mh = 0;
        CK_RV rv = MemberObjectHandle(obj, m, ms, &mh);
        if (rv != CKR_OK) {
          return rv;
        }
        return members_[m]->f()->C_GetAttributeValue(ms, mh, tmpl, count);
      });
}

CK_RV HaModule::FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE* tmpl,
                                CK_ULONG count) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  if (s->finding) {
    return CKR_OPERATION_ACTIVE;
  }
  // The whole search runs now, so a member failing between C_FindObjects
  // calls cannot cut it short.
  std::vector<CK_OBJECT_HANDLE> found;
  CK_RV rv =
      OnAnyMember(s, "C_FindObjectsInit", [&](size_t m, CK_SESSION_HANDLE ms) {
        found.clear();
        std::vector<CK_OBJECT_HANDLE> mh;
        CK_RV r = FindAll(members_[m]->f(), ms, tmpl, count, &mh);
        if (r != CKR_OK) {
          return r;
        }
        for (CK_OBJECT_HANDLE x : mh) {
          CK_OBJECT_HANDLE v = 0;
          if ((r = VirtualHandle(m, ms, x, &v)) != CKR_OK) {
            return r;
          }
          found.push_back(v);
        }
        return CKR_OK;
      });
  if (rv != CKR_OK) {
    return rv;
  }
  s->finding = true;
  s->found = std::move(found);
  s->found_pos = 0;
  return CKR_OK;
}

CK_RV HaModule::FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE* out,
                            CK_ULONG max, CK_ULONG* count) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  if (!s->finding) {
    return CKR_OPERATION_NOT_INITIALIZED;
  }
  if (count == nullptr || (out == nullptr && max > 0)) {
    return CKR_ARGUMENTS_BAD;
  }
  CK_ULONG n = 0;
  while (n < max && s->found_pos < s->found.size()) {
    out[n++] = s->found[s->found_pos++];
  }
  *count = n;
  return CKR_OK;
}

CK_RV HaModule::FindObjectsFinal(CK_SESSION_HANDLE h) {
  Session* s = nullptr;
  if (CK_RV rv = SessionFor(h, &s); rv != CKR_OK) {
    return rv;
  }
  if (!s->finding) {
    return CKR_OPERATION_NOT_INITIALIZED;
  }
  s->finding = false;
  s->found.clear();
  return CKR_OK;
}

void HaModule::ForgetHandles(size_t m) {
  // A logout takes away the handles of private objects (SoftHSM2 drops them;
  // PKCS#11 lets a module do so); they are found again by class and ID.
  for (auto& [v, o] : objects_) {
    o.on.erase(m);
  }
}

}  // namespace trustlink::ntl::pkcs11::ha
