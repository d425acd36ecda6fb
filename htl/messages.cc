#include "htl/messages.h"

#include "absl/strings/str_cat.h"
#include "htl/crypto.h"
#include "ntl/status.h"
#include "ntl/wire/bytes.h"

namespace trustlink::htl {
namespace {

using ntl::wire::ByteReader;
using ntl::wire::ByteWriter;

absl::Status Malformed(absl::string_view message) {
  return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_PROTOCOL,
                    absl::StrCat("malformed HTL ", message));
}

// Fixed reads a length-prefixed field that must be exactly `len` bytes.
bool Fixed(ByteReader& r, size_t len, std::string* out) {
  const absl::string_view s = r.String(len);
  if (!r.ok() || s.size() != len) return false;
  *out = std::string(s);
  return true;
}

}  // namespace

std::string EncodeEstablishRequest(const EstablishRequest& m) {
  std::string out;
  ByteWriter w(&out);
  w.String(m.token);
  w.String(m.binding);
  return out;
}

absl::StatusOr<EstablishRequest> DecodeEstablishRequest(
    absl::string_view payload) {
  ByteReader r(payload);
  EstablishRequest m;
  if (!Fixed(r, kTokenLen, &m.token) || !Fixed(r, kMacLen, &m.binding) ||
      !r.Done()) {
    return Malformed("establish request");
  }
  return m;
}

std::string EncodeHeartbeatRequest(const HeartbeatRequest& m) {
  std::string out;
  ByteWriter w(&out);
  w.U64(m.generation);
  w.String(m.mac);
  return out;
}

absl::StatusOr<HeartbeatRequest> DecodeHeartbeatRequest(
    absl::string_view payload) {
  ByteReader r(payload);
  HeartbeatRequest m;
  m.generation = r.U64();
  if (!Fixed(r, kMacLen, &m.mac) || !r.Done())
    return Malformed("heartbeat request");
  return m;
}

std::string EncodeGrant(const Grant& m) {
  std::string out;
  ByteWriter w(&out);
  w.U64(m.generation);
  w.String(m.secret);
  w.U32(m.heartbeat_interval_ms);
  return out;
}

absl::StatusOr<Grant> DecodeGrant(absl::string_view payload) {
  ByteReader r(payload);
  Grant m;
  m.generation = r.U64();
  if (!Fixed(r, kSecretLen, &m.secret)) return Malformed("grant");
  m.heartbeat_interval_ms = r.U32();
  if (!r.Done() || m.generation == 0) return Malformed("grant");
  return m;
}

std::string EncodeLinkProof(const LinkProof& m) {
  std::string out;
  ByteWriter w(&out);
  w.U64(m.generation);
  w.String(m.mac);
  return out;
}

absl::StatusOr<LinkProof> DecodeLinkProof(absl::string_view payload) {
  ByteReader r(payload);
  LinkProof m;
  m.generation = r.U64();
  if (!Fixed(r, kMacLen, &m.mac) || !r.Done()) return Malformed("link proof");
  return m;
}

}  // namespace trustlink::htl
