#ifndef TRUSTLINK_NTL_CLIENT_TESTING_HTL_WORLD_H_
#define TRUSTLINK_NTL_CLIENT_TESTING_HTL_WORLD_H_

// HtlWorld: the pieces of an HTL test over real TLS on loopback: an appliance's
// HTL state (htl::Appliance) behind a FakeServer that serves htl/1 and checks
// link proofs, a client root, and the client's settings for that server
// (marked htl). Tests add the agent with the connector they want to test.

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "htl/appliance.h"
#include "htl/ott.h"
#include "ntl/client/settings.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"

namespace trustlink::ntl::client::testing {

inline constexpr char kHtlServer[] = "hsm1";

class HtlWorld {
 public:
  // `name` keeps each test's files apart; `options` may set faults.
  explicit HtlWorld(const std::string& name,
                    FakeServerOptions options = ServerOptions()) {
    base_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
    std::system(("rm -rf '" + base_ + "'").c_str());
    client_root_ = base_ + "/client";
    EXPECT_EQ(std::system(("mkdir -p '" + client_root_ + "/htl' '" + base_ +
                           "/appliance'")
                              .c_str()),
              0);
    // sun_path holds 108 bytes and TEST_TMPDIR can be long. mkdtemp, not the
    // pid: tests run in PID namespaces, so concurrent runs share pids.
    char dir[] = "/tmp/tl-clihtl-XXXXXX";
    EXPECT_NE(mkdtemp(dir), nullptr);
    socket_dir_ = absl::StrCat(dir, "/", name);
    htl::Appliance::Options ao;
    ao.root = base_ + "/appliance";
    ao.daemon = true;
    absl::StatusOr<std::unique_ptr<htl::Appliance>> a =
        htl::Appliance::Open(ao);
    EXPECT_TRUE(a.ok()) << a.status();
    appliance_ = *std::move(a);
    appliance_->SetEventSink([this](const htl::HtlEvent& e) {
      if (e.kind == htl::HtlEvent::Kind::kAlert) {
        alarms_.fetch_add(1);
      }
    });
    options.htl_appliance = appliance_.get();
    options.slots = {{"p1", "label p1", "1001"}};
    client_label_ = options.client_label;
    absl::StatusOr<std::unique_ptr<FakeServer>> s =
        FakeServer::Start(std::move(options));
    EXPECT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
  }
  ~HtlWorld() {
    server_->Stop();
    std::system(
        ("rm -rf '" + socket_dir_.substr(0, socket_dir_.rfind('/')) + "'")
            .c_str());
  }

  // Settings: the client settings for the one HTL server, asking for proofs
  // on ProofSocket().
  ClientSettings Settings() const {
    ClientSettings s = testing::Settings();
    s.servers.push_back(Server(kHtlServer, server_->port()));
    s.servers[0].htl = true;
    s.htl_proof_socket = ProofSocket();
    return s;
  }
  std::string ProofSocket() const { return socket_dir_ + "/htl-agent.sock"; }

  // CopyToken does what the admin does: a fresh token for this client, as
  // <client root>/htl/hsm1.ott.
  void CopyToken() {
    absl::StatusOr<std::string> t =
        appliance_->GenerateOtt(client_label_, absl::nullopt);
    ASSERT_TRUE(t.ok()) << t.status();
    std::ofstream(TokenPath()) << htl::FormatTokenFile(*t, client_label_);
  }
  std::string TokenPath() const {
    return client_root_ + "/htl/" + kHtlServer + ".ott";
  }
  bool TokenFileExists() const {
    return ::access(TokenPath().c_str(), F_OK) == 0;
  }
  htl::ClientView Show() { return appliance_->Show(client_label_).value(); }

  htl::Appliance* appliance() { return appliance_.get(); }
  FakeServer* server() { return server_.get(); }
  const std::string& client_root() const { return client_root_; }
  const std::string& client_label() const { return client_label_; }
  int alarms() const { return alarms_.load(); }

 private:
  std::string base_;
  std::string client_root_;
  std::string socket_dir_;
  std::string client_label_;
  std::unique_ptr<htl::Appliance> appliance_;
  std::unique_ptr<FakeServer> server_;
  std::atomic<int> alarms_{0};
};

}  // namespace trustlink::ntl::client::testing

#endif  // TRUSTLINK_NTL_CLIENT_TESTING_HTL_WORLD_H_
