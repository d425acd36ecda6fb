#include "ntl/server/admission.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

Admission Admit(const DirectorySnapshot& snapshot,
                absl::string_view fingerprint, absl::string_view peer_ip) {
  Admission a;
  a.record = snapshot.FindByFingerprint(fingerprint);
  if (a.record == nullptr) {
    a.alert = SSL_AD_CERTIFICATE_UNKNOWN;
    a.code = TL_E_NOT_REGISTERED;
    a.rule = "registered";
    a.message =
        absl::StrCat("certificate ", fingerprint,
                     " is not registered; register it with client register");
    return a;
  }
  if (snapshot.ipcheck()) {
    const std::string peer = CanonicalIp(peer_ip);
    bool match = false;
    for (const std::string& allowed : a.record->allowed_ips) {
      if (!peer.empty() && CanonicalIp(allowed) == peer) {
        match = true;
        break;
      }
    }
    if (!match) {
      a.alert = SSL_AD_ACCESS_DENIED;
      a.code = TL_E_IP_MISMATCH;
      a.rule = "ipcheck";
      a.message =
          absl::StrCat("client '", a.record->label, "' is registered for ",
                       a.record->allowed_ips.empty()
                           ? std::string("no address")
                           : absl::StrJoin(a.record->allowed_ips, ", "),
                       " but connected from ", peer_ip,
                       " (ipcheck is on; fix the registration or map the "
                       "hostname with client hostip)");
      return a;
    }
  }
  a.admitted = true;
  a.rule = "admitted";
  return a;
}

}  // namespace trustlink::ntl::server
