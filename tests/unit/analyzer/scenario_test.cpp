// The bundled example scenario (scenarios/dagster-fixture): recorded from the real Dagster fixture
// together with the live artifact. Replaying the bundle in process must reproduce that artifact
// byte for byte, use every recorded exchange, and classify the known failures.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "analyzer/cli/cli.hpp"
#include "recorder/base/json.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

using day2test::read_text;

const std::string k_scenario = std::string(DAY2_SOURCE_DIR) + "/scenarios/dagster-fixture";

TEST(DagsterFixtureScenario, InProcessReplayReproducesTheLiveArtifactByteForByte) {
  day2_test::TempDir dir;
  std::ostringstream out;
  std::ostringstream err;
  int code = run_cli({"collect", "--replay", k_scenario + "/bundle", "--out", dir.file("day2.json"), "--quiet"}, out,
                     err);
  ASSERT_EQ(code, 0) << err.str();
  EXPECT_EQ(err.str().find("replay miss"), std::string::npos) << err.str();
  EXPECT_EQ(err.str().find("never used"), std::string::npos) << err.str();
  std::string live = read_text(k_scenario + "/day2.json");
  ASSERT_FALSE(live.empty());
  EXPECT_TRUE(read_text(dir.file("day2.json")) == live) << "replayed artifact differs from " << k_scenario << "/day2.json";
}

TEST(DagsterFixtureScenario, ReplayedFailuresCarryTheFixturesCategories) {
  day2_test::TempDir dir;
  std::ostringstream out;
  std::ostringstream err;
  ASSERT_EQ(run_cli({"collect", "--replay", k_scenario + "/bundle", "--out", dir.file("day2.json"), "-q"}, out, err), 0)
      << err.str();
  auto doc = recorder::parse_json(read_text(dir.file("day2.json")), "day2.json");
  ASSERT_TRUE(doc) << doc.error().message;
  std::map<std::string, std::string> rule_by_job;
  for (const auto& failure : (*doc)["step_01_failed_runs"]["failures"].GetArray()) {
    rule_by_job[failure["jobName"].GetString()] = failure["ruleId"].GetString();
  }
  EXPECT_EQ(rule_by_job["code_error_job"], "user-code-error");
  EXPECT_EQ(rule_by_job["connection_job"], "connection-error-class");
  EXPECT_EQ(rule_by_job["slow_job"], "max-runtime-exceeded");
  EXPECT_EQ(rule_by_job["crashing_check_job"], "user-code-error");
  EXPECT_EQ(rule_by_job["flaky_job"], "user-code-error");
  EXPECT_EQ(rule_by_job["__ASSET_JOB"], "user-code-error");
  EXPECT_EQ(rule_by_job.size(), 6u);
}

}  // namespace
}  // namespace analyzer
