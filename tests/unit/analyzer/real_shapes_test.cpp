// Google Cloud as it really is (tests/data/gcp/real/: verbatim GKE entries, sources in its README):
// the collector turns each real entry into its signal, `day2 simulate` writes entries of the same
// kinds in the same shapes (the shape test fails on a field, resource type or severity that the real
// samples contradict), and no scenario of the corpus holds a shape GKE never writes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <unistd.h>
#include <string>
#include <vector>

#include "analyzer/cli/cli.hpp"
#include "analyzer/collect/collect.hpp"
#include "analyzer/simulate/simulate.hpp"
#include "recorder/bundle.hpp"
#include "recorder/base/json.hpp"
#include "support/captured_dagster.hpp"
#include "support/fake_transport.hpp"
#include "support/gcp_fake.hpp"
#include "support/json_access.hpp"

namespace analyzer {
namespace {

using day2test::GcpFake;
using day2test::json_at;
using day2test::number_at;
using day2test::size_at;
using day2test::text_at;
using testing::HasSubstr;

const std::string k_real = std::string(DAY2_TEST_DATA) + "/gcp/real/";
constexpr const char* k_entries = "/v2/entries:list";

rapidjson::Document read_json(const std::string& path) {
  auto doc = recorder::read_json_file(path);
  if (!doc) throw std::runtime_error(doc.error().message);
  return std::move(*doc);
}

// The verbatim entries of a real-samples file (each under "entry").
const rapidjson::Document& real(const std::string& file) {
  static std::map<std::string, rapidjson::Document> cache;
  auto found = cache.find(file);
  if (found == cache.end()) found = cache.emplace(file, read_json(k_real + file)).first;
  return found->second;
}

const rapidjson::Value& real_entry(const std::string& file, rapidjson::SizeType i) {
  return real(file)["entries"][i]["entry"];
}

// {"entries": [the chosen real entries]}, as entries.list answers.
std::string page_of(const std::string& file, const std::vector<rapidjson::SizeType>& which) {
  rapidjson::Document page(rapidjson::kObjectType);
  rapidjson::Value list(rapidjson::kArrayType);
  for (auto i : which) list.PushBack(rapidjson::Value(real_entry(file, i), page.GetAllocator()), page.GetAllocator());
  page.AddMember("entries", list, page.GetAllocator());
  return recorder::write_json(page);
}

Config real_config() {
  Config config;
  config.retries = 0;
  config.gcp.project = "hazel-aria-348413";
  config.gcp.namespace_name = "default";
  return config;
}

rapidjson::Document collect_with(const std::shared_ptr<GcpFake>& fake, const Config& config) {
  return day2test::collect_with_google(fake, config);
}

// Every Google request answered: the Logging queries by their filters (later rules win), the rest empty.
std::shared_ptr<GcpFake> google_answering(const std::vector<std::pair<std::string, std::string>>& logging) {
  auto fake = std::make_shared<GcpFake>();
  fake->on(k_entries, "", "{}");
  for (const auto& [filter_part, body] : logging) fake->on(k_entries, "", body, 200, filter_part);
  for (const char* path : {"/v3/projects/hazel-aria-348413/alerts", "/v3/projects/hazel-aria-348413/timeSeries",
                           "/v1beta1/projects/hazel-aria-348413/groupStats"}) {
    fake->on(path, "", "{}");
  }
  return fake;
}

// ---- real entries -> signals -------------------------------------------------------------------

TEST(RealSamples, GkeExporterEntriesBecomePodClusterNodeAndGapSignals) {
  const std::string events = "logging-k8s-events.json";
  auto fake = google_answering({
      {"resource.type=\"k8s_pod\"", page_of(events, {0, 2})},            // Pulling, Created (k8s_pod)
      {"resource.type=\"k8s_node\"", page_of(events, {3})},              // NodeSysctlChange (k8s_node)
      {"resource.type=\"k8s_cluster\"", page_of(events, {1, 4})},        // Endpoints event, exporter gap
  });
  auto artifact = collect_with(fake, real_config());
  ASSERT_FALSE(artifact["step_10_gke_events"].HasMember("error")) << json_at(artifact, "/step_10_gke_events");

  const std::string pods = "/step_10_gke_events/podEvents";
  ASSERT_EQ(size_at(artifact, pods), 2u) << json_at(artifact, pods);
  EXPECT_EQ(text_at(artifact, pods + "/0/reason"), "Pulling");
  EXPECT_EQ(text_at(artifact, pods + "/0/podName"), "kube-dns-56494768b7-544n6");
  EXPECT_EQ(text_at(artifact, pods + "/0/node"), "gke-cluster-1-default-pool-476246ab-wnl7");
  EXPECT_DOUBLE_EQ(number_at(artifact, pods + "/0/timestamp"), 1654092330.0);  // the entry's timestamp
  EXPECT_EQ(text_at(artifact, pods + "/0/message"), "Pulling image \"gke.gcr.io/prometheus-to-sd:v0.11.3-gke.0\"");
  EXPECT_EQ(json_at(artifact, pods + "/0/runId"), "null");  // not a run pod
  EXPECT_EQ(text_at(artifact, pods + "/1/reason"), "Created");

  const std::string cluster = "/step_10_gke_events/clusterEvents";
  ASSERT_EQ(size_at(artifact, cluster), 3u) << json_at(artifact, cluster);
  EXPECT_EQ(text_at(artifact, cluster + "/0/reason"), "FailedToUpdateEndpoint");
  EXPECT_EQ(text_at(artifact, cluster + "/0/kind"), "Endpoints");
  EXPECT_EQ(text_at(artifact, cluster + "/0/name"), "kube-dns");
  EXPECT_EQ(text_at(artifact, cluster + "/0/resourceType"), "k8s_cluster");
  EXPECT_EQ(text_at(artifact, cluster + "/1/reason"), "NodeSysctlChange");
  EXPECT_EQ(text_at(artifact, cluster + "/1/kind"), "Node");
  EXPECT_EQ(text_at(artifact, cluster + "/1/name"), "gke-cluster-1-default-pool-eb66079e-k3zf");
  EXPECT_EQ(text_at(artifact, cluster + "/1/resourceType"), "k8s_node");
  // The exporter's restart: events before it may be missing (a gap in the evidence at that time).
  EXPECT_EQ(text_at(artifact, cluster + "/2/reason"), "EventExporterRestarted");
  EXPECT_EQ(text_at(artifact, cluster + "/2/message"),
            "Event exporter started watching. Some events may have been lost up to this point.");
  EXPECT_DOUBLE_EQ(number_at(artifact, cluster + "/2/timestamp"), 1655372559.200653);
}

TEST(RealSamples, AControllersPodCreateCountsUnderTheNameInItsResponse) {
  // The real entry's resourceName is "core/v1/namespaces/default/pods": no pod name in it.
  const auto& entry = real_entry("audit-k8s-pods-create.json", 0);
  ASSERT_EQ(std::string(entry["protoPayload"]["resourceName"].GetString()), "core/v1/namespaces/default/pods");
  auto fake = google_answering({{"io.k8s.core.v1.pods.create", page_of("audit-k8s-pods-create.json", {0})}});
  auto config = real_config();
  config.gcp.agent_deployment = "image-path-exempt-from-policy";
  auto artifact = collect_with(fake, config);

  const std::string step = "/step_08_agent_pod_churn";
  ASSERT_EQ(size_at(artifact, step + "/events"), 1u) << json_at(artifact, step);
  EXPECT_EQ(text_at(artifact, step + "/events/0/podName"), "image-path-exempt-from-policy-c5b7ff9fc-xnxd5");
  EXPECT_EQ(text_at(artifact, step + "/events/0/principal"), "system:serviceaccount:kube-system:replicaset-controller");
  EXPECT_EQ(json_at(artifact, step + "/events/0/statusCode"), "0");
  EXPECT_EQ(json_at(artifact, step + "/createCount"), "1");

  // The filter selects such an entry: each term it sends holds for the real entry's fields.
  auto requests = fake->requests(k_entries);
  std::string filter;
  for (const auto& request : requests) {
    if (request.body.find("pods.create") != std::string::npos && request.body.find("dagster-step-") == std::string::npos) {
      filter = request.body;  // step 08's, not step 10's step-pod query
    }
  }
  ASSERT_FALSE(filter.empty());
  EXPECT_THAT(filter, HasSubstr(R"(protoPayload.resourceName:\"namespaces/default/pods\")"));
  EXPECT_THAT(filter, HasSubstr(R"(protoPayload.request.metadata.generateName:\"image-path-exempt-from-policy-\")"));
  EXPECT_THAT(std::string(entry["protoPayload"]["request"]["metadata"]["generateName"].GetString()),
              testing::StartsWith("image-path-exempt-from-policy-"));
}

TEST(RealSamples, ARefusedPodCreateIsListedWithItsCodeAndCreatesNothing) {
  auto fake = google_answering({{"io.k8s.core.v1.pods.create", page_of("audit-k8s-pods-create.json", {1})}});
  auto config = real_config();
  config.gcp.agent_deployment = "image-without";
  auto artifact = collect_with(fake, config);
  const std::string step = "/step_08_agent_pod_churn";
  ASSERT_EQ(size_at(artifact, step + "/events"), 1u) << json_at(artifact, step);
  EXPECT_EQ(text_at(artifact, step + "/events/0/podName"), "image-without-attestation");
  EXPECT_EQ(json_at(artifact, step + "/events/0/statusCode"), "7");
  EXPECT_EQ(json_at(artifact, step + "/createCount"), "0");
}

// A Spot / preemptible VM reclaim is Compute Engine's system-event entry on the instance (the GKE node).
TEST(RealSamples, ComputesPreemptedEntryIsTheNodesReclaim) {
  auto fake = google_answering({{"compute.instances.preempted", page_of("compute-system-event-preempted.json", {0})}});
  auto artifact = collect_with(fake, real_config());
  const std::string cluster = "/step_10_gke_events/clusterEvents";
  ASSERT_EQ(size_at(artifact, cluster), 1u) << json_at(artifact, cluster);
  EXPECT_EQ(text_at(artifact, cluster + "/0/reason"), "InstancePreempted");
  EXPECT_EQ(text_at(artifact, cluster + "/0/kind"), "Node");
  EXPECT_EQ(text_at(artifact, cluster + "/0/name"), "mock-instance-spot-3706-5b909138-nr65");
  EXPECT_EQ(text_at(artifact, cluster + "/0/resourceType"), "gce_instance");
  EXPECT_DOUBLE_EQ(number_at(artifact, cluster + "/0/timestamp"), 1694860951.325309);
}

// ---- the simulator against the real shapes -----------------------------------------------------

const char* const k_world = R"({
  "now": "2026-11-24T12:00:00Z",
  "gcp": {"project": "acme-prod", "cluster": "prod", "location": "us-central1"},
  "runs": [
    {"job": "big", "failure": "oom", "start": "2026-11-24T05:00:00Z", "end": "2026-11-24T05:10:00Z"},
    {"job": "evict", "failure": "evicted", "start": "2026-11-24T05:00:00Z", "end": "2026-11-24T05:10:00Z"},
    {"job": "pre", "failure": "preempted", "start": "2026-11-24T05:00:00Z", "end": "2026-11-24T05:10:00Z"},
    {"job": "nonode", "failure": "unschedulable", "created": "2026-11-24T05:00:00Z", "end": "2026-11-24T05:20:00Z"},
    {"job": "spot", "failure": "preempted", "start": "2026-11-24T06:00:00Z", "end": "2026-11-24T06:10:00Z",
     "pod_events": [{"reason": "NodeShutdown", "node": "gke-prod-spot-pool-5c2e9a1b-q7wd", "time": "2026-11-24T06:09:20Z"}]},
    {"job": "bl", "failure": "backoff_limit", "start": "2026-11-24T07:00:00Z", "end": "2026-11-24T07:05:00Z"}
  ],
  "node_pools": [{"name": "pool-1"}, {"name": "spot-pool", "spot": true}],
  "exporter_restarts": [{"time": "2026-11-24T04:30:00Z"}],
  "pod_events": [{"pod": "etl-prod-5d8c9-abcde", "reason": "Killing", "message": "Stopping container dagster",
                  "time": "2026-11-24T03:00:00Z", "node": "gke-pool-1-node-2"}],
  "agent_pod_creates": [{"time": "2026-11-24T02:00:00Z", "count": 2}, {"time": "2026-11-24T02:30:00Z", "code": 7}]
})";

struct Kind {
  std::string name;  // "k8s_pod event", "k8s_node event", "audit pods.create"
  std::vector<const rapidjson::Value*> real;
  std::vector<const rapidjson::Value*> simulated;
};

std::set<std::string> keys_of(const rapidjson::Value& object) {
  std::set<std::string> out;
  if (!object.IsObject()) return out;
  for (const auto& member : object.GetObject()) out.insert(member.name.GetString());
  return out;
}

std::string kind_of(const rapidjson::Value& entry) {
  auto type = recorder::get_string(entry["resource"], "type").value_or("");
  if (entry.HasMember("protoPayload")) {
    return "audit " + recorder::get_string(entry["protoPayload"], "methodName").value_or("");
  }
  if (entry.HasMember("textPayload")) return type + " text";
  return type + " event";
}

rapidjson::Document read_json_text(const std::string& text) {
  auto doc = recorder::parse_json(text, "response");
  if (!doc) throw std::runtime_error(doc.error().message);
  return std::move(*doc);
}

// Every entry.list entry the simulator wrote for k_world.
std::vector<rapidjson::Document> simulated_entries() {
  auto sim = simulate_text(k_world, "world.json");
  if (!sim) throw std::runtime_error(sim.error().message);
  std::vector<rapidjson::Document> out;
  for (const auto& exchange : sim->bundle.exchanges) {
    if (exchange.path != k_entries) continue;
    auto body = read_json_text(exchange.response_body);
    if (!body.HasMember("entries")) continue;
    for (const auto& entry : body["entries"].GetArray()) {
      rapidjson::Document copy;
      copy.CopyFrom(entry, copy.GetAllocator());
      out.push_back(std::move(copy));
    }
  }
  return out;
}

// What differs between a simulated entry and the real ones of its kind: a top-level member, a
// jsonPayload / protoPayload member or resource label that no real entry of the kind has, a top-level
// member every real one has but it lacks, a wrong severity.
std::vector<std::string> shape_problems(const rapidjson::Value& sim, const std::vector<const rapidjson::Value*>& reals) {
  std::vector<std::string> problems;
  std::set<std::string> top_any, payload_any, labels_any;
  std::set<std::string> top_all = keys_of(*reals.front());
  for (const auto* r : reals) {
    auto top = keys_of(*r);
    top_any.insert(top.begin(), top.end());
    std::set<std::string> both;
    std::set_intersection(top_all.begin(), top_all.end(), top.begin(), top.end(), std::inserter(both, both.end()));
    top_all = both;
    for (const char* payload : {"jsonPayload", "protoPayload"}) {
      if (r->HasMember(payload)) {
        auto keys = keys_of((*r)[payload]);
        payload_any.insert(keys.begin(), keys.end());
      }
    }
    auto labels = keys_of((*r)["resource"]["labels"]);
    labels_any.insert(labels.begin(), labels.end());
  }
  for (const auto& key : keys_of(sim)) {
    if (!top_any.count(key)) problems.push_back("member \"" + key + "\" that no real entry has");
  }
  for (const auto& key : top_all) {
    if (!sim.HasMember(key.c_str())) problems.push_back("no \"" + key + "\", which every real entry has");
  }
  for (const char* payload : {"jsonPayload", "protoPayload"}) {
    if (!sim.HasMember(payload)) continue;
    for (const auto& key : keys_of(sim[payload])) {
      if (!payload_any.count(key)) problems.push_back(std::string(payload) + "." + key + " that no real entry has");
    }
  }
  for (const auto& key : keys_of(sim["resource"]["labels"])) {
    if (!labels_any.count(key)) problems.push_back("resource label \"" + key + "\" that no real entry has");
  }
  return problems;
}

TEST(RealShapes, TheSimulatorWritesEveryKindOfEntryAsGkeDoes) {
  std::map<std::string, Kind> kinds;
  for (const char* file : {"logging-k8s-events.json", "audit-k8s-pods-create.json", "compute-system-event-preempted.json"}) {
    for (const auto& sample : real(file)["entries"].GetArray()) {
      const auto& entry = sample["entry"];
      kinds[kind_of(entry)].real.push_back(&entry);
    }
  }
  auto simulated = simulated_entries();
  ASSERT_FALSE(simulated.empty());
  for (const auto& entry : simulated) kinds[kind_of(entry)].simulated.push_back(&entry);

  // Every kind the simulator writes is one the real samples show.
  for (const auto& [name, kind] : kinds) {
    if (kind.simulated.empty()) continue;
    SCOPED_TRACE(name);
    ASSERT_FALSE(kind.real.empty()) << "the simulator writes " << name << " entries; no real sample has that kind";
    for (const auto* entry : kind.simulated) {
      auto problems = shape_problems(*entry, kind.real);
      EXPECT_TRUE(problems.empty()) << problems.front() << "\n" << recorder::write_json(*entry);
    }
  }
  EXPECT_FALSE(kinds["k8s_pod event"].simulated.empty());
  EXPECT_FALSE(kinds["k8s_node event"].simulated.empty());
  EXPECT_FALSE(kinds["audit io.k8s.core.v1.pods.create"].simulated.empty());
  EXPECT_FALSE(kinds["k8s_cluster event"].simulated.empty());  // the Job's BackoffLimitExceeded
  EXPECT_FALSE(kinds["k8s_cluster text"].simulated.empty());   // the exporter's restart
  EXPECT_FALSE(kinds["audit compute.instances.preempted"].simulated.empty());  // the Spot reclaim
}

// The comparison catches what the simulator wrote before it followed the real samples.
TEST(RealShapes, TheShapeCheckFindsTheEntriesOfTheOldSimulator) {
  auto old_event = read_json_text(R"j({"insertId":"sim000001","jsonPayload":{"apiVersion":"v1","kind":"Event",
      "involvedObject":{"kind":"Pod","namespace":"dagster","name":"dagster-run-x-x7k2p"},"reason":"OOMKilling",
      "message":"Memory cgroup out of memory: Killed process 4242 (python3)","source":{"component":"kubelet",
      "host":"gke-pool-1-node-1"},"type":"Warning","lastTimestamp":"2026-11-24T05:09:30Z","count":1},
      "resource":{"type":"k8s_pod","labels":{"project_id":"p","location":"l","cluster_name":"c",
      "namespace_name":"dagster","pod_name":"dagster-run-x-x7k2p"}},"timestamp":"2026-11-24T05:09:30Z",
      "severity":"WARNING","logName":"projects/p/logs/events","receiveTimestamp":"2026-11-24T05:09:32Z"})j");
  std::vector<const rapidjson::Value*> pods;
  for (rapidjson::SizeType i : {0u, 2u}) pods.push_back(&real_entry("logging-k8s-events.json", i));
  auto problems = shape_problems(old_event, pods);
  EXPECT_THAT(problems, testing::Contains("jsonPayload.lastTimestamp that no real entry has"));
  EXPECT_THAT(problems, testing::Contains("jsonPayload.count that no real entry has"));

  auto old_audit = read_json_text(R"j({"insertId":"audit000001","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity",
      "resource":{"type":"k8s_cluster","labels":{"project_id":"p","location":"l","cluster_name":"c"}},
      "timestamp":"2026-11-24T02:00:00Z","receiveTimestamp":"2026-11-24T02:00:01Z","severity":"NOTICE",
      "protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"k8s.io",
      "methodName":"io.k8s.core.v1.pods.create","resourceName":"core/v1/namespaces/dagster/pods/agent-1",
      "authenticationInfo":{"principalEmail":"system:serviceaccount:kube-system:replicaset-controller"},"status":{}}})j");
  std::vector<const rapidjson::Value*> audits = {&real_entry("audit-k8s-pods-create.json", 0),
                                                 &real_entry("audit-k8s-pods-create.json", 1)};
  EXPECT_THAT(shape_problems(old_audit, audits), testing::Contains("member \"severity\" that no real entry has"));
}

TEST(RealShapes, SimulatedEventsFollowTheExportersRules) {
  int oom = 0, refused = 0, created = 0, spot = 0;
  for (const auto& entry : simulated_entries()) {
    std::string json = recorder::write_json(entry);
    if (entry.HasMember("jsonPayload")) {
      const auto& payload = entry["jsonPayload"];
      // No count / firstTimestamp: the exporter drops them; every update is its own entry.
      EXPECT_FALSE(payload.HasMember("count")) << json;
      EXPECT_FALSE(payload.HasMember("firstTimestamp")) << json;
      // Severity is the Event's type: Normal -> INFO, Warning -> WARNING.
      auto type = recorder::get_string(payload, "type").value_or("");
      EXPECT_EQ(recorder::get_string(entry, "severity").value_or(""), type == "Warning" ? "WARNING" : "INFO") << json;
      auto reason = recorder::get_string(payload, "reason").value_or("");
      auto resource = recorder::get_string(entry["resource"], "type").value_or("");
      auto kind = recorder::get_string(payload["involvedObject"], "kind").value_or("");
      EXPECT_EQ(resource, kind == "Pod" ? "k8s_pod" : kind == "Node" ? "k8s_node" : "k8s_cluster") << json;
      if (reason == "OOMKilling") {
        ++oom;  // node-problem-detector on the Node, naming the process, not the pod
        EXPECT_EQ(resource, "k8s_node") << json;
        EXPECT_EQ(recorder::get_string(payload["source"], "component"), "kernel-monitor") << json;
        EXPECT_THAT(recorder::get_string(payload, "message").value_or(""), testing::MatchesRegex(
            "Memory cgroup out of memory: Killed process [0-9]+ \\(.+\\) total-vm:[0-9]+kB, anon-rss:[0-9]+kB, file-rss:[0-9]+kB.*"));
      }
      if (reason == "Preempted") {
        EXPECT_EQ(type, "Normal") << json;
        EXPECT_THAT(recorder::get_string(payload, "message").value_or(""),
                    testing::MatchesRegex("Preempted by pod [0-9a-f-]+ on node .+"));
      }
    } else if (entry.HasMember("protoPayload") &&
               recorder::get_string(entry["protoPayload"], "methodName") == "compute.instances.preempted") {
      ++spot;  // Compute Engine's system event on the instance (= the GKE node), severity INFO
      EXPECT_EQ(json_at(entry, "/resource/type"), "\"gce_instance\"") << json;
      EXPECT_EQ(json_at(entry, "/severity"), "\"INFO\"") << json;
      EXPECT_THAT(text_at(entry, "/protoPayload/resourceName"), testing::EndsWith("/instances/gke-prod-spot-pool-5c2e9a1b-q7wd"));
    } else if (entry.HasMember("protoPayload")) {
      EXPECT_FALSE(entry.HasMember("severity")) << "k8s.io audit entries carry no severity: " << json;
      const auto& proto = entry["protoPayload"];
      EXPECT_EQ(recorder::get_string(proto, "resourceName"), "core/v1/namespaces/dagster/pods") << json;
      EXPECT_FALSE(proto["request"]["metadata"].HasMember("name")) << json;  // generateName only
      if (recorder::get_string(proto["response"], "kind") == "Pod") {
        ++created;
        EXPECT_TRUE(proto["response"]["metadata"].HasMember("name")) << json;
      } else {
        ++refused;
        EXPECT_EQ(json_at(proto, "/status/code"), "7") << json;
      }
    }
  }
  EXPECT_EQ(oom, 1);
  EXPECT_EQ(created, 2);
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(spot, 1);
}

// The scenario's spec: build_features' pod was preempted by the scheduler on default-pool,
// score_customers' Spot VM (spot-pool) was reclaimed and its node shut down.
TEST(RealShapes, TheSpotScenarioTellsTheReclaimFromThePriorityPreemption) {
  const std::string dir = std::string(DAY2_SOURCE_DIR) + "/scenarios/spot-reclaim-and-priority-preemption";
  auto out = std::filesystem::temp_directory_path() / ("day2-spot-" + std::to_string(::getpid()) + ".json");
  std::ostringstream stdout_text, stderr_text;
  ASSERT_EQ(run_cli({"collect", "--replay", dir + "/bundle", "--config", dir + "/config.json", "--out", out.string(), "-q"},
                    stdout_text, stderr_text),
            0)
      << stderr_text.str();
  auto artifact = read_json(out.string());
  std::filesystem::remove(out);
  std::map<std::string, std::string> job_of;
  for (const auto& run : artifact["step_01_failed_runs"]["failures"].GetArray()) {
    job_of[run["runId"].GetString()] = run["jobName"].GetString();
  }
  std::map<std::string, std::set<std::string>> kinds;  // job -> preemption kinds of its pod's events
  std::map<std::string, std::set<std::string>> pools;
  for (const auto& event : artifact["step_10_gke_events"]["podEvents"].GetArray()) {
    if (!event["runId"].IsString() || !event.HasMember("preemption")) continue;
    std::string job = job_of[event["runId"].GetString()];
    kinds[job].insert(event["preemption"].GetString());
    if (event.HasMember("nodePool")) pools[job].insert(event["nodePool"].GetString());
  }
  EXPECT_EQ(kinds["build_features"], std::set<std::string>{"priority"});
  EXPECT_EQ(kinds["score_customers"], std::set<std::string>{"spot"});
  EXPECT_EQ(pools["build_features"], std::set<std::string>{"default-pool"});
  EXPECT_EQ(pools["score_customers"], std::set<std::string>{"spot-pool"});
  EXPECT_EQ(json_at(artifact, "/step_10_gke_events/nodePools"),
            R"([{"name":"default-pool","spot":false},{"name":"spot-pool","spot":true}])");
}

// ---- the corpus --------------------------------------------------------------------------------

// No scenario holds what GKE never writes: an OOMKilling event off a Node, count / firstTimestamp in
// an event, a restart of a dagster run or step pod (backoffLimit 0, restartPolicy Never).
TEST(RealShapes, NoScenarioHoldsAShapeGkeNeverWrites) {
  namespace fs = std::filesystem;
  int bundles = 0, events = 0;
  for (const auto& dir : fs::directory_iterator(std::string(DAY2_SOURCE_DIR) + "/scenarios")) {
    auto bundle_dir = dir.path() / "bundle";
    if (!fs::is_directory(bundle_dir)) continue;
    auto bundle = recorder::read_bundle(bundle_dir.string());
    ASSERT_TRUE(bundle) << bundle.error().message;
    ++bundles;
    for (const auto& exchange : bundle->exchanges) {
      if (exchange.service == recorder::Service::dagster || exchange.response_body.empty()) continue;
      auto body = recorder::parse_json(exchange.response_body, "response");
      if (!body || !body->IsObject()) continue;
      std::string where = dir.path().filename().string() + " exchange " + std::to_string(exchange.seq);
      if (const auto* entries = recorder::get_array(*body, "entries")) {
        for (const auto& entry : entries->GetArray()) {
          const auto* payload = recorder::get_object(entry, "jsonPayload");
          if (!payload) continue;
          ++events;
          EXPECT_FALSE(payload->HasMember("count")) << where;
          EXPECT_FALSE(payload->HasMember("firstTimestamp")) << where;
          if (recorder::get_string(*payload, "reason") == "OOMKilling") {
            EXPECT_EQ(json_at(entry, "/resource/type"), "\"k8s_node\"") << where;
          }
        }
      }
      if (const auto* series = recorder::get_array(*body, "timeSeries")) {
        for (const auto& one : series->GetArray()) {
          if (json_at(one, "/metric/type") != "\"kubernetes.io/container/restart_count\"") continue;
          auto pod = text_at(one, "/resource/labels/pod_name");
          if (pod.rfind("dagster-run-", 0) != 0 && pod.rfind("dagster-step-", 0) != 0) continue;
          for (const auto& point : one["points"].GetArray()) {
            EXPECT_EQ(json_at(point, "/value/int64Value"), "\"0\"") << where << ": " << pod << " restarted";
          }
        }
      }
    }
  }
  EXPECT_GT(bundles, 20);
  EXPECT_GT(events, 10);
}

}  // namespace
}  // namespace analyzer
