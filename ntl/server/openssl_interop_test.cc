// Interop with a peer nobody here wrote: `openssl s_client` (OpenSSL 3) against
// the server.
#include <openssl/pem.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/server/server.h"
#include "ntl/server/software_partition.h"
#include "ntl/wire/messages.h"

namespace trustlink::ntl::server {
namespace {

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class OpensslInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = getenv("TEST_TMPDIR");
    auto dir = std::make_shared<InMemoryDirectory>();
    const std::string pem = Read("testdata/tls/client_ed25519.cert.pem");
    bssl::UniquePtr<BIO> b2(BIO_new_mem_buf(pem.data(), pem.size()));
    bssl::UniquePtr<X509> x(
        PEM_read_bio_X509(b2.get(), nullptr, nullptr, nullptr));
    ClientRecord r;
    r.label = "interop-client";
    r.fingerprint = CertificateFingerprint(x.get());
    r.allowed_ips = {"127.0.0.1"};
    r.partitions = {{"p1", "P1", "1"}};
    dir->Put(r);
    auto cred =
        ServerCredential::FromPem(Read("testdata/tls/server_ed25519.cert.pem"),
                                  Read("testdata/tls/server_ed25519.key.pem"));
    ASSERT_TRUE(cred.ok());
    ServerOptions o;
    o.listen_address = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    o.idle_timeout = absl::Seconds(1);  // ends the admitted s_client session
    auto s = Server::Create(o, dir, std::make_shared<StaticCredentials>(*cred));
    ASSERT_TRUE(s.ok());
    server_ = std::move(*s);
    server_->SetPartitionHandler(std::make_shared<SoftwarePartitionHandler>());
    ASSERT_TRUE(server_->Start().ok());
    wire::Hello h;
    h.software = "openssl-s_client";
    std::string frame;
    wire::AppendFrame(wire::FrameType::kHello, 0, 0, wire::EncodeHello(h),
                      &frame);
    std::ofstream(tmp_ + "/hello.bin", std::ios::binary) << frame;
  }

  // SClient runs s_client with `args`, returns its exit status and output.
  int SClient(const std::string& args, std::string* output) {
    const std::string out = tmp_ + "/s_client.out";
    const std::string cmd = absl::StrCat(
        "timeout 20 openssl s_client -connect 127.0.0.1:", server_->port(),
        " -alpn ntl/1 -ign_eof ", args, " < ", tmp_, "/hello.bin > ", out,
        " 2>&1");
    const int rc = std::system(cmd.c_str());
    *output = Read(out);
    return rc;
  }

  std::string tmp_;
  std::unique_ptr<Server> server_;
};

TEST_F(OpensslInteropTest, RegisteredClientCompletesHandshakeAndGetsWelcome) {
  std::string out;
  SClient(
      "-cert testdata/tls/client_ed25519.cert.pem -key "
      "testdata/tls/client_ed25519.key.pem",
      &out);
  EXPECT_TRUE(absl::StrContains(out, "ALPN protocol: ntl/1")) << out;
  EXPECT_TRUE(absl::StrContains(out, "interop-client"))
      << out;  // inside the welcome frame
}

TEST_F(OpensslInteropTest, UnregisteredClientIsRefused) {
  std::string out;
  const int rc = SClient(
      "-cert testdata/tls/client_p256.cert.pem -key "
      "testdata/tls/client_p256.key.pem",
      &out);
  EXPECT_NE(rc, 0);
  EXPECT_TRUE(absl::StrContains(out, "certificate unknown")) << out;
  EXPECT_FALSE(absl::StrContains(out, "interop-client"));
}

TEST_F(OpensslInteropTest, ClientWithoutCertificateIsRefused) {
  std::string out;
  const int rc = SClient("", &out);
  EXPECT_NE(rc, 0);
  EXPECT_TRUE(absl::StrContains(out, "certificate required")) << out;
  EXPECT_FALSE(absl::StrContains(out, "interop-client"));
}

}  // namespace
}  // namespace trustlink::ntl::server
