#include "ntl/server/ticket_keys.h"

#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/hkdf.h>
#include <openssl/rand.h>

#include <cstring>
#include <utility>

namespace trustlink::ntl::server {
namespace {

constexpr size_t kIdLen = 4;
constexpr size_t kNonceLen = 12;
constexpr size_t kTagLen = 16;

int CtxIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

TicketKeys::TicketKeys(std::shared_ptr<internal_engine::TicketKeyRing> ring,
                       std::string fingerprint, Filter filter)
    : ring_(std::move(ring)),
      fingerprint_(std::move(fingerprint)),
      filter_(std::move(filter)) {}

void TicketKeys::Install(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, CtxIndex(), this);
  SSL_CTX_set_ticket_aead_method(ctx, Method());
}

void TicketKeys::RotateNowForTest() { ring_->RotateNowForTest(); }

TicketKeys::Key TicketKeys::Derive(const internal_engine::TicketKey& master) {
  internal::MutexLock lock(&mu_);
  for (size_t i = 0; i < 2; ++i) {
    if (cache_valid_[i] && cache_[i].id == master.id) {
      return cache_[i];
    }
  }
  Key k;
  k.id = master.id;
  static constexpr char kLabel[] = "trustlink ticket key v1 ";
  std::string info(kLabel, sizeof(kLabel) - 1);
  info += fingerprint_;
  HKDF(k.bytes, sizeof(k.bytes), EVP_sha256(), master.bytes.data(),
       master.bytes.size(), nullptr, 0,
       reinterpret_cast<const uint8_t*>(info.data()), info.size());
  cache_[cache_next_] = k;
  cache_valid_[cache_next_] = true;
  cache_next_ = (cache_next_ + 1) % 2;
  return k;
}

TicketKeys* TicketKeys::From(SSL* ssl) {
  return static_cast<TicketKeys*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), CtxIndex()));
}

size_t TicketKeys::MaxOverhead(SSL*) { return kIdLen + kNonceLen + kTagLen; }

int TicketKeys::Seal(SSL* ssl, uint8_t* out, size_t* out_len,
                     size_t max_out_len, const uint8_t* in, size_t in_len) {
  TicketKeys* self = From(ssl);
  if (self == nullptr || max_out_len < in_len + MaxOverhead(ssl)) {
    return 0;
  }
  const Key key = self->Derive(self->ring_->ForSealing(absl::Now()));
  // `in` and `out` may be the same buffer: move the plaintext out of the
  // prefix's way.
  uint8_t header[kIdLen + kNonceLen];
  std::memcpy(header, &key.id, kIdLen);
  RAND_bytes(header + kIdLen, kNonceLen);
  bssl::ScopedEVP_AEAD_CTX aead;
  if (!EVP_AEAD_CTX_init(aead.get(), EVP_aead_aes_256_gcm(), key.bytes,
                         sizeof(key.bytes), kTagLen, nullptr)) {
    return 0;
  }
  std::memmove(out + sizeof(header), in, in_len);
  std::memcpy(out, header, sizeof(header));
  size_t sealed = 0;
  if (!EVP_AEAD_CTX_seal(aead.get(), out + sizeof(header), &sealed,
                         max_out_len - sizeof(header), header + kIdLen,
                         kNonceLen, out + sizeof(header), in_len, header,
                         kIdLen)) {
    return 0;
  }
  *out_len = sizeof(header) + sealed;
  return 1;
}

ssl_ticket_aead_result_t TicketKeys::Open(SSL* ssl, uint8_t* out,
                                          size_t* out_len, size_t max_out_len,
                                          const uint8_t* in, size_t in_len) {
  TicketKeys* self = From(ssl);
  if (self == nullptr || in_len < kIdLen + kNonceLen + kTagLen) {
    return ssl_ticket_aead_ignore_ticket;
  }
  uint32_t id;
  std::memcpy(&id, in, kIdLen);
  const std::optional<internal_engine::TicketKey> master =
      self->ring_->ForOpening(id, absl::Now());
  if (!master) {
    return ssl_ticket_aead_ignore_ticket;
  }
  const Key key = self->Derive(*master);
  bssl::ScopedEVP_AEAD_CTX aead;
  if (!EVP_AEAD_CTX_init(aead.get(), EVP_aead_aes_256_gcm(), key.bytes,
                         sizeof(key.bytes), kTagLen, nullptr)) {
    return ssl_ticket_aead_ignore_ticket;
  }
  size_t opened = 0;
  if (!EVP_AEAD_CTX_open(aead.get(), out, &opened, max_out_len, in + kIdLen,
                         kNonceLen, in + kIdLen + kNonceLen,
                         in_len - kIdLen - kNonceLen, in, kIdLen)) {
    ERR_clear_error();
    return ssl_ticket_aead_ignore_ticket;
  }
  if (self->filter_) {
    bssl::UniquePtr<SSL_SESSION> session(
        SSL_SESSION_from_bytes(out, opened, SSL_get_SSL_CTX(ssl)));
    if (!session || !self->filter_(ssl, session.get())) {
      ERR_clear_error();
      return ssl_ticket_aead_ignore_ticket;
    }
  }
  *out_len = opened;
  return ssl_ticket_aead_success;
}

const SSL_TICKET_AEAD_METHOD* TicketKeys::Method() {
  static const SSL_TICKET_AEAD_METHOD method = {
      &TicketKeys::MaxOverhead, &TicketKeys::Seal, &TicketKeys::Open};
  return &method;
}

}  // namespace trustlink::ntl::server
