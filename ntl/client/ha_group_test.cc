// HA groups in the Client (docs/ha.md) against two fake servers on loopback:
// the virtual slot, load spreading, the retry rules, HAOnly, recovery by
// probe, and the group events.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ntl/client/client.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/internal/mutex.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

using testing::FakeServer;
using testing::WaitFor;

constexpr uint32_t kEcho = 1;      // pure
constexpr uint32_t kHoldPure = 2;  // the fake's hold op; random: pure
constexpr uint32_t kNotPure = 7;   // no pure op has this number
constexpr int kNoSlot = -1;

class HaGroupTest : public ::testing::Test {
 protected:
  void StartServers(bool hold_a = false) {
    for (int i = 0; i < 2; ++i) {
      testing::FakeServerOptions o = testing::ServerOptions();
      o.slots = {{"p1", "Partition One", i == 0 ? "1001" : "2001"}};
      o.hold_calls = i == 0 && hold_a;
      auto s = FakeServer::Start(o);
      ASSERT_TRUE(s.ok()) << s.status();
      servers_.push_back(std::move(*s));
    }
  }

  ClientSettings Settings(bool standby_b = false) {
    ClientSettings s = testing::Settings();
    s.servers.push_back(testing::Server("hsm1", servers_[0]->port()));
    s.servers.push_back(testing::Server("hsm2", servers_[1]->port()));
    HaGroupSettings g;
    g.label = "grp";
    g.serial = "9001";
    g.members.push_back({"hsm1", "p1", "", false});
    g.members.push_back({"hsm2", "p1", "", standby_b});
    s.ha_groups.push_back(g);
    s.ha.auto_reconnect_interval = absl::Milliseconds(50);
    s.on_link_event = [this](const LinkEvent& e) {
      internal::MutexLock lock(&mu_);
      events_.push_back(e);
    };
    return s;
  }

  static int GroupSlot(Client* c) {
    for (const Slot& s : c->Slots()) {
      if (s.ha_group == "grp") {
        return s.id;
      }
    }
    return kNoSlot;
  }

  bool SawEvent(LinkEvent::Kind kind, size_t member) {
    internal::MutexLock lock(&mu_);
    for (const LinkEvent& e : events_) {
      if (e.kind == kind && e.member == member) {
        return true;
      }
    }
    return false;
  }

  static HaMemberState MemberState(Client* c, size_t m) {
    return c->HaStatus()[0].members[m].state;
  }

  std::vector<std::unique_ptr<FakeServer>> servers_;
  internal::Mutex mu_;
  std::vector<LinkEvent> events_ ABSL_GUARDED_BY(mu_);
};

TEST_F(HaGroupTest, TheGroupIsOneSlotAndCallsGoToTheLeastBusyMember) {
  StartServers();
  auto c = Client::Create(Settings());
  ASSERT_TRUE(c.ok()) << c.status();
  const int slot = GroupSlot(c->get());
  ASSERT_NE(slot, kNoSlot);
  // The two member slots and the group's own.
  EXPECT_EQ((*c)->Slots().size(), 3u);
  absl::StatusOr<std::string> r =
      (*c)->Call(slot, kEcho, "hello", absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "hello");
  // Held calls stay in flight: four of them split two and two.
  std::atomic<int> done{0};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE((*c)->CallAsync(slot, kHoldPure, "x",
                                absl::Now() + absl::Seconds(30),
                                [&](absl::StatusOr<std::string>) { ++done; })
                    .ok());
  }
  std::vector<HaGroupStatus> st = (*c)->HaStatus();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].state, HaGroupState::kUp);
  EXPECT_EQ(st[0].members[0].in_flight, 2u);
  EXPECT_EQ(st[0].members[1].in_flight, 2u);
  c->reset();
  EXPECT_EQ(done.load(), 4);  // cancelled at close, once each
}

TEST_F(HaGroupTest, APureCallLostInFlightIsAnsweredByAnotherMember) {
  StartServers(/*hold_a=*/true);
  auto c = Client::Create(Settings());
  ASSERT_TRUE(c.ok()) << c.status();
  const int slot = GroupSlot(c->get());
  // The first call goes to member 0 (hsm1), which holds it.
  internal::Mutex mu;
  bool finished = false;
  absl::StatusOr<std::string> result;
  ASSERT_TRUE((*c)->CallAsync(slot, kEcho, "again",
                              absl::Now() + absl::Seconds(10),
                              [&](absl::StatusOr<std::string> r) {
                                internal::MutexLock l(&mu);
                                result = std::move(r);
                                finished = true;
                              })
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return servers_[0]->held() == 1; }));
  servers_[0]->DropConnections();
  ASSERT_TRUE(WaitFor([&] {
    internal::MutexLock l(&mu);
    return finished;
  }));
  internal::MutexLock l(&mu);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, "again");
  EXPECT_TRUE(
      WaitFor([&] { return SawEvent(LinkEvent::Kind::kHaMemberDown, 0); }));
}

TEST_F(HaGroupTest, ACallThatIsNotPureLostInFlightHasAnUnknownOutcome) {
  StartServers(/*hold_a=*/true);
  auto c = Client::Create(Settings());
  ASSERT_TRUE(c.ok()) << c.status();
  const int slot = GroupSlot(c->get());
  std::atomic<bool> dropped{false};
  std::thread dropper([&] {
    WaitFor([&] { return servers_[0]->held() == 1; });
    servers_[0]->DropConnections();
    dropped = true;
  });
  absl::StatusOr<std::string> r =
      (*c)->Call(slot, kNotPure, "sign me", absl::Now() + absl::Seconds(10));
  dropper.join();
  ASSERT_TRUE(dropped.load());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ToTlStatus(r.status()), TL_E_OUTCOME_UNKNOWN) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "unknown")) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "grp")) << r.status();
  // The other member never saw it.
  EXPECT_EQ((*c)->HaStatus()[0].members[1].in_flight, 0u);
}

TEST_F(HaGroupTest, StandbyTakesLoadOnlyWhenNoActiveMemberIsUp) {
  StartServers();
  auto c = Client::Create(Settings(/*standby_b=*/true));
  ASSERT_TRUE(c.ok()) << c.status();
  const int slot = GroupSlot(c->get());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*c)->CallAsync(slot, kHoldPure, "x",
                                absl::Now() + absl::Seconds(30),
                                [](absl::StatusOr<std::string>) {})
                    .ok());
  }
  EXPECT_EQ((*c)->HaStatus()[0].members[0].in_flight, 3u);
  EXPECT_EQ((*c)->HaStatus()[0].members[1].in_flight, 0u);
  servers_[0]->Stop();
  ASSERT_TRUE(WaitFor(
      [&] { return MemberState(c->get(), 0) == HaMemberState::kDown; }));
  absl::StatusOr<std::string> r =
      (*c)->Call(slot, kEcho, "standby", absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "standby");
}

TEST_F(HaGroupTest, ALostMemberReturnsByProbeAndEventsSayWhen) {
  StartServers();
  auto c = Client::Create(Settings());
  ASSERT_TRUE(c.ok()) << c.status();
  // Events reach the hook after Create returns (on the I/O thread).
  ASSERT_TRUE(
      WaitFor([&] { return SawEvent(LinkEvent::Kind::kHaGroupUp, 0); }));
  servers_[0]->DropConnections();  // it keeps listening: the link returns
  ASSERT_TRUE(
      WaitFor([&] { return SawEvent(LinkEvent::Kind::kHaMemberDown, 0); }));
  ASSERT_TRUE(WaitFor([&] {
    return SawEvent(LinkEvent::Kind::kHaMemberUp, 0) &&
           MemberState(c->get(), 0) == HaMemberState::kUp;
  }));
  EXPECT_FALSE((*c)->HaStatus()[0].members[0].last_failure.empty());
  // Both gone: the group is down and says why.
  servers_[0]->Stop();
  servers_[1]->Stop();
  ASSERT_TRUE(
      WaitFor([&] { return SawEvent(LinkEvent::Kind::kHaGroupDown, 0); }));
  absl::StatusOr<std::string> r = (*c)->Call(GroupSlot(c->get()), kEcho, "x",
                                             absl::Now() + absl::Seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ToTlStatus(r.status()), TL_E_UNAVAILABLE) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "no member of HA group"))
      << r.status();
}

TEST_F(HaGroupTest, AMemberIsGivenUpAfterReconnectAttemptsFailedProbes) {
  StartServers();
  ClientSettings s = Settings();
  s.ha.reconnect_attempts = 2;
  auto c = Client::Create(s);
  ASSERT_TRUE(c.ok()) << c.status();
  servers_[0]->Stop();
  ASSERT_TRUE(WaitFor(
      [&] { return MemberState(c->get(), 0) == HaMemberState::kGivenUp; }));
  EXPECT_TRUE(absl::StrContains((*c)->HaStatus()[0].members[0].last_failure,
                                "given up"));
}

TEST_F(HaGroupTest, HaOnlyHidesMemberSlotsAndTheGroupKeepsItsNumber) {
  StartServers();
  ClientSettings s = Settings();
  s.ha.ha_only = true;
  s.slot_numbers_dir = ::testing::TempDir() + "/ha_only_root";
  ASSERT_EQ(system(("rm -rf " + s.slot_numbers_dir + " && mkdir -p " +
                    s.slot_numbers_dir)
                       .c_str()),
            0);
  int first = kNoSlot;
  {
    auto c = Client::Create(s);
    ASSERT_TRUE(c.ok()) << c.status();
    std::vector<Slot> slots = (*c)->Slots();
    ASSERT_EQ(slots.size(), 1u);
    EXPECT_EQ(slots[0].ha_group, "grp");
    EXPECT_EQ(slots[0].serial, "9001");
    first = slots[0].id;
    // A member's own slot (0 or 1) is refused with a reason.
    for (int member_slot = 0; member_slot < 3; ++member_slot) {
      if (member_slot == first) continue;
      absl::StatusOr<std::string> r =
          (*c)->Call(member_slot, kEcho, "x", absl::Now() + absl::Seconds(5));
      ASSERT_FALSE(r.ok());
      EXPECT_TRUE(absl::StrContains(r.status().message(), "HAOnly"))
          << r.status();
    }
  }
  // Another process (here: client) with the member on hsm1 down keeps the
  // number.
  servers_[0]->Stop();
  auto c = Client::Create(s);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(GroupSlot(c->get()), first);
  absl::StatusOr<std::string> r =
      (*c)->Call(first, kEcho, "still", absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST(HaGroupSettingsTest, BadGroupsAreRefusedWithTheFix) {
  ClientSettings s = testing::Settings();
  s.servers.push_back(testing::Server("hsm1", 1792));
  HaGroupSettings g;
  g.label = "two words";
  g.members.push_back({"hsm1", "p1", "", false});
  s.ha_groups = {g};
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Create(s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(ToTlStatus(c.status()), TL_E_CONFIG_INVALID);
  EXPECT_TRUE(absl::StrContains(c.status().message(), "blanks"));
  s.ha_groups[0].label = "g";
  s.ha_groups[0].members[0].server = "hsm9";
  c = Client::Create(s);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "not configured"))
      << c.status();
  s.ha_groups[0].members.clear();
  c = Client::Create(s);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "no members"))
      << c.status();
}

}  // namespace
}  // namespace trustlink::ntl::client
