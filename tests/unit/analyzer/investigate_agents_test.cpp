// `day2 agents` (Dagster+ only) against a small hand-built bundle: one PlusAgents answer in the
// Dagster+ schema's shape (docs/reference/dagster-graphql.md §7; the fixture is open-source Dagster,
// which has no agents), and for the check of `--id` the RunsInWindow answers (shaped like
// tests/data/dagster/RunsInWindow.json) and the four Cloud Logging entries.list requests of the
// Kubernetes events, copied from the generated scenario agent-preempted-no-heartbeat (its
// config.json too) with the check's window in place of collect's.
#include <gtest/gtest.h>

#include <regex>

#include "analyzer/clients/dagster_client.hpp"
#include "analyzer/investigate/investigate.hpp"
#include "recorder/bundle.hpp"
#include "recorder/base/json.hpp"
#include "support/cli_outcome.hpp"
#include "support/temp_dir.hpp"

namespace {

const std::string k_scenario = std::string(DAY2_SOURCE_DIR) + "/scenarios/agent-preempted-no-heartbeat";

// now = 2026-03-30T04:00:00Z. a1's errors: 23:00Z (ReadTimeout) and 03:00Z (ConnectionError).
constexpr double k_now = 1774843200;
constexpr double k_error = 1774839600;  // 03:00Z
constexpr const char* k_agents = R"({"data": {"agents": [
  {"id": "a1", "agentLabel": "prod-agent", "status": "RUNNING", "lastHeartbeatTime": 1774843140.0,
   "errors": [
     {"timestamp": 1774825200.0, "error": {"message": "ReadTimeout: HTTPSConnectionPool(host='acme.agent.dagster.cloud')\n", "className": "ReadTimeout", "stack": []}},
     {"timestamp": 1774839600.0, "error": {"message": "ConnectionError: reset\n", "className": "ConnectionError", "stack": []}}],
   "metadata": [], "runWorkerStates": [], "codeServerStates": []},
  {"id": "a2", "agentLabel": null, "status": "NOT_RUNNING", "lastHeartbeatTime": 1774760000.0, "errors": [],
   "metadata": [], "runWorkerStates": [], "codeServerStates": []}]}})";

// Terminal runs around 03:00Z: "near" starts 10 min after the error, "far" 45 min after, "over" runs
// across it, "fine" succeeded.
constexpr const char* k_runs = R"({"data": {"runsOrError": {"__typename": "Runs", "results": [
  {"runId": "far-0000", "jobName": "sync_billing", "status": "FAILURE", "startTime": 1774842300.0, "endTime": 1774842600.0, "updateTime": 1774842600.0, "parentRunId": null, "rootRunId": null,
   "repositoryOrigin": {"repositoryLocationName": "etl", "repositoryName": "__repository__"}, "tags": [{"key": "dagster/code_location", "value": "etl"}]},
  {"runId": "near-0000", "jobName": "sync_crm", "status": "FAILURE", "startTime": 1774840200.0, "endTime": 1774840320.0, "updateTime": 1774840320.0, "parentRunId": null, "rootRunId": null,
   "repositoryOrigin": {"repositoryLocationName": "etl", "repositoryName": "__repository__"}, "tags": [{"key": "dagster/code_location", "value": "etl"}]},
  {"runId": "fine-0000", "jobName": "sync_crm", "status": "SUCCESS", "startTime": 1774839000.0, "endTime": 1774839300.0, "updateTime": 1774839300.0, "parentRunId": null, "rootRunId": null,
   "repositoryOrigin": {"repositoryLocationName": "etl", "repositoryName": "__repository__"}, "tags": []},
  {"runId": "over-0000", "jobName": "nightly_load", "status": "FAILURE", "startTime": 1774838400.0, "endTime": 1774840800.0, "updateTime": 1774840800.0, "parentRunId": null, "rootRunId": null,
   "repositoryOrigin": {"repositoryLocationName": "etl", "repositoryName": "__repository__"}, "tags": []}]}}})";

// A Kubernetes event entry as the event exporter writes it (the scenario's shape).
std::string pod_entry(const std::string& id, const std::string& time, const std::string& pod, const std::string& reason) {
  return R"({"insertId": ")" + id + R"(", "jsonPayload": {"apiVersion": "v1", "involvedObject": {"kind": "Pod", "name": ")" +
         pod + R"(", "namespace": "dagster"}, "kind": "Event", "lastTimestamp": ")" + time + R"(", "message": ")" +
         reason + R"( by the test", "reason": ")" + reason + R"(", "source": {"component": "kubelet", "host": "gke-pool-1-node-3"},
         "type": "Normal"}, "logName": "projects/acme-prod/logs/events", "receiveTimestamp": ")" + time + R"(",
         "resource": {"labels": {"cluster_name": "prod", "location": "us-central1", "namespace_name": "dagster", "pod_name": ")" +
         pod + R"(", "project_id": "acme-prod"}, "type": "k8s_pod"}, "severity": "INFO", "timestamp": ")" + time + R"("})";
}

recorder::Exchange graphql(const std::string& operation, const rapidjson::Value& variables, std::string answer) {
  recorder::Exchange exchange;
  exchange.service = recorder::Service::dagster;
  exchange.method = "POST";
  exchange.path = "/prod/graphql";
  rapidjson::Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("operationName", recorder::json_string(operation, a), a);
  body.AddMember("query", recorder::json_string(analyzer::query_text(operation), a), a);
  body.AddMember("variables", rapidjson::Value(variables, a), a);
  exchange.request_body = recorder::write_json(body);
  exchange.status = 200;
  exchange.response_body = std::move(answer);
  return exchange;
}

// RunsInWindow as fetch_runs_in_window asks it for [start, end].
recorder::Exchange runs_in_window(double start, double end) {
  auto vars = recorder::parse_json(R"({"filter": {"statuses": ["FAILURE", "SUCCESS", "CANCELED"], "updatedAfter": )" +
                                       std::to_string(start) + R"(, "createdBefore": )" + std::to_string(end) +
                                       R"(}, "cursor": null, "limit": 200})", "variables");
  if (!vars) throw std::runtime_error(vars.error().message);
  return graphql("RunsInWindow", *vars, k_runs);
}

// The scenario's Kubernetes-event reads (pods, nodes, cluster, Spot), over [start, end) instead;
// the pod read answers `pod_entries`, the others nothing.
std::vector<recorder::Exchange> event_reads(double start, double end, const std::string& pod_entries) {
  auto scenario = recorder::read_bundle(k_scenario + "/bundle");
  if (!scenario) throw std::runtime_error(scenario.error().message);
  std::regex times(R"(timestamp>="[^"]*" timestamp<"[^"]*")");
  std::string window = "timestamp>=\"" + recorder::format_rfc3339_utc(recorder::from_epoch_seconds(start)) +
                       "\" timestamp<\"" + recorder::format_rfc3339_utc(recorder::from_epoch_seconds(end)) + "\"";
  std::vector<recorder::Exchange> out;
  for (auto exchange : scenario->exchanges) {
    if (exchange.service != recorder::Service::logging) continue;
    auto body = recorder::parse_json(exchange.request_body, "request");
    if (!body) throw std::runtime_error(body.error().message);
    std::string filter = (*body)["filter"].GetString();
    if (filter.find("log_id(\"events\")") == std::string::npos && filter.find("instances.preempted") == std::string::npos) continue;
    filter = std::regex_replace(filter, times, window);
    (*body)["filter"].SetString(filter.c_str(), static_cast<rapidjson::SizeType>(filter.size()), body->GetAllocator());
    exchange.request_body = recorder::write_json(*body);
    bool pods = filter.find("k8s_pod") != std::string::npos;
    exchange.response_body = pods ? R"({"entries": [)" + pod_entries + "]}" : "{}";
    out.push_back(std::move(exchange));
  }
  if (out.size() != 4) throw std::runtime_error("expected 4 Kubernetes-event reads in " + k_scenario);
  return out;
}

// PlusAgents once, then what the checks of a1 (--errors-after 2h: the 03:00Z error, window
// 02:30Z-03:30Z, runs read until now) and a2 (no error: the last 24 h) send.
std::string write_agents_bundle(const day2_test::TempDir& dir) {
  recorder::Bundle bundle;
  bundle.manifest.now = recorder::from_epoch_seconds(k_now);
  bundle.manifest.window = {recorder::from_epoch_seconds(1774800000), bundle.manifest.now};
  bundle.manifest.endpoints = {{"dagster", recorder::Service::dagster, "https://acme.dagster.cloud"},
                               {"logging", recorder::Service::logging, "https://logging.googleapis.com"}};
  bundle.exchanges.push_back(graphql("PlusAgents", rapidjson::Value(rapidjson::kObjectType), k_agents));
  bundle.exchanges.push_back(runs_in_window(k_error - 1800, k_now));
  bundle.exchanges.push_back(runs_in_window(k_now - 86400, k_now));
  auto inside = pod_entry("in1", "2026-03-30T03:05:00Z", "dagster-run-near-0000-abcde", "Preempted");
  auto outside = pod_entry("out1", "2026-03-30T03:40:00Z", "dagster-run-far-0000-fghij", "Evicted");
  for (auto& e : event_reads(k_error - 1800, k_error + 1800, inside + "," + outside)) bundle.exchanges.push_back(e);
  for (auto& e : event_reads(k_now - 86400, k_now, inside)) bundle.exchanges.push_back(e);
  auto path = (dir.path() / "bundle").string();
  auto written = recorder::write_bundle(path, bundle);
  if (!written) throw std::runtime_error(written.error().message);
  return path;
}

day2test::Outcome agents(const std::string& bundle, std::vector<std::string> args) {
  std::vector<std::string> all{"agents", "--flavor", "plus", "--organization", "acme", "--replay", bundle};
  all.insert(all.end(), args.begin(), args.end());
  return day2test::run_day2(all);
}

// With Google Cloud configured (the scenario's config: project acme-prod, cluster prod).
day2test::Outcome checked(const std::string& bundle, std::vector<std::string> args) {
  args.insert(args.begin(), {"--config", k_scenario + "/config.json", "--tz", "UTC"});
  return agents(bundle, args);
}

std::vector<std::string> ids(const rapidjson::Value& list, const char* key) {
  std::vector<std::string> out;
  for (const auto& item : list.GetArray()) out.emplace_back(item[key].GetString());
  return out;
}

TEST(InvestigateAgents, ErrorsAfterAndHeartbeatAge) {
  day2_test::TempDir dir;
  auto bundle = write_agents_bundle(dir);
  auto outcome = agents(bundle, {"--id", "a1", "--errors-after", "2h", "--json"});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  auto doc = recorder::parse_json(outcome.out, "stdout");
  ASSERT_TRUE(doc) << doc.error().message;
  const auto& list = (*doc)["agents"];
  ASSERT_EQ(list.Size(), 1u);
  EXPECT_STREQ(list[0]["id"].GetString(), "a1");
  EXPECT_DOUBLE_EQ(list[0]["heartbeatAgeSeconds"].GetDouble(), 60);
  // 2h before now is 02:00Z: the 23:00Z ReadTimeout is older, the 03:00Z error is kept.
  ASSERT_EQ(list[0]["errors"].Size(), 1u);
  EXPECT_STREQ(list[0]["errors"][0]["className"].GetString(), "ConnectionError");
  EXPECT_STREQ(list[0]["errors"][0]["time"]["utc"].GetString(), "2026-03-30T03:00:00Z");
}

TEST(InvestigateAgents, EveryAgentWithoutFilters) {
  day2_test::TempDir dir;
  auto outcome = agents(write_agents_bundle(dir), {});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_NE(outcome.out.find("agent a1 (prod-agent)  RUNNING"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("agent a2 ()  NOT_RUNNING"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("ReadTimeout: HTTPSConnectionPool"), std::string::npos) << outcome.out;
  EXPECT_EQ(outcome.out.find("check"), std::string::npos) << outcome.out;
}

TEST(InvestigateAgents, UnknownAgentIdExitsOne) {
  day2_test::TempDir dir;
  auto outcome = agents(write_agents_bundle(dir), {"--id", "zz"});
  EXPECT_EQ(outcome.code, 1);
  EXPECT_NE(outcome.err.find("day2 agents: error: no agent zz in acme/prod"), std::string::npos) << outcome.err;
}

TEST(InvestigateAgents, BadErrorsAfterIsUsage) {
  day2_test::TempDir dir;
  auto outcome = agents(write_agents_bundle(dir), {"--errors-after", "yesterday"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("--errors-after: \"yesterday\" is neither an RFC 3339 time"), std::string::npos)
      << outcome.err;
}

TEST(InvestigateAgents, CheckListsFailedRunsWithinAroundOfAnError) {
  day2_test::TempDir dir;
  auto outcome = checked(write_agents_bundle(dir), {"--id", "a1", "--errors-after", "2h"});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_NE(outcome.out.find("2. failed runs within 30m 00s of an error: 2\n"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("near-0000  sync_crm"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("started 10m 00s after the error of 2026-03-30 03:00:00 UTC"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("over-0000  nightly_load"), std::string::npos) << outcome.out;
  EXPECT_EQ(outcome.out.find("far-0000"), std::string::npos) << outcome.out;   // 45 min after
  EXPECT_EQ(outcome.out.find("fine-0000"), std::string::npos) << outcome.out;  // succeeded
}

TEST(InvestigateAgents, CheckListsPodEventsOfTheWindowOnly) {
  day2_test::TempDir dir;
  auto outcome = checked(write_agents_bundle(dir), {"--id", "a1", "--errors-after", "2h"});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_NE(outcome.out.find("3. Kubernetes events 2026-03-30 02:30:00 UTC .. 2026-03-30 03:30:00 UTC: 1\n"),
            std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("pod dagster-run-near-0000-abcde  Preempted"), std::string::npos) << outcome.out;
  EXPECT_EQ(outcome.out.find("Evicted"), std::string::npos) << outcome.out;  // 03:40Z, after the window
}

TEST(InvestigateAgents, CheckWithoutGoogleCloudSaysNotChecked) {
  day2_test::TempDir dir;
  auto outcome = agents(write_agents_bundle(dir), {"--id", "a1", "--errors-after", "2h"});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_NE(outcome.out.find("3. Kubernetes events: not checked: Google Cloud is not configured (gcp.project, "
                             "gcp.cluster, gcp.location)\n"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("near-0000"), std::string::npos) << outcome.out;  // part 2 still ran
}

TEST(InvestigateAgents, CheckOfAnAgentWithoutErrorsCoversErrorsAfterToNow) {
  day2_test::TempDir dir;
  auto outcome = checked(write_agents_bundle(dir), {"--id", "a2"});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_NE(outcome.out.find("1. agent errors after 2026-03-29 04:00:00 UTC (2026-03-29T04:00:00Z): none, so no error "
                             "to correlate; parts 2 and 3 cover 2026-03-29 04:00:00 UTC .. 2026-03-30 04:00:00 UTC\n"),
            std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("2. failed runs in 2026-03-29 04:00:00 UTC .. 2026-03-30 04:00:00 UTC: 3\n"),
            std::string::npos) << outcome.out;
  auto over = outcome.out.find("over-0000"), near = outcome.out.find("near-0000"), far = outcome.out.find("far-0000");
  EXPECT_TRUE(over < near && near < far && far != std::string::npos) << outcome.out;  // by start time
  EXPECT_NE(outcome.out.find("pod dagster-run-near-0000-abcde  Preempted"), std::string::npos) << outcome.out;
}

TEST(InvestigateAgents, CheckJsonShape) {
  day2_test::TempDir dir;
  auto outcome = checked(write_agents_bundle(dir), {"--id", "a1", "--errors-after", "2h", "--json"});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  auto doc = recorder::parse_json(outcome.out, "stdout");
  ASSERT_TRUE(doc) << doc.error().message;
  const auto& check = (*doc)["check"];
  EXPECT_DOUBLE_EQ(check["aroundSeconds"].GetDouble(), 1800);
  EXPECT_TRUE(check["errorsToCorrelate"].GetBool());
  EXPECT_STREQ(check["window"]["start"]["utc"].GetString(), "2026-03-30T02:30:00Z");
  EXPECT_STREQ(check["window"]["end"]["utc"].GetString(), "2026-03-30T03:30:00Z");
  const auto& runs = check["failedRuns"]["runs"];
  EXPECT_TRUE(check["failedRuns"]["error"].IsNull());
  EXPECT_EQ(ids(runs, "runId"), (std::vector<std::string>{"over-0000", "near-0000"}));  // by start
  EXPECT_STREQ(runs[1]["relation"].GetString(), "after");
  EXPECT_DOUBLE_EQ(runs[1]["secondsFromError"].GetDouble(), 600);
  EXPECT_STREQ(runs[1]["nearestError"]["utc"].GetString(), "2026-03-30T03:00:00Z");
  EXPECT_STREQ(runs[0]["relation"].GetString(), "during");
  EXPECT_DOUBLE_EQ(runs[0]["secondsFromError"].GetDouble(), 0);
  const auto& events = check["kubernetesEvents"];
  EXPECT_TRUE(events["checked"].GetBool());
  EXPECT_TRUE(events["reason"].IsNull());
  EXPECT_EQ(ids(events["podEvents"], "podName"), (std::vector<std::string>{"dagster-run-near-0000-abcde"}));
  EXPECT_EQ(events["clusterEvents"].Size(), 0u);
}

TEST(InvestigateAgents, CheckJsonSaysWhyEventsWereNotChecked) {
  day2_test::TempDir dir;
  auto outcome = agents(write_agents_bundle(dir), {"--id", "a1", "--errors-after", "2h", "--json"});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  auto doc = recorder::parse_json(outcome.out, "stdout");
  ASSERT_TRUE(doc) << doc.error().message;
  const auto& events = (*doc)["check"]["kubernetesEvents"];
  EXPECT_FALSE(events["checked"].GetBool());
  EXPECT_STREQ(events["reason"].GetString(), "Google Cloud is not configured (gcp.project, gcp.cluster, gcp.location)");
}

TEST(InvestigateAgents, AroundWidensTheWindow) {
  day2_test::TempDir dir;
  // --around 50m: window 02:10Z-03:50Z, which the bundle does not hold: a replay miss is an error.
  auto outcome = checked(write_agents_bundle(dir), {"--id", "a1", "--errors-after", "2h", "--around", "50m"});
  EXPECT_EQ(outcome.code, 1);
  EXPECT_NE(outcome.err.find("replay miss"), std::string::npos) << outcome.err;
}

TEST(InvestigateAgents, AroundNeedsId) {
  day2_test::TempDir dir;
  auto outcome = agents(write_agents_bundle(dir), {"--around", "10m"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("--around needs --id"), std::string::npos) << outcome.err;
}

TEST(RunsNearErrors, NearestErrorDistanceAndRelation) {
  analyzer::RunRowInfo before, after, never_ended;
  before.run_id = "b";
  before.start_time = 1000;
  before.end_time = 2000;
  after.run_id = "a";
  after.start_time = 5000;
  after.end_time = 6000;
  never_ended.run_id = "n";
  never_ended.start_time = 3000;
  auto near = analyzer::runs_near_errors({after, before, never_ended}, {4000, 2500}, 1000);
  ASSERT_EQ(near.size(), 2u);
  EXPECT_EQ(near[0].run.run_id, "b");
  EXPECT_DOUBLE_EQ(near[0].error_time, 2500);
  EXPECT_DOUBLE_EQ(near[0].distance, 500);
  EXPECT_EQ(near[0].relation, analyzer::ErrorRelation::before);
  EXPECT_EQ(near[1].run.run_id, "a");
  EXPECT_DOUBLE_EQ(near[1].distance, 1000);  // inclusive
  EXPECT_EQ(near[1].relation, analyzer::ErrorRelation::after);
  EXPECT_TRUE(analyzer::runs_near_errors({after}, {3999}, 1000).empty());
}

}  // namespace
