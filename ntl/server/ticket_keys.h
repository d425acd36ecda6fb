#ifndef TRUSTLINK_NTL_SERVER_TICKET_KEYS_H_
#define TRUSTLINK_NTL_SERVER_TICKET_KEYS_H_

// TLS 1.3 session tickets for the NTLS server, sealed with our own rotating
// AES-256-GCM keys instead of BoringSSL's default ring, for three reasons:
//  - each server certificate gets its own keys, derived from the server's
//    master keys (ticket_key_ring.h) and the certificate's fingerprint, so a
//    ticket can never resume under a newer certificate, and with the session
//    timeout capped at the certificate's notAfter a ticket never outlives the
//    certificate it was issued for;
//  - the master keys can outlive the process (the appliance root's
//    server/ticketKeys), so clients resume after ntlsd restarts;
//  - opening a ticket runs admission on the session's client certificate, so a
//    de-registered client's ticket is ignored and the resulting full handshake
//    ends in a proper TLS alert (BoringSSL cannot send an alert after a
//    completed handshake).

#include <openssl/aead.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/ticket_key_ring.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::server {

// TicketKeys seals and opens one certificate's tickets with the ring's current
// and previous keys, so a ticket lives at most two rotation intervals.
// Thread safety: safe to use from many loop threads at once.
class TicketKeys {
 public:
  // Filter decides whether a decrypted session may resume; false means full
  // handshake.
  using Filter = std::function<bool(SSL* ssl, const SSL_SESSION* session)>;

  // `ring` is shared by every certificate's TicketKeys; `fingerprint` (the
  // server certificate's) separates this certificate's keys from the others'.
  TicketKeys(std::shared_ptr<internal_engine::TicketKeyRing> ring,
             std::string fingerprint, Filter filter);
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  // Install makes `ctx` seal and open tickets with this ring. The ring must
  // outlive `ctx`.
  void Install(SSL_CTX* ctx);

  // RotateNowForTest forces a rotation of the shared ring.
  void RotateNowForTest();

 private:
  // Key is a master key's id and this certificate's key derived from it.
  struct Key {
    uint32_t id = 0;
    uint8_t bytes[32] = {};
  };
  static const SSL_TICKET_AEAD_METHOD* Method();
  static size_t MaxOverhead(SSL* ssl);
  static int Seal(SSL* ssl, uint8_t* out, size_t* out_len, size_t max_out_len,
                  const uint8_t* in, size_t in_len);
  static ssl_ticket_aead_result_t Open(SSL* ssl, uint8_t* out, size_t* out_len,
                                       size_t max_out_len, const uint8_t* in,
                                       size_t in_len);
  static TicketKeys* From(SSL* ssl);
  // Derive returns this certificate's key for `master`, from a two-entry
  // cache (HKDF costs two HMACs; a handshake seals and opens many tickets).
  Key Derive(const internal_engine::TicketKey& master);

  const std::shared_ptr<internal_engine::TicketKeyRing> ring_;
  const std::string fingerprint_;
  const Filter filter_;
  internal::Mutex mu_;
  Key cache_[2] ABSL_GUARDED_BY(mu_);
  bool cache_valid_[2] ABSL_GUARDED_BY(mu_) = {false, false};
  size_t cache_next_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_TICKET_KEYS_H_
