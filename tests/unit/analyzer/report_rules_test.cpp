// The seed's reasoning rules (docs/report.md "Reasoning rules"): for each, a small artifact where it
// fires and a close case where it must not. The report is built in process (the private report
// model), so the rules' settings (Config) can be given directly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "../../../analyzer/report/src/report_model.hpp"
#include "recorder/base/json.hpp"

namespace analyzer::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// 2026-03-29 21:00 UTC .. 2026-03-30 13:00 UTC; T4 is 04:00 UTC.
constexpr double k_t4 = 1774843200;
const std::string k_window =
    R"("window": {"epoch": 1774818000, "utc_start": "2026-03-29T21:00:00Z", "utc_end": "2026-03-30T13:00:00Z", "timezone": "America/New_York"})";

Report build(const std::string& steps, const Config& config = Config{}) {
  auto document = recorder::parse_json("{" + k_window + (steps.empty() ? "" : ", " + steps) + "}", "test");
  EXPECT_TRUE(static_cast<bool>(document)) << (document ? "" : document.error().message);
  auto zone = recorder::Zone::find("America/New_York");
  return build_report(*document, *zone, config);
}

const Finding* rule(const Report& report, const std::string& id) {
  for (const auto* list : {&report.impact, &report.emerging}) {
    auto it = std::find_if(list->begin(), list->end(), [&](const Finding& f) { return f.rule_id == id; });
    if (it != list->end()) { return &*it; }
  }
  return nullptr;
}

std::vector<std::string> pointers(const Finding& finding) {
  std::vector<std::string> out;
  for (const auto& e : finding.evidence) { out.push_back(e.pointer); }
  return out;
}

const ActionRow* action_for(const Report& report, const std::string& item_part) {
  auto it = std::find_if(report.actions.begin(), report.actions.end(),
                         [&](const ActionRow& row) { return row.item.find(item_part) != std::string::npos; });
  return it == report.actions.end() ? nullptr : &*it;
}

std::string at(double epoch) { return std::to_string(static_cast<long long>(epoch)); }

// ---- node losses and event gaps (step 10) ----------------------------------------------------------

std::string pod_row(double t, const std::string& pod, const std::string& reason, const std::string& run_id,
                    const std::string& preemption, const std::string& pool = "") {
  return R"({"timestamp": )" + at(t) + R"(, "podName": ")" + pod + R"(", "reason": ")" + reason +
         R"(", "message": "m", "node": "gke-prod-)" + (pool.empty() ? "default-pool" : pool) + R"(-1a2b3c4d-x1y2", "runId": )" +
         (run_id.empty() ? "null" : "\"" + run_id + "\"") + R"(, "runStatus": "FAILURE", "fromNodeEvent": false)" +
         (pool.empty() ? "" : R"(, "nodePool": ")" + pool + R"(", "spotNode": true)") +
         (preemption.empty() ? "" : R"(, "preemption": ")" + preemption + "\"") + "}";
}

std::string gke(const std::vector<std::string>& pods, const std::string& cluster = "") {
  std::string rows;
  for (const auto& row : pods) rows += (rows.empty() ? "" : ", ") + row;
  return R"("step_10_gke_events": {"podEvents": [)" + rows + R"(], "clusterEvents": [)" + cluster + "]}";
}

const std::string k_run_a = "2428d0b6-dad3-45f2-89d2-2366c794389c";
const std::string k_run_b = "a030ec01-5ae1-45e2-80ba-3ac8d7a41959";

std::string churn(int creates, const std::string& verdict) {
  std::string events;
  for (int i = 0; i < creates; ++i) {
    events += (i ? ", " : "") + std::string(R"({"timestamp": )") + at(k_t4 + 600.0 * i) +
              R"(, "podName": "agent-7d9f-)" + std::to_string(i) + R"(", "principal": "rs", "statusCode": 0})";
  }
  return R"("step_08_agent_pod_churn": {"events": [)" + events + R"(], "skipped": false, "createCount": )" +
         std::to_string(creates) + R"(, "expectedReplicas": 1, "maxSurgePercent": 200, "verdict": ")" + verdict + "\"}";
}

TEST(ReportRules, AnAgentChurnStormIsEscalatedEvenWithHealthyAgents) {
  auto report = build(churn(10, "storm"));
  const Finding* storm = rule(report, "agent-churn-storm");
  ASSERT_NE(storm, nullptr);
  EXPECT_THAT(storm->summary, HasSubstr("10 agent pod creation(s)"));
  EXPECT_EQ(storm->evidence.size(), 10u);
  EXPECT_EQ(storm->evidence.front().pointer, "/step_08_agent_pod_churn/events/0");
  // One mechanism, one action: the storm is a platform cause whose Escalate row replaces the finding's.
  const ActionRow* row = action_for(report, "(`agent-churn-storm`)");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->action, Action::escalate);
  EXPECT_EQ(action_for(report, "Agent pod churn storm:"), nullptr);
}

TEST(ReportRules, ARetriedRolloutIsNoStorm) {
  EXPECT_EQ(rule(build(churn(4, "retried_rollout")), "agent-churn-storm"), nullptr);
  EXPECT_EQ(rule(build(churn(2, "normal_rollout")), "agent-churn-storm"), nullptr);
}

TEST(ReportRules, SpotReclaimAndPriorityPreemptionAreTwoFindingsWithTheirOwnPods) {
  auto report = build(gke({
      pod_row(k_t4, "dagster-run-" + k_run_a + "-x7k2p", "Preempted", k_run_a, "priority"),
      pod_row(k_t4 + 600, "dagster-run-" + k_run_b + "-x7k2p", "NodePreempted", k_run_b, "spot", "spot-pool"),
      pod_row(k_t4 + 625, "dagster-run-" + k_run_b + "-x7k2p", "NodeShutdown", k_run_b, "spot", "spot-pool"),
  }));
  const Finding* priority = rule(report, "priority-preemption");
  const Finding* spot = rule(report, "spot-reclaim");
  ASSERT_NE(priority, nullptr);
  ASSERT_NE(spot, nullptr);
  ASSERT_EQ(priority->items.size(), 1u);
  EXPECT_THAT(priority->items[0], HasSubstr(k_run_a));
  EXPECT_THAT(priority->summary, HasSubstr("PriorityClass"));
  // One pod, one item: Compute Engine's reclaim and the node's shutdown are both its evidence.
  ASSERT_EQ(spot->items.size(), 1u);
  EXPECT_THAT(spot->items[0], HasSubstr(k_run_b));
  EXPECT_THAT(spot->items[0], HasSubstr("pool `spot-pool`"));
  EXPECT_THAT(pointers(*spot), ::testing::ElementsAre("/step_10_gke_events/podEvents/1", "/step_10_gke_events/podEvents/2"));
  EXPECT_THAT(spot->summary, HasSubstr("on-demand pool"));
  ASSERT_NE(action_for(report, "Spot VM reclaims"), nullptr);
  EXPECT_EQ(action_for(report, "Spot VM reclaims")->action, Action::monitor);
}

TEST(ReportRules, NoNodeLossFindingForAShutdownOffSpotOrForPodsThatAreNotRuns) {
  auto report = build(gke({
      pod_row(k_t4, "dagster-run-" + k_run_a + "-x7k2p", "NodeShutdown", k_run_a, "node_shutdown"),
      pod_row(k_t4, "etl-prod-5d8c9-abcde", "Preempted", "", "priority"),           // a code server
      pod_row(k_t4, "etl-prod-5d8c9-fghij", "NodePreempted", "", "spot", "spot-pool"),  // not a run pod
      pod_row(k_t4, "dagster-run-" + k_run_b + "-x7k2p", "Evicted", k_run_b, ""),
  }));
  EXPECT_EQ(rule(report, "priority-preemption"), nullptr);
  EXPECT_EQ(rule(report, "spot-reclaim"), nullptr);
}

TEST(ReportRules, AnEventExporterRestartIsAGapInTheKubernetesEvidence) {
  std::string restart = R"({"timestamp": )" + at(k_t4) + R"(, "kind": "EventExporter", "name": "", "reason": "EventExporterRestarted",
      "message": "Event exporter started watching. Some events may have been lost up to this point.", "resourceType": "k8s_cluster"})";
  auto report = build(gke({}, restart));
  const Finding* gap = rule(report, "event-exporter-gap");
  ASSERT_NE(gap, nullptr);
  EXPECT_THAT(pointers(*gap), ::testing::ElementsAre("/step_10_gke_events/clusterEvents/0"));
  EXPECT_THAT(gap->items[0], HasSubstr("00:00"));  // 04:00 UTC in New York
  EXPECT_THAT(gap->summary, HasSubstr("not evidence"));
  // A Job event is not a gap.
  std::string job = R"({"timestamp": )" + at(k_t4) + R"(, "kind": "Job", "name": "dagster-step-0badc0de", "reason": "BackoffLimitExceeded",
      "message": "Job has reached the specified backoff limit", "resourceType": "k8s_cluster"})";
  EXPECT_EQ(rule(build(gke({}, job)), "event-exporter-gap"), nullptr);
}

// ---- agent topology -------------------------------------------------------------------------------

std::string agents(const std::string& running, bool deviation, const std::string& errors) {
  return R"("step_07_agents": {"agents": [{"id": "agent-1", "status": "RUNNING", "errors": [)" + errors +
         R"(]}], "agentCount": 1, "runningCount": )" + running + R"(, "expectedReplicas": 1, "topologyDeviation": )" +
         (deviation ? "true" : "false") + "}";
}

std::string agent_pod_event(double t) {
  return R"("step_10_gke_events": {"podEvents": [{"timestamp": )" + at(t) +
         R"(, "podName": "user-cloud-dagster-cloud-agent-agent-6d9f-abcde", "reason": "Preempted", "message": "Preempted by kube-system", "runId": null, "runStatus": "UNKNOWN"}], "clusterEvents": []})";
}

TEST(ReportRules, AgentTopologyDeviationIsFlagged) {
  auto report = build(agents("2", true, ""));
  const Finding* finding = rule(report, "agent-topology");
  ASSERT_NE(finding, nullptr);
  EXPECT_EQ(finding->summary, "2 agent(s) RUNNING, 1 expected (dagsterCloudAgent.replicas)");
  EXPECT_THAT(pointers(*finding), ::testing::Contains("/step_07_agents"));
  ASSERT_NE(action_for(report, "Agent topology"), nullptr);
  EXPECT_EQ(action_for(report, "Agent topology")->action, Action::investigate);
}

TEST(ReportRules, AgentTopologyListsTheAgentsPodEventsAsPossibleCauses) {
  const Finding* finding = nullptr;
  auto report = build(agents("0", true, "") + ", " + agent_pod_event(k_t4));
  finding = rule(report, "agent-topology");
  ASSERT_NE(finding, nullptr);
  EXPECT_THAT(pointers(*finding), ::testing::ElementsAre("/step_07_agents", "/step_10_gke_events/podEvents/0"));
}

TEST(ReportRules, AgentTopologyWithoutDeviationIsQuiet) {
  EXPECT_EQ(rule(build(agents("1", false, "")), "agent-topology"), nullptr);
}

TEST(ReportRules, AgentPreemptedWhileNoHeartbeatIsRare) {
  std::string error = R"({"message": "no agents have recently heartbeated", "timestamp": )" + at(k_t4) + "}";
  auto report = build(agents("0", true, error) + ", " + agent_pod_event(k_t4 + 30));
  const Finding* finding = rule(report, "agent-preempted-without-heartbeat");
  ASSERT_NE(finding, nullptr);
  EXPECT_THAT(pointers(*finding), ::testing::ElementsAre("/step_10_gke_events/podEvents/0", "/step_07_agents/agents/0/errors/0"));
  EXPECT_THAT(finding->summary, HasSubstr("higher-priority pod"));
  // The agent's pod disruption is the platform cause (the lost heartbeats fold into it): its one
  // Investigate row replaces the finding's.
  const ActionRow* row = action_for(report, "(`infra-pod-agent`)");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->action, Action::investigate);
  EXPECT_EQ(action_for(report, "Agent pod preempted"), nullptr);
  EXPECT_EQ(action_for(report, "agent-heartbeat-loss"), nullptr);
}

TEST(ReportRules, AgentPreemptionOutsideTheGateIsNotLinked) {
  std::string error = R"({"message": "no agents have recently heartbeated", "timestamp": )" + at(k_t4) + "}";
  // Instants are ±60 s wide: 120 s apart they do not overlap.
  EXPECT_EQ(rule(build(agents("0", true, error) + ", " + agent_pod_event(k_t4 + 120)), "agent-preempted-without-heartbeat"), nullptr);
}

TEST(ReportRules, AgentReadTimeoutWhileRunningIsControlPlane) {
  std::string error = R"x({"message": "ReadTimeout: HTTPSConnectionPool(host='kipp.agent.dagster.cloud', port=443)", "timestamp": )x" +
                      at(k_t4) + "}";
  auto report = build(agents("1", false, error));
  const Finding* finding = rule(report, "agent-control-plane-timeout");
  ASSERT_NE(finding, nullptr);
  EXPECT_THAT(finding->summary, HasSubstr("control-plane connectivity issue, not pod-level preemption"));
  EXPECT_THAT(pointers(*finding), ::testing::ElementsAre("/step_07_agents/agents/0/errors/0"));
}

TEST(ReportRules, AgentReadTimeoutWithNoAgentRunningIsNotControlPlane) {
  std::string error = R"({"message": "ReadTimeout to kipp.agent.dagster.cloud", "timestamp": )" + at(k_t4) + "}";
  EXPECT_EQ(rule(build(agents("0", true, error)), "agent-control-plane-timeout"), nullptr);
}

// ---- tick UNAVAILABLE -----------------------------------------------------------------------------

std::string unavailable_ticks(int count) {
  std::string ticks;
  for (int i = 0; i < count; ++i) {
    ticks += std::string(i ? ", " : "") + R"({"tickId": ")" + std::to_string(i) + R"(", "timestamp": )" + at(k_t4 + 30.0 * i) +
             R"(, "error": "grpc._channel._InactiveRpcError: status = StatusCode.UNAVAILABLE"})";
  }
  return R"("step_03_sensor_ticks": {"kipptaf": {"fivetran_sensor": {"failureCount": )" + std::to_string(count) +
         R"(, "ticks": [)" + ticks + "]}}}";
}

const std::string k_code_server_events =
    R"("step_10_gke_events": {"podEvents": [
      {"timestamp": )" + at(k_t4 + 60) + R"(, "podName": "kipptaf-prod-7d9f8-abcde", "reason": "Preempted", "message": "Preempted", "runId": null},
      {"timestamp": )" + at(k_t4 + 1800) + R"(, "podName": "kipptaf-prod-7d9f8-fghij", "reason": "Killing", "message": "Stopping", "runId": null}],
      "clusterEvents": []})";

TEST(ReportRules, SixUnavailableTicksGiveTheProcedureWithGatedPodEvents) {
  auto report = build(unavailable_ticks(6) + ", " + k_code_server_events);
  const Finding* finding = rule(report, "tick-unavailable-procedure");
  ASSERT_NE(finding, nullptr);
  EXPECT_EQ(finding->label, "Tick failures (gRPC UNAVAILABLE) in `kipptaf`");
  ASSERT_EQ(finding->items.size(), 3u);
  EXPECT_THAT(finding->items[0], HasSubstr("1 found → preemption (cluster side)"));
  EXPECT_THAT(finding->items[1], HasSubstr("Service recreation (agent side)"));
  EXPECT_THAT(finding->items[2], HasSubstr("audit log"));
  // The Killing event 30 minutes later does not pass the gate.
  EXPECT_THAT(pointers(*finding), ::testing::ElementsAre("/step_03_sensor_ticks/kipptaf/fivetran_sensor/ticks/0",
                                                         "/step_03_sensor_ticks/kipptaf/fivetran_sensor/ticks/5",
                                                         "/step_10_gke_events/podEvents/0"));
  // The preempted code server is the platform cause of these ticks: its row replaces the
  // procedure's and the tick failures' (every failed tick is linked to it).
  const ActionRow* row = action_for(report, "(`infra-pod-code-server`) in `kipptaf`");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->action, Action::investigate);
  EXPECT_EQ(action_for(report, "UNAVAILABLE"), nullptr);
  EXPECT_EQ(action_for(report, "Tick failures:"), nullptr);
}

// Issue 25, missing is not absent: with step 10 holding an error, the procedure cannot read "0 found".
TEST(ReportRules, TheProcedureSaysPodEventsAreMissingWhenStepTenFailed) {
  auto report = build(unavailable_ticks(6) + R"(, "step_10_gke_events": {"error": "logging entries.list: HTTP 403 PERMISSION_DENIED"},)" +
                      R"( "step_08_agent_pod_churn": {"error": "logging entries.list: HTTP 403 PERMISSION_DENIED"})");
  const Finding* finding = rule(report, "tick-unavailable-procedure");
  ASSERT_NE(finding, nullptr);
  EXPECT_THAT(finding->items[0], HasSubstr("evidence missing (`step_10_gke_events` holds an error: logging entries.list: HTTP 403"));
  EXPECT_THAT(finding->items[0], Not(HasSubstr("0 found")));
  EXPECT_THAT(finding->items[0], Not(HasSubstr("no preemption evidence")));
  EXPECT_THAT(finding->items[1], HasSubstr("step 08: evidence missing: `step_08_agent_pod_churn` holds an error"));
}

// The close case: step 10 read and empty is evidence of absence.
TEST(ReportRules, TheProcedureReadsNoPodEventsAsNoPreemptionEvidenceWhenStepTenWasRead) {
  auto report = build(unavailable_ticks(6) + R"(, "step_10_gke_events": {"podEvents": [], "clusterEvents": []})");
  const Finding* finding = rule(report, "tick-unavailable-procedure");
  ASSERT_NE(finding, nullptr);
  EXPECT_THAT(finding->items[0], HasSubstr("0 found → no preemption evidence"));
}

TEST(ReportRules, ExactlyFiveUnavailableTicksDoNotFire) {
  EXPECT_EQ(rule(build(unavailable_ticks(5) + ", " + k_code_server_events), "tick-unavailable-procedure"), nullptr);
}

TEST(ReportRules, ScheduleTicksCountTowardsTheirLocation) {
  std::string schedule = R"("step_06_schedule_ticks": {"scheduleTickFailures": {"kipptaf/nightly": [{"timestamp": )" + at(k_t4 + 500) +
                         R"(, "errorClass": "DagsterUserCodeUnreachableError", "error": "StatusCode.UNAVAILABLE"}]}})";
  const Finding* finding = nullptr;
  auto report = build(unavailable_ticks(5) + ", " + schedule);
  finding = rule(report, "tick-unavailable-procedure");
  ASSERT_NE(finding, nullptr);
  EXPECT_THAT(pointers(*finding), ::testing::Contains("/step_06_schedule_ticks/scheduleTickFailures/kipptaf~1nightly/0"));
}

// ---- runs that never started and top-of-hour fan-out ------------------------------------------------

std::string never_started_run(const std::string& id, double created) {
  double failed = created + 480;
  return R"({"runId": ")" + id + R"(", "jobName": "nightly", "location": "kipptaf", "status": "FAILURE", "startTime": )" + at(failed) +
         R"(, "endTime": )" + at(failed) +
         R"(, "runFailureMessage": "Run timed out due to taking longer than 480 seconds to start.", "stepErrors": [], "category": "Infra timeout", "ruleId": "start-timeout"})";
}

std::string failed_runs(const std::string& failures) {
  return R"("step_01_failed_runs": {"failureCount": 1, "successCount": 0, "canceledCount": 0, "failures": [)" + failures + "]}";
}

TEST(ReportRules, NeverStartedRunGetsItsJobCreationAndTheAuditQuery) {
  auto report = build(failed_runs(never_started_run("aaaaaaaa-1111-2222-3333-444444444444", k_t4 + 180)));
  const Finding* finding = rule(report, "run-never-started");
  ASSERT_NE(finding, nullptr);
  ASSERT_EQ(finding->items.size(), 1u);
  // 04:03 UTC is 00:03 EDT.
  EXPECT_THAT(finding->items[0], HasSubstr("Job created about 2026-03-30 00:03:00 EDT (start − 480 s)"));
  EXPECT_THAT(finding->items[0], HasSubstr(R"(protoPayload.resourceName=~"dagster-run-aaaaaaaa-1111-2222-3333-444444444444.*")"));
  EXPECT_THAT(pointers(*finding), ::testing::ElementsAre("/step_01_failed_runs/failures/0"));
  // One item, one action: the run already has its row (Infra timeout); the finding's reading joins it.
  EXPECT_EQ(action_for(report, "Runs that never started"), nullptr);
  const ActionRow* row = action_for(report, "`nightly` `aaaaaaaa`");
  ASSERT_NE(row, nullptr);
  EXPECT_THAT(row->full_rationale(), HasSubstr("Runs that never started (`run-never-started`): confirm the Job creation time"));
}

// A failed run as collect classified it: its run failure message, category and rule.
std::string matched_run(const std::string& id, double end, const std::string& message, const std::string& category,
                        const std::string& rule_id) {
  return R"({"runId": ")" + id + R"(", "jobName": "nightly", "location": "kipptaf", "status": "FAILURE", "startTime": )" +
         at(end - 600) + R"(, "endTime": )" + at(end) + R"(, "runFailureMessage": ")" + message +
         R"(", "stepErrors": [], "category": ")" + category + R"(", "ruleId": ")" + rule_id + "\"}";
}

std::size_t rows_naming(const Report& report, const std::string& text) {
  return static_cast<std::size_t>(std::count_if(report.actions.begin(), report.actions.end(),
                                                [&](const ActionRow& row) { return row.item.find(text) != std::string::npos; }));
}

// One cause per mechanism: two rules that read the same interrupt through different fields give one
// cause and one action row; each run keeps the rule that matched it.
TEST(ReportRules, RunsOfOneMechanismMatchedByTwoRulesAreOneCauseWithOneAction) {
  auto report = build(failed_runs(
      matched_run(k_run_a, k_t4, "Execution was interrupted unexpectedly", "Preemption/Interrupt", "run-interrupted") + ", " +
      matched_run(k_run_b, k_t4 + 60, "Executor received termination signal, forwarding to steps", "Preemption/Interrupt",
                  "executor-termination-signal")));
  ASSERT_EQ(report.causes.size(), 1u);
  const Cause& cause = report.causes[0];
  ASSERT_EQ(cause.runs.size(), 2u);
  EXPECT_EQ(cause.rule_id, "executor-termination-signal, run-interrupted");
  EXPECT_EQ(cause.runs[0].rule_id, "run-interrupted");
  EXPECT_EQ(cause.runs[1].rule_id, "executor-termination-signal");
  EXPECT_THAT(cause.narrative,
              HasSubstr("one of collect's rules `executor-termination-signal`, `run-interrupted` (one mechanism)"));
  EXPECT_EQ(rows_naming(report, "Preemption/Interrupt"), 1u);
}

// The close case: one category, two mechanisms (an OOM kill and an eviction) stay two causes.
TEST(ReportRules, OneCategoryTwoMechanismsAreTwoCauses) {
  auto report = build(failed_runs(
      matched_run(k_run_a, k_t4, "K8s job failed: container OOMKilled", "Node OOM/eviction", "oom-killed") + ", " +
      matched_run(k_run_b, k_t4 + 60, "Pod was Evicted: The node was low on resource: memory", "Node OOM/eviction",
                  "pod-evicted")));
  ASSERT_EQ(report.causes.size(), 2u);
  EXPECT_EQ(report.causes[0].runs.size(), 1u);
  EXPECT_EQ(report.causes[1].runs.size(), 1u);
  EXPECT_NE(report.causes[0].rule_id, report.causes[1].rule_id);
}

// The mechanism the artifact records is the one of the rules that classified the run (a user's rules
// file): two custom rules naming one mechanism make one cause...
TEST(ReportRules, TheArtifactsMechanismGroupsRulesTheBuiltInRulesDoNotKnow) {
  auto with_mechanism = [](std::string run, const std::string& mechanism) {
    return run.insert(run.size() - 1, R"(, "mechanism": ")" + mechanism + "\"");
  };
  auto report = build(failed_runs(
      with_mechanism(matched_run(k_run_a, k_t4, "warehouse quota exceeded", "Infra timeout", "quota-exceeded"), "warehouse-quota") +
      ", " +
      with_mechanism(matched_run(k_run_b, k_t4 + 60, "slot limit reached", "Infra timeout", "slot-limit"), "warehouse-quota")));
  ASSERT_EQ(report.causes.size(), 1u);
  EXPECT_EQ(report.causes[0].rule_id, "quota-exceeded, slot-limit");
  // ... and without it (an artifact of the operators' collector) those rules are two causes.
  auto plain = build(failed_runs(matched_run(k_run_a, k_t4, "warehouse quota exceeded", "Infra timeout", "quota-exceeded") + ", " +
                                 matched_run(k_run_b, k_t4 + 60, "slot limit reached", "Infra timeout", "slot-limit")));
  EXPECT_EQ(plain.causes.size(), 2u);
}

TEST(ReportRules, RunThatStartedIsNotNeverStarted) {
  std::string run = never_started_run("aaaaaaaa-1111-2222-3333-444444444444", k_t4);
  run.replace(run.find("Run timed out"), 61, "Exceeded maximum runtime of 3600 seconds.");
  EXPECT_EQ(rule(build(failed_runs(run)), "run-never-started"), nullptr);
}

TEST(ReportRules, TwoNeverStartedRunsAtTheTopOfTheHourAreFanOut) {
  auto report = build(failed_runs(never_started_run("aaaaaaaa-0000-0000-0000-000000000001", k_t4 + 180) + ", " +
                                  never_started_run("bbbbbbbb-0000-0000-0000-000000000002", k_t4 + 300)));
  const Finding* finding = rule(report, "top-of-hour-fan-out");
  ASSERT_NE(finding, nullptr);
  EXPECT_THAT(finding->summary, HasSubstr("autoscaler latency at a scheduling spike"));
  EXPECT_THAT(finding->summary, HasSubstr("not agent or K8s-API trouble"));
  EXPECT_THAT(pointers(*finding), ::testing::ElementsAre("/step_01_failed_runs/failures/0", "/step_01_failed_runs/failures/1"));
  // Both runs sit in one row (Monitor: two Infra timeouts, no retry), which carries the fan-out's reading.
  EXPECT_EQ(action_for(report, "Top-of-hour fan-out:"), nullptr);
  const ActionRow* row = action_for(report, "`bbbbbbbb`");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->action, Action::monitor);
  EXPECT_EQ(row->run_ids.size(), 2u);
  EXPECT_THAT(row->full_rationale(), HasSubstr("Top-of-hour fan-out (`top-of-hour-fan-out`): autoscaler latency"));
}

TEST(ReportRules, LoneNeverStartedRunAtThreeMinutesPastIsNotFanOut) {
  EXPECT_EQ(rule(build(failed_runs(never_started_run("aaaaaaaa-0000-0000-0000-000000000001", k_t4 + 180))), "top-of-hour-fan-out"), nullptr);
}

TEST(ReportRules, NeverStartedRunsSpreadAcrossTheHourAreNotFanOut) {
  auto report = build(failed_runs(never_started_run("aaaaaaaa-0000-0000-0000-000000000001", k_t4 + 180) + ", " +
                                  never_started_run("bbbbbbbb-0000-0000-0000-000000000002", k_t4 + 2400)));
  EXPECT_EQ(rule(report, "top-of-hour-fan-out"), nullptr);
}

TEST(ReportRules, FanOutThresholdsAreConfigurable) {
  Config config;
  config.thresholds.fan_out_min_runs = 1;
  EXPECT_NE(rule(build(failed_runs(never_started_run("aaaaaaaa-0000-0000-0000-000000000001", k_t4 + 180)), config), "top-of-hour-fan-out"),
            nullptr);
}

// ---- retry chains (issue 25: a chain's outcome is its last run) -----------------------------------

std::string code_error_run(const std::string& id) {
  return R"({"runId": ")" + id + R"(", "jobName": "nightly", "location": "kipptaf", "status": "FAILURE", "startTime": )" +
         at(k_t4 - 600) + R"(, "endTime": )" + at(k_t4) +
         R"(, "runFailureMessage": "Steps failed", "stepErrors": [], "category": "Code error", "ruleId": "user-code-error"})";
}

std::string chain(const std::vector<std::tuple<std::string, std::string, std::string, bool>>& links) {
  std::string rows;
  for (const auto& [parent, child, status, automatic] : links) {
    rows += std::string(rows.empty() ? "" : ", ") + R"({"parentRunId": ")" + parent + R"(", "retryRunId": ")" + child +
            R"(", "retryStatus": ")" + status + R"(", "jobName": "nightly", "automatic": )" + (automatic ? "true" : "false") + "}";
  }
  return R"("step_02_retries": {"retries": [)" + rows + "]}";
}

const std::string k_first = "aaaaaaaa-0000-0000-0000-00000000000a";
const std::string k_second = "bbbbbbbb-0000-0000-0000-00000000000b";
const std::string k_third = "cccccccc-0000-0000-0000-00000000000c";

// The close case: a chain whose last link is Dagster's automatic retry stays "transient".
TEST(ReportRules, AChainEndingInAnAutomaticRetrySucceededIsTransient) {
  auto report = build(failed_runs(code_error_run(k_first)) + ", " +
                      chain({{k_first, k_second, "FAILURE", false}, {k_second, k_third, "SUCCESS", true}}));
  const ActionRow* row = action_for(report, "`nightly` `aaaaaaaa`");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->action, Action::no_action);
  EXPECT_EQ(row->rationale, "transient: the retry succeeded");
}

TEST(ReportRules, ARunWhoseChainEndsInSuccessNeedsNoActionAndAManualReexecutionIsLabelled) {
  auto report = build(failed_runs(code_error_run(k_first)) + ", " +
                      chain({{k_first, k_second, "FAILURE", true}, {k_second, k_third, "SUCCESS", false}}));
  const ActionRow* row = action_for(report, "`nightly` `aaaaaaaa`");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->action, Action::no_action);
  EXPECT_EQ(row->rationale, "re-executed by hand and succeeded");  // someone's re-execution: maybe after a fix
  ASSERT_EQ(report.causes.size(), 1u);
  EXPECT_EQ(report.causes[0].runs.at(0).retry.text,
            "retry " + k_second + ": FAILURE; re-execution " + k_third + " (manual): SUCCESS");
  EXPECT_EQ(report.causes[0].runs.at(0).retry.outcome, "SUCCESS");
  EXPECT_TRUE(report.causes[0].runs.at(0).retry.last_manual);
  EXPECT_TRUE(row->chain_succeeded);
}

TEST(ReportRules, ARunWhoseChainEndsInFailureIsInvestigated) {
  // The close case: the same chain, its last run failed (an earlier success cannot hide it).
  auto report = build(failed_runs(code_error_run(k_first)) + ", " +
                      chain({{k_first, k_second, "FAILURE", true}, {k_second, k_third, "FAILURE", false}}));
  const ActionRow* row = action_for(report, "`nightly` `aaaaaaaa`");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->action, Action::investigate);
  EXPECT_EQ(row->rationale, "the retry failed too");
}

// ---- corroboration (issue 25: corroborating evidence is cited) --------------------------------------

std::string preempted_run(const std::string& id) {
  return R"({"runId": ")" + id + R"(", "jobName": "nightly", "location": "kipptaf", "status": "FAILURE", "startTime": )" +
         at(k_t4 - 600) + R"(, "endTime": )" + at(k_t4) +
         R"(, "runFailureMessage": "Run worker was interrupted", "stepErrors": [], "category": "Preemption/Interrupt", "ruleId": "interrupted-step"})";
}

TEST(ReportRules, APreemptedPodEventDuringARunClassifiedPreemptionIsCitedAsItsEvidence) {
  auto report = build(failed_runs(preempted_run(k_run_a)) + ", " +
                      gke({pod_row(k_t4 - 120, "dagster-run-" + k_run_a + "-x7k2p", "Preempted", k_run_a, "priority")}));
  ASSERT_EQ(report.causes.size(), 1u);
  const auto& run = report.causes[0].runs.at(0);
  EXPECT_TRUE(run.pod_events.empty());
  EXPECT_EQ(run.pod_events_corroborating, 1);
  auto cited = std::find_if(run.evidence.begin(), run.evidence.end(),
                            [](const Evidence& e) { return e.pointer == "/step_10_gke_events/podEvents/0"; });
  ASSERT_NE(cited, run.evidence.end());
  EXPECT_EQ(cited->kind, "pod_event");
  EXPECT_THAT(cited->summary, HasSubstr("corroborates Preemption/Interrupt"));
  EXPECT_THAT(report.causes[0].narrative, HasSubstr("1 pod event(s) of its pods during the run corroborate it"));
  EXPECT_THAT(report.causes[0].narrative, Not(HasSubstr("no rule cites them")));
}

TEST(ReportRules, APodEventThatDoesNotBearOutTheCategoryOrFallsAfterTheRunStaysUncited) {
  // The close cases: an OOM kill does not corroborate a preemption; a preemption after the run's end
  // cannot.
  auto report = build(failed_runs(preempted_run(k_run_a)) + ", " +
                      gke({pod_row(k_t4 - 120, "dagster-run-" + k_run_a + "-x7k2p", "OOMKilling", k_run_a, ""),
                           pod_row(k_t4 + 30, "dagster-run-" + k_run_a + "-x7k2p", "Preempted", k_run_a, "priority")}));
  const auto& run = report.causes.at(0).runs.at(0);
  EXPECT_EQ(run.pod_events_corroborating, 0);
  for (const auto& e : run.evidence) EXPECT_NE(e.kind, "pod_event") << e.pointer;
  ASSERT_EQ(run.pod_events.size(), 2u);
  EXPECT_EQ(run.pod_events_during, 1);
  EXPECT_EQ(run.pod_events_outside, 1);
}

// ---- dbt retry ------------------------------------------------------------------------------------

std::string dbt_run(const std::string& retry_status) {
  return failed_runs(R"({"runId": "dddddddd-0000-0000-0000-000000000001", "jobName": "dbt_nightly", "location": "kipptaf",
      "status": "FAILURE", "startTime": )" + at(k_t4 - 3600) + R"(, "endTime": )" + at(k_t4) + R"(,
      "runFailureMessage": "Exceeded maximum runtime of 3600 seconds.", "stepErrors": [], "category": "Infra timeout", "ruleId": "max-runtime"})") +
         R"(, "step_02_retries": {"retries": [{"parentRunId": "dddddddd-0000-0000-0000-000000000001", "retryRunId": "eeeeeeee-0000-0000-0000-000000000001", "retryStatus": ")" +
         retry_status + R"(", "jobName": "dbt_nightly"}]})";
}

TEST(ReportRules, DbtRunKilledByMaxRuntimeWithSuccessfulRetryIsNotDefinitive) {
  auto report = build(dbt_run("SUCCESS"));
  const Finding* finding = rule(report, "dbt-retry-not-definitive");
  ASSERT_NE(finding, nullptr);
  EXPECT_THAT(finding->summary, HasSubstr("JOBS_BY_PROJECT"));
  EXPECT_THAT(pointers(*finding), ::testing::ElementsAre("/step_01_failed_runs/failures/0", "/step_02_retries/retries/0"));
  const ActionRow* row = action_for(report, "`dbt_nightly` `dddddddd`");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->action, Action::monitor);
  EXPECT_THAT(row->rationale, HasSubstr("post-dates the retry"));
  for (const auto& action : report.actions) { EXPECT_THAT(action.rationale, Not(HasSubstr("the retry succeeded"))); }
}

TEST(ReportRules, DbtRunWhoseRetryFailedIsNotTheCaveat) {
  auto report = build(dbt_run("FAILURE"));
  EXPECT_EQ(rule(report, "dbt-retry-not-definitive"), nullptr);
  EXPECT_EQ(action_for(report, "`dbt_nightly` `dddddddd`")->action, Action::investigate);
}

// ---- asset checks and degraded assets -----------------------------------------------------------------

std::string failed_with_steps(const std::string& step_errors) {
  return failed_runs(R"({"runId": "cccccccc-0000-0000-0000-000000000001", "jobName": "dbt_build", "location": "kipptaf", "status": "FAILURE",
      "startTime": )" + at(k_t4 - 600) + R"(, "endTime": )" + at(k_t4) + R"(, "runFailureMessage": "Execution of run failed.",
      "stepErrors": [)" + step_errors + R"(], "materializations": ["kipptaf/dbt/rpt_a", "kipptaf/dbt/rpt_b"],
      "category": "Code error", "ruleId": "user-code"})");
}

const std::string k_one_step = R"({"stepKey": "int_students", "message": "dbt test failed"})";

TEST(ReportRules, ErrorCheckOfAFailedRunIsFoldedIntoItsRow) {
  std::string checks = R"("step_16_asset_checks": {"inWindow_error": [
      {"asset": "kipptaf/dbt/int_students", "check": "unique", "status": "FAILED", "severity": "ERROR", "timestamp": )" + at(k_t4 - 60) +
                       R"(, "runId": "cccccccc-0000-0000-0000-000000000001", "description": "2 duplicates"},
      {"asset": "kipptaf/other", "check": "not_null", "status": "FAILED", "severity": "ERROR", "timestamp": )" + at(k_t4 - 60) +
                       R"(, "runId": "ffffffff-0000-0000-0000-000000000001", "description": "nulls"}]})";
  auto report = build(failed_with_steps(k_one_step) + ", " + checks);
  std::size_t run_rows = 0, check_rows = 0;
  for (const auto& row : report.timeline) {
    if (row.kind == "run") {
      ++run_rows;
      EXPECT_EQ(row.pointer, "/step_01_failed_runs/failures/0");
      EXPECT_THAT(row.signal, HasSubstr("asset check `kipptaf/dbt/int_students:unique` FAILED (folded)"));
    }
    if (row.kind == "asset_check") {
      ++check_rows;
      EXPECT_EQ(row.pointer, "/step_16_asset_checks/inWindow_error/1");
    }
  }
  EXPECT_EQ(run_rows, 1u);
  EXPECT_EQ(check_rows, 1u);
  const Finding* folded = rule(report, "asset-check-folded");
  ASSERT_NE(folded, nullptr);
  EXPECT_THAT(pointers(*folded), ::testing::ElementsAre("/step_16_asset_checks/inWindow_error/0", "/step_01_failed_runs/failures/0"));
  // "See the run's row": the folded check is read in that row, not a second action for the run.
  EXPECT_EQ(action_for(report, "Asset checks folded"), nullptr);
  const ActionRow* run_row = action_for(report, "`cccccccc`");
  ASSERT_NE(run_row, nullptr);
  EXPECT_THAT(run_row->rationale, Not(HasSubstr("asset-check-folded")));  // No action adds nothing to it
  EXPECT_EQ(action_for(report, "Asset checks: 1 blocking")->action, Action::investigate);
}

std::string degraded_cluster() {
  return R"("step_17_degraded_assets": {"byRun": [{"runId": "cccccccc-0000-0000-0000-000000000001", "endTime": )" + at(k_t4) +
         R"(, "count": 3, "assets": ["kipptaf/dbt/rpt_a", "kipptaf/dbt/int_students", "kipptaf/dbt/rpt_b"], "inWindow": true}]})";
}

TEST(ReportRules, DegradedClusterOfAOneStepFailureIsMostlyNoise) {
  auto report = build(failed_with_steps(k_one_step) + ", " + degraded_cluster());
  const Finding* finding = rule(report, "degraded-cluster-noise");
  ASSERT_NE(finding, nullptr);
  ASSERT_EQ(finding->items.size(), 1u);
  EXPECT_EQ(finding->items[0],
            "run `cccccccc`: genuinely failed `kipptaf/dbt/int_students`; 2 other degraded asset(s) are noise (the run materialized them)");
  EXPECT_THAT(pointers(*finding), ::testing::ElementsAre("/step_17_degraded_assets/byRun/0", "/step_01_failed_runs/failures/0"));
  EXPECT_EQ(action_for(report, "Degraded-asset noise"), nullptr);  // read in the run's own row
  const ActionRow* run_row = action_for(report, "`cccccccc`");
  ASSERT_NE(run_row, nullptr);
  EXPECT_THAT(run_row->rationale, Not(HasSubstr("degraded-cluster-noise")));
}

// Issue 25: a multi-asset step that materialized two of its assets and then raised. The degraded
// cluster is read per asset: the two planned and not materialized failed; the two it materialized
// are noise; the step's own key is never named as an asset.
std::string multi_asset_cluster(const std::string& unmaterialized) {
  return failed_runs(R"({"runId": "cccccccc-0000-0000-0000-000000000001", "jobName": "warehouse", "location": "kipptaf", "status": "FAILURE",
      "startTime": )" + at(k_t4 - 600) + R"(, "endTime": )" + at(k_t4) + R"(, "runFailureMessage": "Execution of run failed.",
      "stepErrors": [{"stepKey": "warehouse_tables", "message": "boom"}],
      "plannedMaterializations": ["wh/orders", "wh/customers", "wh/payments", "wh/refunds"],
      "materializations": ["wh/orders", "wh/customers"], "unmaterializedAssets": [)" + unmaterialized + R"(],
      "category": "Code error", "ruleId": "user-code-error"})") +
         R"(, "step_17_degraded_assets": {"byRun": [{"runId": "cccccccc-0000-0000-0000-000000000001", "endTime": )" + at(k_t4) +
         R"(, "count": 4, "assets": ["wh/orders", "wh/customers", "wh/payments", "wh/refunds"], "inWindow": true}]})";
}

TEST(ReportRules, AMultiAssetStepThatRaisedAfterSomeMaterializationsFailsOnlyTheMissingAssets) {
  auto report = build(multi_asset_cluster(R"("wh/payments", "wh/refunds")"));
  const Finding* finding = rule(report, "degraded-cluster-noise");
  ASSERT_NE(finding, nullptr);
  ASSERT_EQ(finding->items.size(), 1u);
  EXPECT_EQ(finding->items[0],
            "run `cccccccc`: genuinely failed `wh/payments`, `wh/refunds`; 2 other degraded asset(s) are noise (the run materialized them)");
  EXPECT_THAT(finding->items[0], Not(HasSubstr("warehouse_tables")));
}

TEST(ReportRules, AMultiAssetStepWithNoAssetMissingIsNoNoiseVerdict) {
  // Nothing planned is missing and the step names no asset of the cluster: no asset can be called the
  // failed one, so no noise verdict (and never the step as an asset).
  EXPECT_EQ(rule(build(multi_asset_cluster("")), "degraded-cluster-noise"), nullptr);
}

TEST(ReportRules, DegradedClusterOfATwoStepFailureIsNotNoise) {
  auto report = build(failed_with_steps(k_one_step + R"(, {"stepKey": "rpt_a", "message": "boom"})") + ", " + degraded_cluster());
  EXPECT_EQ(rule(report, "degraded-cluster-noise"), nullptr);
}

// ---- error groups, alerts, queued runs and backfills ---------------------------------------------------

TEST(ReportRules, ErrorGroupsAreCountedByCategoryAndStaleOnesKeepTheirLastSeenDate) {
  auto report = build(R"("step_12_error_groups": {"groups": [
      {"groupId": "g1", "exception": "KeyboardInterrupt", "category": "sigterm_during_import", "lastSeenTime": "2026-03-30T04:00:00Z"},
      {"groupId": "g2", "exception": "ValueError", "category": "unclassified", "lastSeenTime": "2026-03-30T05:00:00Z"},
      {"groupId": "g3", "exception": "OldError", "category": "unclassified", "lastSeenTime": "2026-03-01T05:00:00Z"}],
      "buckets": {"inWindow": ["g1", "g2"], "staleOpen": ["g3"]}})");
  // The seed's triage: the unclassified group is monitored, the SIGTERM during import is an
  // auto-mute candidate (no timeline row), the stale one a cleanup candidate.
  ASSERT_EQ(report.emerging.size(), 3u);
  EXPECT_EQ(report.emerging[0].summary, "1 group(s) not (yet) failing runs (of 2 in the window: 1 sigterm_during_import, 1 unclassified)");
  EXPECT_EQ(report.emerging[1].rule_id, "error-group-auto-mute");
  EXPECT_THAT(report.emerging[1].items[0], HasSubstr("`g1` KeyboardInterrupt"));
  EXPECT_THAT(report.emerging[2].items[0], HasSubstr("last seen 2026-03-01"));
  std::vector<std::string> rows;
  for (const auto& row : report.timeline) {
    if (row.kind == "error_group") rows.push_back(row.pointer);
  }
  EXPECT_THAT(rows, ::testing::ElementsAre("/step_12_error_groups/groups/1"));
  EXPECT_EQ(action_for(report, "Error groups to auto-mute")->action, Action::no_action);
  EXPECT_EQ(action_for(report, "Error groups in the window")->action, Action::monitor);
}

std::string preemption_artifact_group(const std::string& pod, double pod_event_at) {
  return R"("step_12_error_groups": {"groups": [{"groupId": "g9", "exception": "grpc.RpcError: CANCELLED", "category": "preemption_artifact", "lastSeenTime": )" +
         at(k_t4 + 120) + R"(, "correlatedPodEvent": {"reason": "Preempted", "podName": ")" + pod + R"(", "timestamp": )" + at(pod_event_at) +
         R"(}}], "buckets": {"inWindow": ["g9"], "staleOpen": []}})";
}

TEST(ReportRules, APreemptionArtifactJoinsItsPodEventsTimelineRow) {
  auto report = build(preemption_artifact_group("etl-prod-5d8c9f7b6-q2x4z", k_t4) + R"(, "step_10_gke_events": {"podEvents": [{"timestamp": )" +
                      at(k_t4) + R"(, "podName": "etl-prod-5d8c9f7b6-q2x4z", "reason": "Preempted", "message": "Preempted", "runId": null}], "clusterEvents": []})");
  const Finding* finding = rule(report, "error-group-preemption-artifact");
  ASSERT_NE(finding, nullptr);
  EXPECT_EQ(action_for(report, "Error groups of preempted pods")->action, Action::no_action);
  auto group_rows = std::count_if(report.timeline.begin(), report.timeline.end(), [](const TimelineRow& r) { return r.kind == "error_group"; });
  EXPECT_EQ(group_rows, 0);  // de-duplicated
  auto pod_row = std::find_if(report.timeline.begin(), report.timeline.end(), [](const TimelineRow& r) { return r.kind == "pod_event"; });
  ASSERT_NE(pod_row, report.timeline.end());
  EXPECT_THAT(pod_row->signal, HasSubstr("error group `g9` (grpc.RpcError: CANCELLED) is its artifact"));
}

TEST(ReportRules, APreemptionArtifactWhosePodEventIsNotInStepTenKeepsItsRow) {
  // Step 10 holds another pod's event: the group's own row stays, nothing is joined.
  auto report = build(preemption_artifact_group("etl-prod-5d8c9f7b6-q2x4z", k_t4) + R"(, "step_10_gke_events": {"podEvents": [{"timestamp": )" +
                      at(k_t4) + R"(, "podName": "etl-prod-5d8c9f7b6-zzzzz", "reason": "Preempted", "message": "Preempted", "runId": null}], "clusterEvents": []})");
  auto group_rows = std::count_if(report.timeline.begin(), report.timeline.end(), [](const TimelineRow& r) { return r.kind == "error_group"; });
  EXPECT_EQ(group_rows, 1);
  for (const auto& row : report.timeline) { EXPECT_THAT(row.signal, Not(HasSubstr("is its artifact"))); }
}

const std::string k_alerts = R"("step_11_alerts": {"alerts": [
    {"name": "projects/p/alertPolicies/1/incidents/9", "policy": "kipptaf dagster-step CPU", "policyName": "projects/p/alertPolicies/1",
     "state": "CLOSED", "severity": "WARNING", "openTime": "2026-03-30T04:00:00Z", "resourceType": "k8s_container",
     "resourceLabels": {"pod_name": "dagster-step-abc123-xyz"}},
    {"name": "projects/p/alertPolicies/2/incidents/3", "policy": "Cloud SQL disk", "policyName": "projects/p/alertPolicies/2",
     "state": "OPEN", "severity": "ERROR", "openTime": "2026-03-30T05:00:00Z", "resourceType": "cloudsql_database", "resourceLabels": {}}]})";

TEST(ReportRules, KnownSelfResolvingAlertGetsNoAction) {
  Config config;
  config.self_resolving_alerts.push_back({"dagster-step.*CPU", "^dagster-step-", "CPU spikes during import self-resolve in ~60 s"});
  auto report = build(k_alerts, config);
  const Finding* known = rule(report, "self-resolving-alert");
  ASSERT_NE(known, nullptr);
  EXPECT_THAT(pointers(*known), ::testing::ElementsAre("/step_11_alerts/alerts/0"));
  const ActionRow* quiet = action_for(report, "Known self-resolving alerts");
  ASSERT_NE(quiet, nullptr);
  EXPECT_EQ(quiet->action, Action::no_action);
  EXPECT_EQ(quiet->rationale, "known self-resolving alert: CPU spikes during import self-resolve in ~60 s");
  const ActionRow* monitor = action_for(report, "Alerts: 1 alert(s)");
  ASSERT_NE(monitor, nullptr);
  EXPECT_EQ(monitor->action, Action::monitor);
  // No failure overlaps the Cloud SQL alert: it stays a finding, not a root cause.
  EXPECT_EQ(action_for(report, "(`alert-correlated`)"), nullptr);
}

TEST(ReportRules, SelfResolvingAlertOnAnotherResourceIsStillMonitored) {
  Config config;
  config.self_resolving_alerts.push_back({"dagster-step.*CPU", "^onepassword-", "self-resolves"});
  auto report = build(k_alerts, config);
  EXPECT_EQ(rule(report, "self-resolving-alert"), nullptr);
  EXPECT_EQ(action_for(report, "Alerts: 2 alert(s)")->action, Action::monitor);
}

TEST(ReportRules, StuckQueuedRunsAndFailedBackfillsCarryEvidence) {
  auto report = build(R"("step_14_queued_runs": {"runs": [{"runId": "99999999-0000", "jobName": "j", "status": "QUEUED", "since": )" +
                      at(k_t4) + R"(, "stuck": true, "reason": "queued 2 h"}]},
      "step_15_backfills": {"failed": [{"id": "bf1", "status": "FAILED", "timestamp": )" + at(k_t4) +
                      R"(, "numPartitions": 4, "failedPartitions": 2, "error": "boom"}]})");
  const Finding* queued = rule(report, "queued-run-stuck");
  const Finding* backfill = rule(report, "backfill-failed");
  ASSERT_NE(queued, nullptr);
  ASSERT_NE(backfill, nullptr);
  EXPECT_THAT(pointers(*queued), ::testing::ElementsAre("/step_14_queued_runs/runs/0"));
  EXPECT_THAT(pointers(*backfill), ::testing::ElementsAre("/step_15_backfills/failed/0"));
  EXPECT_EQ(action_for(report, "Queued runs")->action, Action::investigate);
  EXPECT_EQ(action_for(report, "Backfills")->action, Action::investigate);
  std::vector<std::string> kinds;
  for (const auto& row : report.timeline) { kinds.push_back(row.kind + " " + row.pointer); }
  EXPECT_THAT(kinds, ::testing::ElementsAre("backfill /step_15_backfills/failed/0", "queued_run /step_14_queued_runs/runs/0"));
}

}  // namespace
}  // namespace analyzer::report
