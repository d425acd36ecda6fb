// Fuzz target: the HTL payload decoders (htl/messages.h) on hostile bytes. They
// arrive from the network before any proof is checked, so each decoder must
// refuse without crashing, and what one accepts must encode back to exactly
// the bytes it was given: a second reading of one payload can then never
// differ from the first.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "htl/crypto.h"
#include "htl/messages.h"

namespace {

using namespace trustlink::htl;  // NOLINT: a fuzz target of this namespace

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto m = DecodeEstablishRequest(in); m.ok()) {
    Check(m->token.size() == kTokenLen && m->binding.size() == kMacLen);
    Check(EncodeEstablishRequest(*m) == in);
  }
  if (auto m = DecodeHeartbeatRequest(in); m.ok()) {
    Check(m->mac.size() == kMacLen);
    Check(EncodeHeartbeatRequest(*m) == in);
  }
  if (auto m = DecodeGrant(in); m.ok()) {
    Check(m->secret.size() == kSecretLen && m->generation != 0);
    Check(EncodeGrant(*m) == in);
  }
  if (auto m = DecodeLinkProof(in); m.ok()) {
    Check(m->mac.size() == kMacLen);
    Check(EncodeLinkProof(*m) == in);
  }
  return 0;
}
