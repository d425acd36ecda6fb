#include "ntl/server/admission.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace trustlink::ntl::server {

std::string CanonicalIp(absl::string_view ip) {
  std::string text(ip);
  char buf[INET6_ADDRSTRLEN];
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return inet_ntop(AF_INET, &v4, buf, sizeof(buf)) ? std::string(buf) : "";
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      std::memcpy(&v4, &v6.s6_addr[12], 4);
      return inet_ntop(AF_INET, &v4, buf, sizeof(buf)) ? std::string(buf) : "";
    }
    return inet_ntop(AF_INET6, &v6, buf, sizeof(buf)) ? std::string(buf) : "";
  }
  return "";
}

bool NeedsResolution(const DirectorySnapshot& snapshot,
                     const ClientRecord& record) {
  return snapshot.ipcheck() && record.allowed_ips.empty() &&
         !record.resolve_hostname.empty();
}

Admission Admit(const DirectorySnapshot& snapshot,
                absl::string_view fingerprint, absl::string_view peer_ip,
                const Resolution* resolved) {
  Admission a;
  a.record = snapshot.FindByFingerprint(fingerprint);
  if (a.record == nullptr) {
    a.alert = SSL_AD_CERTIFICATE_UNKNOWN;
    a.code = TL_E_NOT_REGISTERED;
    a.rule = "registered";
    a.message = absl::StrCat(
        "certificate ", fingerprint,
        " is not registered; register it (tl_registry_register_client)");
    return a;
  }
  if (snapshot.ipcheck()) {
    const ClientRecord& rec = *a.record;
    const bool by_name = NeedsResolution(snapshot, rec);
    if (by_name && (resolved == nullptr || !resolved->status.ok())) {
      a.alert = SSL_AD_ACCESS_DENIED;
      a.code = TL_E_IP_MISMATCH;
      a.rule = "dns";
      a.message = absl::StrCat(
          "client '", rec.label, "' is registered by hostname '",
          rec.resolve_hostname, "' and ipcheck is on, but the DNS lookup of '",
          rec.resolve_hostname, "' failed: ",
          resolved == nullptr ? std::string("no answer yet")
                              : std::string(resolved->status.message()),
          "; fix DNS for the name, or map its addresses "
          "(tl_registry_map_host_ip) for client '",
          rec.label, "' so no lookup is needed");
      return a;
    }
    const std::vector<std::string>& allowed =
        by_name ? resolved->addresses : rec.allowed_ips;
    const std::string peer = CanonicalIp(peer_ip);
    bool match = false;
    for (const std::string& ip : allowed) {
      if (!peer.empty() && CanonicalIp(ip) == peer) {
        match = true;
        break;
      }
    }
    if (!match) {
      const std::string listed = allowed.empty() ? std::string("no address")
                                                 : absl::StrJoin(allowed, ", ");
      a.alert = SSL_AD_ACCESS_DENIED;
      a.code = TL_E_IP_MISMATCH;
      a.rule = "ipcheck";
      a.message = absl::StrCat(
          "client '", rec.label, "' is registered for ",
          by_name ? absl::StrCat("hostname '", rec.resolve_hostname,
                                 "' (resolves to ", listed, ")")
                  : listed,
          " but connected from ", peer_ip,
          " (ipcheck is on; fix the registration or map the "
          "host name's addresses (tl_registry_map_host_ip))");
      return a;
    }
  }
  a.admitted = true;
  a.rule = "admitted";
  return a;
}

Admission AdmitCertificate(const DirectorySnapshot& snapshot,
                           absl::string_view fingerprint,
                           absl::string_view leaf_der,
                           absl::string_view peer_ip, absl::Time now,
                           const Resolution* resolved,
                           ValidityCache* validity) {
  Admission a = Admit(snapshot, fingerprint, peer_ip, resolved);
  if (!a.admitted) {
    return a;
  }
  auto refuse = [&](int alert, tl_status code, std::string message) {
    a.admitted = false;
    a.alert = alert;
    a.code = code;
    a.rule = "validity";
    a.message = std::move(message);
    return a;
  };
  const std::string fix =
      "; make a new one on the client (tl_client_root_create_cert) and "
      "replace it on the appliance (tl_registry_replace_certificate, client ";
  ValidityCache scratch;
  absl::StatusOr<Validity> cert =
      (validity != nullptr ? validity : &scratch)->Get(fingerprint, leaf_der);
  if (!cert.ok()) {
    return refuse(
        SSL_AD_BAD_CERTIFICATE, TL_E_CERT_INVALID,
        absl::StrCat("client '", a.record->label,
                     "' presented a certificate that cannot be "
                     "parsed (",
                     cert.status().message(), ")", fix, a.record->label, ")"));
  }
  if (now > cert->not_after) {
    return refuse(
        SSL_AD_CERTIFICATE_EXPIRED, TL_E_CERT_EXPIRED,
        absl::StrCat("client '", a.record->label, "' certificate expired at ",
                     absl::FormatTime(cert->not_after, absl::UTCTimeZone()),
                     fix, a.record->label, ")"));
  }
  if (now < cert->not_before) {
    return refuse(
        SSL_AD_CERTIFICATE_EXPIRED, TL_E_CERT_INVALID,
        absl::StrCat("client '", a.record->label,
                     "' certificate is not valid before ",
                     absl::FormatTime(cert->not_before, absl::UTCTimeZone()),
                     " (check the clocks of the client and the appliance)"));
  }
  return a;
}

}  // namespace trustlink::ntl::server
