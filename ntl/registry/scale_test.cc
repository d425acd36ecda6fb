// Scale: 100,000 clients registered (in batches, as an import would) and then
// looked up by fingerprint, label and IP, after a fresh load from disk. Speed
// is measured in benchmarks/registry_benchmark.cc, not here.
//
// Under ASan or TSan the same test runs with 10,000 clients: at 100,000 it took
// about 450 s under ASan, and what the sanitizers check (the code paths) does
// not depend on the count.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/identity.h"
#include "ntl/names.h"
#include "ntl/registry/registry.h"
#include "ntl/registry/test_util.h"

namespace trustlink::ntl::registry {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TL_SCALE_TEST_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TL_SCALE_TEST_UNDER_SANITIZER 1
#endif
#endif

#ifdef TL_SCALE_TEST_UNDER_SANITIZER
constexpr int kClients = 10000;
constexpr int kBatch = 2000;
#else
constexpr int kClients = 100000;
constexpr int kBatch = 10000;
#endif

std::string IpOf(int i) {
  return absl::StrCat("10.", (i >> 16) & 255, ".", (i >> 8) & 255, ".",
                      i & 255);
}

TEST(RegistryScaleTest, HundredThousandClients) {
  std::string root = testing::FreshRoot("scale");
  auto reg = Registry::Open(root);
  ASSERT_TRUE(reg.ok());
  std::vector<std::string> fingerprints;
  fingerprints.reserve(kClients);
  absl::Duration certs_time, register_time;
  for (int start = 0; start < kClients; start += kBatch) {
    absl::Time t0 = absl::Now();
    std::vector<ClientRegistration> batch;
    for (int i = start; i < start + kBatch; ++i) {
      ClientRegistration r;
      r.label = absl::StrCat("client-", i);
      r.name = IpOf(i);
      r.name_is_ip = true;
      r.certificate_pem = testing::ClientCertPem(r.name);
      batch.push_back(std::move(r));
    }
    absl::Time t1 = absl::Now();
    absl::Status st = (*reg)->RegisterClients(batch);
    ASSERT_TRUE(st.ok()) << st;
    certs_time += t1 - t0;
    register_time += absl::Now() - t1;
  }
  std::cerr << kClients << " clients: certificates " << certs_time
            << ", registration " << register_time << "\n";
  // One more, singly: it rewrites one file, not 100,000. A snapshot taken
  // before it shares all but a few buckets with the one after, and must not
  // show it.
  auto before_one = (*reg)->Snapshot();
  ClientRegistration one;
  one.label = "one-more";
  one.name = "192.168.1.1";
  one.name_is_ip = true;
  one.certificate_pem = testing::ClientCertPem(one.name);
  ASSERT_TRUE((*reg)->RegisterClient(one).ok());
  absl::Time t_publish = absl::Now();
  auto after_one = (*reg)->Snapshot();
  std::cerr << "snapshot after one change " << absl::Now() - t_publish << "\n";
  EXPECT_EQ(before_one->FindClientByLabel("one-more"), nullptr);
  EXPECT_EQ(before_one->client_count(), static_cast<size_t>(kClients));
  EXPECT_NE(after_one->FindClientByLabel("one-more"), nullptr);
  EXPECT_EQ(after_one->FindClientByIp("192.168.1.1"),
            after_one->FindClientByLabel("one-more"));

  absl::Time t2 = absl::Now();
  auto loaded = Registry::Open(root, false);
  std::cerr << "full load " << absl::Now() - t2 << "\n";
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto snap = (*loaded)->Snapshot();
  ASSERT_EQ(snap->client_count(), static_cast<size_t>(kClients + 1));
  for (int i = 0; i < kClients; i += 997) {
    const ClientRecord* c = snap->FindClientByLabel(absl::StrCat("client-", i));
    ASSERT_NE(c, nullptr) << i;
    EXPECT_EQ(snap->FindClientByFingerprint(c->fingerprint), c);
    EXPECT_EQ(snap->FindClientByIp(IpOf(i)), c);
  }
  EXPECT_NE(snap->FindClientByLabel("one-more"), nullptr);
}

}  // namespace
}  // namespace trustlink::ntl::registry
