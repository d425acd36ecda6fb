#ifndef TRUSTLINK_NTL_SERVER_TICKET_KEYS_H_
#define TRUSTLINK_NTL_SERVER_TICKET_KEYS_H_

// TLS 1.3 session tickets for the NTLS server, sealed with our own rotating
// AES-256-GCM keys instead of BoringSSL's default ring, for two reasons:
//  - each server certificate gets its own ring, so a ticket can never resume
//  under a
//    newer certificate, and with the session timeout capped at the
//    certificate's notAfter a ticket never outlives the certificate it was
//    issued for;
//  - opening a ticket runs admission on the session's client certificate, so a
//    de-registered client's ticket is ignored and the resulting full handshake
//    ends in a proper TLS alert (BoringSSL cannot send an alert after a
//    completed handshake).

#include <openssl/aead.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <functional>

#include "absl/time/time.h"
#include "ntl/internal/mutex.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::server {

// TicketKeys seals and opens tickets with a current and a previous key; the
// current key is replaced every `rotation`, so a ticket lives at most two
// rotation intervals. Thread safety: safe to use from many loop threads at
// once.
class TicketKeys {
 public:
  // Filter decides whether a decrypted session may resume; false means full
  // handshake.
  using Filter = std::function<bool(SSL* ssl, const SSL_SESSION* session)>;

  TicketKeys(absl::Duration rotation, Filter filter);
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  // Install makes `ctx` seal and open tickets with this ring. The ring must
  // outlive `ctx`.
  void Install(SSL_CTX* ctx);

  // RotateNowForTest forces a rotation.
  void RotateNowForTest();

 private:
  struct Key {
    uint32_t id = 0;
    uint8_t bytes[32] = {};
    absl::Time created = absl::InfinitePast();
    bool valid = false;
  };
  static const SSL_TICKET_AEAD_METHOD* Method();
  static size_t MaxOverhead(SSL* ssl);
  static int Seal(SSL* ssl, uint8_t* out, size_t* out_len, size_t max_out_len,
                  const uint8_t* in, size_t in_len);
  static ssl_ticket_aead_result_t Open(SSL* ssl, uint8_t* out, size_t* out_len,
                                       size_t max_out_len, const uint8_t* in,
                                       size_t in_len);
  static TicketKeys* From(SSL* ssl);
  void RotateLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration rotation_;
  const Filter filter_;
  internal::Mutex mu_;
  Key current_ ABSL_GUARDED_BY(mu_);
  Key previous_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_TICKET_KEYS_H_
