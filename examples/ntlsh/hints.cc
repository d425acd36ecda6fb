// ntlsh's command-line advice: see hints.h.
#include "examples/ntlsh/hints.h"

namespace ntlsh {
namespace {

bool StartsWith(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

std::string HintFor(const std::string& command, tl_status status) {
  switch (status) {
    case TL_E_OTT_USED:
    case TL_E_OTT_EXPIRED:
    case TL_E_OTT_INVALID:
    case TL_E_HTL_CLONE_DETECTED:
      return "htl generateOTT -client <label> makes a new one-time token";
    case TL_E_DATA_LOSS:
      return "htl clear -client <label> resets the client's HTL state";
    case TL_E_CERT_NAME_MISMATCH:
      return "add -force to register it anyway";
    case TL_E_ALREADY_EXISTS:
      if (command == "client register") {
        return "client list shows the registered clients; client "
               "replaceCertificate -client <label> -certificate <file> gives "
               "one a new certificate";
      }
      return "";
    case TL_E_FAILED_PRECONDITION:
      if (command == "partition delete") {
        return "client revokePartition first, or add -force";
      }
      return "";
    case TL_E_NOT_FOUND:
      if (StartsWith(command, "partition") ||
          command == "client assignPartition") {
        return "partition list shows the partitions; partition create makes "
               "one";
      }
      if ((StartsWith(command, "client") || StartsWith(command, "htl")) &&
          command != "client register") {
        return "client list shows the registered clients";
      }
      if (StartsWith(command, "sysconf") || StartsWith(command, "service") ||
          StartsWith(command, "ntls")) {
        return "sysconf regenCert makes the server certificate";
      }
      return "";
    case TL_E_CERT_INVALID:
    case TL_E_CERT_EXPIRED:
      if (StartsWith(command, "sysconf") || StartsWith(command, "service") ||
          StartsWith(command, "ntls")) {
        return "sysconf regenCert makes a new server certificate and key";
      }
      return "";
    default:
      return "";
  }
}

}  // namespace ntlsh
