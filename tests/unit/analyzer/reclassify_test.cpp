#include "analyzer/classify/reclassify.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "recorder/base/json.hpp"
#include "support/cli_outcome.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr double k_start = 1774850000;  // every test run lives [k_start, k_end)
constexpr double k_end = 1774853600;
const std::string k_max_runtime = "Exceeded maximum runtime of 3600 seconds.";
const std::string k_exiting =
    "Attempted to run load_op again even though it was already started. Exiting to prevent re-running the step.";
const std::string k_health_check =
    "Step load_op failed health check: Discovered failed Kubernetes job dagster-step-3f2a for step load_op.";
const std::string k_agent_timeout =
    "HTTPSConnectionPool(host='kipp.agent.dagster.cloud', port=443): Read timed out. (read timeout=60)";

// A failure record of run `id` collected as `category` (rule "collected-rule"), with `extra` members.
std::string failure(const std::string& id, const std::string& category, const std::string& extra = "") {
  return fmt::format(R"({{"runId": "{}", "jobName": "job_{}", "startTime": {}, "endTime": {},
    "category": "{}", "ruleId": "collected-rule"{}{}}})",
                     id, id, k_start, k_end, category, extra.empty() ? "" : ", ", extra);
}

// An artifact with step 01 `failures`, step 07 `agents` and step 10 `pod_events` (JSON array texts).
std::string artifact(const std::vector<std::string>& failures, const std::string& agents = "[]",
                     const std::string& pod_events = "[]") {
  std::string list;
  for (const auto& item : failures) list += (list.empty() ? "" : ",") + item;
  return fmt::format(R"({{"step_01_failed_runs": {{"failures": [{}]}},
    "step_07_agents": {{"agents": {}}}, "step_10_gke_events": {{"podEvents": {}}}}})",
                     list, agents, pod_events);
}

std::string agent_error(double t, const std::string& message = k_agent_timeout) {
  return fmt::format(R"([{{"id": "agent-1", "errors": [{{"timestamp": {}, "className": "requests.exceptions.ReadTimeout",
    "message": "{}"}}]}}])", t, message);
}

std::string pod_event(const std::string& run_id, const std::string& reason, double t) {
  return fmt::format(R"({{"timestamp": {}, "podName": "dagster-run-{}-x", "reason": "{}", "message": "m", "runId": "{}"}})",
                     t, run_id, reason, run_id);
}

Reclassification only(const std::string& text) {
  auto document = recorder::parse_json(text, "test.json");
  EXPECT_TRUE(document) << document.error().message;
  auto results = reclassify(*document, default_reclassify_rules());
  EXPECT_EQ(results.size(), 1U);
  return results.begin()->second;
}

std::vector<std::string> pointers(const Reclassification& result) {
  std::vector<std::string> out;
  for (const auto& item : result.evidence) out.push_back(item.pointer);
  return out;
}

void expect_kept(const Reclassification& result, Category collected) {
  EXPECT_FALSE(result.reclassified);
  EXPECT_EQ(result.category, collected);
  EXPECT_EQ(result.rule_id, "collected-rule");
  EXPECT_EQ(pointers(result), std::vector<std::string>{"/step_01_failed_runs/failures/0"});
}

// `result` moved to `category` by rule `rule_id`; its evidence is the run's failure record, then
// `evidence`: pointers into the artifact ("/step_..."), or else relative to the failure record.
void expect_moved(const Reclassification& result, Category category, const std::string& rule_id,
                  const std::vector<std::string>& evidence) {
  EXPECT_EQ(result.category, category);
  EXPECT_EQ(result.rule_id, rule_id);
  std::vector<std::string> expected{"/step_01_failed_runs/failures/0"};
  for (const auto& pointer : evidence) {
    expected.push_back(pointer.starts_with("/step_") ? pointer : "/step_01_failed_runs/failures/0" + pointer);
  }
  EXPECT_EQ(pointers(result), expected);
}

// ---- Agent API timeout ---------------------------------------------------------------------------

TEST(Reclassify, AgentReadTimeoutDuringTheRunIsAgentApiTimeout) {
  auto result = only(artifact({failure("a", "Unclassified")}, agent_error(k_start + 600)));
  EXPECT_TRUE(result.reclassified);
  EXPECT_EQ(result.category, Category::agent_api_timeout);
  EXPECT_EQ(result.rule_id, "agent-api-timeout");
  EXPECT_EQ(result.collected, Category::unclassified);
  EXPECT_EQ(pointers(result),
            (std::vector<std::string>{"/step_01_failed_runs/failures/0", "/step_07_agents/agents/0/errors/0"}));
  EXPECT_EQ(result.evidence[1].epoch, k_start + 600);
  EXPECT_THAT(result.guidance, HasSubstr("agent.dagster.cloud"));
}

TEST(Reclassify, AgentReadTimeoutAppliesToConnectionFailure) {
  auto result = only(artifact({failure("a", "Connection failure")}, agent_error(k_end + 59)));
  EXPECT_EQ(result.category, Category::agent_api_timeout);
}

TEST(Reclassify, AgentReadTimeoutJustAfterTheRunIsIndependent) {
  // An instant covers [t - 60, t + 60): at k_end + 60 it starts where the run ends.
  expect_kept(only(artifact({failure("a", "Unclassified")}, agent_error(k_end + 60))), Category::unclassified);
}

TEST(Reclassify, AgentErrorOfAnotherHostIsNotAnAgentApiTimeout) {
  auto other = agent_error(k_start + 600, "HTTPSConnectionPool(host='api.github.com', port=443): Read timed out.");
  expect_kept(only(artifact({failure("a", "Unclassified")}, other)), Category::unclassified);
}

TEST(Reclassify, AgentReadTimeoutLeavesACodeErrorAlone) {
  expect_kept(only(artifact({failure("a", "Code error")}, agent_error(k_start + 600))), Category::code_error);
}

// ---- K8s API timeout -------------------------------------------------------------------------------

TEST(Reclassify, UnrecoverableApiErrorClassIsK8sApiTimeout) {
  auto result = only(artifact({failure("a", "Code error",
                                       R"("errorClass": "dagster_k8s.client.DagsterK8sUnrecoverableAPIError")")}));
  expect_moved(result, Category::k8s_api_timeout, "k8s-api-timeout", {"/errorClass"});
}

TEST(Reclassify, UnrecoverableApiErrorInTheCauseChainCounts) {
  auto result = only(artifact({failure("a", "Code error", R"("errorClass": "RuntimeError", "stepErrors": [{"stepKey": "s",
      "errorClass": "RuntimeError", "causeChain": [{"className": "DagsterK8sUnrecoverableAPIError", "message": "x"}]}])")}));
  EXPECT_EQ(result.category, Category::k8s_api_timeout);
  EXPECT_EQ(pointers(result).back(), "/step_01_failed_runs/failures/0/stepErrors/0/causeChain/0/className");
}

TEST(Reclassify, UnrecoverableApiErrorOnlyInAMessageIsNotEnough) {
  auto text = artifact({failure("a", "Code error", R"("errorClass": "RuntimeError", "runFailureMessage":
      "Traceback: raise DagsterK8sUnrecoverableAPIError", "stepErrors": [{"stepKey": "s", "errorClass": "RuntimeError",
      "errorMessage": "dagster_k8s.client.DagsterK8sUnrecoverableAPIError: boom"}])")});
  expect_kept(only(text), Category::code_error);
}

// ---- Node OOM/eviction -------------------------------------------------------------------------------

TEST(Reclassify, OomKillingOfTheRunsPodIsNodeOomEviction) {
  auto events = fmt::format("[{}, {}]", pod_event("b", "OOMKilling", k_start + 60), pod_event("a", "OOMKilling", k_start + 60));
  auto result = only(artifact({failure("a", "Unclassified")}, "[]", events));
  expect_moved(result, Category::node_oom_eviction, "pod-oom-eviction", {"/step_10_gke_events/podEvents/1"});
  EXPECT_THAT(result.guidance, HasSubstr("step 13"));
}

TEST(Reclassify, EvictedOfTheRunsPodIsNodeOomEviction) {
  auto result = only(artifact({failure("a", "Unclassified")}, "[]", "[" + pod_event("a", "Evicted", k_end - 1) + "]"));
  EXPECT_EQ(result.category, Category::node_oom_eviction);
}

// Issue 25: an eviction after the run had ended (its pod cleaned up, a node drained later) cannot be
// what failed it, however close to the end.
TEST(Reclassify, AnEvictionAtOrAfterTheRunsEndIsNotItsCause) {
  for (double t : {k_end, k_end + 30}) {
    auto events = "[" + pod_event("a", "Evicted", t) + "]";
    expect_kept(only(artifact({failure("a", "Unclassified")}, "[]", events)), Category::unclassified);
  }
}

TEST(Reclassify, OomKillingOfAnotherRunsPodIsIgnored) {
  auto events = "[" + pod_event("b", "OOMKilling", k_start + 60) + "]";
  expect_kept(only(artifact({failure("a", "Unclassified")}, "[]", events)), Category::unclassified);
}

TEST(Reclassify, OomKillingLongAfterTheRunIsIgnored) {
  auto events = "[" + pod_event("a", "OOMKilling", k_end + 3600) + "]";
  expect_kept(only(artifact({failure("a", "Unclassified")}, "[]", events)), Category::unclassified);
}

// A node-level OOM kill names no pod: it is evidence for the run only when its pod was the only one
// on the node (nodeEventPods 1), not when several were.
std::string node_kill(const std::string& run_id, int pods_on_node) {
  return fmt::format(R"j({{"timestamp": {}, "podName": "dagster-run-{}-x", "reason": "OOMKilling", "message":
    "Memory cgroup out of memory: Killed process 4242 (python3)", "runId": "{}", "fromNodeEvent": true, "nodeEventPods": {}}})j",
                     k_start + 60, run_id, run_id, pods_on_node);
}

TEST(Reclassify, ANodeOomKillOfTheOnlyPodOnTheNodeIsNodeOomEviction) {
  auto result = only(artifact({failure("a", "Unclassified")}, "[]", "[" + node_kill("a", 1) + "]"));
  expect_moved(result, Category::node_oom_eviction, "pod-oom-eviction", {"/step_10_gke_events/podEvents/0"});
}

TEST(Reclassify, ANodeOomKillSharedByPodsOnTheNodeIsNotEvidence) {
  expect_kept(only(artifact({failure("a", "Unclassified")}, "[]", "[" + node_kill("a", 2) + "]")), Category::unclassified);
}

TEST(Reclassify, AStepJobThatFailedWhenItsPodWasOomKilledIsNodeOomEviction) {
  auto result = only(artifact({failure("a", "Backoff limit")}, "[]", "[" + node_kill("a", 1) + "]"));
  EXPECT_EQ(result.category, Category::node_oom_eviction);
  expect_kept(only(artifact({failure("a", "Backoff limit")})), Category::backoff_limit);
}

TEST(Reclassify, PreemptedPodEventIsNotOomEviction) {
  auto events = "[" + pod_event("a", "Preempted", k_start + 60) + "]";
  expect_kept(only(artifact({failure("a", "Unclassified")}, "[]", events)), Category::unclassified);
}

// ---- Step preempt-hang and Slow-query timeout (dbt) ---------------------------------------------------

std::string max_runtime_failure(const std::string& category, bool exiting, bool materialized) {
  return failure("a", category,
                 fmt::format(R"("runFailureMessage": "{}", "engineEvents": ["Started", {}], "materializations": [{}],
                     "plannedMaterializations": ["x/a", "x/b"])",
                             k_max_runtime, exiting ? "\"" + k_exiting + "\"" : "\"Done\"", materialized ? "\"x/a\"" : ""));
}

TEST(Reclassify, MaxRuntimeWithExitingEventIsStepPreemptHang) {
  auto result = only(artifact({max_runtime_failure("Infra timeout", true, false)}));
  expect_moved(result, Category::step_preempt_hang, "step-preempt-hang", {"/runFailureMessage", "/engineEvents/1"});
  EXPECT_THAT(result.guidance, HasSubstr("dagster-io/dagster#33728"));
}

TEST(Reclassify, MaxRuntimeWithExitingEventAndMaterializationsIsPreemptHangNotDbt) {
  EXPECT_EQ(only(artifact({max_runtime_failure("Infra timeout", true, true)})).category, Category::step_preempt_hang);
}

TEST(Reclassify, MaxRuntimeWithMaterializationsIsSlowQueryTimeout) {
  auto result = only(artifact({max_runtime_failure("Infra timeout", false, true)}));
  expect_moved(result, Category::slow_query_timeout, "dbt-slow-query", {"/runFailureMessage", "/materializations"});
  EXPECT_EQ(result.evidence[2].summary, "1 of 2 planned materializations done");
}

TEST(Reclassify, MaxRuntimeWithMaterializationsAppliesToUnclassified) {
  EXPECT_EQ(only(artifact({max_runtime_failure("Unclassified", false, true)})).category, Category::slow_query_timeout);
}

TEST(Reclassify, MaxRuntimeWithoutMaterializationsStaysInfraTimeout) {
  expect_kept(only(artifact({max_runtime_failure("Infra timeout", false, false)})), Category::infra_timeout);
}

TEST(Reclassify, ExitingEventWithoutMaxRuntimeStaysInfraTimeout) {
  auto text = artifact({failure("a", "Infra timeout", fmt::format(R"("runFailureMessage": "Run timed out",
      "engineEvents": ["{}"])", k_exiting))});
  expect_kept(only(text), Category::infra_timeout);
}

// ---- K8s pre-start kill ----------------------------------------------------------------------------------

std::string health_check_failure(const std::string& category, const std::string& captured) {
  return failure("a", category, fmt::format(R"("stepErrors": [{{"stepKey": "load_op", "message": "{}"}}],
      "logsCapturedSteps": [{}])", k_health_check, captured));
}

TEST(Reclassify, HealthCheckFailureWithoutLogsCapturedIsPreStartKill) {
  auto result = only(artifact({health_check_failure("Code error", "\"other_op\"")}));
  expect_moved(result, Category::k8s_prestart_kill, "k8s-prestart-kill",
               {"/stepErrors/0/message", "/logsCapturedSteps"});
  EXPECT_EQ(result.evidence[2].summary, "no LOGS_CAPTURED for failing step load_op");
}

TEST(Reclassify, HealthCheckFailureInTheRunMessageIsPreStartKill) {
  auto text = artifact({failure("a", "Backoff limit", fmt::format(R"("runFailureMessage": "{}",
      "stepErrors": [{{"stepKey": "load_op", "message": "failed"}}], "logsCapturedSteps": [])", k_health_check))});
  auto result = only(text);
  EXPECT_EQ(result.category, Category::k8s_prestart_kill);
  EXPECT_EQ(result.rule_id, "k8s-prestart-kill-run");
}

TEST(Reclassify, HealthCheckFailureWithLogsCapturedStaysCodeError) {
  expect_kept(only(artifact({health_check_failure("Code error", "\"load_op\"")})), Category::code_error);
}

TEST(Reclassify, HealthCheckMessageWithoutAFailingStepIsNotPreStartKill) {
  auto text = artifact({failure("a", "Code error", fmt::format(R"("runFailureMessage": "{}")", k_health_check))});
  expect_kept(only(text), Category::code_error);
}

// ---- Engine ----------------------------------------------------------------------------------------------

TEST(Reclassify, EveryFailedRunGetsAResultAndBadFieldsAreIgnored) {
  auto document = recorder::parse_json(artifact({failure("a", "Unclassified"), R"({"runId": "b", "category": 7,
      "startTime": "soon", "stepErrors": "none", "materializations": {}})", R"({"jobName": "no id"})"}),
                                       "test.json");
  ASSERT_TRUE(document);
  auto results = reclassify(*document, default_reclassify_rules());
  ASSERT_EQ(results.size(), 2U);
  EXPECT_EQ(results.at("b").category, Category::unclassified);
  EXPECT_FALSE(results.at("b").reclassified);
}

TEST(Reclassify, MissingStepsGiveNoResults) {
  auto document = recorder::parse_json(R"({"step_01_failed_runs": {"error": "boom"}})", "test.json");
  ASSERT_TRUE(document);
  EXPECT_TRUE(reclassify(*document, default_reclassify_rules()).empty());
}

TEST(Reclassify, TagPredicateWithValue) {
  auto rules = parse_reclassify_rules(R"({"version": 1, "rules": [{"id": "t", "from": ["Code error"], "to": "Infra timeout",
      "description": "d", "guidance": "g", "when": {"tag": {"key": "team/a", "value": "x"}}}]})", "r.json");
  ASSERT_TRUE(rules) << rules.error().message;
  auto fires = recorder::parse_json(artifact({failure("a", "Code error", R"("tags": {"team/a": "x"})")}), "t.json");
  auto misses = recorder::parse_json(artifact({failure("a", "Code error", R"("tags": {"team/a": "y"})")}), "t.json");
  ASSERT_TRUE(fires && misses);
  auto result = reclassify(*fires, *rules).at("a");
  EXPECT_EQ(result.category, Category::infra_timeout);
  EXPECT_EQ(pointers(result).back(), "/step_01_failed_runs/failures/0/tags/team~1a");
  EXPECT_FALSE(reclassify(*misses, *rules).at("a").reclassified);
}

// ---- Loading ---------------------------------------------------------------------------------------------

std::string error_of(const std::string& text) {
  auto rules = parse_reclassify_rules(text, "r.json");
  return rules ? "(loaded)" : rules.error().message;
}

std::string one_rule(const std::string& when, const std::string& to = "Infra timeout") {
  return "{\"version\": 1, \"rules\": [\n{\"id\": \"r\", \"from\": [\"Code error\"], \"to\": \"" + to +
         "\",\n\"description\": \"d\", \"guidance\": \"g\",\n\"when\": " + when + "}]}";
}

TEST(ReclassifyRulesParse, DefaultRulesLoad) {
  const auto& rules = default_reclassify_rules();
  ASSERT_EQ(rules.rules.size(), 7U);
  EXPECT_EQ(rules.rules[0].id, "agent-api-timeout");
  EXPECT_THAT(rules.rules[0].source, StartsWith("reclassify.rules.json:"));
  for (const auto& rule : rules.rules) {
    EXPECT_FALSE(rule.guidance.empty()) << rule.id;
    EXPECT_FALSE(rule.description.empty()) << rule.id;
  }
}

TEST(ReclassifyRulesParse, AcceptsEveryPredicate) {
  EXPECT_EQ(error_of(one_rule(R"({"podEvent": {"reason": ["Evicted"]}, "agentError": {"pattern": "a"},
      "runFailureMessage": {"pattern": "b"}, "engineEvent": {"pattern": "c"}, "stepError": {"pattern": "d"},
      "materializations": {"present": false}, "logsCapturedAbsentForFailingStep": {},
      "errorClass": {"equals": "E"}, "tag": {"key": "k"}})")),
            "(loaded)");
}

TEST(ReclassifyRulesParse, RejectsUnknownPredicate) {
  EXPECT_EQ(error_of(one_rule(R"({"podEvnt": {"reason": ["Evicted"]}})")),
            "r.json:4: unknown predicate \"podEvnt\"; expected one of: podEvent, agentError, runFailureMessage, "
            "engineEvent, stepError, materializations, logsCapturedAbsentForFailingStep, errorClass, tag; "
            "did you mean \"podEvent\"?");
}

TEST(ReclassifyRulesParse, RejectsUnknownArgument) {
  EXPECT_EQ(error_of(one_rule(R"({"podEvent": {"reasons": ["Evicted"]}})")),
            "r.json:4: unknown argument of \"podEvent\": \"reasons\"; expected one of: reason; did you mean \"reason\"?");
  EXPECT_EQ(error_of(one_rule(R"({"logsCapturedAbsentForFailingStep": {"step": "x"}})")),
            "r.json:4: unknown argument \"step\" of \"logsCapturedAbsentForFailingStep\"; it takes none");
}

TEST(ReclassifyRulesParse, RejectsUnknownCategory) {
  EXPECT_THAT(error_of(one_rule(R"({"tag": {"key": "k"}})", "Agent API timout")),
              StartsWith("r.json:2: unknown category \"Agent API timout\"; expected one of: Preemption/Interrupt,"));
  EXPECT_THAT(error_of(one_rule(R"({"tag": {"key": "k"}})", "Agent API timout")),
              HasSubstr("did you mean \"Agent API timeout\"?"));
}

TEST(ReclassifyRulesParse, RejectsBadPattern) {
  EXPECT_EQ(error_of(one_rule("{\n\"stepError\":\n {\"pattern\": \"(unclosed\"}}")),
            "r.json:6: invalid pattern \"(unclosed\" for \"stepError\": missing ): (unclosed");
}

TEST(ReclassifyRulesParse, RejectsBadTypes) {
  EXPECT_EQ(error_of(one_rule(R"({"materializations": {"present": "yes"}})")),
            "r.json:4: argument \"present\" of \"materializations\" must be true or false, got \"yes\"");
  EXPECT_EQ(error_of(one_rule(R"({"podEvent": {"reason": "Evicted"}})")),
            "r.json:4: argument \"reason\" of \"podEvent\" must be a non-empty array of non-empty strings, got \"Evicted\"");
  EXPECT_EQ(error_of(one_rule(R"({"errorClass": {}})")),
            "r.json:4: \"errorClass\" needs argument \"equals\" (a non-empty string)");
}

TEST(ReclassifyRulesParse, RejectsMissingKeysAndDuplicateIds) {
  EXPECT_EQ(error_of("{\"version\": 1, \"rules\": [\n{\"id\": \"r\", \"from\": [\"Code error\"], \"to\": \"Code error\","
                     "\"description\": \"d\", \"when\": {\"tag\": {\"key\": \"k\"}}}]}"),
            "r.json:2: rule \"r\" has no \"guidance\"");
  std::string rule = "{\"id\": \"r\", \"from\": [\"Code error\"], \"to\": \"Code error\", \"description\": \"d\", "
                     "\"guidance\": \"g\", \"when\": {\"tag\": {\"key\": \"k\"}}}";
  EXPECT_EQ(error_of("{\"version\": 1, \"rules\": [\n" + rule + ",\n" + rule + "]}"),
            "r.json:3: duplicate rule id \"r\" (first at line 2)");
}

TEST(ReclassifyRulesParse, LoadNamesAMissingFile) {
  auto rules = load_reclassify_rules("/nonexistent/r.json");
  ASSERT_FALSE(rules);
  EXPECT_THAT(rules.error().message, HasSubstr("/nonexistent/r.json"));
}

// ---- day2 report --reclassify -------------------------------------------------------------------------

const fs::path k_overnight = fs::path(DAY2_TEST_DATA) / "artifacts" / "overnight.json";

std::string only_file_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  return files.size() == 1 ? day2test::read_text(files[0]) : "";
}

TEST(ReclassifyCli, ReportUsesTheGivenRulesFile) {
  day2_test::TempDir dir{"day2-reclassify"};
  auto rules = dir.write("custom.rules.json", R"({"version": 1, "rules": [{"id": "custom-schedule", "from": ["Network/SSH"],
      "to": "Agent API timeout", "description": "d", "guidance": "Custom guidance.",
      "when": {"tag": {"key": "dagster/schedule_name"}}}]})");
  fs::create_directories(dir.path() / "out");
  auto outcome = day2test::run_day2({"report", k_overnight.string(), "--out-dir", (dir.path() / "out").string(),
                                     "--reclassify", rules});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  std::string md = only_file_in(dir.path() / "out");
  EXPECT_THAT(md, HasSubstr("Agent API timeout** — 1 failed run(s) classified by rule `custom-schedule`"));
  EXPECT_THAT(md, HasSubstr("Reclassified from Network/SSH by rule `custom-schedule`"));
  EXPECT_THAT(md, HasSubstr("Guidance: Custom guidance."));
  // The evidence in plain words (its JSON pointer is in the JSON form only).
  EXPECT_THAT(md, HasSubstr("  - Evidence (run event): tag dagster/schedule_name=powerschool__sftp_asset_job_schedule\n"));
  EXPECT_THAT(md, Not(HasSubstr("/step_01_failed_runs/failures/0/tags")));
}

// `day2 report tests/data/artifacts/reclassify.json` (one run per row of the seed's table, plus close
// cases that must not fire) against tests/data/reports/reclassify.<format>; DAY2_UPDATE_GOLDEN=1 rewrites it.
void expect_golden(const std::string& format) {
  day2_test::TempDir dir{"day2-reclassify"};
  auto artifact_path = fs::path(DAY2_TEST_DATA) / "artifacts" / "reclassify.json";
  auto outcome = day2test::run_day2({"report", artifact_path.string(), "--out-dir", dir.path().string(), "--format", format});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  std::string actual = only_file_in(dir.path());
  ASSERT_FALSE(actual.empty());
  fs::path expected = fs::path(DAY2_TEST_DATA) / "reports" / ("reclassify." + format);
  if (std::getenv("DAY2_UPDATE_GOLDEN") != nullptr) std::ofstream(expected, std::ios::binary) << actual;
  EXPECT_EQ(actual, day2test::read_text(expected)) << "golden " << expected << " differs (DAY2_UPDATE_GOLDEN=1 rewrites it)";
}

TEST(ReclassifyCli, GoldenMarkdown) { expect_golden("md"); }
TEST(ReclassifyCli, GoldenJson) { expect_golden("json"); }

TEST(ReclassifyCli, RulesCommandListsTheReclassifyRules) {
  auto outcome = day2test::run_day2({"rules"});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_THAT(outcome.out, HasSubstr("reclassify.rules.json (day2 report): 7 rules, first match wins\n"));
  EXPECT_THAT(outcome.out, HasSubstr("dbt-slow-query                       Unclassified / Infra timeout -> Slow-query timeout (dbt)\n"));
}

TEST(ReclassifyCli, BadRulesFileExitsTwoNamingFileAndLine) {
  day2_test::TempDir dir{"day2-reclassify"};
  auto rules = dir.write("bad.rules.json", "{\"version\": 1, \"rules\": [\n{\"id\": \"r\",\n \"from\": [\"Code eror\"]}]}");
  auto outcome = day2test::run_day2({"report", k_overnight.string(), "--out-dir", dir.path().string(), "--reclassify", rules});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_THAT(outcome.err, HasSubstr("--reclassify: " + rules + ":3: unknown category \"Code eror\""));
  EXPECT_EQ(outcome.out, "");
}

}  // namespace
}  // namespace analyzer
