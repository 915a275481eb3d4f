// day2 regress: expected.json's "investigations" (claims about `day2 compare` / `day2 steps` --json of
// a scenario's runs) are run against the scenario's bundle and checked; --update keeps the claims
// that still hold; bad claims are clear errors. On a copy of the generated scenario
// reexecution-from-failure-compare.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "analyzer/cli/cli.hpp"
#include "recorder/base/json.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

namespace fs = std::filesystem;

const fs::path k_scenario = fs::path(DAY2_SOURCE_DIR) / "scenarios" / "reexecution-from-failure-compare";
const std::string k_failed = "3c9e1f27-5a8b-4d6e-9f02-7b4a1c8e2d53";
const std::string k_again = "a1d47b93-6e2c-4f58-8b1a-e5c3f9d02b76";

struct Cli {
  int code;
  std::string out;
};

Cli regress_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "regress");
  std::ostringstream out, err;
  int code = run_cli(args, out, err);
  return {code, out.str() + err.str()};
}

class RegressInvestigations : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(m_scenario);
    fs::copy(k_scenario / "bundle", m_scenario / "bundle", fs::copy_options::recursive);
    fs::copy_file(k_scenario / "expected.json", m_scenario / "expected.json");
  }
  // expected.json with `investigations` replaced by `claims` (JSON text).
  void claim(const std::string& claims) {
    auto expected = recorder::read_json_file((m_scenario / "expected.json").string());
    ASSERT_TRUE(expected);
    rapidjson::Document list;
    list.Parse(claims.c_str());
    ASSERT_FALSE(list.HasParseError()) << claims;
    (*expected)["investigations"].CopyFrom(list, expected->GetAllocator());
    std::ofstream(m_scenario / "expected.json") << recorder::write_json(*expected, recorder::Pretty::yes);
  }
  std::string scenario() const { return m_scenario.string(); }

  day2_test::TempDir m_dir;
  fs::path m_scenario = fs::path(m_dir.path()) / "reexecution";
};

TEST_F(RegressInvestigations, TheScenariosClaimsHoldOnItsBundle) {
  auto result = regress_cli({scenario()});
  EXPECT_EQ(result.code, 0) << result.out;
  EXPECT_NE(result.out.find("1 passed"), std::string::npos) << result.out;
}

// Must-fire: a value, a mention and an omission that do not hold are each a difference naming the
// command and the pointer; the claims that hold are no difference (close case).
TEST_F(RegressInvestigations, ClaimsThatDoNotHoldAreDifferencesNamingTheCommandAndThePointer) {
  claim(R"([{"command": ["compare", ")" + k_failed + R"(", ")" + k_again + R"("],
              "values": {"/firstDifferingStep": "extract_orders", "/b/status": "SUCCESS"},
              "mentions": ["load_orders:FAILURE", "a text no output has"], "omits": ["publish_orders:SKIPPED"]}])");
  auto result = regress_cli({scenario()});
  EXPECT_EQ(result.code, 1) << result.out;
  std::string name = "investigation `compare " + k_failed + " " + k_again + "`: ";
  EXPECT_NE(result.out.find(name + "/firstDifferingStep: expected \"extract_orders\", got \"load_orders\""), std::string::npos) << result.out;
  EXPECT_NE(result.out.find(name + "mentions \"a text no output has\": no text of it does"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find(name + "omits \"publish_orders:SKIPPED\": it is in /a/stepOutcomes/2"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("/b/status"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("load_orders:FAILURE\""), std::string::npos) << result.out;

  // --update keeps what holds and drops the rest; the scenario then passes.
  ASSERT_EQ(regress_cli({scenario(), "--update"}).code, 0);
  auto updated = recorder::read_json_file((m_scenario / "expected.json").string());
  ASSERT_TRUE(updated);
  EXPECT_EQ(recorder::write_json((*updated)["investigations"]),
            R"([{"command":["compare",")" + k_failed + R"(",")" + k_again +
                R"("],"mentions":["load_orders:FAILURE"],"values":{"/b/status":"SUCCESS"}}])");
  EXPECT_EQ(regress_cli({scenario()}).code, 0);
}

// A command that fails (a run the bundle does not know: a replay miss) fails its claims.
TEST_F(RegressInvestigations, ACommandThatFailsFailsItsClaims) {
  claim(R"([{"command": ["steps", "00000000-0000-4000-8000-000000000000"], "mentions": ["x"]}])");
  auto result = regress_cli({scenario()});
  EXPECT_EQ(result.code, 1) << result.out;
  EXPECT_NE(result.out.find("investigation `steps 00000000-0000-4000-8000-000000000000`: exited 1: "), std::string::npos)
      << result.out;
}

TEST_F(RegressInvestigations, BadClaimsAreClearErrorsNamingTheFile) {
  std::string file = (m_scenario / "expected.json").string();
  for (auto [claims, message] : {
           std::pair{R"({})", "\"investigations\" is not an array"},
           std::pair{R"([{"command": ["hung"], "mentions": ["x"]}])", "investigations[0].command: unknown investigation \"hung\"; expected one of: compare, steps"},
           std::pair{R"([{"command": ["steps"], "mentions": ["x"]}])", "investigations[0].command: \"steps\" takes 1 run id(s), not 0"},
           std::pair{R"([{"command": ["steps", "r"]}])", "investigations[0]: claims nothing"},
           std::pair{R"([{"command": ["steps", "r"], "values": {"steps": 1}}])", "investigations[0].values: \"steps\" is not a JSON pointer"},
           std::pair{R"([{"command": ["steps", "r"], "mentions": [""]}])", "investigations[0].mentions[0]: expected a non-empty text"},
           std::pair{R"([{"command": ["steps", "r"], "says": []}])", "investigations[0]: unknown key \"says\"; expected one of: command, values, mentions, omits"},
           std::pair{R"([{"command": ["steps", "r"], "mention": ["x"]}])",
                     "investigations[0]: unknown key \"mention\"; expected one of: command, values, mentions, omits; did you mean \"mentions\"?"}}) {
    claim(claims);
    auto result = regress_cli({scenario()});
    EXPECT_EQ(result.code, 1) << claims;
    EXPECT_NE(result.out.find(file + ": " + message), std::string::npos) << claims << "\n" << result.out;
  }
}

}  // namespace
}  // namespace analyzer
