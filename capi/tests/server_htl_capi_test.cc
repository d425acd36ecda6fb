// tl_server_enable_htl: the NTLS server serves the HTL from <root>/htl/.
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/messages.h"
#include "trustlink/trustlink.h"

namespace {

using trustlink::capi::testing::ReadFixture;

std::string LastError(const tl_server* s) {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  buf[0] = '\0';
  tl_server_last_error(s, buf, sizeof(buf), &len);
  return buf;
}

TEST(ServerHtlCapiTest, EnableHtlServesHtlClientsFromTheRoot) {
  std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/srvhtl.XXXXXX";
  ASSERT_NE(mkdtemp(&tmpl[0]), nullptr);
  const std::string root = tmpl;

  tl_server_options* opts = nullptr;
  ASSERT_EQ(tl_server_options_new(&opts), TL_OK);
  const std::string cert = ReadFixture("client_ed25519.cert.pem");
  ASSERT_EQ(tl_server_options_set_certificate(
                opts, ReadFixture("server_ed25519.cert.pem").c_str(),
                ReadFixture("server_ed25519.key.pem").c_str()),
            TL_OK);
  ASSERT_EQ(tl_server_options_set_listen(opts, "127.0.0.1", 0), TL_OK);
  ASSERT_EQ(tl_server_options_set_threads(opts, 1), TL_OK);
  ASSERT_EQ(tl_server_options_add_client(opts, "web1", cert.c_str(),
                                         "127.0.0.1", /*require_htl=*/1),
            TL_OK);
  tl_server* server = nullptr;
  ASSERT_EQ(tl_server_new(opts, &server), TL_OK);
  tl_server_options_free(opts);

  // No registry root: the HTL root must be given.
  EXPECT_EQ(tl_server_enable_htl(server, nullptr), TL_E_INVALID_ARGUMENT);
  EXPECT_NE(LastError(server).find("root"), std::string::npos);
  ASSERT_EQ(tl_server_enable_htl(server, root.c_str()), TL_OK)
      << LastError(server);
  struct stat st;
  EXPECT_EQ(stat((root + "/htl/boot").c_str(), &st), 0)
      << "the HTL state is opened as the serving daemon";
  EXPECT_EQ(tl_server_enable_htl(server, root.c_str()),
            TL_E_FAILED_PRECONDITION);
  ASSERT_EQ(tl_server_start(server), TL_OK);
  uint16_t port = 0;
  ASSERT_EQ(tl_server_port(server, &port), TL_OK);

  // With HTL on, the htl/1 link of a requirehtl client is served: an
  // establish with a junk token is refused by the HTL state, not the server.
  trustlink::ntl::server::testing::TestClientOptions o;
  o.cert_pem = cert;
  o.key_pem = ReadFixture("client_ed25519.key.pem");
  o.alpn = "htl/1";
  auto link = trustlink::ntl::server::testing::TestClient::Connect(port, o);
  ASSERT_TRUE(link.ok()) << link.status();
  // u32-length-prefixed token and binding (htl/messages.h), both junk.
  std::string junk(std::string("\0\0\0\x20", 4));
  junk.append(32, 'x');
  junk.append(std::string("\0\0\0\x20", 4));
  junk.append(32, 'y');
  auto r = (*link)->Call("", 1, junk);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->first, TL_E_OTT_INVALID) << r->second;

  EXPECT_EQ(tl_server_stop(server, 1000), TL_OK);
  tl_server_free(server);
}

}  // namespace
