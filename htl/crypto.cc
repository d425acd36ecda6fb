#include "htl/crypto.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "ntl/status.h"
#include "ntl/wire/bytes.h"

namespace trustlink::htl {

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<uint8_t*>(out.data()), n);
  return out;
}

std::string Sha256(absl::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(),
         reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), key.size(),
       reinterpret_cast<const uint8_t*>(data.data()), data.size(),
       reinterpret_cast<uint8_t*>(out.data()), &len);
  out.resize(len);
  return out;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string HexEncode(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

absl::StatusOr<std::string> HexDecode(absl::string_view hex,
                                      absl::string_view what) {
  if (hex.size() % 2 != 0) {
    return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_PARSE,
                      std::string(what) + " is not valid hex (odd length)");
  }
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]);
    const int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return ntl::Error(absl::StatusCode::kInvalidArgument, TL_E_PARSE,
                        std::string(what) + " is not valid hex");
    }
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

std::string ComputeProof(ProofPurpose purpose, absl::string_view key,
                         uint64_t generation, absl::string_view exporter) {
  absl::string_view label;
  switch (purpose) {
    case ProofPurpose::kEstablish:
      label = "trustlink-htl establish v1";
      break;
    case ProofPurpose::kHeartbeat:
      label = "trustlink-htl heartbeat v1";
      break;
    case ProofPurpose::kLinkProof:
      label = "trustlink-htl link-proof v1";
      break;
  }
  std::string data;
  ntl::wire::ByteWriter w(&data);
  w.String(label);
  w.U64(generation);
  w.String(exporter);
  return HmacSha256(key, data);
}

}  // namespace trustlink::htl
