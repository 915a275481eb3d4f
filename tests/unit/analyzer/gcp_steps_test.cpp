// The Google Cloud steps (08, 10-13) through collect(): Dagster answered from the real captures,
// Google from responses shaped as the discovery documents say (tests/data/gcp/), paged across
// several pages with empty pages that still carry a token. Attribution, categories and buckets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "analyzer/collect/collect.hpp"
#include "support/captured_dagster.hpp"
#include "support/fake_transport.hpp"
#include "support/gcp_fake.hpp"
#include "support/json_access.hpp"

namespace analyzer {
namespace {

using day2test::GcpFake;
using day2test::gcp_data;
using day2test::json_at;
using day2test::number_at;
using day2test::query_param;
using day2test::size_at;
using day2test::strings_at;
using day2test::text_at;
using testing::HasSubstr;
using Strings = std::vector<std::string>;

const std::string k_failed_run = "2dd4253f-acb5-4aa3-9596-941608727e68";
const std::string k_success_run = "27fcb6a5-49e0-4e4c-a779-0685a14fd132";
const std::string k_outside_run = "0f6c2a8e-3c1d-4b7a-9a55-5c2d3e4f5a6b";
constexpr const char* k_entries = "/v2/entries:list";

Config gcp_config() {
  Config config;
  config.retries = 0;
  config.gcp.project = "my-proj";
  config.gcp.cluster = "prod";
  config.gcp.location = "us-central1";
  return config;
}

std::shared_ptr<GcpFake> google() { return day2test::gcp_fixture(); }

rapidjson::Document run_collect(const std::shared_ptr<GcpFake>& fake, Config config = gcp_config()) {
  return day2test::collect_with_google(fake, config);
}

const rapidjson::Document& artifact() {
  static const rapidjson::Document document = [] {
    auto fake = google();
    auto out = run_collect(fake);
    EXPECT_EQ(fake->unanswered(), Strings{});
    return out;
  }();
  return document;
}

double at(const char* time) { return recorder::to_epoch_seconds(*recorder::parse_rfc3339(time)); }

TEST(GcpSteps, PodEventsAreAttributedToRunsOfStepOne) {
  const auto& a = artifact();
  ASSERT_EQ(size_at(a, "/step_10_gke_events/podEvents"), 4u) << json_at(a, "/step_10_gke_events");
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/0/reason"), "Evicted");
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/0/runId"), k_failed_run);
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/0/runStatus"), "FAILURE");
  EXPECT_EQ(number_at(a, "/step_10_gke_events/podEvents/0/timestamp"), at("2026-11-22T05:01:05Z"));
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/1/reason"), "Preempted");
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/1/runId"), k_success_run);
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/1/runStatus"), "SUCCESS");
}

TEST(GcpSteps, CodeServerPodsHaveNoRunAndStatusUnknown) {
  const auto& a = artifact();
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/2/podName"), "analytics-prod-7f9c6d-abcde");
  EXPECT_EQ(json_at(a, "/step_10_gke_events/podEvents/2/runId"), "null");
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/2/runStatus"), "UNKNOWN");
}

TEST(GcpSteps, NodeOomKillingIsMappedToThePodScheduledOnTheNode) {
  const auto& a = artifact();
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/3/reason"), "OOMKilling");
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/3/podName"), "dagster-run-" + k_outside_run + "-q1w2e");
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/3/runId"), k_outside_run);
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/3/runStatus"), "UNKNOWN");  // not a run of the window
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/3/node"), "gke-prod-spot-pool-1a2b3c4d-k3j4");
  EXPECT_EQ(json_at(a, "/step_10_gke_events/podEvents/3/fromNodeEvent"), "true");
  EXPECT_THAT(text_at(a, "/step_10_gke_events/podEvents/3/message"), HasSubstr("Killed process 4242 (python3)"));
}

// GKE shortens long cluster and pool names in node names; a pool's managed instance groups
// (nodePools.list instanceGroupUrls, "gke-<cluster>-<pool>-<hash>-grp") name its nodes' prefix exactly.
TEST(GcpSteps, ANodesPoolIsTheOneWhoseInstanceGroupPrefixesItsNameNotAShorterNameInside) {
  auto fake = google();
  fake->on("/v1/projects/my-proj/locations/us-central1/clusters/prod/nodePools", "", R"({"nodePools": [
      {"name": "pool", "config": {"machineType": "e2-standard-8"},
       "instanceGroupUrls": ["https://www.googleapis.com/compute/v1/projects/my-proj/zones/us-central1-a/instanceGroupManagers/gke-prod-pool-5e6f7a8b-grp"]},
      {"name": "spot-pool-highmem-for-dagster-runs", "config": {"machineType": "n2-highmem-8", "spot": true},
       "instanceGroupUrls": ["https://www.googleapis.com/compute/v1/projects/my-proj/zones/us-central1-b/instanceGroupManagers/gke-prod-spot-pool-1a2b3c4d-grp",
                             "https://www.googleapis.com/compute/v1/projects/my-proj/zones/us-central1-c/instanceGroupManagers/gke-prod-spot-pool-9a8b7c6d-grp"]}]})");
  auto a = run_collect(fake);
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/3/node"), "gke-prod-spot-pool-1a2b3c4d-k3j4");
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/3/nodePool"), "spot-pool-highmem-for-dagster-runs");
  EXPECT_EQ(json_at(a, "/step_10_gke_events/podEvents/3/spotNode"), "true");
}

// The kernel's OOM line names no pod: a kill on a node is every pod's that was there then, each row
// saying how many (nodeEventPods), and none that the scheduler put there after it.
TEST(GcpSteps, ANodeOomKillGoesToEveryPodOnTheNodeThenAndSaysHowMany) {
  auto fake = google();
  auto scheduled = [](const std::string& pod, const char* time) {
    return R"({"insertId": ")" + pod + R"(", "timestamp": ")" + time + R"(", "jsonPayload": {"reason": "Scheduled",
      "message": "Successfully assigned dagster/)" + pod + R"( to gke-prod-pool-2-1a2b3c4d-x1y2", "type": "Normal",
      "involvedObject": {"kind": "Pod", "name": ")" + pod + R"("}, "source": {"component": "default-scheduler"}},
      "resource": {"type": "k8s_pod", "labels": {"pod_name": ")" + pod + R"("}}})";
  };
  fake->on(k_entries, "",
           "{\"entries\": [" + scheduled("dagster-run-" + k_failed_run + "-aaaaa", "2026-11-22T04:00:00Z") + ", " +
               scheduled("dagster-run-" + k_success_run + "-bbbbb", "2026-11-22T04:10:00Z") + ", " +
               scheduled("dagster-run-" + k_outside_run + "-ccccc", "2026-11-22T05:00:00Z") + "]}",
           200, "resource.type=\"k8s_pod\"");
  fake->on(k_entries, "", R"j({"entries": [{"insertId": "oom", "timestamp": "2026-11-22T04:30:00Z",
      "jsonPayload": {"reason": "OOMKilling", "type": "Warning", "message": "Memory cgroup out of memory: Killed process 77 (python3)",
                      "involvedObject": {"kind": "Node", "name": "gke-prod-pool-2-1a2b3c4d-x1y2"},
                      "source": {"component": "kernel-monitor", "host": "gke-prod-pool-2-1a2b3c4d-x1y2"}},
      "resource": {"type": "k8s_node", "labels": {"node_name": "gke-prod-pool-2-1a2b3c4d-x1y2"}}}]})j",
           200, "resource.type=\"k8s_node\"");
  auto a = run_collect(fake);
  std::vector<std::string> killed;
  for (std::size_t i = 0; i < size_at(a, "/step_10_gke_events/podEvents"); ++i) {
    std::string row = "/step_10_gke_events/podEvents/" + std::to_string(i);
    if (text_at(a, row + "/reason") != "OOMKilling") continue;
    killed.push_back(text_at(a, row + "/runId"));
    EXPECT_EQ(json_at(a, row + "/nodeEventPods"), "2");
    EXPECT_EQ(json_at(a, row + "/fromNodeEvent"), "true");
  }
  // The third pod was scheduled on the node half an hour after the kill.
  EXPECT_THAT(killed, testing::UnorderedElementsAre(k_failed_run, k_success_run));
}

// A step pod's name holds no run id ("dagster-step-<md5>-<suffix>"): its run comes from the
// `dagster/run-id` label of its creation in the audit log (tests/data/gcp/step_creates.json).
TEST(GcpSteps, AStepPodsEventsReachItsRunThroughTheLabelOfItsCreation) {
  auto fake = google();
  fake->on(k_entries, "", R"({"entries": [{"insertId": "e1", "timestamp": "2026-11-22T05:01:05Z",
      "jsonPayload": {"reason": "Evicted", "message": "The node was low on resource: memory.", "type": "Warning",
                      "involvedObject": {"kind": "Pod", "name": "dagster-step-3199c71ccecc52488e2e22b7e04d9900-zm8zk"},
                      "source": {"component": "kubelet", "host": "gke-prod-pool-2-bbbb"}},
      "resource": {"type": "k8s_pod", "labels": {"pod_name": "dagster-step-3199c71ccecc52488e2e22b7e04d9900-zm8zk"}}},
     {"insertId": "e2", "timestamp": "2026-11-22T05:02:05Z",
      "jsonPayload": {"reason": "Evicted", "message": "m", "type": "Warning",
                      "involvedObject": {"kind": "Pod", "name": "dagster-step-00000000000000000000000000000000-aaaaa"}},
      "resource": {"type": "k8s_pod", "labels": {"pod_name": "dagster-step-00000000000000000000000000000000-aaaaa"}}}]})",
           200, "resource.type=\"k8s_pod\"");
  auto a = run_collect(fake);
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/0/podName"), "dagster-step-3199c71ccecc52488e2e22b7e04d9900-zm8zk");
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/0/runId"), k_failed_run);
  EXPECT_EQ(text_at(a, "/step_10_gke_events/podEvents/0/runStatus"), "FAILURE");
  EXPECT_EQ(json_at(a, "/step_10_gke_events/podEvents/1/runId"), "null");  // a step pod not created in the lookback
  // The audit query reaches a day before the window: a step pod may start before it.
  std::string filter;
  for (const auto& request : fake->requests(k_entries)) {
    if (request.body.find("dagster-step-") != std::string::npos && request.body.find("pods.create") != std::string::npos) {
      filter = request.body;
    }
  }
  EXPECT_THAT(filter, HasSubstr(R"(protoPayload.resourceName:\"namespaces/dagster/pods\")"));
  EXPECT_THAT(filter, HasSubstr("timestamp>=\\\"" + recorder::format_rfc3339_utc(day2test::captured_window().start -
                                                                             std::chrono::hours(24))));
}

TEST(GcpSteps, UnreadableStepPodCreationsAreAnItemErrorNotTheSteps) {
  auto fake = google();
  fake->on(k_entries, "", R"({"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}})", 403,
           "generateName:\"dagster-step-\"");
  auto a = run_collect(fake);
  EXPECT_FALSE(a["step_10_gke_events"].HasMember("error"));
  EXPECT_EQ(text_at(a, "/step_10_gke_events/itemErrors/0/item"), "step pods");
  EXPECT_THAT(text_at(a, "/step_10_gke_events/stepPodsError"), HasSubstr("logging entries.list: HTTP 403"));
  EXPECT_EQ(size_at(a, "/step_10_gke_events/podEvents"), 4u);
}

TEST(GcpSteps, ClusterEventsHoldJobNodeAndExporterEvents) {
  const auto& a = artifact();
  ASSERT_EQ(size_at(a, "/step_10_gke_events/clusterEvents"), 3u);
  EXPECT_EQ(text_at(a, "/step_10_gke_events/clusterEvents/0/reason"), "EventExporterRestarted");
  EXPECT_EQ(text_at(a, "/step_10_gke_events/clusterEvents/1/kind"), "Node");
  EXPECT_EQ(text_at(a, "/step_10_gke_events/clusterEvents/2/reason"), "BackoffLimitExceeded");
  EXPECT_EQ(text_at(a, "/step_10_gke_events/clusterEvents/2/name"), "dagster-run-" + k_failed_run);
}

TEST(GcpSteps, LoggingFiltersBoundTheWindowAndSelectByReason) {
  auto fake = google();
  run_collect(fake);
  bool found = false;
  for (const auto& request : fake->requests(k_entries)) {
    if (request.body.find("k8s_pod") == std::string::npos) continue;
    found = true;
    EXPECT_THAT(request.body, HasSubstr(R"(timestamp>=\"2026-11-22T05:00:36.360315Z\")"));
    EXPECT_THAT(request.body, HasSubstr(R"(timestamp<\"2026-11-22T05:03:53.061592Z\")"));
    EXPECT_THAT(request.body, HasSubstr(R"(resource.labels.namespace_name=\"dagster\")"));
    EXPECT_THAT(request.body, HasSubstr(R"j(jsonPayload.reason=(\"Preempted\" OR \"Evicted\")j"));
  }
  EXPECT_TRUE(found);
}

// Runs, the agent and infrastructure pods may each have their own namespace: pod events are read
// from all of them, the agent's creations from the agent's.
TEST(GcpSteps, PodEventsComeFromEveryConfiguredNamespaceAndChurnFromTheAgents) {
  auto fake = google();
  auto config = gcp_config();
  config.gcp.agent_namespace = "dagster-agent";
  config.gcp.infra_namespaces = {"onepassword"};
  run_collect(fake, config);
  int pods = 0, churn = 0;
  for (const auto& request : fake->requests(k_entries)) {
    if (request.body.find("k8s_pod") != std::string::npos) {
      ++pods;
      EXPECT_THAT(request.body,
                  HasSubstr(R"j(resource.labels.namespace_name=(\"dagster\" OR \"dagster-agent\" OR \"onepassword\"))j"));
    }
    if (request.body.find("user-cloud-dagster-cloud-agent-agent-") != std::string::npos) {
      ++churn;
      EXPECT_THAT(request.body, HasSubstr(R"(protoPayload.resourceName:\"namespaces/dagster-agent/pods\")"));
    }
    if (request.body.find("generateName:\\\"dagster-step-") != std::string::npos) {
      EXPECT_THAT(request.body, HasSubstr(R"(protoPayload.resourceName:\"namespaces/dagster/pods\")"));  // the runs'
    }
  }
  EXPECT_GT(pods, 0);
  EXPECT_GT(churn, 0);
}

TEST(GcpSteps, ErrorGroupsAreCategorised) {
  const auto& a = artifact();
  const auto& g = "/step_12_error_groups/groups";
  ASSERT_EQ(size_at(a, g), 4u) << json_at(a, "/step_12_error_groups");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/groups/0/groupId"), "grpA");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/groups/0/category"), "preemption_artifact");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/groups/0/exception"), "ConnectionResetError: [Errno 104] Connection reset by peer");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/groups/0/exceptionLine"), R"(File "/app/pipeline/io.py", line 17, in write)");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/groups/0/correlatedPodEvent/reason"), "Evicted");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/groups/0/correlatedPodEvent/podName"), "dagster-run-" + k_failed_run + "-x7k2p");
  EXPECT_EQ(json_at(a, "/step_12_error_groups/groups/0/affectedServices"),
            R"([{"service":"dagster","version":"dagster-run-)" + k_failed_run + R"(-x7k2p"}])");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/groups/1/groupId"), "grpB");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/groups/1/category"), "sigterm_during_import");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/groups/1/exceptionLine"),
            R"(File "/app/analytics/definitions.py", line 3, in <module>)");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/groups/2/groupId"), "grpC");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/groups/3/groupId"), "grpE");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/groups/3/category"), "unclassified");
  EXPECT_EQ(json_at(a, "/step_12_error_groups/groups/3/exceptionLine"), "null");
  EXPECT_EQ(json_at(a, "/step_12_error_groups/groups/3/correlatedPodEvent"), "null");
}

TEST(GcpSteps, ErrorGroupBucketsSeparateTheWindowFromStaleOpenGroups) {
  const auto& a = artifact();
  EXPECT_EQ(strings_at(a, "/step_12_error_groups/buckets/inWindow"), (Strings{"grpA", "grpB", "grpE"}));
  EXPECT_EQ(strings_at(a, "/step_12_error_groups/buckets/staleOpen"), (Strings{"grpC"}));
  EXPECT_EQ(text_at(a, "/step_12_error_groups/period"), "PERIOD_1_HOUR");
}

TEST(GcpSteps, ErrorReportingAsksForTheSmallestPeriodCoveringTheWindow) {
  auto fake = google();
  run_collect(fake);
  auto requests = fake->requests("/v1beta1/projects/my-proj/groupStats");
  ASSERT_EQ(requests.size(), 6u);  // three pages for the window's period, three for the stale candidates
  Strings periods;
  for (const auto& request : requests) periods.push_back(query_param(request.url, "timeRange.period"));
  std::sort(periods.begin(), periods.end());
  EXPECT_EQ(periods, (Strings{"PERIOD_1_HOUR", "PERIOD_1_HOUR", "PERIOD_1_HOUR", "PERIOD_30_DAYS", "PERIOD_30_DAYS",
                              "PERIOD_30_DAYS"}));
  EXPECT_EQ(query_param(requests[0].url, "timeRange.period"), "PERIOD_1_HOUR");
  EXPECT_EQ(query_param(requests[0].url, "timedCountDuration"), "60s");
  EXPECT_EQ(query_param(requests[0].url, "order"), "LAST_SEEN_DESC");
  // Only groups seen since the window began get their events read.
  EXPECT_EQ(fake->requests("/v1beta1/projects/my-proj/events").size(), 4u);
}

// groupStats returns only groups with errors in the period asked: an OPEN group silent since days
// before the window comes only from PERIOD_30_DAYS, and is stale; a RESOLVED one is not listed.
TEST(GcpSteps, AnOpenGroupSilentForDaysIsAStaleCandidateFromTheMonthsStats) {
  auto fake = google();
  auto group = [](const char* id, const char* status, const char* last) {
    return std::string(R"({"group": {"groupId": ")") + id + R"(", "resolutionStatus": ")" + status +
           R"("}, "count": "4", "firstSeenTime": "2026-11-10T08:00:00Z", "lastSeenTime": ")" + last +
           R"(", "affectedServices": [{"service": "etl", "version": "etl-prod-1"}],
             "representative": {"message": "PermissionError: denied"}})";
  };
  fake->on("/v1beta1/projects/my-proj/groupStats", "",
           "{\"errorGroupStats\": [" + group("grpOld", "OPEN", "2026-11-12T03:00:00Z") + ", " +
               group("grpGone", "RESOLVED", "2026-11-11T03:00:00Z") + "]}",
           200, "PERIOD_30_DAYS");
  auto a = run_collect(fake);
  auto stale = strings_at(a, "/step_12_error_groups/buckets/staleOpen");
  EXPECT_THAT(stale, testing::Contains("grpOld"));
  EXPECT_THAT(stale, testing::Not(testing::Contains("grpGone")));
  EXPECT_EQ(strings_at(a, "/step_12_error_groups/buckets/inWindow"), (Strings{"grpA", "grpB", "grpE"}));
  // Nothing of its in the window: its events are not asked for.
  for (const auto& request : fake->requests("/v1beta1/projects/my-proj/events")) {
    EXPECT_EQ(query_param(request.url, "groupId").find("grpOld"), std::string::npos);
  }
}

TEST(GcpSteps, UnreadableStaleCandidatesAreAnItemErrorTheWindowsGroupsStay) {
  auto fake = google();
  fake->on("/v1beta1/projects/my-proj/groupStats", "", R"({"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}})",
           503, "PERIOD_30_DAYS");
  auto a = run_collect(fake);
  EXPECT_FALSE(a["step_12_error_groups"].HasMember("error"));
  EXPECT_EQ(strings_at(a, "/step_12_error_groups/buckets/inWindow"), (Strings{"grpA", "grpB", "grpE"}));
  EXPECT_EQ(text_at(a, "/step_12_error_groups/itemErrors/0/item"), "stale open groups (PERIOD_30_DAYS)");
  EXPECT_THAT(text_at(a, "/step_12_error_groups/staleCandidatesError"), HasSubstr("HTTP 503"));
}

TEST(GcpSteps, AlertsOpenDuringTheWindow) {
  const auto& a = artifact();
  ASSERT_EQ(size_at(a, "/step_11_alerts/alerts"), 2u) << json_at(a, "/step_11_alerts");
  EXPECT_EQ(text_at(a, "/step_11_alerts/alerts/0/name"), "projects/my-proj/alerts/a3");
  EXPECT_EQ(json_at(a, "/step_11_alerts/alerts/0/closeTime"), "null");
  EXPECT_EQ(text_at(a, "/step_11_alerts/alerts/0/policy"), "Node memory");
  EXPECT_EQ(text_at(a, "/step_11_alerts/alerts/0/severity"), "CRITICAL");
  EXPECT_EQ(json_at(a, "/step_11_alerts/alerts/0/resourceLabels"), R"({"node_name":"gke-prod-pool-2-bbbb"})");
  EXPECT_EQ(text_at(a, "/step_11_alerts/alerts/1/name"), "projects/my-proj/alerts/a1");
  EXPECT_EQ(number_at(a, "/step_11_alerts/alerts/1/closeTime"), at("2026-11-22T05:02:00Z"));
}

TEST(GcpSteps, OomRunsJoinRestartsAndMemoryLimitToRuns) {
  const auto& a = artifact();
  ASSERT_EQ(size_at(a, "/step_13_oom_metrics/oomRuns"), 3u) << json_at(a, "/step_13_oom_metrics");
  // By run id: the outside run has no metric at the limit but the kernel killed a process on the
  // node where its pod was the only one (step 10's node event).
  const std::string outside = "/step_13_oom_metrics/oomRuns/0";
  EXPECT_EQ(text_at(a, outside + "/runId"), k_outside_run);
  EXPECT_EQ(json_at(a, outside + "/hitMemoryLimit"), "false");
  EXPECT_EQ(text_at(a, outside + "/nodeOomKills/0/node"), "gke-prod-spot-pool-1a2b3c4d-k3j4");
  EXPECT_EQ(json_at(a, outside + "/nodeOomKills/0/podsOnNode"), "1");
  EXPECT_EQ(strings_at(a, outside + "/evidence"), Strings{"kernel OOM kill on the node, the run's pod the only one there"});
  EXPECT_EQ(text_at(a, outside + "/strength"), "medium");
  EXPECT_EQ(text_at(a, "/step_13_oom_metrics/oomRuns/1/runId"), k_success_run);
  EXPECT_EQ(text_at(a, "/step_13_oom_metrics/oomRuns/1/runStatus"), "SUCCESS");
  EXPECT_EQ(json_at(a, "/step_13_oom_metrics/oomRuns/1/hitMemoryLimit"), "true");
  EXPECT_EQ(number_at(a, "/step_13_oom_metrics/oomRuns/1/maxMemoryLimitUtilization"), 0.97);
  EXPECT_EQ(strings_at(a, "/step_13_oom_metrics/oomRuns/1/evidence"), Strings{"memory at 97.0 % of the limit"});
  EXPECT_EQ(text_at(a, "/step_13_oom_metrics/oomRuns/2/runId"), k_failed_run);
  EXPECT_EQ(text_at(a, "/step_13_oom_metrics/oomRuns/2/runStatus"), "FAILURE");
  // dagster-k8s pods never restart (restartPolicy Never): the failed run stands on its memory alone.
  EXPECT_EQ(number_at(a, "/step_13_oom_metrics/oomRuns/2/restarts"), 0);
  EXPECT_EQ(json_at(a, "/step_13_oom_metrics/oomRuns/2/hitMemoryLimit"), "true");
  EXPECT_EQ(strings_at(a, "/step_13_oom_metrics/oomRuns/2/evidence"), Strings{"memory at 99.0 % of the limit"});
  EXPECT_EQ(text_at(a, "/step_13_oom_metrics/oomRuns/2/strength"), "medium");
  EXPECT_EQ(json_at(a, "/step_13_oom_metrics/skipped"), "false");
}

TEST(GcpSteps, TimeSeriesAreAskedPerMetricWithAnAligner) {
  auto fake = google();
  run_collect(fake);
  auto requests = fake->requests("/v3/projects/my-proj/timeSeries");
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_THAT(query_param(requests[0].url, "filter"), HasSubstr(R"j(metric.type="kubernetes.io/container/restart_count")j"));
  EXPECT_EQ(query_param(requests[0].url, "aggregation.perSeriesAligner"), "ALIGN_DELTA");
  EXPECT_EQ(query_param(requests[0].url, "aggregation.alignmentPeriod"), "60s");  // a spike keeps its minute
  EXPECT_THAT(query_param(requests[0].url, "filter"), HasSubstr(R"j(starts_with("dagster-step-"))j"));
  EXPECT_EQ(query_param(requests[0].url, "interval.endTime"), "2026-11-22T05:03:53.061592Z");
  EXPECT_EQ(query_param(requests[0].url, "view"), "FULL");
}

TEST(GcpSteps, AgentPodChurnIsJudgedAgainstReplicasAndSurge) {
  const auto& a = artifact();
  EXPECT_EQ(size_at(a, "/step_08_agent_pod_churn/events"), 5u) << json_at(a, "/step_08_agent_pod_churn");
  EXPECT_EQ(number_at(a, "/step_08_agent_pod_churn/createCount"), 4);  // one of the 5 was refused
  EXPECT_EQ(text_at(a, "/step_08_agent_pod_churn/verdict"), "retried_rollout");
  EXPECT_EQ(json_at(a, "/step_08_agent_pod_churn/skipped"), "false");
}

TEST(GcpSteps, DagsterStepsAreUnchanged) {
  const auto& a = artifact();
  EXPECT_EQ(json_at(a, "/step_01_failed_runs/failureCount"), "6");
}

TEST(GcpSteps, ARefusingApiMakesEveryGoogleStepAnErrorNamingTheMethod) {
  auto fake = std::make_shared<GcpFake>();
  const char* denied = R"({"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}})";
  for (const char* path : {k_entries, "/v1beta1/projects/my-proj/groupStats", "/v3/projects/my-proj/alerts",
                           "/v3/projects/my-proj/timeSeries"}) {
    fake->on(path, "", denied, 403);
  }
  auto a = run_collect(fake);
  EXPECT_EQ(text_at(a, "/step_10_gke_events/error"), "logging entries.list: HTTP 403 PERMISSION_DENIED: denied");
  EXPECT_EQ(text_at(a, "/step_08_agent_pod_churn/error"), "logging entries.list: HTTP 403 PERMISSION_DENIED: denied");
  EXPECT_EQ(text_at(a, "/step_11_alerts/error"), "monitoring projects.alerts.list: HTTP 403 PERMISSION_DENIED: denied");
  EXPECT_EQ(text_at(a, "/step_12_error_groups/error"),
            "errorreporting projects.groupStats.list: HTTP 403 PERMISSION_DENIED: denied");
  EXPECT_EQ(text_at(a, "/step_13_oom_metrics/error"),
            "monitoring projects.timeSeries.list: HTTP 403 PERMISSION_DENIED: denied");
  EXPECT_EQ(json_at(a, "/step_01_failed_runs/failureCount"), "6");
  EXPECT_EQ(error_steps(a), (Strings{"step_08_agent_pod_churn", "step_10_gke_events", "step_11_alerts",
                                     "step_12_error_groups", "step_13_oom_metrics"}));
}

TEST(GcpSteps, AProjectWithoutATransportIsAnError) {
  auto dagster = std::make_shared<day2test::FakeTransport>();
  day2test::answer_captured(*dagster);
  DagsterClient client(dagster, gcp_config().dagster, "", std::chrono::milliseconds(2000));
  CollectRequest request{gcp_config(), day2test::captured_window()};
  auto a = collect(client, request);
  EXPECT_EQ(text_at(a, "/step_11_alerts/error"),
            "Google Cloud is configured (project my-proj) but no Google transport was given to collect");
}

TEST(GcpSteps, WithoutAProjectTheStepsAreSkippedEvenWithATransport) {
  auto fake = std::make_shared<GcpFake>();
  Config config = gcp_config();
  config.gcp.project.clear();
  auto a = run_collect(fake, config);
  EXPECT_EQ(json_at(a, "/step_10_gke_events/skipped"), "true");
  EXPECT_THAT(text_at(a, "/step_10_gke_events/reason"), HasSubstr("gcp.project"));
  EXPECT_TRUE(fake->requests().empty());
}

}  // namespace
}  // namespace analyzer
