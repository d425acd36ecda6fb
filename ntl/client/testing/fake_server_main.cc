// fake_server_main: runs a FakeServer for shell tests of programs built on the
// C ABI.
//
//   fake_server_main CERT KEY [-htl APPLIANCE_ROOT] PARTITION...
//
// It prints "PORT <n>" once listening, then serves until its stdin closes.
// With -htl it also serves htl/1 into an htl::Appliance kept in
// APPLIANCE_ROOT, writes a fresh one-time token for its client ("client.test")
// to APPLIANCE_ROOT/client.test.ott before printing the port, and answers each
// "show" line on stdin with "HTL <status> OTT <status> GEN <generation>".
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "htl/appliance.h"
#include "htl/ott.h"
#include "ntl/client/testing/fake_server.h"

int main(int argc, char** argv) {
  using trustlink::ntl::client::testing::FakeServer;
  using trustlink::ntl::client::testing::FakeServerOptions;
  using trustlink::ntl::client::testing::ReadTestFile;
  namespace htl = trustlink::htl;
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: fake_server_main CERT KEY [-htl APPLIANCE_ROOT] "
                 "PARTITION...\n");
    return 2;
  }
  FakeServerOptions o;
  o.cert_pem = ReadTestFile(argv[1]);
  o.key_pem = ReadTestFile(argv[2]);
  int first = 3;
  std::unique_ptr<htl::Appliance> appliance;
  if (argc > 4 && std::strcmp(argv[3], "-htl") == 0) {
    htl::Appliance::Options ao;
    ao.root = argv[4];
    ao.daemon = true;
    absl::StatusOr<std::unique_ptr<htl::Appliance>> a =
        htl::Appliance::Open(ao);
    if (!a.ok()) {
      std::fprintf(stderr, "%s\n", std::string(a.status().message()).c_str());
      return 1;
    }
    appliance = *std::move(a);
    absl::StatusOr<std::string> token =
        appliance->GenerateOtt(o.client_label, absl::nullopt);
    if (!token.ok()) {
      std::fprintf(stderr, "%s\n",
                   std::string(token.status().message()).c_str());
      return 1;
    }
    std::ofstream(std::string(argv[4]) + "/" + o.client_label + ".ott")
        << htl::FormatTokenFile(*token, o.client_label);
    o.htl_appliance = appliance.get();
    first = 5;
  }
  for (int i = first; i < argc; ++i) {
    o.slots.push_back(
        {argv[i], std::string("label ") + argv[i], std::to_string(1000 + i)});
  }
  const std::string client = o.client_label;
  auto server = FakeServer::Start(std::move(o));
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  std::printf("PORT %u\n", (*server)->port());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "show" && appliance != nullptr) {
      absl::StatusOr<htl::ClientView> v = appliance->Show(client);
      if (v.ok()) {
        std::printf("HTL %s OTT %s GEN %llu\n", htl::HtlStatusName(v->htl),
                    htl::OttStatusName(v->ott),
                    static_cast<unsigned long long>(v->generation));
        std::fflush(stdout);
      }
    }
  }
  (*server)->Stop();
  return 0;
}
