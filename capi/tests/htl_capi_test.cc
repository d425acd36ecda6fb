// The HTL part of the C ABI, used the way ntlsh and htlclient use it.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "capi/tests/fixture.h"
#include "gtest/gtest.h"
#include "trustlink/trustlink.h"

namespace {

// Fresh is a new directory for `name`. Under /tmp, not TEST_TMPDIR: it holds
// unix sockets, whose paths must fit 108 bytes. mkdtemp, not the pid: tests
// run in PID namespaces, so concurrent runs share pids.
std::string Fresh(const std::string& name) {
  char dir[] = "/tmp/tl-htlcapi-XXXXXX";
  EXPECT_NE(::mkdtemp(dir), nullptr);
  const std::string p = std::string(dir) + "/" + name;
  ::mkdir(p.c_str(), 0700);
  return p;
}

std::string LastError(const tl_htl_appliance* a) {
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t len = 0;
  EXPECT_EQ(tl_htl_appliance_last_error(a, buf, sizeof(buf), &len), TL_OK);
  return std::string(buf, len);
}

TEST(HtlCapiTest, ApplianceTokensShowSettingsAndClear) {
  const std::string base = Fresh("appliance");
  tl_htl_appliance* a = nullptr;
  ASSERT_EQ(tl_htl_appliance_new(&a), TL_OK);
  EXPECT_EQ(tl_htl_clear(a, "web1"), TL_E_FAILED_PRECONDITION);
  EXPECT_NE(LastError(a).find("tl_htl_appliance_open"), std::string::npos);
  ASSERT_EQ(tl_htl_appliance_open(a, (base + "/root").c_str(), 0), TL_OK);

  int64_t grace = 0, expiry = 0, heartbeat = 0;
  ASSERT_EQ(tl_htl_get_settings(a, &grace, &expiry, &heartbeat), TL_OK);
  EXPECT_EQ(grace, 60);
  EXPECT_EQ(expiry, 300);
  ASSERT_EQ(tl_htl_set_grace_period(a, 120), TL_OK);
  ASSERT_EQ(tl_htl_set_default_ott_expiry(a, 600), TL_OK);
  EXPECT_EQ(tl_htl_set_default_ott_expiry(a, 0), TL_E_OUT_OF_RANGE);
  ASSERT_EQ(tl_htl_get_settings(a, &grace, &expiry, &heartbeat), TL_OK);
  EXPECT_EQ(grace, 120);
  EXPECT_EQ(expiry, 600);

  ASSERT_EQ(tl_htl_generate_ott(a, "web1", 0, base.c_str(), "10.0.0.5"), TL_OK)
      << LastError(a);
  struct stat st;
  ASSERT_EQ(::stat((base + "/10.0.0.5.ott").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::stringstream text;
  text << std::ifstream(base + "/10.0.0.5.ott").rdbuf();
  EXPECT_EQ(text.str().rfind("trustlink-htl-ott v1\n", 0), 0u);
  EXPECT_EQ(tl_htl_generate_ott(a, "web1", 0, base.c_str(), "../evil"),
            TL_E_NAME_INVALID);
  ASSERT_EQ(
      tl_htl_generate_ott(a, "web2", 30, base.c_str(), "web2.example.com"),
      TL_OK);

  tl_htl_show_list* list = nullptr;
  ASSERT_EQ(tl_htl_show(a, nullptr, &list), TL_OK);
  ASSERT_EQ(tl_htl_show_list_count(list), 2u);
  EXPECT_STREQ(tl_htl_show_list_client(list, 0), "web1");
  int32_t htl = -1, ott = -1, is_default = -1;
  int64_t ott_expiry = 0;
  ASSERT_EQ(tl_htl_show_list_row(list, 0, &htl, &ott, &ott_expiry, &is_default),
            TL_OK);
  EXPECT_STREQ(tl_htl_status_name(htl), "Unknown");
  EXPECT_STREQ(tl_ott_status_name(ott), "Ready");
  EXPECT_EQ(ott_expiry, 600);
  EXPECT_EQ(is_default, 1);
  ASSERT_EQ(tl_htl_show_list_row(list, 1, &htl, &ott, &ott_expiry, &is_default),
            TL_OK);
  EXPECT_EQ(ott_expiry, 30);
  EXPECT_EQ(is_default, 0);
  EXPECT_EQ(tl_htl_show_list_row(list, 2, &htl, &ott, &ott_expiry, &is_default),
            TL_E_OUT_OF_RANGE);
  EXPECT_EQ(trustlink::capi::testing::ThreadError(),
            "tl_htl_show_list_row: index 2 is out of range: the "
            "tl_htl_show_list has 2 rows");
  EXPECT_EQ(tl_htl_show_list_client(list, 2), nullptr);
  tl_htl_show_list_free(list);

  ASSERT_EQ(tl_htl_clear(a, "web1"), TL_OK);
  ASSERT_EQ(tl_htl_show(a, "web1", &list), TL_OK);
  ASSERT_EQ(tl_htl_show_list_row(list, 0, &htl, &ott, &ott_expiry, &is_default),
            TL_OK);
  EXPECT_EQ(ott, TL_OTT_STATUS_NO_FILE);
  tl_htl_show_list_free(list);
  tl_htl_appliance_free(a);
  tl_htl_appliance_free(nullptr);
}

TEST(HtlCapiTest, ProofHookSaysWhenNoAgentRuns) {
  tl_htl_prover* p = nullptr;
  ASSERT_EQ(
      tl_htl_prover_new((Fresh("noagent") + "/htl-agent.sock").c_str(), &p),
      TL_OK);
  uint8_t exporter[TL_HTL_EXPORTER_LEN] = {0};
  uint8_t proof[TL_HTL_PROOF_MAX];
  size_t len = 0;
  EXPECT_EQ(tl_htl_prover_prove(p, "hsm1", exporter, sizeof(exporter), proof,
                                sizeof(proof), &len),
            TL_E_HTL_AGENT_UNAVAILABLE);
  char buf[TL_ERROR_MESSAGE_MAX];
  size_t mlen = 0;
  ASSERT_EQ(tl_htl_prover_last_error(p, buf, sizeof(buf), &mlen), TL_OK);
  EXPECT_NE(std::string(buf).find("start the HTL agent"), std::string::npos)
      << buf;
  tl_htl_prover_free(p);
  EXPECT_EQ(tl_htl_proof_max(), static_cast<size_t>(TL_HTL_PROOF_MAX));
}

TEST(HtlCapiTest, AgentStartsServesProofsAndReportsPerAppliance) {
  const std::string base = Fresh("agent");
  ASSERT_EQ(::mkdir((base + "/htl").c_str(), 0700), 0);
  tl_htl_agent_options* o = nullptr;
  ASSERT_EQ(tl_htl_agent_options_new(&o), TL_OK);
  ASSERT_EQ(tl_htl_agent_options_set_client_root(o, base.c_str()), TL_OK);
  ASSERT_EQ(tl_htl_agent_options_add_appliance(o, "hsm1"), TL_OK);
  ASSERT_EQ(tl_htl_agent_options_set_poll_interval_ms(o, 50), TL_OK);
  EXPECT_EQ(tl_htl_agent_options_set_poll_interval_ms(o, 0), TL_E_OUT_OF_RANGE);
  const std::string sock = base + "/run/htl-agent.sock";
  ASSERT_EQ(tl_htl_agent_options_set_proof_socket(o, sock.c_str()), TL_OK);
  tl_htl_agent* agent = nullptr;
  ASSERT_EQ(tl_htl_agent_new(o, &agent), TL_OK);
  tl_htl_agent_options_free(o);
  ASSERT_EQ(tl_htl_agent_start(agent), TL_OK);

  tl_htl_prover* p = nullptr;
  ASSERT_EQ(tl_htl_prover_new(sock.c_str(), &p), TL_OK);
  uint8_t exporter[TL_HTL_EXPORTER_LEN] = {1};
  uint8_t proof[TL_HTL_PROOF_MAX];
  size_t len = 0;
  EXPECT_EQ(tl_htl_prover_prove(p, "hsm1", exporter, sizeof(exporter), proof,
                                sizeof(proof), &len),
            TL_E_HTL_DOWN);
  tl_htl_prover_free(p);

  int32_t state = -1;
  uint64_t generation = 1;
  tl_status failure = TL_OK;
  char msg[TL_ERROR_MESSAGE_MAX];
  ASSERT_EQ(tl_htl_agent_status(agent, "hsm1", &state, &generation, &failure,
                                msg, sizeof(msg)),
            TL_OK);
  EXPECT_EQ(state, TL_HTL_AGENT_NO_TOKEN);
  EXPECT_EQ(generation, 0u);
  EXPECT_EQ(tl_htl_agent_status(agent, "other", &state, &generation, &failure,
                                msg, sizeof(msg)),
            TL_E_NOT_FOUND);
  ASSERT_EQ(tl_htl_agent_stop(agent), TL_OK);
  // With a token present the agent opens the htl/1 link from the client
  // configuration; this root has none, and the failure says what to do.
  std::ofstream(base + "/htl/hsm1.ott")
      << "trustlink-htl-ott v1\ntoken " << std::string(64, 'a') << "\n";
  ASSERT_EQ(tl_htl_agent_poll(agent), TL_OK);
  ASSERT_EQ(tl_htl_agent_status(agent, "hsm1", &state, &generation, &failure,
                                msg, sizeof(msg)),
            TL_OK);
  EXPECT_EQ(failure, TL_E_CONFIG_INVALID) << msg;
  EXPECT_NE(std::string(msg).find("tl_client_root_create_cert"),
            std::string::npos)
      << msg;
  tl_htl_agent_free(agent);
}

}  // namespace
