// Fuzz target: the control-socket protocol (docs/server.md, "Status and
// control socket") from both ends. ntlsd reads a request line from any local
// process that may connect; ntlsh reads ntlsd's answer, which carries client
// labels an admin typed. The request is the bytes before the first CR or LF,
// and a parsed answer never invents a client.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "examples/ntlsd/control_socket.h"
#include "examples/ntlsh/ntlsd_status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::string request = ntlsd::ControlSocket::RequestLine(
      in.substr(0, ntlsd::ControlSocket::kMaxRequest));
  if (request.find_first_of("\r\n") != std::string::npos ||
      in.compare(0, request.size(), request) != 0) {
    std::abort();
  }
  ntlsh::NtlsdStatus status;
  std::string error;
  if (ntlsh::ParseNtlsdReply(in, &status, &error)) {
    size_t client_lines = 0;
    for (size_t at = 0; (at = in.find("client", at)) != std::string::npos;
         ++at) {
      ++client_lines;
    }
    if (status.clients.size() > client_lines || !error.empty()) std::abort();
  } else if (error.empty()) {
    std::abort();
  }
  return 0;
}
