// The ticket master keys on disk: kept across restarts, 0600, never used past
// their lifetime or when others could read them, replaced atomically.

#include "ntl/server/ticket_key_ring.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/ticket_key_file.h"

namespace trustlink::ntl::server::internal_engine {
namespace {

class TicketKeyRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = absl::StrCat(getenv("TEST_TMPDIR"), "/ring.XXXXXX");
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }

  std::unique_ptr<TicketKeyRing> Open(absl::Time now = absl::Now(),
                                      const std::string& dir = "x") {
    TicketKeyRingOptions o;
    o.rotation = absl::Hours(6);
    o.dir = dir == "x" ? dir_ : dir;
    o.log = [this](absl::string_view l) {
      internal::MutexLock lock(&mu_);
      log_ += std::string(l) + "\n";
    };
    return TicketKeyRing::Open(std::move(o), now);
  }

  std::string Log() {
    internal::MutexLock lock(&mu_);
    return log_;
  }
  std::string FilePath() { return dir_ + "/ticketKeys"; }
  mode_t Mode() {
    struct stat st {};
    EXPECT_EQ(stat(FilePath().c_str(), &st), 0);
    return st.st_mode & 0777;
  }
  void Write(const std::string& text, mode_t mode) {
    std::ofstream(FilePath(), std::ios::trunc) << text;
    ASSERT_EQ(chmod(FilePath().c_str(), mode), 0);
  }

  std::string dir_;
  internal::Mutex mu_;
  std::string log_ ABSL_GUARDED_BY(mu_);
};

TEST_F(TicketKeyRingTest, KeysSurviveARestartInAPrivateFile) {
  const absl::Time now = absl::Now();
  auto first = Open(now);
  const TicketKey sealed = first->ForSealing(now);
  EXPECT_TRUE(first->persisted());
  EXPECT_EQ(Mode(), 0600u);
  first.reset();  // the process ends

  auto second = Open(now + absl::Minutes(1));
  auto opened = second->ForOpening(sealed.id, now + absl::Minutes(1));
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->bytes, sealed.bytes);
  EXPECT_EQ(second->ForSealing(now + absl::Minutes(1)).id, sealed.id);
  EXPECT_TRUE(absl::StrContains(Log(), "ticket-keys loaded")) << Log();
}

TEST_F(TicketKeyRingTest, WithoutADirectoryKeysDieWithTheRing) {
  auto first = Open(absl::Now(), "");
  const TicketKey sealed = first->ForSealing(absl::Now());
  EXPECT_FALSE(first->persisted());
  auto second = Open(absl::Now(), "");
  EXPECT_FALSE(second->ForOpening(sealed.id, absl::Now()).has_value());
}

TEST_F(TicketKeyRingTest, AFileOthersCanReadIsNotUsedAndIsReplaced) {
  const absl::Time now = absl::Now();
  StoredTicketKeys leaked{NewTicketKey(now), std::nullopt};
  Write(FormatTicketKeys(leaked), 0644);
  auto ring = Open(now);
  EXPECT_FALSE(ring->ForOpening(leaked.current.id, now).has_value());
  EXPECT_NE(ring->ForSealing(now).id, leaked.current.id);
  EXPECT_EQ(Mode(), 0600u);
  EXPECT_TRUE(absl::StrContains(Log(), "ticket-keys-discarded")) << Log();
  EXPECT_TRUE(absl::StrContains(Log(), "chmod")) << Log();
  auto reread = ReadTicketKeyFile(dir_);
  ASSERT_TRUE(reread.ok()) << reread.status();
  EXPECT_EQ(reread->current.id, ring->ForSealing(now).id);
}

TEST_F(TicketKeyRingTest, AFileOlderThanTheKeysLifetimeIsDiscarded) {
  const absl::Time now = absl::Now();
  StoredTicketKeys old{NewTicketKey(now - absl::Hours(12) - absl::Seconds(1)),
                       std::nullopt};
  Write(FormatTicketKeys(old), 0600);
  auto ring = Open(now);
  EXPECT_FALSE(ring->ForOpening(old.current.id, now).has_value());
  EXPECT_NE(ring->ForSealing(now).id, old.current.id);
  EXPECT_TRUE(absl::StrContains(Log(), "outside their lifetime")) << Log();
}

TEST_F(TicketKeyRingTest, AFileDatedInTheFutureIsDiscarded) {
  const absl::Time now = absl::Now();
  StoredTicketKeys future{NewTicketKey(now + absl::Hours(1)), std::nullopt};
  Write(FormatTicketKeys(future), 0600);
  auto ring = Open(now);
  EXPECT_FALSE(ring->ForOpening(future.current.id, now).has_value());
}

TEST_F(TicketKeyRingTest, AMalformedFileIsReplaced) {
  Write("trustlink ticket keys v1\nnot a key\n", 0600);
  auto ring = Open();
  EXPECT_TRUE(ring->persisted());
  EXPECT_TRUE(absl::StrContains(Log(), "line 2")) << Log();
  EXPECT_TRUE(ReadTicketKeyFile(dir_).ok());
}

// A key due for rotation at start rotates; the one before still opens
// tickets for the rest of its lifetime, then never again.
TEST_F(TicketKeyRingTest, ADueKeyRotatesAtStartAndStillOpensUntilItsLifetime) {
  const absl::Time now = absl::Now();
  StoredTicketKeys stored{NewTicketKey(now - absl::Hours(7)), std::nullopt};
  Write(FormatTicketKeys(stored), 0600);
  auto ring = Open(now);
  EXPECT_NE(ring->ForSealing(now).id, stored.current.id);
  EXPECT_TRUE(ring->ForOpening(stored.current.id, now).has_value());
  EXPECT_FALSE(
      ring->ForOpening(stored.current.id, now + absl::Hours(5)).has_value());
  auto reread = ReadTicketKeyFile(dir_);
  ASSERT_TRUE(reread.ok());
  ASSERT_TRUE(reread->previous.has_value());
  EXPECT_EQ(reread->previous->id, stored.current.id);
}

// The writer puts the new key in the file before sealing starts to use it.
TEST_F(TicketKeyRingTest, RotationWritesTheNewKeyBeforeUsingIt) {
  auto ring = Open();
  const uint32_t before = ring->ForSealing(absl::Now()).id;
  ring->RotateNowForTest();
  const uint32_t after = ring->ForSealing(absl::Now()).id;
  EXPECT_NE(after, before);
  auto reread = ReadTicketKeyFile(dir_);
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(reread->current.id, after);
  ASSERT_TRUE(reread->previous.has_value());
  EXPECT_EQ(reread->previous->id, before);
  EXPECT_TRUE(ring->ForOpening(before, absl::Now()).has_value());
}

TEST_F(TicketKeyRingTest, AnUnwritableDirectoryKeepsKeysInMemoryAndSaysSo) {
  auto ring = Open(absl::Now(), dir_ + "/missing");
  EXPECT_FALSE(ring->persisted());
  EXPECT_TRUE(absl::StrContains(Log(), "ticket-keys-not-saved")) << Log();
  EXPECT_NE(ring->ForOpening(ring->ForSealing(absl::Now()).id, absl::Now()),
            std::nullopt);
}

TEST(TicketKeyFileTest, RoundTripsAndRefusesGarbage) {
  StoredTicketKeys k{NewTicketKey(absl::FromUnixSeconds(1800000000)),
                     NewTicketKey(absl::FromUnixSeconds(1799990000))};
  auto parsed = ParseTicketKeys(FormatTicketKeys(k));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->current.id, k.current.id);
  EXPECT_EQ(parsed->current.bytes, k.current.bytes);
  EXPECT_EQ(parsed->current.created, k.current.created);
  ASSERT_TRUE(parsed->previous.has_value());
  EXPECT_EQ(parsed->previous->bytes, k.previous->bytes);
  EXPECT_FALSE(ParseTicketKeys("").ok());
  EXPECT_FALSE(ParseTicketKeys("trustlink ticket keys v1\n").ok());
  EXPECT_FALSE(ParseTicketKeys("trustlink ticket keys v1\n0011 1 ff\n").ok());
}

}  // namespace
}  // namespace trustlink::ntl::server::internal_engine
