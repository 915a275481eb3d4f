// day2 simulate: the steps of a job besides the failing one ("upstream", "downstream"), RunDetail
// answered in Dagster's schema (stepKeysToExecute of a re-execution from failure), and the spec's
// claims about the investigation commands ("investigations"), which reach expected.json and whose
// requests reach the bundle.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "analyzer/cli/cli.hpp"
#include "analyzer/simulate/simulate.hpp"
#include "recorder/base/json.hpp"
#include "recorder/bundle.hpp"
#include "support/files.hpp"
#include "support/shape.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

const std::string k_source = DAY2_SOURCE_DIR;

// A failed run with a step before and two after its failing step, re-executed from failure by hand.
const std::string k_head = R"({"now": "2026-12-01T13:00:00Z", "window": {"start": "2026-12-01T00:00:00Z", "end": "2026-12-01T12:00:00Z"},
  "runs": [{"id": "r1", "job": "orders", "step": "load", "failure": "user_code_error", "upstream": ["extract"],
            "downstream": ["publish", "notify"], "start": "2026-12-01T02:00:00Z", "end": "2026-12-01T02:10:00Z"},
           {"id": "r2", "job": "orders", "step": "load", "status": "SUCCESS", "parent": "r1", "downstream": ["publish", "notify"],
            "start": "2026-12-01T03:00:00Z", "end": "2026-12-01T03:08:00Z"}])";

std::string spec_error(const std::string& text) {
  auto sim = simulate_text(text, "spec.json");
  return sim ? "" : sim.error().message;
}

std::string operation(const recorder::Exchange& e) {
  auto g = recorder::parse_graphql_request(e.service, e.method, e.path, e.request_body);
  return g ? g->operation_name : "";
}

// The RunDetail answers of the bundle, by run id.
std::map<std::string, rapidjson::Document> run_details(const Simulation& sim) {
  std::map<std::string, rapidjson::Document> out;
  for (const auto& e : sim.bundle.exchanges) {
    if (operation(e) != "RunDetail") continue;
    auto body = recorder::parse_json(e.response_body, "RunDetail");
    if (!body) throw std::runtime_error(body.error().message);
    out[(*body)["data"]["runOrError"]["runId"].GetString()] = std::move(*body);
  }
  return out;
}

// "<eventType or message> <stepKey>" of a run's events, from its RunEvents answers.
std::vector<std::string> event_lines(const Simulation& sim, const std::string& run_id) {
  std::vector<std::string> out;
  for (const auto& e : sim.bundle.exchanges) {
    if (operation(e) != "RunEvents" || e.request_body.find(run_id) == std::string::npos) continue;
    auto body = recorder::parse_json(e.response_body, "RunEvents");
    if (!body) throw std::runtime_error(body.error().message);
    for (const auto& event : (*body)["data"]["logsForRun"]["events"].GetArray()) {
      std::string what = event["eventType"].IsString() ? event["eventType"].GetString() : event["message"].GetString();
      out.push_back(what + " " + (event["stepKey"].IsString() ? event["stepKey"].GetString() : "-"));
    }
    break;  // one page holds them
  }
  return out;
}

TEST(SimulateSteps, UpstreamStepsRunFirstAndDownstreamStepsAreNotExecutedAfterAFailure) {
  auto sim = simulate_text(k_head + R"(, "investigations": [{"command": ["steps", "r2"], "mentions": ["load"]}]})", "spec.json");
  ASSERT_TRUE(sim) << sim.error().message;
  auto failed = event_lines(sim.value(), "r1");
  std::vector<std::string> steps;
  for (const auto& line : failed) {
    bool step = line.starts_with("STEP_START") || line.starts_with("STEP_SUCCESS") || line.starts_with("STEP_FAILURE");
    if (step || line.starts_with("Dependencies") || line.starts_with("RUN_FAILURE")) steps.push_back(line);
  }
  EXPECT_EQ(steps, (std::vector<std::string>{"STEP_START extract", "STEP_SUCCESS extract", "STEP_START load", "STEP_FAILURE load",
                                             "Dependencies for step publish failed: ['load']. Not executing. publish",
                                             "Dependencies for step notify failed: ['load']. Not executing. notify",
                                             "RUN_FAILURE -"}));
  // The re-execution from failure: no upstream step; the steps after it run and succeed.
  std::vector<std::string> again;
  for (const auto& line : event_lines(sim.value(), "r2")) {
    if (line.starts_with("STEP_START") || line.starts_with("STEP_SUCCESS")) again.push_back(line);
  }
  EXPECT_EQ(again, (std::vector<std::string>{"STEP_START load", "STEP_SUCCESS load", "STEP_START publish", "STEP_SUCCESS publish",
                                             "STEP_START notify", "STEP_SUCCESS notify"}));
}

// RunDetail validates against Dagster's schema; a re-execution from failure executes its step and
// those after it (stepKeysToExecute), an original run every step (null); the step stats come from
// the events (a step never executed has none, as in Dagster).
TEST(SimulateSteps, RunDetailHasDagstersSchemaAndTheReexecutionsStepSelection) {
  auto sim = simulate_text(k_head + R"(, "investigations": [{"command": ["compare", "r1", "r2"], "values": {"/firstDifferingStep": "load"}}]})",
                           "spec.json");
  ASSERT_TRUE(sim) << sim.error().message;
  auto details = run_details(*sim);
  ASSERT_EQ(details.size(), 2u);
  auto sdl = day2test::read_text(k_source + "/tests/data/dagster/schemas/dagster-1.13.27.graphql");
  for (auto& [id, body] : details) {
    auto diffs = day2test::graphql_differences(body["data"], sdl, "Query");
    EXPECT_TRUE(diffs.empty()) << id << ": " << diffs.size() << " difference(s), first: " << diffs.front();
  }
  const auto& original = details["r1"]["data"]["runOrError"];
  const auto& again = details["r2"]["data"]["runOrError"];
  EXPECT_TRUE(original["stepKeysToExecute"].IsNull());
  EXPECT_EQ(recorder::write_json(again["stepKeysToExecute"]), R"(["load","publish","notify"])");
  EXPECT_EQ(std::string(again["parentRunId"].GetString()), "r1");
  std::vector<std::string> stats;
  for (const auto& step : original["stepStats"].GetArray()) stats.push_back(std::string(step["stepKey"].GetString()) + ":" + step["status"].GetString());
  EXPECT_EQ(stats, (std::vector<std::string>{"extract:SUCCESS", "load:FAILURE"}));
  EXPECT_EQ(original["stats"]["stepsSucceeded"].GetInt(), 1);
  EXPECT_EQ(original["stats"]["stepsFailed"].GetInt(), 1);
  EXPECT_EQ(again["stats"]["stepsSucceeded"].GetInt(), 3);
  // The claims reach expected.json as the spec wrote them.
  auto expected = recorder::parse_json(sim->expected, "expected.json");
  ASSERT_TRUE(expected);
  EXPECT_EQ(recorder::write_json((*expected)["investigations"]),
            R"([{"command":["compare","r1","r2"],"values":{"/firstDifferingStep":"load"}}])");
  // The investigations' requests come after collect's, where the manifest says (as in a recorded
  // night), so a replay of the night does not call them unused; a spec without claims has none.
  const int from = sim->bundle.manifest.investigations_from;
  ASSERT_GT(from, 1);
  for (const auto& e : sim->bundle.exchanges) {
    if (operation(e) == "RunDetail") {
      EXPECT_GE(e.seq, from);
    } else if (operation(e) == "RunsInWindow") {
      EXPECT_LT(e.seq, from);
    }
  }
  auto plain = simulate_text(k_head + "}", "spec.json");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->bundle.manifest.investigations_from, 0);
}

// The artifact's steps[] of the failed run: a step Dagster did not execute (only its "Not executing."
// message) is SKIPPED at that message, after the steps that ran; the close case, the steps that ran,
// keep their outcomes.
TEST(SimulateSteps, TheArtifactListsTheStepsDagsterDidNotExecuteAsSkipped) {
  day2_test::TempDir dir;
  std::string scenario = k_source + "/scenarios/reexecution-from-failure-compare";
  std::ostringstream out, err;
  ASSERT_EQ(run_cli({"collect", "--replay", scenario + "/bundle", "--out", dir.file("day2.json"), "--quiet"}, out, err), 0)
      << err.str();
  EXPECT_EQ(err.str().find("never used"), std::string::npos) << err.str();  // the investigations' exchanges are not collect's
  auto artifact = recorder::read_json_file(dir.file("day2.json"));
  ASSERT_TRUE(artifact);
  const auto& failures = (*artifact)["step_01_failed_runs"]["failures"];
  ASSERT_EQ(failures.Size(), 1u);
  std::vector<std::string> steps;
  for (const auto& step : failures[0]["steps"].GetArray()) {
    steps.push_back(std::string(step["stepKey"].GetString()) + ":" + step["status"].GetString() +
                    (step["startTime"].IsNull() ? " never started" : "") + (step["endTime"].IsNull() ? "" : " ended"));
  }
  EXPECT_EQ(steps, (std::vector<std::string>{"extract_orders:SUCCESS ended", "load_orders:FAILURE ended",
                                             "notify_finance:SKIPPED never started ended",
                                             "publish_orders:SKIPPED never started ended"}));
}

TEST(SimulateSteps, BadStepsAndInvestigationsAreRefusedNamingFileLineAndPath) {
  std::string head = "{\"now\": \"2026-12-01T13:00:00Z\",\n \"runs\": [{\"id\": \"r1\", \"job\": \"a\", \"step\": \"s\", "
                     "\"end\": \"2026-12-01T05:00:00Z\", \"failure\": \"user_code_error\"},\n";
  EXPECT_EQ(spec_error(head + "  {\"job\": \"a\", \"step\": \"s\", \"end\": \"2026-12-01T06:00:00Z\", \"parent\": \"r1\", \"upstream\": [\"e\"]}]}"),
            "spec.json:3: /runs/1/upstream: a re-execution from failure (\"parent\") starts at the failed step: no upstream steps run");
  EXPECT_EQ(spec_error(head + "  {\"job\": \"a\", \"end\": \"2026-12-01T06:00:00Z\", \"failure\": \"preempted\", \"downstream\": [\"p\"]}]}"),
            "spec.json:3: /runs/1: steps besides \"step\" need a run that succeeded or whose step failed (user_code_error, "
            "connection_error, k8s_api_error, prestart_kill, backoff_limit)");
  EXPECT_EQ(spec_error(head + "  {\"job\": \"a\", \"end\": \"2026-12-01T06:00:00Z\", \"upstream\": [\"e\", \"e\"]}]}"),
            "spec.json:3: /runs/1/upstream/1: \"e\" is given twice");
  EXPECT_EQ(spec_error(head + "  {\"job\": \"a\", \"step\": \"s\", \"end\": \"2026-12-01T06:00:00Z\", \"downstream\": [\"s\"]}]}"),
            "spec.json:3: /runs/1: step \"s\" is the run's own step");
  std::string runs = head + "  {\"id\": \"r2\", \"job\": \"a\", \"end\": \"2026-12-01T06:00:00Z\"}],\n";
  EXPECT_EQ(spec_error(runs + " \"investigations\": [{\"command\": [\"hung\"], \"mentions\": [\"x\"]}]}"),
            "spec.json:4: /investigations/0/command: unknown investigation \"hung\"; expected one of: compare, steps");
  EXPECT_EQ(spec_error(runs + " \"investigations\": [{\"command\": [\"compare\", \"r1\"], \"mentions\": [\"x\"]}]}"),
            "spec.json:4: /investigations/0/command: \"compare\" takes 2 run id(s), not 1");
  EXPECT_EQ(spec_error(runs + " \"investigations\": [{\"command\": [\"steps\", \"r9\"], \"mentions\": [\"x\"]}]}"),
            "spec.json:4: /investigations/0/command/1: names a run id that no run of the spec has");
  EXPECT_EQ(spec_error(runs + " \"investigations\": [{\"command\": [\"steps\", \"r1\"]}]}"),
            "spec.json:4: /investigations/0: claims nothing: give \"values\", \"mentions\" or \"omits\"");
  EXPECT_EQ(spec_error(runs + " \"investigations\": [{\"command\": [\"steps\", \"r1\"], \"values\": {\"steps\": 1}}]}"),
            "spec.json:4: /investigations/0/values: \"steps\" is not a JSON pointer (\"/a/0/b\")");
}

}  // namespace
}  // namespace analyzer
