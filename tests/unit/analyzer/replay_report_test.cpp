// `day2 collect --replay DIR --replay-report FILE`: the replay report as JSON for programs, and what
// `day2 regress` reads from it: a night whose steps hold recorded errors is compared as usual, a
// replay miss is an error (read from the report and the artifact, not from collect's messages).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "analyzer/cli/cli.hpp"
#include "recorder/base/json.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

namespace fs = std::filesystem;

const fs::path k_denied = fs::path(DAY2_SOURCE_DIR) / "scenarios" / "logging-denied-evidence-missing";

struct Cli {
  int code;
  std::string out;
  std::string err;
};

Cli cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = run_cli(args, out, err);
  return {code, out.str(), err.str()};
}

class CollectReplayReport : public ::testing::Test {
 protected:
  // A copy of the denied-Logging scenario whose first RunEvents exchange asks for another run: collect's
  // request for that run then finds no recorded answer.
  fs::path scenario_with_a_miss() {
    fs::path to = fs::path(m_dir.path()) / "corpus" / "missing";
    fs::create_directories(to);
    fs::copy(k_denied / "bundle", to / "bundle", fs::copy_options::recursive);
    fs::copy_file(k_denied / "expected.json", to / "expected.json");
    fs::copy_file(k_denied / "config.json", to / "config.json");
    for (const auto& entry : fs::directory_iterator(to / "bundle" / "exchanges")) {
      auto text = day2test::read_text(entry.path().string());
      auto at = text.find("\"runId\": \"");
      if (text.find("\"RunEvents\"") == std::string::npos || at == std::string::npos) continue;
      text.replace(at + 10, 36, "00000000-0000-4000-8000-000000000000");
      std::ofstream(entry.path()) << text;
      break;
    }
    return to;
  }
  std::string file(const std::string& name) const { return m_dir.file(name); }

  day2_test::TempDir m_dir;
};

TEST_F(CollectReplayReport, CollectWritesTheReplayReportAsJson) {
  auto result = cli({"collect", "--replay", (k_denied / "bundle").string(), "--config", (k_denied / "config.json").string(),
                     "--out", file("day2.json"), "--quiet", "--replay-report", file("replay.json")});
  EXPECT_EQ(result.code, 1) << result.err;  // steps 08 and 10 hold the recorded 403s
  auto report = recorder::read_json_file(file("replay.json"));
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_GT((*report)["served"].GetInt(), 0);
  EXPECT_TRUE((*report)["misses"].GetArray().Empty());
  EXPECT_EQ((*report)["missCount"].GetInt(), 0);
}

TEST_F(CollectReplayReport, AMissIsInTheReport) {
  auto scenario = scenario_with_a_miss();
  auto result = cli({"collect", "--replay", (scenario / "bundle").string(), "--out", file("day2.json"), "--quiet",
                     "--replay-report", file("replay.json")});
  EXPECT_EQ(result.code, 1);
  auto report = recorder::read_json_file(file("replay.json"));
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ((*report)["missCount"].GetInt(), 1) << recorder::write_json(*report);
  EXPECT_NE(std::string((*report)["misses"][0].GetString()).find("RunEvents"), std::string::npos);
}

TEST_F(CollectReplayReport, OnlyWithReplay) {
  auto result = cli({"collect", "--replay-report", file("replay.json"), "--out", file("day2.json")});
  EXPECT_EQ(result.code, 2);
  EXPECT_NE(result.err.find("--replay-report: only with --replay"), std::string::npos) << result.err;
}

// Must-fire: a replay miss makes the scenario an ERROR, although collect exits 1 as for a night whose
// steps hold errors (the close case: the scenario itself, which passes).
TEST_F(CollectReplayReport, RegressTellsAMissFromANightWhoseStepsHoldErrors) {
  auto scenario = scenario_with_a_miss();
  auto missed = cli({"regress", scenario.string()});
  EXPECT_EQ(missed.code, 1);
  EXPECT_NE(missed.out.find("ERROR"), std::string::npos) << missed.out;
  EXPECT_NE(missed.out.find("replay miss"), std::string::npos) << missed.out;
  auto denied = cli({"regress", k_denied.string()});
  EXPECT_EQ(denied.code, 0) << denied.out;
}

}  // namespace
}  // namespace analyzer
