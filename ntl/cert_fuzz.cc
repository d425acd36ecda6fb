// Fuzz target: Certificate::ParsePem and ParsePemList never crash on any input,
// and a certificate they accept round-trips through Pem().
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ntl/cert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<trustlink::ntl::Certificate> cert =
      trustlink::ntl::Certificate::ParsePem(text, "fuzz.pem");
  if (cert.ok()) {
    absl::StatusOr<trustlink::ntl::Certificate> again =
        trustlink::ntl::Certificate::ParsePem(cert->Pem(), "again");
    if (!again.ok() || again->Der() != cert->Der()) std::abort();
    (void)cert->Sha256Fingerprint();
    (void)cert->DnsNames();
    (void)cert->IpAddresses();
    (void)cert->NotAfter();
  }
  (void)trustlink::ntl::Certificate::ParsePemList(text, "fuzz.pem");
  return 0;
}
