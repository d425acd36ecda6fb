// Fuzz target: the decoders of p11-kit RPC replies (rpc_message.h). The bytes
// come from a member's bridge and appliance, so every decoder must refuse
// without crashing or allocating more than the message holds, whatever a
// broken or hostile peer sends.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ntl/pkcs11/ha/rpc_message.h"

namespace {

using namespace trustlink::ntl::pkcs11::ha::rpc;  // NOLINT: a fuzz target

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  CK_RV rv = 0;
  for (Call c : {Call::kInitialize, Call::kFinalize, Call::kLogin,
                 Call::kCloseSession, Call::kDestroyObject,
                 Call::kFindObjectsInit, Call::kFindObjectsFinal}) {
    (void)DecodeEmpty(in, c, &rv);
  }
  uint64_t u = 0;
  (void)DecodeUlong(in, Call::kOpenSession, &rv, &u);
  (void)DecodeUlong(in, Call::kUnwrapKey, &rv, &u);
  std::vector<uint64_t> list;
  if (DecodeUlongArray(in, Call::kFindObjects, 2, &rv, &list).ok()) {
    Check(list.size() <= 2);
  }
  (void)DecodeUlongArray(in, Call::kGetSlotList, 256, &rv, &list);
  std::string label;
  if (DecodeTokenLabel(in, &rv, &label).ok() && rv == CKR_OK) {
    Check(label.size() == 32);
  }
  std::string wrapped;
  bool present = false;
  if (DecodeWrapped(in, 8192, &rv, &wrapped, &present, &u).ok()) {
    Check(wrapped.size() <= 8192 && wrapped.size() < size);
  }
  return 0;
}
