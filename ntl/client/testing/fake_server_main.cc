// fake_server_main: runs a FakeServer for shell tests of programs built on the
// C ABI.
//
//   fake_server_main CERT KEY PARTITION...
//
// It prints "PORT <n>" once listening, then serves until its stdin closes.
#include <cstdio>
#include <string>
#include <vector>

#include "ntl/client/testing/fake_server.h"

int main(int argc, char** argv) {
  using trustlink::ntl::client::testing::FakeServer;
  using trustlink::ntl::client::testing::FakeServerOptions;
  using trustlink::ntl::client::testing::ReadTestFile;
  if (argc < 3) {
    std::fprintf(stderr, "usage: fake_server_main CERT KEY PARTITION...\n");
    return 2;
  }
  FakeServerOptions o;
  o.cert_pem = ReadTestFile(argv[1]);
  o.key_pem = ReadTestFile(argv[2]);
  for (int i = 3; i < argc; ++i) {
    o.slots.push_back(
        {argv[i], std::string("label ") + argv[i], std::to_string(1000 + i)});
  }
  auto server = FakeServer::Start(std::move(o));
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  std::printf("PORT %u\n", (*server)->port());
  std::fflush(stdout);
  while (std::getchar() != EOF) {
  }
  return 0;
}
