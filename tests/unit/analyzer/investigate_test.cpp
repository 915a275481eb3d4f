// The investigation commands end to end, in process, against tests/data/bundles/investigate/bundle:
// a recording (tests/data/bundles/investigate/record.py) of these commands against the real Dagster
// fixture (tests/dagster/README.md), whose runs fail in known ways.
#include <gtest/gtest.h>

#include <set>

#include "recorder/base/json.hpp"
#include "support/cli_outcome.hpp"

namespace {

using day2test::Outcome;

const std::string k_dir = std::string(DAY2_TEST_DATA) + "/bundles/investigate";
const std::string k_bundle = k_dir + "/bundle";

// purpose -> run id of the recorded fixture (runs.json, written by record.py).
const rapidjson::Document& index() {
  static const rapidjson::Document doc = [] {
    auto parsed = recorder::read_json_file(k_dir + "/runs.json");
    if (!parsed) throw std::runtime_error(parsed.error().message);
    return std::move(*parsed);
  }();
  return doc;
}

std::string run_id(const char* purpose) { return index()["runs"][purpose].GetString(); }
std::string missing_id() { return index()["missing"].GetString(); }

Outcome day2(std::vector<std::string> args) {
  args.push_back("--replay");
  args.push_back(k_bundle);
  return day2test::run_day2(args);
}

// The command's JSON output; fails the test when it did not exit 0 or print JSON.
rapidjson::Document json_of(std::vector<std::string> args) {
  args.push_back("--json");
  auto outcome = day2(args);
  EXPECT_EQ(outcome.code, 0) << outcome.err;
  auto doc = recorder::parse_json(outcome.out, "stdout");
  if (!doc) {
    ADD_FAILURE() << doc.error().message << "\n" << outcome.out;
    return rapidjson::Document(rapidjson::kObjectType);
  }
  return std::move(*doc);
}

std::string str(const rapidjson::Value& value, const char* key) {
  auto found = recorder::get_string(value, key);
  return found ? *found : "<" + std::string(key) + " missing>";
}

TEST(InvestigateRun, CodeErrorIsClassifiedWithItsRule) {
  auto doc = json_of({"run", run_id("code_error")});
  const auto& run = doc["run"];
  EXPECT_EQ(str(run, "status"), "FAILURE");
  EXPECT_EQ(str(run, "jobName"), "code_error_job");
  EXPECT_EQ(str(run, "location"), "day2_fixture");
  EXPECT_EQ(run["stats"]["stepsFailed"].GetInt(), 1);
  EXPECT_EQ(run["stats"]["stepsSucceeded"].GetInt(), 0);
  EXPECT_EQ(str(run["tags"], "dagster/failure_reason"), "STEP_FAILURE");
  EXPECT_EQ(str(doc["failure"], "category"), "Code error");
  EXPECT_EQ(str(doc["failure"], "ruleId"), "user-code-error");
  EXPECT_EQ(str(doc["failure"], "errorClass"), "ValueError");
  ASSERT_EQ(doc["retryChain"].Size(), 1u);
  EXPECT_EQ(str(doc["retryChain"][0], "runId"), run_id("code_error"));
}

TEST(InvestigateRun, MaxRuntimeIsAnInfraTimeout) {
  auto doc = json_of({"run", run_id("max_runtime")});
  EXPECT_EQ(str(doc["failure"], "category"), "Infra timeout");
  EXPECT_EQ(str(doc["failure"], "ruleId"), "max-runtime-exceeded");
  EXPECT_EQ(str(doc["run"]["tags"], "dagster/max_runtime"), "5");
}

TEST(InvestigateRun, RetryChainInOneCallOldestFirst) {
  auto doc = json_of({"run", run_id("retried_first_attempt")});
  const auto& chain = doc["retryChain"];
  ASSERT_EQ(chain.Size(), 2u);
  EXPECT_EQ(str(chain[0], "runId"), run_id("retried_first_attempt"));
  EXPECT_EQ(str(chain[0], "status"), "FAILURE");
  EXPECT_EQ(str(chain[1], "runId"), run_id("retry_success"));
  EXPECT_EQ(str(chain[1], "status"), "SUCCESS");
  EXPECT_EQ(str(chain[1], "retryNumber"), "1");
  EXPECT_EQ(str(chain[1], "parentRunId"), run_id("retried_first_attempt"));
}

TEST(InvestigateRun, SuccessfulRunHasNoFailure) {
  auto doc = json_of({"run", run_id("retry_success")});
  EXPECT_TRUE(doc["failure"].IsNull());
  EXPECT_EQ(str(doc["run"], "status"), "SUCCESS");
  EXPECT_TRUE(doc["run"]["times"]["start"]["utc"].IsString());
}

TEST(InvestigateRun, TextShowsBothZonesCategoryAndChain) {
  auto outcome = day2({"run", run_id("code_error")});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_NE(outcome.out.find("failure     Code error (rule user-code-error)"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("Z)\n"), std::string::npos) << outcome.out;  // "... EDT (....Z)"
  EXPECT_NE(outcome.out.find("retry chain (1 run)"), std::string::npos) << outcome.out;
}

TEST(InvestigateRun, UnknownRunExitsOneNamingTheDeployment) {
  auto outcome = day2({"run", missing_id(), "--json"});
  EXPECT_EQ(outcome.code, 1);
  EXPECT_EQ(outcome.out, "");
  EXPECT_NE(outcome.err.find("day2 run: error: no run " + missing_id() + " in http"), std::string::npos) << outcome.err;
}

TEST(InvestigateRun, MissingRunIdIsUsage) {
  auto outcome = day2({"run"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("RUN_ID is required"), std::string::npos) << outcome.err;
}

std::vector<std::string> event_keys(const rapidjson::Value& events) {
  std::vector<std::string> keys;
  for (const auto& e : events.GetArray()) keys.push_back(str(e, "timestamp") + " " + str(e, "typename") + " " + str(e, "message"));
  return keys;
}

TEST(InvestigateLogs, SmallPagesReturnEveryEventExactlyOnce) {
  auto whole = json_of({"logs", run_id("code_error")});
  auto paged = json_of({"logs", run_id("code_error"), "--page-size", "5"});
  auto all = event_keys(whole["events"]);
  EXPECT_GT(all.size(), 10u);  // several pages of 5
  EXPECT_EQ(event_keys(paged["events"]), all);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());
  EXPECT_FALSE(whole["hasMore"].GetBool());
}

TEST(InvestigateLogs, TypeFilterTakesSeedAndSchemaNames) {
  auto whole = json_of({"logs", run_id("code_error")});
  auto filtered = json_of({"logs", run_id("code_error"), "--type", "STEP_FAILURE,RunFailureEvent"});
  std::size_t expected = 0;
  for (const auto& e : whole["events"].GetArray()) {
    if (str(e, "typename") == "ExecutionStepFailureEvent" || str(e, "typename") == "RunFailureEvent") ++expected;
  }
  EXPECT_EQ(expected, 2u);
  ASSERT_EQ(filtered["events"].Size(), expected);
  for (const auto& e : filtered["events"].GetArray()) {
    EXPECT_TRUE(str(e, "eventType") == "STEP_FAILURE" || str(e, "eventType") == "RUN_FAILURE") << str(e, "eventType");
  }
  EXPECT_EQ(str(filtered["events"][0], "error").rfind("ValueError", 0), 0u) << str(filtered["events"][0], "error");
}

TEST(InvestigateLogs, StepAndLevelFilters) {
  auto doc = json_of({"logs", run_id("code_error"), "--step", "day2__broken_asset", "--level", "error"});
  ASSERT_GT(doc["events"].Size(), 0u);
  for (const auto& e : doc["events"].GetArray()) {
    EXPECT_EQ(str(e, "stepKey"), "day2__broken_asset");
    EXPECT_TRUE(str(e, "level") == "ERROR" || str(e, "level") == "CRITICAL");
  }
}

TEST(InvestigateLogs, LimitStopsWithACursorThatContinues) {
  auto whole = event_keys(json_of({"logs", run_id("code_error")})["events"]);
  auto first = json_of({"logs", run_id("code_error"), "--limit", "3", "--page-size", "5"});
  ASSERT_EQ(first["events"].Size(), 3u);
  EXPECT_TRUE(first["hasMore"].GetBool());
  auto cursor = str(first, "cursor");
  auto rest = json_of({"logs", run_id("code_error"), "--cursor", cursor, "--page-size", "5"});
  auto joined = event_keys(first["events"]);
  for (const auto& key : event_keys(rest["events"])) joined.push_back(key);
  EXPECT_EQ(joined, whole);
}

TEST(InvestigateLogs, UnknownTypeIsUsageWithHint) {
  auto outcome = day2({"logs", run_id("code_error"), "--type", "STEP_FAILUR"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("--type: unknown event type \"STEP_FAILUR\"; did you mean \"STEP_FAILURE\"?"),
            std::string::npos)
      << outcome.err;
}

TEST(InvestigateLogs, UnknownRunExitsOne) {
  auto outcome = day2({"logs", missing_id()});
  EXPECT_EQ(outcome.code, 1);
  EXPECT_NE(outcome.err.find("no run " + missing_id() + " in "), std::string::npos) << outcome.err;
}

TEST(InvestigateSteps, TimelineAndGapsAgreeWithTheLog) {
  auto steps = json_of({"steps", run_id("code_error")});
  ASSERT_EQ(steps["steps"].Size(), 1u);
  EXPECT_EQ(str(steps["steps"][0], "stepKey"), "day2__broken_asset");
  EXPECT_EQ(str(steps["steps"][0], "outcome"), "FAILURE");
  EXPECT_GE(steps["steps"][0]["durationSeconds"].GetDouble(), 0);
  EXPECT_EQ(steps["unfinishedSteps"].Size(), 0u);
  // The default gap (10 min) is longer than the whole run.
  EXPECT_EQ(steps["gaps"].Size(), 0u);
  EXPECT_EQ(steps["events"].GetInt(), static_cast<int>(json_of({"logs", run_id("code_error")})["events"].Size()));
}

TEST(InvestigateSteps, MaxRuntimeRunsStepWasInterrupted) {
  auto steps = json_of({"steps", run_id("max_runtime")});
  ASSERT_GE(steps["steps"].Size(), 1u);
  EXPECT_EQ(str(steps["steps"][0], "outcome"), "FAILURE");
}

TEST(InvestigateSteps, BadGapIsUsage) {
  auto outcome = day2({"steps", run_id("code_error"), "--gap", "soon"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("--gap: \"soon\" is not a duration"), std::string::npos) << outcome.err;
}

TEST(InvestigateRuns, JobFilter) {
  auto doc = json_of({"runs", "--job", "flaky_job"});
  ASSERT_EQ(doc["runs"].Size(), 2u);
  std::set<std::string> ids;
  for (const auto& run : doc["runs"].GetArray()) {
    EXPECT_EQ(str(run, "jobName"), "flaky_job");
    ids.insert(str(run, "runId"));
  }
  EXPECT_EQ(ids, (std::set<std::string>{run_id("retried_first_attempt"), run_id("retry_success")}));
}

TEST(InvestigateRuns, StatusFilterGivesTheFixturesSixFailures) {
  auto doc = json_of({"runs", "--status", "FAILURE", "--limit", "50"});
  EXPECT_EQ(doc["runs"].Size(), 6u);
  for (const auto& run : doc["runs"].GetArray()) EXPECT_EQ(str(run, "status"), "FAILURE");
}

TEST(InvestigateRuns, UnknownStatusIsUsage) {
  auto outcome = day2({"runs", "--status", "FAILED"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("--status: \"FAILED\" is not a run status"), std::string::npos) << outcome.err;
}

TEST(InvestigateHung, NothingHungInTheSettledFixture) {
  auto doc = json_of({"hung"});
  EXPECT_EQ(doc["hung"].Size(), 0u);
  EXPECT_EQ(doc["thresholds"]["startTimeoutSeconds"].GetDouble(), 180);
  EXPECT_EQ(str(doc["now"], "utc"), str(index(), "now"));  // the bundle's now
}

TEST(InvestigateHung, ZeroTimeoutIsUsage) {
  auto outcome = day2({"hung", "--start-timeout", "0"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("--start-timeout: 0 is not a positive number of seconds"), std::string::npos) << outcome.err;
}

TEST(InvestigateCompare, FailedFirstAttemptAgainstItsRetry) {
  auto doc = json_of({"compare", run_id("retried_first_attempt"), run_id("retry_success")});
  ASSERT_TRUE(doc["firstDifferingStep"].IsString());
  bool retry_number = false;
  for (const auto& tag : doc["tags"].GetArray()) {
    if (str(tag, "key") == "dagster/retry_number") {
      retry_number = true;
      EXPECT_TRUE(tag["a"].IsNull());
      EXPECT_EQ(str(tag, "b"), "1");
    }
  }
  EXPECT_TRUE(retry_number);
  EXPECT_EQ(doc["config"].Size(), 0u);  // the fixture's runs have no config
  std::string failed = doc["a"]["stepOutcomes"][0].GetString();
  EXPECT_NE(failed.find(":FAILURE"), std::string::npos) << failed;
}

TEST(InvestigateCompare, NeedsTwoRuns) {
  auto outcome = day2({"compare", run_id("code_error")});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("RUN_A and RUN_B are required"), std::string::npos) << outcome.err;
}

TEST(InvestigateAgents, OpenSourceDagsterHasNone) {
  auto outcome = day2({"agents"});
  EXPECT_EQ(outcome.code, 1);
  EXPECT_NE(outcome.err.find("day2 agents: error: agents exist only on Dagster+"), std::string::npos) << outcome.err;
}

TEST(Investigate, EveryCommandHasHelpWithAnExample) {
  for (const char* command : {"run", "logs", "runs", "steps", "hung", "compare", "agents"}) {
    auto outcome = day2test::run_day2({command, "--help"});
    EXPECT_EQ(outcome.code, 0) << command;
    EXPECT_NE(outcome.out.find("Example:\n  day2 " + std::string(command)), std::string::npos) << outcome.out;
  }
}

}  // namespace
