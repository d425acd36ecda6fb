// pin_probe: runs Verify against one server given on the command line and
// prints
// "<TL_E_name> <message>". For shell tests against foreign peers (openssl
// s_server).
//
//   pin_probe HOST PORT PINNED_CERT_PEM CLIENT_CERT_PEM CLIENT_KEY_PEM
//   [TIMEOUT_MS]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "ntl/client/pin.h"
#include "ntl/client/verify.h"

namespace {

std::string Slurp(const char* path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  using trustlink::ntl::client::ClientSettings;
  using trustlink::ntl::client::ServerSettings;
  if (argc != 6 && argc != 7) {
    std::fprintf(
        stderr,
        "usage: pin_probe HOST PORT PINNED_CERT CLIENT_CERT CLIENT_KEY\n");
    return 2;
  }
  ServerSettings server;
  server.name = "probe";
  server.host = argv[1];
  server.port = static_cast<uint16_t>(std::atoi(argv[2]));
  auto der = trustlink::ntl::client::CertPemToDer(Slurp(argv[3]), argv[3]);
  if (!der.ok()) {
    std::fprintf(stderr, "%s\n", std::string(der.status().message()).c_str());
    return 2;
  }
  server.pinned_cert_der = *der;
  ClientSettings settings;
  settings.servers.push_back(server);
  settings.client_cert_pem = Slurp(argv[4]);
  settings.client_key_pem = Slurp(argv[5]);
  auto results = trustlink::ntl::client::Verify(
      settings, absl::Milliseconds(argc == 7 ? std::atoi(argv[6]) : 10000));
  if (!results.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(results.status().message()).c_str());
    return 2;
  }
  const auto& r = (*results)[0];
  std::printf("%d %s\n", r.code, r.message.c_str());
  return r.code == 0 ? 0 : 1;
}
