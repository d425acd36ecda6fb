#include "benchmarks/peers/handshake_load.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <string.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "benchmarks/peers/dial.h"
#include "benchmarks/peers/framing.h"
#include "ntl/tls/policy.h"
#include "ntl/wire/frame.h"
#include "ntl/wire/messages.h"

namespace trustlink::peers {
namespace {

namespace wire = ntl::wire;

// The pinned server certificate (DER); the program runs one target at a time.
std::string g_pin_der;

enum ssl_verify_result_t VerifyPin(SSL* ssl, uint8_t* alert) {
  const STACK_OF(CRYPTO_BUFFER)* chain = SSL_get0_peer_certificates(ssl);
  const CRYPTO_BUFFER* leaf =
      chain != nullptr ? sk_CRYPTO_BUFFER_value(chain, 0) : nullptr;
  if (leaf != nullptr && CRYPTO_BUFFER_len(leaf) == g_pin_der.size() &&
      memcmp(CRYPTO_BUFFER_data(leaf), g_pin_der.data(), g_pin_der.size()) ==
          0) {
    return ssl_verify_ok;
  }
  *alert = SSL_AD_BAD_CERTIFICATE;
  return ssl_verify_invalid;
}

int KeepSession(SSL* ssl, SSL_SESSION* session) {
  auto* slot =
      static_cast<bssl::UniquePtr<SSL_SESSION>*>(SSL_get_app_data(ssl));
  if (slot == nullptr) {
    return 0;
  }
  slot->reset(session);
  return 1;  // we own it now
}

bssl::UniquePtr<SSL_CTX> ClientContext(const TlsTarget& t, std::string* error) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  bssl::UniquePtr<BIO> pin(BIO_new_file(t.pin_file.c_str(), "r"));
  bssl::UniquePtr<X509> pin_cert(
      pin ? PEM_read_bio_X509(pin.get(), nullptr, nullptr, nullptr) : nullptr);
  uint8_t* der = nullptr;
  const int der_len = pin_cert ? i2d_X509(pin_cert.get(), &der) : -1;
  if (der_len <= 0) {
    *error = absl::StrCat("cannot read the server certificate ", t.pin_file);
    return nullptr;
  }
  g_pin_der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(der_len));
  OPENSSL_free(der);
  if (!ntl::tls::ApplyLinkPolicy(ctx.get(), ntl::tls::Role::kClient).ok() ||
      !ntl::tls::OfferAlpn(ctx.get(), ntl::tls::kAlpnNtl).ok() ||
      SSL_CTX_use_certificate_file(ctx.get(), t.cert_file.c_str(),
                                   SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), t.key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1) {
    *error = absl::StrCat("cannot set up the TLS client with ", t.cert_file,
                          " and ", t.key_file);
    return nullptr;
  }
  SSL_CTX_set_custom_verify(ctx.get(), SSL_VERIFY_PEER, VerifyPin);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
  SSL_CTX_sess_set_new_cb(ctx.get(), KeepSession);
  return ctx;
}

bool WriteAll(SSL* ssl, const std::string& bytes) {
  return SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size())) ==
         static_cast<int>(bytes.size());
}

// ReadFrame reads until one whole frame has arrived.
bool ReadFrame(SSL* ssl, FrameBuffer* in, wire::FrameView* f,
               std::string* error) {
  absl::Status st;
  while (!in->Next(f, &st)) {
    if (!st.ok()) {
      *error = std::string(st.message());
      return false;
    }
    const int n = SSL_read(ssl, in->Space(4096), 4096);
    if (n <= 0) {
      *error = "the server closed the connection before answering";
      return false;
    }
    in->Commit(static_cast<size_t>(n));
  }
  return true;
}

bool RoundTrip(SSL* ssl, Exchange exchange, std::string* error) {
  FrameBuffer in;
  wire::FrameView f;
  std::string out;
  switch (exchange) {
    case Exchange::kNtlHello: {
      wire::Hello h;
      h.software = "peer_load";
      wire::AppendFrame(wire::FrameType::kHello, 0, 0, wire::EncodeHello(h),
                        &out);
      if (!WriteAll(ssl, out) || !ReadFrame(ssl, &in, &f, error)) {
        return false;
      }
      if (f.type != wire::FrameType::kWelcome) {
        *error = absl::StrCat("ntlsd answered hello with ",
                              wire::FrameTypeName(f.type), ", not welcome");
        return false;
      }
      return true;
    }
    case Exchange::kEcho: {
      AppendEchoRequest(1, std::string(64, 'x'), &out);
      return WriteAll(ssl, out) && ReadFrame(ssl, &in, &f, error) &&
             EchoResponseLength(f, error) == 64;
    }
    case Exchange::kLine: {
      char buf[16];
      size_t got = 0;
      if (!WriteAll(ssl, "ping\n")) {
        return false;
      }
      while (got < 5) {
        const int n =
            SSL_read(ssl, buf + got, static_cast<int>(sizeof(buf) - got));
        if (n <= 0) {
          *error = "s_server closed the connection before answering";
          return false;
        }
        got += static_cast<size_t>(n);
      }
      if (memcmp(buf, "gnip\n", 5) != 0) {
        *error = "s_server -rev did not answer the line reversed";
        return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace

Result Handshakes(const TlsTarget& t, bool resume, const Work& w,
                  std::string* cipher) {
  std::string error;
  bssl::UniquePtr<SSL_CTX> ctx = ClientContext(t, &error);
  if (!ctx) {
    return Result::Fail(error);
  }
  bssl::UniquePtr<SSL_SESSION> session;
  int64_t n = 0, resumed = 0;
  Clock::time_point start = Clock::now();
  double elapsed = 0;
  // With `resume`, a first full handshake (not counted) provides the ticket.
  bool warmup = resume;
  while (warmup || (elapsed = SecondsSince(start)) < w.seconds) {
    const int fd = DialLoopback(t.port, false, &error);
    if (fd < 0) {
      return Result::Fail(error);
    }
    bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
    bssl::UniquePtr<SSL_SESSION> next;
    SSL_set_app_data(ssl.get(), resume ? &next : nullptr);
    SSL_set_fd(ssl.get(), fd);
    if (resume && session) {
      SSL_set_session(ssl.get(), session.get());
    }
    bool ok = SSL_connect(ssl.get()) == 1;
    if (!ok) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
      error = absl::StrCat("TLS handshake with 127.0.0.1:", t.port, ": ", buf);
    }
    ok = ok && RoundTrip(ssl.get(), t.exchange, &error);
    if (ok && cipher->empty()) {
      *cipher = absl::StrCat(
          SSL_get_version(ssl.get()), " ",
          SSL_CIPHER_standard_name(SSL_get_current_cipher(ssl.get())));
    }
    resumed += (!warmup && SSL_session_reused(ssl.get())) ? 1 : 0;
    if (ok) {
      // close_notify, not a bare close: every server then sees a clean end,
      // and none spends time logging a truncated connection.
      SSL_shutdown(ssl.get());
    }
    ssl.reset();
    close(fd);
    if (!ok) {
      return Result::Fail(error.empty() ? "the round trip failed" : error);
    }
    if (resume && next) {
      session = std::move(next);
    }
    if (warmup) {
      warmup = false;
      start = Clock::now();
    } else {
      ++n;
    }
  }
  if (resume && resumed * 10 < n * 9) {
    return Result::Fail(absl::StrCat("the server resumed only ", resumed,
                                     " of ", n, " handshakes"));
  }
  return Result::Of(static_cast<double>(n) / elapsed);
}

}  // namespace trustlink::peers
