// Root causes across the night (issue 25, docs/report.md "Root causes across the night"): each kind of
// platform cause of analyzer/rules/causes.json fires on a small artifact and stays quiet on a close
// case; effects are linked only through the overlap gate and within the cause's location; a run a
// cause claims leaves its category's cause; one mechanism is one cause with one action; the causes
// file is refused with file:line when wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "../../../analyzer/report/src/report_model.hpp"
#include "recorder/base/json.hpp"

namespace analyzer::report {
namespace {

using ::testing::HasSubstr;

// 2026-03-29 21:00 UTC .. 2026-03-30 13:00 UTC; T4 is 04:00 UTC.
constexpr double k_t4 = 1774843200;
const std::string k_window =
    R"("window": {"epoch": 1774818000, "utc_start": "2026-03-29T21:00:00Z", "utc_end": "2026-03-30T13:00:00Z", "timezone": "America/New_York"})";

std::string at(double epoch) { return std::to_string(static_cast<long long>(epoch)); }

Report build(const std::string& steps, const PlatformCauses& causes = default_platform_causes()) {
  auto document = recorder::parse_json("{" + k_window + (steps.empty() ? "" : ", " + steps) + "}", "test");
  EXPECT_TRUE(static_cast<bool>(document)) << (document ? "" : document.error().message);
  auto zone = recorder::Zone::find("America/New_York");
  return build_report(*document, *zone, Config{}, default_reclassify_rules(), default_runbook(), causes);
}

std::vector<const Cause*> platform(const Report& report, const std::string& id) {
  std::vector<const Cause*> out;
  for (const auto& cause : report.causes) {
    if (cause.platform && cause.platform->id == id) { out.push_back(&cause); }
  }
  return out;
}

const Cause* category(const Report& report, const std::string& name) {
  for (const auto& cause : report.causes) {
    if (!cause.platform && cause.category == name) { return &cause; }
  }
  return nullptr;
}

std::size_t effects(const Cause& cause, const std::string& kind) {
  return static_cast<std::size_t>(std::count_if(cause.platform->effects.begin(), cause.platform->effects.end(),
                                                [&](const Effect& e) { return e.kind == kind; }));
}

std::string pod_events(const std::vector<std::string>& rows) {
  std::string list;
  for (const auto& row : rows) { list += (list.empty() ? "" : ", ") + row; }
  return R"("step_10_gke_events": {"podEvents": [)" + list + R"(], "clusterEvents": []})";
}

std::string pod_event(double t, const std::string& pod, const std::string& reason) {
  return R"({"timestamp": )" + at(t) + R"(, "podName": ")" + pod + R"(", "reason": ")" + reason + R"(", "message": "m", "runId": null})";
}

std::string sensor_ticks(const std::string& location, double from, int count, const std::string& error) {
  std::string ticks;
  for (int i = 0; i < count; ++i) {
    ticks += std::string(i ? ", " : "") + R"({"tickId": ")" + std::to_string(i) + R"(", "timestamp": )" + at(from + 60.0 * i) +
             R"(, "error": ")" + error + R"("})";
  }
  return R"("step_03_sensor_ticks": {")" + location + R"(": {"s": {"failureCount": )" + std::to_string(count) + R"(, "ticks": [)" +
         ticks + "]}}}";
}

// A run that never started: run monitoring failed it `timeout` seconds after its Job was created.
std::string never_started(const std::string& id, double failed, const std::string& location = "etl") {
  return R"({"runId": ")" + id + R"(", "jobName": "nightly", "location": ")" + location + R"(", "status": "FAILURE", "startTime": null, "endTime": )" +
         at(failed) + R"(, "runFailureMessage": "Run timed out due to taking longer than 180 seconds to start.", "stepErrors": [], "category": "Infra timeout", "ruleId": "start-timeout"})";
}

std::string code_error(const std::string& id, double start, double end) {
  return R"({"runId": ")" + id + R"(", "jobName": "dbt", "location": "etl", "status": "FAILURE", "startTime": )" + at(start) +
         R"(, "endTime": )" + at(end) + R"(, "runFailureMessage": "Steps failed.", "stepErrors": [], "category": "Code error", "ruleId": "user-code-error"})";
}

std::string failed_runs(const std::vector<std::string>& runs) {
  std::string list;
  for (const auto& run : runs) { list += (list.empty() ? "" : ", ") + run; }
  return R"("step_01_failed_runs": {"failureCount": )" + std::to_string(runs.size()) +
         R"(, "successCount": 0, "canceledCount": 0, "failures": [)" + list + "]}";
}

// ---- infrastructure pods ---------------------------------------------------------------------------

TEST(PlatformCauses, AnEvictedSecretInjectionPodExplainsTheRunsThatCouldNotStartMeanwhile) {
  auto report = build(pod_events({pod_event(k_t4, "onepassword-connect-7f9c-abcde", "Evicted")}) + ", " +
                      failed_runs({never_started("aaaaaaaa-0000-4000-8000-000000000001", k_t4 + 120),
                                   never_started("bbbbbbbb-0000-4000-8000-000000000002", k_t4 + 3600)}));
  auto secrets = platform(report, "infra-pod-secrets");
  ASSERT_EQ(secrets.size(), 1u);
  // The run created at 03:59 (failed 180 s later) overlaps the eviction; the one an hour later does not.
  ASSERT_EQ(secrets[0]->runs.size(), 1u);
  EXPECT_EQ(secrets[0]->runs[0].run_id, "aaaaaaaa-0000-4000-8000-000000000001");
  EXPECT_EQ(secrets[0]->runs[0].category, "Infra timeout");  // the run keeps its own category
  EXPECT_THAT(secrets[0]->platform->effects[0].why, HasSubstr("overlaps the incident"));
  // Not twice: the other run stays under its category, the linked one is gone from it.
  const Cause* timeouts = category(report, "Infra timeout");
  ASSERT_NE(timeouts, nullptr);
  ASSERT_EQ(timeouts->runs.size(), 1u);
  EXPECT_EQ(timeouts->runs[0].run_id, "bbbbbbbb-0000-4000-8000-000000000002");
  // One action row per cause; the claimed run has no row of its own.
  auto rows = std::count_if(report.actions.begin(), report.actions.end(),
                            [](const ActionRow& row) { return row.item.find("aaaaaaaa") != std::string::npos; });
  EXPECT_EQ(rows, 1);
  EXPECT_EQ(report.actions.front().action, Action::escalate);
  EXPECT_THAT(report.actions.front().item, HasSubstr("(`infra-pod-secrets`)"));
}

TEST(PlatformCauses, ACodeErrorIsNotExplainedBySecretInjection) {
  auto report = build(pod_events({pod_event(k_t4, "onepassword-connect-7f9c-abcde", "Evicted")}) + ", " +
                      failed_runs({code_error("cccccccc-0000-4000-8000-000000000003", k_t4 - 60, k_t4 + 60)}));
  auto secrets = platform(report, "infra-pod-secrets");
  ASSERT_EQ(secrets.size(), 1u);  // still an incident of its own
  EXPECT_TRUE(secrets[0]->runs.empty());
  EXPECT_TRUE(secrets[0]->platform->effects.empty());
  EXPECT_NE(category(report, "Code error"), nullptr);
}

TEST(PlatformCauses, APreemptedCodeServerTakesItsLocationsSensorsDownNotAnotherLocations) {
  auto report = build(pod_events({pod_event(k_t4 + 30, "etl-prod-5d8c9f7b6-q2x4z", "Preempted")}) + ", " +
                      sensor_ticks("etl", k_t4 + 60, 6, "DagsterUserCodeUnreachableError: gRPC Error code: UNAVAILABLE"));
  auto servers = platform(report, "infra-pod-code-server");
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(servers[0]->platform->scope, "etl");
  ASSERT_EQ(effects(*servers[0], "tickFailure"), 1u);
  EXPECT_EQ(servers[0]->platform->effects[0].covers.size(), 6u);
  // The close case: the same ticks in another location are not its effect.
  auto other = build(pod_events({pod_event(k_t4 + 30, "etl-prod-5d8c9f7b6-q2x4z", "Preempted")}) + ", " +
                     sensor_ticks("finance", k_t4 + 60, 6, "DagsterUserCodeUnreachableError: gRPC Error code: UNAVAILABLE"));
  ASSERT_EQ(platform(other, "infra-pod-code-server").size(), 1u);
  EXPECT_TRUE(platform(other, "infra-pod-code-server")[0]->platform->effects.empty());
}

TEST(PlatformCauses, TicksThatFailedAfterTheBurstGapAreNotLinked) {
  // The pod went at 04:00; the ticks fail from 05:00: their burst does not overlap the incident.
  auto report = build(pod_events({pod_event(k_t4, "etl-prod-5d8c9f7b6-q2x4z", "Preempted")}) + ", " +
                      sensor_ticks("etl", k_t4 + 3600, 3, "UNAVAILABLE"));
  ASSERT_EQ(platform(report, "infra-pod-code-server").size(), 1u);
  EXPECT_TRUE(platform(report, "infra-pod-code-server")[0]->platform->effects.empty());
}

TEST(PlatformCauses, ARunsOwnPodIsNotInfrastructure) {
  std::string event = R"({"timestamp": )" + at(k_t4) +
                      R"(, "podName": "etl-prod-run", "reason": "Preempted", "message": "m", "runId": "aaaaaaaa-0000-4000-8000-000000000001"})";
  EXPECT_TRUE(platform(build(pod_events({event})), "infra-pod-code-server").empty());
}

// ---- the agent -------------------------------------------------------------------------------------

std::string churn(int creates, const std::string& verdict) {
  std::string events;
  for (int i = 0; i < creates; ++i) {
    events += (i ? ", " : "") + std::string(R"({"timestamp": )") + at(k_t4 + 900.0 * i) + R"(, "podName": "agent-7d9f-)" +
              std::to_string(i) + R"(", "principal": "rs", "statusCode": 0})";
  }
  return R"("step_08_agent_pod_churn": {"events": [)" + events + R"(], "createCount": )" + std::to_string(creates) +
         R"(, "expectedReplicas": 1, "maxSurgePercent": 200, "verdict": ")" + verdict + "\"}";
}

TEST(PlatformCauses, AChurnStormIsOneEscalatedCauseOverItsWholeSpanWithTheTicksItStalled) {
  // Ten creations every 15 minutes from 04:00: one storm to 06:15, not ten incidents.
  auto report = build(churn(10, "storm") + ", " + sensor_ticks("etl", k_t4 + 5400, 3, "timeout"));
  auto storms = platform(report, "agent-churn-storm");
  ASSERT_EQ(storms.size(), 1u);
  EXPECT_EQ(storms[0]->platform->signals.size(), 10u);
  EXPECT_EQ(effects(*storms[0], "tickFailure"), 1u);
  EXPECT_EQ(storms[0]->platform->action, Action::escalate);
  EXPECT_TRUE(platform(build(churn(4, "retried_rollout")), "agent-churn-storm").empty());
}

std::string agents(const std::string& running, const std::string& errors) {
  return R"("step_07_agents": {"agents": [{"id": "agent-1", "status": "RUNNING", "errors": [)" + errors +
         R"(]}], "agentCount": 1, "runningCount": )" + running + R"(, "expectedReplicas": 1, "topologyDeviation": false})";
}

std::string agent_error(double t, const std::string& message) {
  return R"({"timestamp": )" + at(t) + R"(, "message": ")" + message + R"("})";
}

TEST(PlatformCauses, LostHeartbeatsDuringTheAgentPodsPreemptionAreThatOneCause) {
  auto report = build(agents("0", agent_error(k_t4 + 20, "no agents have recently heartbeated")) + ", " +
                      pod_events({pod_event(k_t4, "user-cloud-dagster-cloud-agent-agent-6d9f-abcde", "Preempted")}));
  auto pods = platform(report, "infra-pod-agent");
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0]->platform->signals.size(), 2u);  // the preemption and the heartbeat loss
  EXPECT_TRUE(platform(report, "agent-heartbeat-loss").empty());
  // The close case: heartbeats lost an hour later are a separate incident.
  auto apart = build(agents("0", agent_error(k_t4 + 3600, "no agents have recently heartbeated")) + ", " +
                     pod_events({pod_event(k_t4, "user-cloud-dagster-cloud-agent-agent-6d9f-abcde", "Preempted")}));
  EXPECT_EQ(platform(apart, "infra-pod-agent").size(), 1u);
  EXPECT_EQ(platform(apart, "agent-heartbeat-loss").size(), 1u);
}

TEST(PlatformCauses, ControlPlaneTimeoutsNeedARunningAgent) {
  std::string timeout = agent_error(k_t4, "ReadTimeout: HTTPSConnectionPool(host='kipp.agent.dagster.cloud', port=443)");
  EXPECT_EQ(platform(build(agents("1", timeout)), "agent-control-plane-timeout").size(), 1u);
  EXPECT_TRUE(platform(build(agents("0", timeout)), "agent-control-plane-timeout").empty());
}

// ---- code locations, daemons, alerts ---------------------------------------------------------------

TEST(PlatformCauses, ALocationThatFailsToLoadExplainsItsTicksAfterwardsOnly) {
  std::string load = R"("step_05_load_failures": {"locationCount": 2, "loadFailures": [{"location": "etl", "updatedTimestamp": )" +
                     at(k_t4) + R"(, "error": "SyntaxError: invalid syntax"}]})";
  auto report = build(load + ", " + sensor_ticks("etl", k_t4 + 600, 2, "boom"));
  auto loads = platform(report, "location-load-failure");
  ASSERT_EQ(loads.size(), 1u);
  EXPECT_EQ(effects(*loads[0], "tickFailure"), 1u);
  // Ticks that failed an hour before the location broke are not its effect.
  auto before = build(load + ", " + sensor_ticks("etl", k_t4 - 3600, 2, "boom"));
  EXPECT_TRUE(platform(before, "location-load-failure")[0]->platform->effects.empty());
}

TEST(PlatformCauses, AnUnhealthyDaemonExplainsTheQueueItLeftStuck) {
  std::string daemons = R"("step_09_daemons": {"allHealthy": false, "daemons": [{"daemonType": "QUEUED_RUN_COORDINATOR", "required": true, "healthy": false, "lastHeartbeatTime": )" +
                        at(k_t4) + R"(}, {"daemonType": "SENSOR", "required": true, "healthy": true}]})";
  std::string queued = R"("step_14_queued_runs": {"runs": [{"runId": "99999999-0000", "jobName": "j", "status": "QUEUED", "since": )" +
                       at(k_t4 + 600) + R"(, "stuck": true}]})";
  auto report = build(daemons + ", " + queued);
  auto daemon = platform(report, "daemon-unhealthy");
  ASSERT_EQ(daemon.size(), 1u);  // the healthy one is no cause
  EXPECT_EQ(effects(*daemon[0], "queuedRun"), 1u);
  // Its row replaces the daemon's own Escalate row: one action.
  auto rows = std::count_if(report.actions.begin(), report.actions.end(),
                            [](const ActionRow& row) { return row.item.find("QUEUED_RUN_COORDINATOR") != std::string::npos ||
                                                              row.item.find("daemon-unhealthy") != std::string::npos; });
  EXPECT_EQ(rows, 1);
}

TEST(PlatformCauses, AnAlertIsACauseOnlyWithTheFailuresItOverlapsAndClaimsNone) {
  std::string alert = R"("step_11_alerts": {"alerts": [{"name": "n", "policy": "Node memory", "state": "CLOSED", "severity": "ERROR", "openTime": )" +
                      at(k_t4) + R"(, "closeTime": )" + at(k_t4 + 1800) + R"(, "resourceLabels": {}}]})";
  std::string evicted = R"({"runId": "dddddddd-0000-4000-8000-000000000004", "jobName": "j", "location": "etl", "status": "FAILURE", "startTime": )" +
                        at(k_t4 - 600) + R"(, "endTime": )" + at(k_t4 + 600) +
                        R"(, "runFailureMessage": "Pod was evicted", "stepErrors": [], "category": "Node OOM/eviction", "ruleId": "pod-evicted"})";
  auto report = build(alert + ", " + failed_runs({evicted}));
  auto alerts = platform(report, "alert-correlated");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(effects(*alerts[0], "runFailure"), 1u);
  EXPECT_TRUE(alerts[0]->runs.empty());                     // correlated: the run stays under its category
  EXPECT_NE(category(report, "Node OOM/eviction"), nullptr);
  // The close case: the alert alone is a finding, not a root cause.
  EXPECT_TRUE(platform(build(alert), "alert-correlated").empty());
}

std::string error_group(const std::string& service, const std::string& exception, const std::string& category = "unclassified") {
  return R"("step_12_error_groups": {"groups": [{"groupId": "g1", "exception": ")" + exception + R"(", "category": ")" + category +
         R"(", "affectedServices": [{"service": ")" + service + R"(", "version": "etl-prod-5d8c9f7b6-abcde"}], "firstSeenTime": )" +
         at(k_t4) + R"(, "lastSeenTime": )" + at(k_t4 + 600) + R"(}], "buckets": {"inWindow": ["g1"], "staleOpen": []}})";
}

TEST(PlatformCauses, ACodeServersRecurringErrorExplainsTheTicksThatFailedWithIt) {
  auto report = build(error_group("etl", "KeyError: 'bucket'") + ", " + sensor_ticks("etl", k_t4 + 60, 3, "SensorExecutionError: KeyError: 'bucket'"));
  auto groups = platform(report, "error-group");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0]->platform->scope, "etl");
  EXPECT_EQ(effects(*groups[0], "tickFailure"), 1u);
  // Close cases: ticks failing with another exception; the same ticks, the group of another
  // service; the same error, triaged as an auto-mute candidate. None is a cause (alone a group is an
  // emerging issue, not a root cause).
  EXPECT_TRUE(platform(build(error_group("etl", "KeyError: 'bucket'") + ", " + sensor_ticks("etl", k_t4 + 60, 3, "TimeoutError: x")),
                       "error-group").empty());
  EXPECT_TRUE(platform(build(error_group("billing-api", "KeyError: 'bucket'") + ", " + sensor_ticks("etl", k_t4 + 60, 3, "KeyError: 'bucket'")),
                       "error-group").empty());
  EXPECT_TRUE(platform(build(error_group("etl", "KeyError: 'bucket'", "sigterm_during_import") + ", " +
                             sensor_ticks("etl", k_t4 + 60, 3, "KeyError: 'bucket'")),
                       "error-group").empty());
}

TEST(PlatformCauses, AQuietNightHasNoCause) {
  auto report = build(failed_runs({}));
  EXPECT_TRUE(report.causes.empty());
  EXPECT_EQ(report.headline, "Quiet night: no failed run — nothing to do");
}

// ---- the causes file -------------------------------------------------------------------------------

TEST(PlatformCausesFile, TheBuiltInFileHasTheSeedsThreeInfrastructurePods) {
  const auto& causes = default_platform_causes().causes;
  auto pod = [&](const std::string& id) {
    auto it = std::find_if(causes.begin(), causes.end(), [&](const CauseDef& c) { return c.id == id; });
    return it == causes.end() ? std::string("?") : it->pod;
  };
  EXPECT_EQ(pod("infra-pod-agent"), "^{agent_deployment}-");
  EXPECT_EQ(pod("infra-pod-secrets"), "^onepassword-connect");
  EXPECT_EQ(pod("infra-pod-code-server"), "^{location}-{deployment}-");
}

TEST(PlatformCausesFile, AUserCauseReplacesTheBuiltInOneByIdAndAddsNewOnes) {
  auto extra = parse_platform_causes(R"({"version": 1, "causes": [
    {"id": "infra-pod-secrets", "source": "infraPod", "pod": "^vault-agent", "reasons": ["Evicted"], "title": "Vault down",
     "meaning": "secrets", "action": "Escalate", "rationale": "r", "effects": [{"kind": "runFailure", "rules": ["start-timeout"]}]}]})",
                                     "mine.json");
  ASSERT_TRUE(static_cast<bool>(extra)) << extra.error().message;
  auto merged = merge_platform_causes(default_platform_causes(), *extra);
  auto report = build(pod_events({pod_event(k_t4, "vault-agent-1", "Evicted"), pod_event(k_t4, "onepassword-connect-1", "Evicted")}), merged);
  ASSERT_EQ(platform(report, "infra-pod-secrets").size(), 1u);
  EXPECT_EQ(platform(report, "infra-pod-secrets")[0]->platform->title, "Vault down");
}

TEST(PlatformCausesFile, MistakesAreRefusedWithFileAndLine) {
  auto refused = [](const std::string& cause) {
    auto parsed = parse_platform_causes("{\"version\": 1, \"causes\": [\n" + cause + "]}", "mine.json");
    return parsed ? std::string("accepted") : parsed.error().message;
  };
  std::string base = R"("id": "x", "title": "t", "meaning": "m", "action": "Investigate", "rationale": "r")";
  EXPECT_THAT(refused("{" + base + R"(, "source": "agentChurnStrom", "effects": []})"), HasSubstr("did you mean \"agentChurnStorm\""));
  EXPECT_THAT(refused("{" + base + R"(, "source": "alert", "effects": [{"kind": "runFailure", "rules": ["start-timeot"]}]})"),
              HasSubstr("mine.json:2:"));
  EXPECT_THAT(refused("{" + base + R"(, "source": "alert", "effects": [{"kind": "runFailure", "rules": ["start-timeot"]}]})"),
              HasSubstr("did you mean \"start-timeout\""));
  EXPECT_THAT(refused("{" + base + R"(, "source": "infraPod", "pod": "^{loc}-", "reasons": ["Evicted"], "effects": []})"),
              HasSubstr("placeholder \"loc\""));
  EXPECT_THAT(refused("{" + base + R"(, "source": "infraPod", "pod": "^a-", "reasons": ["Unhealthy"], "effects": []})"),
              HasSubstr("pod event reason \"Unhealthy\""));
  EXPECT_THAT(refused("{" + base + R"(, "source": "infraPod", "effects": []})"), HasSubstr("needs \"pod\" and \"reasons\""));
  EXPECT_THAT(refused("{" + base + R"(, "source": "alert", "effects": [], "foldsInto": ["later"]})"), HasSubstr("not a cause defined before it"));
  EXPECT_THAT(refused("{" + base + R"(, "source": "alert", "effects": [{"kind": "tickFailure", "pattern": "("}]})"), HasSubstr("invalid pattern"));
  EXPECT_THAT(refused("{" + base + R"(, "source": "alert", "effect": []})"), HasSubstr("did you mean \"effects\""));
  EXPECT_THAT(refused("{" + base + R"(, "source": "alert", "effects": [{"kind": "tickFailure", "sameError": true}]})"),
              HasSubstr("\"sameError\" belongs to errorGroup causes"));
}

}  // namespace
}  // namespace analyzer::report
