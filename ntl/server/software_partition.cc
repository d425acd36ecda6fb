#include "ntl/server/software_partition.h"

#include <openssl/digest.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/wire/bytes.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server {
namespace {

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned out_len = 0;
  HMAC(EVP_sha256(), key.data(), key.size(),
       reinterpret_cast<const uint8_t*>(data.data()), data.size(), out,
       &out_len);
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

std::string RandomMaster() {
  std::string m(32, '\0');
  RAND_bytes(reinterpret_cast<uint8_t*>(&m[0]), m.size());
  return m;
}

}  // namespace

SoftwarePartitionHandler::SoftwarePartitionHandler()
    : SoftwarePartitionHandler(RandomMaster()) {}

SoftwarePartitionHandler::SoftwarePartitionHandler(std::string master_secret)
    : master_(std::move(master_secret)) {}

std::string SoftwarePartitionHandler::PartitionKey(
    absl::string_view partition) const {
  std::string label("trustlink partition key",
                    sizeof("trustlink partition key"));
  label.append(partition.data(), partition.size());
  return HmacSha256(master_, label);
}

void SoftwarePartitionHandler::HandleRequest(
    const CallContext& ctx, uint32_t op, absl::string_view data,
    std::unique_ptr<Responder> responder) {
  switch (op) {
    case kOpEcho:
      responder->RespondBytes(TL_OK, data);
      return;
    case kOpRandom: {
      wire::ByteReader r(data);
      const uint32_t n = r.U32();
      if (!r.Done() || n > kMaxRandomBytes) {
        responder->Respond(
            TL_E_INVALID_ARGUMENT,
            absl::StrCat("random: the request is a big-endian u32 count of "
                         "at most ",
                         kMaxRandomBytes, " bytes"));
        return;
      }
      std::string out(n, '\0');
      RAND_bytes(reinterpret_cast<uint8_t*>(&out[0]), n);
      responder->Respond(TL_OK, std::move(out));
      return;
    }
    case kOpSha256: {
      uint8_t digest[SHA256_DIGEST_LENGTH];
      SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(),
             digest);
      responder->RespondBytes(
          TL_OK,
          absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest)));
      return;
    }
    case kOpHmacSha256:
      responder->Respond(TL_OK, HmacSha256(PartitionKey(ctx.partition), data));
      return;
    default:
      responder->Respond(
          TL_E_UNIMPLEMENTED,
          absl::StrCat("partition '", ctx.partition, "' has no operation ", op,
                       "; the software partition knows 1 echo, 2 random, "
                       "3 sha256, 4 hmac-sha256"));
  }
}

}  // namespace trustlink::ntl::server
