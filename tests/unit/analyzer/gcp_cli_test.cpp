// `day2 collect` with Google Cloud configured, live mode (not --replay), against the replay server
// serving the Dagster half of the example scenario: the credentials chain is consulted, its
// outcome reaches only the Google Cloud steps, and a token never leaves the process.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "recorder/bundle.hpp"
#include "recorder/base/json.hpp"
#include "replay/matcher.hpp"
#include "recorder/base/time.hpp"
#include "replay/server.hpp"
#include "support/cli_outcome.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

using day2test::ScopedEnv;

const std::string k_bundle = std::string(DAY2_SOURCE_DIR) + "/scenarios/dagster-fixture/bundle";
const std::vector<std::string> k_google_steps = {"step_08_agent_pod_churn", "step_10_gke_events", "step_11_alerts",
                                                 "step_12_error_groups", "step_13_oom_metrics"};

class GcpCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bundle = recorder::read_bundle(k_bundle);
    ASSERT_TRUE(bundle) << bundle.error().message;
    m_now = recorder::format_rfc3339_utc(bundle->manifest.window.end);  // where the recorded window ends
    m_matcher = std::make_shared<replay::Matcher>(std::move(*bundle));
    m_server = std::make_unique<replay::Server>(m_matcher, replay::ServerOptions{});
    auto port = m_server->start();
    ASSERT_TRUE(port) << port.error().message;
    m_root = "http://127.0.0.1:" + std::to_string(*port);
    m_config = m_dir.write("day2.json", R"({
      // Google Cloud configured: steps 08 and 10-13 run
      "gcp": {"project": "day2-demo", "cluster": "prod", "location": "us-central1"}
    })");
  }

  day2test::Outcome collect(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"collect", "--config", m_config, "--dagster-url", m_root + "/graphql",
                                  "--now", m_now, "--hours", "2", "--retries", "0",
                                  "--out", m_dir.file("day2.json.out"), "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    return day2test::run_day2(args);
  }

  rapidjson::Document artifact() {
    auto doc = recorder::parse_json(day2test::read_text(m_dir.file("day2.json.out")), "artifact");
    EXPECT_TRUE(doc) << doc.error().message;
    return doc ? std::move(*doc) : rapidjson::Document();
  }

  day2_test::TempDir m_dir;
  std::string m_now;
  std::shared_ptr<replay::Matcher> m_matcher;
  std::unique_ptr<replay::Server> m_server;
  std::string m_root;
  std::string m_config;
};

TEST_F(GcpCli, WithoutCredentialsOnlyTheGoogleStepsFailAndSayWhy) {
  day2_test::TempDir empty;
  ScopedEnv token("GOOGLE_OAUTH_ACCESS_TOKEN", std::nullopt);
  ScopedEnv key("GOOGLE_APPLICATION_CREDENTIALS", std::nullopt);
  ScopedEnv home("HOME", empty.path().string());
  ScopedEnv cloudsdk("CLOUDSDK_CONFIG", empty.path().string());
  ScopedEnv metadata("GCE_METADATA_HOST", "127.0.0.1:" + std::to_string(day2test::closed_port()));
  ScopedEnv metadata_ip("GCE_METADATA_IP", "127.0.0.1:" + std::to_string(day2test::closed_port()));
  ScopedEnv path("PATH", empty.path().string());  // no gcloud
  auto result = collect({});
  EXPECT_EQ(result.code, 1) << result.err;
  auto doc = artifact();
  ASSERT_TRUE(doc.IsObject());
  for (const auto& step : k_google_steps) {
    ASSERT_TRUE(doc.HasMember(step.c_str())) << step;
    ASSERT_TRUE(doc[step.c_str()].HasMember("error")) << step << " should hold an error";
    EXPECT_NE(std::string(doc[step.c_str()]["error"].GetString()).find("Google Cloud credentials"), std::string::npos)
        << doc[step.c_str()]["error"].GetString();
  }
  EXPECT_FALSE(doc["step_01_failed_runs"].HasMember("error"));
  EXPECT_EQ(doc["step_01_failed_runs"]["failureCount"].GetInt(), 6);
}

TEST_F(GcpCli, ACanaryTokenAppearsNowhereInTheArtifactStdoutOrStderr) {
  const std::string canary = "ya29.day2-canary-0123456789abcdef";
  ScopedEnv token("DAY2_TEST_GOOGLE_TOKEN", canary);
  auto result = collect({"--gcp-access-token-env", "DAY2_TEST_GOOGLE_TOKEN", "--gcp-api-root", m_root, "-v"});
  std::string written = day2test::read_text(m_dir.file("day2.json.out"));
  ASSERT_FALSE(written.empty()) << result.err;
  // The Google requests reached the replay server (they miss: the bundle holds Dagster only).
  EXPECT_FALSE(m_matcher->report().misses.empty());
  EXPECT_EQ(written.find(canary), std::string::npos);
  EXPECT_EQ(result.out.find(canary), std::string::npos);
  EXPECT_EQ(result.err.find(canary), std::string::npos) << result.err;
  EXPECT_EQ(written.find("day2-canary"), std::string::npos);
}

}  // namespace
}  // namespace analyzer
