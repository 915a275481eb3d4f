// day2 regress: scenario discovery, comparison with expectations, --update, --rules with --baseline
// and shards, on copies of the bundled dagster-fixture scenario.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "analyzer/cli/cli.hpp"
#include "analyzer/regress/regress.hpp"
#include "recorder/base/json.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

namespace fs = std::filesystem;
using day2test::read_text;

const fs::path k_scenario = fs::path(DAY2_SOURCE_DIR) / "scenarios" / "dagster-fixture";

// The run of connection_job in the scenario's expectations (its id changes with each recording).
std::string connection_run() {
  auto expected = recorder::read_json_file((k_scenario / "expected.json").string());
  if (!expected) throw std::runtime_error(expected.error().message);
  for (const auto& run : (*expected)["runs"].GetObject()) {
    if (recorder::get_string(run.value, "job") == "connection_job") return run.name.GetString();
  }
  throw std::runtime_error("expected.json has no connection_job run");
}
const std::string k_connection_run = connection_run();

struct Cli {
  int code;
  std::string out;
  std::string err;
};

Cli regress_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "regress");
  std::ostringstream out;
  std::ostringstream err;
  int code = run_cli(args, out, err);
  return {code, out.str(), err.str()};
}

class Regress : public ::testing::Test {
 protected:
  // A copy of the bundled scenario at <tmp>/corpus/<name>.
  std::string copy_scenario(const std::string& name) {
    fs::path to = fs::path(m_dir.path()) / "corpus" / name;
    fs::create_directories(to);
    fs::copy(k_scenario / "bundle", to / "bundle", fs::copy_options::recursive);
    fs::copy_file(k_scenario / "expected.json", to / "expected.json");
    return to.string();
  }
  std::string corpus() const { return (fs::path(m_dir.path()) / "corpus").string(); }
  std::string file(const std::string& name) const { return m_dir.file(name); }

  day2_test::TempDir m_dir;
};

TEST_F(Regress, TheBundledCorpusPasses) {
  auto result = regress_cli({std::string(DAY2_SOURCE_DIR) + "/scenarios"});
  EXPECT_EQ(result.code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("dagster-fixture"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("pass"), std::string::npos) << result.out;
}

TEST_F(Regress, AChangedExpectationFailsAndNamesTheRun) {
  auto scenario = copy_scenario("night");
  auto text = read_text(scenario + "/expected.json");
  auto at = text.find("\"Connection failure\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, std::string("\"Connection failure\"").size(), "\"Network/SSH\"");
  std::ofstream(scenario + "/expected.json") << text;

  auto result = regress_cli({corpus()});
  EXPECT_EQ(result.code, 1) << result.out;
  EXPECT_NE(result.out.find("FAIL"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("run " + k_connection_run + " `connection_job`: Network/SSH (connection-error-class) -> "
                            "Connection failure (connection-error-class)"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("1 scenario(s): 0 passed, 1 failed"), std::string::npos) << result.out;
}

TEST_F(Regress, UpdateRewritesTheExpectationsThenThePassingRunIsClean) {
  auto scenario = copy_scenario("night");
  fs::remove(scenario + "/expected.json");
  auto missing = regress_cli({corpus()});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("expected.json"), std::string::npos) << missing.out;

  auto updated = regress_cli({corpus(), "--update"});
  EXPECT_EQ(updated.code, 0) << updated.out;
  EXPECT_EQ(read_text(scenario + "/expected.json"), read_text((k_scenario / "expected.json").string()));
  EXPECT_EQ(regress_cli({corpus()}).code, 0);
}

TEST_F(Regress, RemovingARuleFailsNamesTheRunAndTheBaselineShowsTheChange) {
  copy_scenario("a-night");
  copy_scenario("b-night");
  // The built-in rules without connection-error-class.
  std::ostringstream printed;
  std::ostringstream ignored;
  ASSERT_EQ(run_cli({"rules", "--print-default"}, printed, ignored), 0);
  std::string rules = printed.str();
  std::regex rule(R"(\{\s*"id": "connection-error-class"[^}]*\}\s*\},)");
  std::string without = std::regex_replace(rules, rule, "");
  ASSERT_NE(without, rules);
  std::ofstream(file("without.rules.json")) << without;
  std::ofstream(file("default.rules.json")) << rules;

  auto result = regress_cli({corpus(), "--rules", file("without.rules.json"), "--baseline", file("default.rules.json")});
  EXPECT_EQ(result.code, 1) << result.out << result.err;
  for (const char* name : {"a-night", "b-night"}) {
    EXPECT_NE(result.out.find(name), std::string::npos) << result.out;
  }
  std::string changed = "baseline -> rules: run " + k_connection_run + " `connection_job`: Connection failure "
                        "(connection-error-class) -> ";
  std::size_t count = 0;
  for (auto at = result.out.find(changed); at != std::string::npos; at = result.out.find(changed, at + 1)) ++count;
  EXPECT_EQ(count, 2u) << result.out;
  EXPECT_NE(result.out.find("0 passed, 2 failed"), std::string::npos) << result.out;
}

TEST_F(Regress, ShardsSplitTheCorpusWithoutOverlap) {
  for (const char* name : {"s1", "s2", "s3"}) copy_scenario(name);
  auto first = regress_cli({corpus(), "--shard", "1/2"});
  auto second = regress_cli({corpus(), "--shard", "2/2"});
  EXPECT_EQ(first.code, 0) << first.out;
  EXPECT_EQ(second.code, 0) << second.out;
  EXPECT_NE(first.out.find("2 scenario(s) (shard 1/2)"), std::string::npos) << first.out;
  EXPECT_NE(second.out.find("1 scenario(s) (shard 2/2)"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("s2"), std::string::npos) << second.out;
  EXPECT_EQ(second.out.find("s1 "), std::string::npos) << second.out;
}

TEST_F(Regress, BadInputIsAClearError) {
  EXPECT_EQ(regress_cli({file("nowhere")}).code, 2);
  EXPECT_EQ(regress_cli({corpus(), "--shard", "3/2"}).code, 2);
  EXPECT_EQ(regress_cli({corpus(), "--rules", file("missing.rules.json")}).code, 2);

  auto scenario = copy_scenario("broken");
  std::ofstream(scenario + "/expected.json") << "{\"runs\": [1]}";
  auto result = regress_cli({corpus()});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.out.find("\"runs\" is not an object"), std::string::npos) << result.out;

  fs::copy_file(k_scenario / "expected.json", scenario + "/expected.json", fs::copy_options::overwrite_existing);
  fs::remove_all(scenario + "/bundle");
  fs::create_directories(scenario + "/bundle");
  auto empty = regress_cli({corpus()});
  EXPECT_EQ(empty.code, 1);
  EXPECT_NE(empty.out.find("ERROR"), std::string::npos) << empty.out;
  EXPECT_NE(empty.out.find("collect --replay exited"), std::string::npos) << empty.out;
}

TEST_F(Regress, AShiftedScenarioReplaysAnotherBundleOnAnotherNight) {
  auto base = copy_scenario("base");
  fs::create_directories(corpus() + "/moved");
  std::ofstream(corpus() + "/moved/scenario.json") << "// comment\n{\"bundle\": \"../base/bundle\", \"shift\": \"110d\"}";
  fs::copy_file(base + "/expected.json", corpus() + "/moved/expected.json");
  auto result = regress_cli({corpus()});
  EXPECT_EQ(result.code, 0) << result.out;
  EXPECT_NE(result.out.find("2 scenario(s): 2 passed"), std::string::npos) << result.out;

  std::ofstream(corpus() + "/moved/scenario.json") << "{\"bundle\": \"../base/bundle\", \"shift\": \"soon\"}";
  auto bad_shift = regress_cli({corpus() + "/moved"});
  EXPECT_EQ(bad_shift.code, 1);
  EXPECT_NE(bad_shift.out.find("soon"), std::string::npos) << bad_shift.out;

  std::ofstream(corpus() + "/moved/scenario.json") << "{\"shift\": \"1d\"}";
  auto no_bundle = regress_cli({corpus() + "/moved"});
  EXPECT_EQ(no_bundle.code, 1);
  EXPECT_NE(no_bundle.out.find("scenario.json: missing \"bundle\""), std::string::npos) << no_bundle.out;
}

TEST(RegressCompare, ReportsEveryKindOfDifference) {
  regress::Expectation expected;
  expected.runs["a"] = {"job_a", "Code error", "user-code-error"};
  expected.runs["b"] = {"job_b", "Infra timeout", "max-runtime-exceeded"};
  expected.present = {"run-never-started"};
  expected.absent = {"top-of-hour-fan-out"};
  regress::Outcome actual;
  actual.runs["a"] = {"job_a", "K8s API timeout", "k8s-api-timeout"};
  actual.runs["c"] = {"job_c", "Unclassified", "-"};
  actual.findings = {"top-of-hour-fan-out", "agent-topology"};
  auto lines = regress::compare(expected, actual);
  ASSERT_EQ(lines.size(), 6u);
  std::string all;
  for (const auto& line : lines) all += line + "\n";
  EXPECT_NE(all.find("run a `job_a`: Code error (user-code-error) -> K8s API timeout (k8s-api-timeout)"), std::string::npos);
  EXPECT_NE(all.find("run b `job_b`: expected Infra timeout (max-runtime-exceeded), not among the failed runs"),
            std::string::npos);
  EXPECT_NE(all.find("run c `job_c`: unexpected failed run, Unclassified (-)"), std::string::npos);
  EXPECT_NE(all.find("finding run-never-started: expected, missing"), std::string::npos);
  EXPECT_NE(all.find("finding top-of-hour-fan-out: must not appear, present"), std::string::npos);
  EXPECT_NE(all.find("finding agent-topology: unexpected"), std::string::npos);

  regress::Outcome same;
  same.runs = expected.runs;
  same.findings = expected.present;
  EXPECT_TRUE(regress::compare(expected, same).empty());
}

// Must-fire: a run under two root causes or named by two actions fails any scenario; a run's action
// and runs that must share one cause are compared when expected.json names them.
TEST(RegressCompare, ARunUnderTwoCausesOrTwoActionsIsADifference) {
  regress::Expectation expected;
  expected.runs["a"] = {"job_a", "Code error", "user-code-error"};
  expected.runs["b"] = {"job_a", "Code error", "user-code-error"};
  regress::Outcome actual;
  actual.runs = expected.runs;
  actual.causes_of_run = {{"a", {0, 1}}, {"b", {1}}};
  actual.actions_of_run = {{"a", {"Investigate"}}, {"b", {"Escalate", "Monitor"}}};
  auto lines = regress::compare(expected, actual);
  ASSERT_EQ(lines.size(), 2u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "run a: under 2 root causes (one expected)");
  EXPECT_EQ(lines[1], "run b: 2 actions (Escalate, Monitor), one expected");
}

TEST(RegressCompare, ExpectedActionsAndRunsOfOneCauseAreCompared) {
  regress::Expectation expected;
  expected.runs["a"] = {"job_a", "Code error", "user-code-error"};
  expected.runs["b"] = {"job_b", "Code error", "user-code-error"};
  expected.runs["c"] = {"job_c", "Code error", "user-code-error"};
  expected.actions = {{"a", "No action"}, {"c", "Investigate"}};
  expected.together = {{"a", "b"}};
  regress::Outcome actual;
  actual.runs = expected.runs;
  actual.causes_of_run = {{"a", {0}}, {"b", {0}}, {"c", {1}}};
  actual.actions_of_run = {{"a", {"No action"}}, {"b", {"Investigate"}}, {"c", {"Investigate"}}};
  EXPECT_TRUE(regress::compare(expected, actual).empty()) << ::testing::PrintToString(regress::compare(expected, actual));

  // The close cases: b under its own cause, a given another action, c with no action row at all.
  actual.causes_of_run["b"] = {1};
  actual.actions_of_run["a"] = {"Investigate"};
  actual.actions_of_run.erase("c");
  auto lines = regress::compare(expected, actual);
  ASSERT_EQ(lines.size(), 3u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "run a: action No action -> Investigate");
  EXPECT_EQ(lines[1], "run c: action Investigate -> no action row");
  EXPECT_EQ(lines[2], "runs a, b: expected under one root cause, they are not");
}

TEST_F(Regress, ActionsAndTogetherInExpectedJsonAreReadAndCheckedOnTheReplay) {
  auto scenario = copy_scenario("placed");
  auto expected = recorder::read_json_file(scenario + "/expected.json");
  ASSERT_TRUE(expected);
  std::vector<std::string> code_errors;
  for (const auto& run : (*expected)["runs"].GetObject()) {
    if (recorder::get_string(run.value, "rule") == "user-code-error") code_errors.push_back(run.name.GetString());
  }
  ASSERT_GE(code_errors.size(), 2u);
  auto& a = expected->GetAllocator();
  rapidjson::Value group(rapidjson::kArrayType);
  for (const auto& id : code_errors) group.PushBack(recorder::json_string(id, a), a);
  rapidjson::Value together(rapidjson::kArrayType);
  together.PushBack(group, a);
  expected->AddMember("together", together, a);
  rapidjson::Value actions(rapidjson::kObjectType);
  actions.AddMember(recorder::json_string(k_connection_run, a), rapidjson::Value("Escalate"), a);
  expected->AddMember("actions", actions, a);
  std::ofstream(scenario + "/expected.json") << recorder::write_json(*expected, recorder::Pretty::yes);
  // The user-code runs are one cause; connection_job's single unretried run is Monitor, not Escalate.
  auto result = regress_cli({corpus()});
  EXPECT_EQ(result.code, 1) << result.out;
  EXPECT_NE(result.out.find("run " + k_connection_run + ": action Escalate -> Monitor"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("expected under one root cause"), std::string::npos) << result.out;

  std::ofstream(scenario + "/expected.json") << R"({"runs": {}, "actions": {"x": "Panic"}})";
  auto bad = regress_cli({corpus()});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("actions.x: expected one of Escalate, Investigate, Monitor, No action"), std::string::npos) << bad.out;
  std::ofstream(scenario + "/expected.json") << R"({"runs": {}, "together": [["only-one"]]})";
  auto lonely = regress_cli({corpus()});
  EXPECT_NE(lonely.out.find("together[0]: expected a list of two run ids or more"), std::string::npos) << lonely.out;
  // A misspelt key would be a claim never checked: refused at its line, with the nearest known key.
  std::ofstream(scenario + "/expected.json") << "{\"runs\": {},\n \"finding\": {\"present\": [\"x\"]}}";
  auto misspelt = regress_cli({corpus()});
  EXPECT_EQ(misspelt.code, 1);
  EXPECT_NE(misspelt.out.find("expected.json:2: unknown key \"finding\"; expected one of: actions, causes, findings, "
                              "investigations, report, review, runs, together; did you mean \"findings\"?"),
            std::string::npos)
      << misspelt.out;
  std::ofstream(scenario + "/expected.json") << "{\"runs\": {},\n \"causes\": {\n  \"presnt\": []}}";
  auto inner = regress_cli({corpus()});
  EXPECT_NE(inner.out.find("expected.json:3: unknown key \"presnt\"; expected one of: absent, present; did you mean "
                           "\"present\"?"),
            std::string::npos)
      << inner.out;
}

TEST_F(Regress, UpdateKeepsTheActionsAndTheGroupsThatStillHold) {
  const fs::path source = fs::path(DAY2_SOURCE_DIR) / "scenarios" / "reexecution-chain-outcome";
  fs::path to = fs::path(corpus()) / "chain";
  fs::create_directories(to);
  fs::copy(source / "bundle", to / "bundle", fs::copy_options::recursive);
  fs::copy_file(source / "expected.json", to / "expected.json");
  ASSERT_EQ(regress_cli({corpus(), "--update"}).code, 0);
  EXPECT_EQ(read_text(to / "expected.json"), read_text(source / "expected.json"));

  // A group that does not hold (a run id of no cause) is dropped; the one that holds is kept.
  auto text = read_text(source / "expected.json");
  auto at = text.find("\"together\": [");
  ASSERT_NE(at, std::string::npos);
  text.insert(at + 14, "[\"no-such-run\", \"1f3a9c52-7b1e-4c0d-8e6a-3d2f5a7b9c01\"], ");
  std::ofstream(to / "expected.json") << text;
  EXPECT_EQ(regress_cli({corpus()}).code, 1);
  ASSERT_EQ(regress_cli({corpus(), "--update"}).code, 0);
  EXPECT_EQ(read_text(to / "expected.json"), read_text(source / "expected.json"));
}

TEST(RegressCompare, ReportWordingIsCheckedAgainstEveryTextOfTheReport) {
  regress::Expectation expected;
  expected.mentions = {"evidence missing"};
  expected.omits = {"no preemption evidence"};
  regress::Outcome actual;
  actual.texts = {{"/headline", "2 failed runs"},
                  {"/impact/0/items/0", "1. Code-server pod events `etl-*`: evidence missing (step 10 failed) → ..."}};
  EXPECT_TRUE(regress::compare(expected, actual).empty()) << ::testing::PrintToString(regress::compare(expected, actual));

  // The close case: the procedure reads the missing events as absent.
  actual.texts[1].second = "1. Code-server pod events `etl-*`: 0 found → no preemption evidence";
  auto lines = regress::compare(expected, actual);
  ASSERT_EQ(lines.size(), 2u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "report: mentions \"evidence missing\": no text of the report does");
  EXPECT_EQ(lines[1], "report: omits \"no preemption evidence\": it is in /impact/0/items/0: "
                      "1. Code-server pod events `etl-*`: 0 found → no preemption evidence");
}

TEST_F(Regress, ReportWordingInExpectedJsonIsCheckedOnTheReplayAndKeptWhileItHolds) {
  auto scenario = copy_scenario("worded");
  auto expected = recorder::read_json_file(scenario + "/expected.json");
  ASSERT_TRUE(expected);
  auto& a = expected->GetAllocator();
  rapidjson::Value mentions(rapidjson::kArrayType);
  mentions.PushBack("connection_job", a).PushBack("a sentence no report has", a);
  rapidjson::Value omits(rapidjson::kArrayType);
  omits.PushBack("Day-2 Operations Report", a).PushBack("another sentence no report has", a);
  rapidjson::Value report(rapidjson::kObjectType);
  report.AddMember("mentions", mentions, a).AddMember("omits", omits, a);
  expected->AddMember("report", report, a);
  std::ofstream(scenario + "/expected.json") << recorder::write_json(*expected, recorder::Pretty::yes);

  auto result = regress_cli({corpus()});
  EXPECT_EQ(result.code, 1) << result.out;
  EXPECT_NE(result.out.find("report: mentions \"a sentence no report has\": no text of the report does"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("report: omits \"Day-2 Operations Report\": it is in /title: Day-2 Operations Report"),
            std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("connection_job\": no text"), std::string::npos) << result.out;

  // --update keeps the claims that hold and drops the others; the scenario then passes.
  ASSERT_EQ(regress_cli({corpus(), "--update"}).code, 0);
  auto updated = recorder::read_json_file(scenario + "/expected.json");
  ASSERT_TRUE(updated);
  EXPECT_EQ(recorder::write_json((*updated)["report"]),
            R"({"mentions":["connection_job"],"omits":["another sentence no report has"]})");
  EXPECT_EQ(regress_cli({corpus()}).code, 0);

  for (auto [text, message] : {std::pair{R"({"runs": {}, "report": {"mentions": [1]}})", "report.mentions[0]: expected a non-empty text"},
                               std::pair{R"({"runs": {}, "report": {"says": []}})", "report: unknown key \"says\"; expected one of: mentions, omits"},
                               std::pair{R"({"runs": {}, "report": {"omit": []}})",
                                         "report: unknown key \"omit\"; expected one of: mentions, omits; did you mean \"omits\"?"},
                               std::pair{R"({"runs": {}, "report": []})", "\"report\" is not an object"}}) {
    std::ofstream(scenario + "/expected.json") << text;
    auto bad = regress_cli({corpus()});
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.out.find(message), std::string::npos) << bad.out;
  }
}

TEST(RegressShard, ParsesIOverN) {
  EXPECT_EQ(*regress::parse_shard("1/1"), (std::pair{1, 1}));
  EXPECT_EQ(*regress::parse_shard("3/4"), (std::pair{3, 4}));
  for (const char* bad : {"0/2", "3/2", "1/0", "1", "a/b", "1/2x", "-1/2", ""}) {
    EXPECT_FALSE(regress::parse_shard(bad)) << bad;
  }
}

}  // namespace
}  // namespace analyzer
