// day2 simulate: generated bundles have the real APIs' shapes (the recorded fixture for Dagster,
// the discovery documents for Google), replay to the spec's ground truth, are deterministic, page
// like the real APIs, refuse bad specs clearly, and reproduce the committed generated scenarios.
#include "analyzer/simulate/simulate.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "analyzer/cli/cli.hpp"
#include "recorder/bundle.hpp"
#include "recorder/base/json.hpp"
#include "support/files.hpp"
#include "support/shape.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

namespace fs = std::filesystem;
using day2test::read_text;

const std::string k_source = DAY2_SOURCE_DIR;
const std::string k_reference = k_source + "/docs/reference";

// A world exercising every failure mode, retries, ticks, a broken location, daemons, a backfill,
// a queued run, asset checks and the Google Cloud signals (pod events of run pods and of a code
// server, agent pod creations, error groups in and before the window, an alert, OOM metrics).
const std::string k_world = R"({
  "now": "2026-11-24T12:00:00Z",
  "window": {"start": "2026-11-23T22:00:00Z", "end": "2026-11-24T12:00:00Z"},
  "timezone": "America/New_York",
  "seed": 7,
  "gcp": {"project": "acme-prod", "cluster": "prod", "location": "us-central1"},
  "runs": [
    {"job": "load_orders", "failure": "user_code_error", "start": "2026-11-24T04:00:00Z", "end": "2026-11-24T04:05:00Z",
     "expect": {"category": "Code error", "rule": "user-code-error"}},
    {"job": "call_api", "failure": "connection_error", "start": "2026-11-24T04:00:00Z", "end": "2026-11-24T04:05:00Z",
     "expect": {"category": "Connection failure", "rule": "connection-error-class"}},
    {"job": "slow", "failure": "max_runtime", "max_runtime": 600, "start": "2026-11-24T03:00:00Z", "end": "2026-11-24T03:10:00Z",
     "expect": {"category": "Infra timeout", "rule": "max-runtime-exceeded"}},
    {"job": "hang", "failure": "max_runtime", "exiting_engine_event": true, "materialized": true,
     "start": "2026-11-24T03:00:00Z", "end": "2026-11-24T04:00:00Z",
     "expect": {"category": "Step preempt-hang", "rule": "preempt-hang-max-runtime"}},
    {"job": "nostart", "failure": "never_started", "created": "2026-11-24T02:00:00Z", "end": "2026-11-24T02:03:00Z",
     "expect": {"category": "Infra timeout", "rule": "start-timeout"}},
    {"job": "k8s", "failure": "k8s_api_error", "start": "2026-11-24T05:00:00Z", "end": "2026-11-24T05:01:00Z",
     "expect": {"category": "K8s API failure", "rule": "k8s-api-error"}},
    {"job": "pk", "failure": "prestart_kill", "start": "2026-11-24T05:00:00Z", "end": "2026-11-24T05:01:00Z",
     "expect": {"category": "Backoff limit", "rule": "step-job-failed"}},
    {"job": "mem", "failure": "oom", "start": "2026-11-24T05:00:00Z", "end": "2026-11-24T05:01:00Z",
     "expect": {"category": "Node OOM/eviction", "rule": "oom-killed"}},
    {"job": "ev", "failure": "evicted", "start": "2026-11-24T05:00:00Z", "end": "2026-11-24T05:01:00Z",
     "expect": {"category": "Node OOM/eviction", "rule": "pod-evicted"}},
    {"job": "pre", "failure": "preempted", "start": "2026-11-24T04:00:00Z", "end": "2026-11-24T04:02:00Z",
     "retry": {"status": "SUCCESS"}, "expect": {"category": "Preemption/Interrupt", "rule": "run-interrupted"}},
    {"job": "odd", "failure": "unclassified", "start": "2026-11-24T05:00:00Z", "end": "2026-11-24T05:01:00Z",
     "expect": {"category": "Unclassified", "rule": ""}},
    {"job": "nonode", "failure": "unschedulable", "created": "2026-11-24T05:00:00Z", "end": "2026-11-24T05:20:00Z",
     "expect": {"category": "Scheduling failure", "rule": "run-pod-missing"}},
    {"id": "0badc0de-0000-4000-8000-000000000001", "job": "bl", "failure": "backoff_limit",
     "start": "2026-11-24T05:00:00Z", "end": "2026-11-24T05:01:00Z",
     "expect": {"category": "Backoff limit", "rule": "step-job-failed"}},
    {"job": "cancel_me", "status": "CANCELED", "start": "2026-11-24T05:00:00Z", "end": "2026-11-24T05:01:00Z"},
    {"job": "ok", "start": "2026-11-24T01:00:00Z", "end": "2026-11-24T01:01:00Z", "count": 5, "every": 600},
    {"job": "load_orders", "step": "load_orders_step", "start": "2026-11-24T06:00:00Z", "end": "2026-11-24T06:01:00Z"},
    {"job": "held", "status": "QUEUED", "created": "2026-11-24T09:00:00Z"}
  ],
  "sensors": [{"location": "etl", "name": "s3_sensor", "ticks": [{"time": "2026-11-24T03:00:00Z", "status": "FAILURE",
               "message": "RuntimeError: bucket gone", "count": 3, "every": 60}]}],
  "schedules": [{"location": "etl", "name": "nightly", "ticks": [{"time": "2026-11-24T04:00:00Z", "status": "FAILURE",
                 "message": "RuntimeError: no config"}]}],
  "locations": [{"name": "etl"}, {"name": "broken", "load_error": "DagsterImportError: cannot import vendor SDK"}],
  "daemons": [{"type": "SENSOR", "errors": ["SensorExecutionError: boom"]}, {"type": "SCHEDULER", "healthy": false}],
  "backfills": [{"id": "bf1", "status": "COMPLETED_FAILED", "asset": "events", "partitions": 3, "failed": 1,
                 "created": "2026-11-24T02:00:00Z", "end": "2026-11-24T03:00:00Z"}],
  "asset_checks": [
    {"asset": "warehouse/orders", "name": "avro_schema_valid", "description": "vendor schema drift",
     "executions": [{"time": "2026-11-24T05:00:30Z", "status": "FAILED", "severity": "WARN", "run": "0badc0de-0000-4000-8000-000000000001",
                     "description": "2 unexpected fields", "metadata": {"extras": "a,b", "row_count": "12"}}]},
    {"asset": "warehouse/orders", "name": "orders_not_empty",
     "executions": [{"time": "2026-11-22T05:00:00Z", "status": "SUCCEEDED"},
                    {"time": "2026-11-23T05:00:00Z", "status": "FAILED", "severity": "ERROR"}]},
    {"asset": "warehouse/customers", "name": "crashes",
     "executions": [{"time": "2026-11-24T05:00:40Z", "status": "EXECUTION_FAILED", "run": "0badc0de-0000-4000-8000-000000000001"}]}
  ],
  "error_groups": [
    {"id": "g-now", "message": "Traceback (most recent call last):\n  File \"/app/a.py\", line 3, in f\nKeyError: 'x'",
     "events": [{"time": "2026-11-24T03:00:00Z", "count": 2, "every": 600}]},
    {"id": "g-stale", "message": "TimeoutError: upload timed out", "events": [{"time": "2026-11-23T15:00:00Z"}]}
  ],
  "alerts": [{"policy": "dagster-step CPU", "open": "2026-11-24T04:00:00Z", "close": "2026-11-24T04:01:00Z",
              "labels": {"pod_name": "dagster-step-abc"}}],
  "pod_events": [{"pod": "etl-prod-5d8c9-abcde", "reason": "Preempted", "time": "2026-11-24T03:00:00Z"}],
  "agent_pod_creates": [{"time": "2026-11-24T02:00:00Z", "count": 2}]
})";

Simulation simulate_world(const std::string& text = k_world) {
  auto sim = simulate_text(text, "world.json");
  if (!sim) throw std::runtime_error(sim.error().message);
  return std::move(*sim);
}

std::string operation(const recorder::Exchange& e) {
  auto g = recorder::parse_graphql_request(e.service, e.method, e.path, e.request_body);
  return g ? g->operation_name : "";
}

rapidjson::Document parse(const std::string& text) {
  auto doc = recorder::parse_json(text, "response");
  if (!doc) throw std::runtime_error(doc.error().message);
  return std::move(*doc);
}

int cli(const std::vector<std::string>& args, std::string* err_text = nullptr) {
  std::ostringstream out, err;
  int code = run_cli(args, out, err);
  if (err_text) *err_text = err.str();
  return code;
}

TEST(Simulate, DagsterResponsesHaveTheRecordedFixturesShapes) {
  auto fixture = recorder::read_bundle(k_source + "/scenarios/dagster-fixture/bundle");
  ASSERT_TRUE(fixture) << fixture.error().message;
  std::map<std::string, std::vector<rapidjson::Document>> recorded;
  for (const auto& e : fixture->exchanges) recorded[operation(e)].push_back(parse(e.response_body));
  auto sim = simulate_world();
  std::set<std::string> generated;
  for (const auto& e : sim.bundle.exchanges) {
    if (e.service != recorder::Service::dagster) continue;
    std::string op = operation(e);
    generated.insert(op);
    ASSERT_TRUE(recorded.contains(op)) << "no recorded response of " << op;
    std::vector<const rapidjson::Value*> refs;
    for (const auto& doc : recorded[op]) refs.push_back(&doc);
    auto body = parse(e.response_body);
    auto diffs = day2test::shape_differences(body, refs);
    EXPECT_TRUE(diffs.empty()) << op << ": " << diffs.size() << " difference(s), first: " << diffs.front();
  }
  // Every operation the fixture's collection sent (not those recorded after it for investigations).
  std::set<std::string> collection;
  for (const auto& e : fixture->exchanges) {
    if (fixture->manifest.investigations_from == 0 || e.seq < fixture->manifest.investigations_from) collection.insert(operation(e));
  }
  for (const auto& op : collection) EXPECT_TRUE(generated.contains(op)) << op << " was not exercised";
}

// The Dagster+ agents, which the (open-source) fixture cannot record: checked against the Dagster+
// schema itself.
TEST(Simulate, PlusAgentsHaveTheDagsterPlusSchemasShape) {
  auto sim = simulate_world(R"({"now": "2026-11-24T12:00:00Z", "flavor": "plus", "organization": "acme",
    "agents": [{"id": "a1", "label": "prod", "errors": [{"time": "2026-11-24T03:00:00Z", "count": 2,
                "error": "ReadTimeout: HTTPSConnectionPool(host='acme.agent.dagster.cloud', port=443): Read timed out."}]},
               {"id": "a2", "status": "NOT_RUNNING"}],
    "locations": [{"name": "etl"}, {"name": "broken", "load_error": "ImportError: no module named vendor"}]})");
  auto sdl = read_text(k_source + "/tests/data/dagster/schemas/dagster-plus.graphql");
  int agents = 0;
  for (const auto& e : sim.bundle.exchanges) {
    if (operation(e) != "PlusAgents") continue;
    auto body = parse(e.response_body);
    ASSERT_TRUE(body["data"]["agents"].IsArray());
    agents += static_cast<int>(body["data"]["agents"].Size());
    EXPECT_EQ(body["data"]["agents"][0]["errors"].Size(), 2u);
    auto diffs = day2test::graphql_differences(body["data"], sdl, "CloudQuery");
    EXPECT_TRUE(diffs.empty()) << diffs.size() << " difference(s), first: " << diffs.front();
  }
  EXPECT_EQ(agents, 2);
}

TEST(Simulate, GraphqlShapeCheckFindsAWrongFieldAndANull) {
  std::string sdl = "type Q {\n  agents: [A!]!\n}\n\ntype A {\n  id: String!\n  status: S!\n  n: Int\n}\n\n"
                    "enum S {\n  RUNNING\n}\n";
  auto value = parse(R"({"agents": [{"id": null, "status": "GONE", "n": 1.5, "extra": 1}]})");
  auto diffs = day2test::graphql_differences(value, sdl, "Q");
  ASSERT_EQ(diffs.size(), 4u);
  EXPECT_EQ(diffs[0], "/agents/0/id: null for the non-null type String!");
  EXPECT_EQ(diffs[1], "/agents/0/status: not a value of the enum S");
  EXPECT_EQ(diffs[2], "/agents/0/n: number where the schema has Int");
  EXPECT_EQ(diffs[3], "/agents/0/extra: not a field of A");
}

// A union-typed value is checked as the member its __typename names; one naming no member is a difference.
TEST(Simulate, GraphqlShapeCheckReadsAUnionByItsTypename) {
  std::string sdl = "type Q {\n  r: ROrError!\n}\n\nunion ROrError = R | E\n\ntype R {\n  id: String!\n}\n\n"
                    "type E {\n  message: String!\n}\n";
  EXPECT_TRUE(day2test::graphql_differences(parse(R"({"r": {"__typename": "R", "id": "x"}})"), sdl, "Q").empty());
  auto diffs = day2test::graphql_differences(parse(R"({"r": {"__typename": "E", "id": "x"}})"), sdl, "Q");
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0], "/r/id: not a field of E");
  diffs = day2test::graphql_differences(parse(R"({"r": {"__typename": "Z"}})"), sdl, "Q");
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0], "/r: no member of the union ROrError in __typename");
}

TEST(Simulate, ShapeComparisonFindsAWrongType) {
  auto reference = parse(R"({"data":{"runs":[{"id":"a","end":1.5}]}})");
  auto actual = parse(R"({"data":{"runs":[{"id":"a","end":"late","extra":1}]}})");
  auto diffs = day2test::shape_differences(actual, {&reference});
  ASSERT_EQ(diffs.size(), 2u);
  EXPECT_EQ(diffs[0], "/data/runs/0/end: string where the recorded responses hold number");
  EXPECT_EQ(diffs[1], "/data/runs/0/extra: not in the recorded responses");
}

// The discovery document and method of each Google request day2 sends.
std::pair<std::string, std::string> google_method(const recorder::Exchange& e) {
  auto ends = [&](std::string_view s) { return e.path.size() >= s.size() && e.path.ends_with(s); };
  if (ends("/v2/entries:list")) return {"logging-v2.json", "logging.entries.list"};
  if (ends("/alerts")) return {"monitoring-v3.json", "monitoring.projects.alerts.list"};
  if (ends("/timeSeries")) return {"monitoring-v3.json", "monitoring.projects.timeSeries.list"};
  if (ends("/groupStats")) return {"clouderrorreporting-v1beta1.json", "clouderrorreporting.projects.groupStats.list"};
  if (ends("/events")) return {"clouderrorreporting-v1beta1.json", "clouderrorreporting.projects.events.list"};
  if (ends("/nodePools")) return {"container-v1.json", "container.projects.locations.clusters.nodePools.list"};
  return {"", ""};
}

TEST(Simulate, GoogleResponsesValidateAgainstTheDiscoveryDocuments) {
  auto sim = simulate_world();
  int google = 0, entries = 0;
  for (const auto& e : sim.bundle.exchanges) {
    if (e.service == recorder::Service::dagster) continue;
    ++google;
    auto [file, method] = google_method(e);
    ASSERT_FALSE(file.empty()) << "unexpected Google request " << e.method << " " << e.path;
    auto discovery = recorder::read_json_file(k_reference + "/gcp/" + file);
    ASSERT_TRUE(discovery) << discovery.error().message;
    std::string schema = day2test::response_schema(*discovery, method);
    ASSERT_FALSE(schema.empty()) << method << " not in " << file;
    EXPECT_EQ(e.status, 200) << e.path;
    auto body = parse(e.response_body);
    auto diffs = day2test::schema_differences(body, *discovery, schema);
    EXPECT_TRUE(diffs.empty()) << method << ": " << diffs.front();
    if (body.HasMember("entries")) entries += static_cast<int>(body["entries"].Size());
  }
  EXPECT_GE(google, 6);
  // The evicted, preempted and unschedulable runs' pod events, the oom run's Scheduled pod event and
  // its node's OOMKilling (a Node event), the code server's, the agent's two pod creations, and the
  // BackoffLimitExceeded Job events (k8s_cluster) of the prestart_kill and backoff_limit runs.
  EXPECT_EQ(entries, 10);
}

// Simulates k_world as the scenario dir/s, then collects it by replay into dir/day2.json.
::testing::AssertionResult simulate_and_collect(const day2_test::TempDir& dir) {
  std::string spec = dir.file("spec.json");
  if (!recorder::write_file_atomic(spec, k_world)) return ::testing::AssertionFailure() << "cannot write " << spec;
  std::string err;
  if (cli({"simulate", spec, "--scenario", dir.file("s")}, &err) != 0) {
    return ::testing::AssertionFailure() << "day2 simulate failed: " << err;
  }
  if (cli({"collect", "--replay", dir.file("s/bundle"), "--config", dir.file("s/config.json"), "--out",
           dir.file("day2.json"), "-q"}, &err) != 0) {
    return ::testing::AssertionFailure() << "day2 collect --replay failed: " << err;
  }
  return ::testing::AssertionSuccess();
}

TEST(Simulate, TheWorldsSignalsReachTheArtifact) {
  day2_test::TempDir dir;
  ASSERT_TRUE(simulate_and_collect(dir));
  auto artifact = parse(read_text(dir.file("day2.json")));
  const auto& groups = artifact["step_12_error_groups"]["buckets"];
  ASSERT_EQ(groups["inWindow"].Size(), 1u);
  EXPECT_EQ(std::string(groups["inWindow"][0].GetString()), "g-now");
  ASSERT_EQ(groups["staleOpen"].Size(), 1u);
  EXPECT_EQ(std::string(groups["staleOpen"][0].GetString()), "g-stale");
  const auto& checks = artifact["step_16_asset_checks"];
  EXPECT_EQ(checks["totalChecks"].GetInt(), 3);
  ASSERT_EQ(checks["inWindow_warn"].Size(), 1u);
  EXPECT_EQ(std::string(checks["inWindow_warn"][0]["metadata"]["extras"].GetString()), "a,b");
  EXPECT_EQ(checks["inWindow_warn"][0]["metadata"]["row_count"].GetInt(), 12);
  EXPECT_EQ(checks["inWindow_error"].Size(), 1u);  // EXECUTION_FAILED goes with the errors
  EXPECT_EQ(checks["stale_error"].Size(), 1u);
  EXPECT_EQ(artifact["step_11_alerts"]["alerts"].Size(), 1u);
  ASSERT_EQ(artifact["step_13_oom_metrics"]["oomRuns"].Size(), 1u);
  EXPECT_TRUE(artifact["step_13_oom_metrics"]["oomRuns"][0]["hitMemoryLimit"].GetBool());
  EXPECT_EQ(artifact["step_08_agent_pod_churn"]["createCount"].GetInt(), 2);
  int code_server = 0;
  for (const auto& e : artifact["step_10_gke_events"]["podEvents"].GetArray()) {
    code_server += std::string(e["podName"].GetString()).starts_with("etl-prod-");
  }
  EXPECT_EQ(code_server, 1);
}

TEST(Simulate, ADefaultWindowOnMondayStartsFridayAtFivePmInTheZone) {
  auto sim = simulate_world(R"({"now": "2026-11-23T13:00:00Z", "window": "default", "timezone": "America/New_York"})");
  EXPECT_EQ(recorder::format_rfc3339_utc(sim.bundle.manifest.window.start), "2026-11-20T22:00:00Z");
  EXPECT_EQ(recorder::format_rfc3339_utc(sim.bundle.manifest.window.end), "2026-11-23T13:00:00Z");
}

TEST(Simulate, SchemaValidatorFindsAnInt64ThatIsNotAString) {
  auto discovery = parse(R"({"schemas":{"R":{"type":"object","properties":{"n":{"type":"string","format":"int64"},
      "xs":{"type":"array","items":{"$ref":"X"}}}},"X":{"type":"object","properties":{"k":{"type":"string","enum":["A"]}}}}})");
  auto value = parse(R"({"n":5,"xs":[{"k":"B"},{"z":1}]})");
  auto diffs = day2test::schema_differences(value, discovery, "R");
  ASSERT_EQ(diffs.size(), 3u);
  EXPECT_EQ(diffs[0], "/n: must be a string, got number");
  EXPECT_EQ(diffs[1], "/xs/0/k: \"B\" is not in the enum");
  EXPECT_EQ(diffs[2], "/xs/1/z: not a property of the schema");
}

TEST(Simulate, ReplayOfTheSimulatedBundleGivesTheGroundTruthCategories) {
  day2_test::TempDir dir;
  ASSERT_TRUE(simulate_and_collect(dir));
  auto artifact = parse(read_text(dir.file("day2.json")));
  auto expected = parse(read_text(dir.file("s/expected.json")));
  const auto& failures = artifact["step_01_failed_runs"]["failures"];
  ASSERT_EQ(failures.Size(), expected["runs"].MemberCount());
  for (const auto& f : failures.GetArray()) {
    std::string id = f["runId"].GetString();
    ASSERT_TRUE(expected["runs"].HasMember(id.c_str())) << id;
    const auto& want = expected["runs"][id.c_str()];
    EXPECT_EQ(std::string(f["category"].GetString()), want["category"].GetString()) << f["jobName"].GetString();
    std::string rule = f["ruleId"].IsString() ? f["ruleId"].GetString() : "-";
    EXPECT_EQ(rule, want["rule"].GetString()) << f["jobName"].GetString();
  }
  EXPECT_EQ(artifact["step_01_failed_runs"]["successCount"].GetInt(), 7);  // 5 ok, the retry, load_orders
  EXPECT_EQ(artifact["step_01_failed_runs"]["failureCount"].GetInt(), 13);
}

TEST(Simulate, TheSameSpecGivesAByteIdenticalScenario) {
  day2_test::TempDir dir;
  std::string spec = dir.file("spec.json");
  ASSERT_TRUE(recorder::write_file_atomic(spec, k_world));
  ASSERT_EQ(cli({"simulate", spec, "--scenario", dir.file("a")}), 0);
  ASSERT_EQ(cli({"simulate", spec, "--scenario", dir.file("b")}), 0);
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir.file("a"))) {
    if (!entry.is_regular_file()) continue;
    ++files;
    auto other = fs::path(dir.file("b")) / fs::relative(entry.path(), dir.file("a"));
    EXPECT_TRUE(read_text(entry.path()) == read_text(other)) << other << " differs";
  }
  EXPECT_GT(files, 20);
  auto manifest = parse(read_text(dir.file("a/bundle/manifest.json")));
  EXPECT_EQ(std::string(manifest["source"].GetString()), "generated");
}

std::string spec_error(const std::string& text) {
  auto sim = simulate_text(text, "spec.json");
  return sim ? "" : sim.error().message;
}

// A run given only its end has its events in the minute before it (they used to start 10 s after
// it); a run too short for its step's events (step start 6 s in, failure 1 s before the end) is
// refused, while a run that never started needs no such time.
TEST(Simulate, ARunGivenOnlyItsEndHasItsEventsBeforeItAndATooShortRunIsRefused) {
  const std::string head = "{\"now\": \"2026-11-24T12:00:00Z\",\n \"window\": {\"start\": \"2026-11-24T00:00:00Z\", "
                           "\"end\": \"2026-11-24T12:00:00Z\"},\n \"runs\": [";
  auto sim = simulate_world(head + R"({"id": "r1", "job": "a", "end": "2026-11-24T05:00:00Z", "failure": "user_code_error"}]})");
  const double end_ms = 1795496400000.0;  // 2026-11-24T05:00:00Z
  std::map<std::string, double> at;
  for (const auto& e : sim.bundle.exchanges) {
    if (operation(e) != "RunEvents") continue;
    auto body = parse(e.response_body);
    for (const auto& event : body["data"]["logsForRun"]["events"].GetArray()) {
      double ms = std::stod(event["timestamp"].GetString());
      EXPECT_LE(ms, end_ms + 100) << event["eventType"].GetString();  // the process exit: 0.1 s after the end
      if (event["eventType"].IsString()) at[event["eventType"].GetString()] = ms;
    }
  }
  ASSERT_TRUE(at.contains("STEP_START") && at.contains("STEP_FAILURE") && at.contains("RUN_FAILURE"));
  EXPECT_LT(at["STEP_START"], at["STEP_FAILURE"]);
  EXPECT_EQ(at["RUN_FAILURE"], end_ms);
  EXPECT_EQ(spec_error(head + "{\"job\": \"a\", \"start\": \"2026-11-24T05:00:00Z\",\n  \"end\": \"2026-11-24T05:00:05Z\", "
                              "\"failure\": \"user_code_error\"}]}"),
            "spec.json:4: /runs/0/end: must be at least 10 s after \"start\" (the events of its log need them)");
  EXPECT_EQ(spec_error(head + "{\"job\": \"a\", \"start\": \"2026-11-24T05:00:00Z\", \"end\": \"2026-11-24T05:00:10Z\", "
                              "\"failure\": \"user_code_error\"}]}"),
            "");
  EXPECT_EQ(spec_error(head + "{\"job\": \"a\", \"created\": \"2026-11-24T05:00:00Z\", \"end\": \"2026-11-24T05:00:03Z\", "
                              "\"failure\": \"never_started\"}]}"),
            "");
  // A max_runtime run logs its exiting engine event 120 s after its events start: it must end after it.
  EXPECT_EQ(spec_error(head + "{\"job\": \"a\", \"start\": \"2026-11-24T05:00:00Z\", \"end\": \"2026-11-24T05:01:00Z\", "
                              "\"failure\": \"max_runtime\", \"exiting_engine_event\": true}]}"),
            "spec.json:3: /runs/0/end: must be at least 121 s after \"start\" (the events of its log need them)");
  EXPECT_EQ(spec_error(head + "{\"job\": \"a\", \"end\": \"2026-11-24T05:00:00Z\", \"failure\": \"user_code_error\",\n"
                              "  \"retry\": {\"duration\": 0}}]}"),
            "spec.json:4: /runs/0/retry/duration: 0 is out of range (10 to 86400)");
}

TEST(Simulate, BadSpecsAreRefusedNamingFileLineAndPath) {
  EXPECT_EQ(spec_error("{\"now\": \"2026-11-24T12:00:00Z\",\n \"window\": {\"start\": \"2026-11-24T00:00:00Z\", "
                       "\"end\": \"2026-11-24T12:00:00Z\"},\n \"runs\": [{\"job\": \"a\", \"end\": "
                       "\"2026-11-24T05:00:00Z\",\n   \"failure\": \"oomm\"}]}"),
            "spec.json:4: /runs/0/failure: unknown failure mode \"oomm\"; expected one of: backoff_limit, connection_error, evicted, "
            "k8s_api_error, max_runtime, never_started, oom, preempted, prestart_kill, unclassified, unschedulable, "
            "user_code_error; did you mean \"oom\"?");
  EXPECT_EQ(spec_error("{\"now\": \"2026-11-24T12:00:00Z\", \"windw\": {}}"),
            "spec.json:1: /windw: unknown key \"windw\"; expected one of: agent_pod_creates, agent_replicas, agents, alerts, "
            "asset_checks, backfills, causes, daemons, description, error_groups, exporter_restarts, findings, flavor, gcp, "
            "investigations, locations, node_events, node_pools, now, organization, page_size, pod_events, report, runs, schedules, seed, "
            "sensors, timezone, together, window; did you mean \"window\"?");
  EXPECT_EQ(spec_error("{\"now\": \"2026-11-24T12:00:00Z\",\n \"window\": {\"start\": \"2025-11-24T00:00:00Z\", "
                       "\"end\": \"2026-11-24T12:00:00Z\"}}"),
            "spec.json:2: /window/start: 2025-11-24T00:00:00Z is not within 7 days before \"now\" (or 1 day after)");
  EXPECT_NE(spec_error("{\"now\": ").find("spec.json:1:"), std::string::npos) << spec_error("{\"now\": ");
}

TEST(Simulate, BadSignalsInASpecAreRefusedNamingFileLineAndPath) {
  std::string head = "{\"now\": \"2026-11-24T12:00:00Z\",\n \"asset_checks\": [{\"asset\": \"w/orders\", \"name\": \"c\",\n";
  EXPECT_EQ(spec_error(head + "  \"executions\": [{\"time\": \"2026-11-24T01:00:00Z\",\n   \"sevrity\": \"WARN\"}]}]}"),
            "spec.json:4: /asset_checks/0/executions/0/sevrity: unknown key \"sevrity\"; expected one of: count, description, "
            "every, metadata, run, severity, status, time; did you mean \"severity\"?");
  EXPECT_EQ(spec_error(head + "  \"executions\": [{\"time\": \"2026-11-24T01:00:00Z\", \"run\": \"nope\"}]}]}"),
            "spec.json:3: /asset_checks/0/executions/0/run: no run has the id \"nope\" (give the run an \"id\")");
  EXPECT_EQ(spec_error("{\"now\": \"2026-11-24T12:00:00Z\",\n \"agents\": [{\"id\": \"a\"}]}"),
            "spec.json:2: /agents: Dagster+ agents need \"flavor\": \"plus\"");
  EXPECT_EQ(spec_error("{\"now\": \"2026-11-24T12:00:00Z\", \"gcp\": {\"project\": \"p\"},\n \"alerts\": [{\"policy\": \"x\",\n"
                       "  \"open\": \"2026-11-24T01:00:00Z\", \"severity\": \"LOUD\"}]}"),
            "spec.json:3: /alerts/0/severity: unknown value \"LOUD\"; expected one of: CRITICAL, ERROR, WARNING");
}

TEST(Simulate, BadReexecutionsAndGroupsAreRefusedNamingFileLineAndPath) {
  std::string head = "{\"now\": \"2026-11-24T12:00:00Z\",\n \"runs\": [{\"id\": \"r1\", \"job\": \"a\", \"end\": \"2026-11-24T05:00:00Z\", "
                     "\"failure\": \"user_code_error\"},\n";
  EXPECT_EQ(spec_error(head + "  {\"job\": \"a\", \"end\": \"2026-11-24T06:00:00Z\", \"parent\": \"r9\"}]}"),
            "spec.json:3: /runs/1/parent: no earlier run has the id \"r9\"");
  EXPECT_EQ(spec_error(head + "  {\"id\": \"r2\", \"job\": \"a\", \"end\": \"2026-11-24T06:00:00Z\"},\n"
                              "  {\"job\": \"a\", \"end\": \"2026-11-24T07:00:00Z\", \"parent\": \"r2\"}]}"),
            "spec.json:4: /runs/2/parent: re-executes a run that did not fail");
  EXPECT_EQ(spec_error(head + "  {\"job\": \"a\", \"end\": \"2026-11-24T06:00:00Z\", \"automatic\": true}]}"),
            "spec.json:3: /runs/1/automatic: only a re-execution (\"parent\") is automatic or not");
  EXPECT_EQ(spec_error(head + "  {\"job\": \"a\", \"end\": \"2026-11-24T06:00:00Z\", \"parent\": \"r1\", \"count\": 2}]}"),
            "spec.json:3: /runs/1/count: a re-execution (\"parent\") is one run");
  EXPECT_EQ(spec_error(head + "  {\"job\": \"a\", \"end\": \"2026-11-24T06:00:00Z\", \"failure\": \"user_code_error\",\n"
                              "   \"expect\": {\"category\": \"Code error\", \"action\": \"Panic\"}}]}"),
            "spec.json:4: /runs/1/expect/action: unknown value \"Panic\"; expected one of: Escalate, Investigate, Monitor, No action");
  EXPECT_EQ(spec_error(head + "  {\"id\": \"r2\", \"job\": \"a\", \"end\": \"2026-11-24T06:00:00Z\"}],\n \"together\": [[\"r1\", \"r3\"]]}"),
            "spec.json:4: /together/0: names a run id that no run of the spec has");
}

// A re-execution is Dagster's run group: parent and root ids, the parent's retry tags when automatic;
// the runs' expected actions and groups reach expected.json.
TEST(Simulate, AReexecutionChainIsARunGroupAndItsExpectationsReachExpectedJson) {
  auto sim = simulate_text(R"({"now": "2026-11-24T12:00:00Z", "window": {"start": "2026-11-24T00:00:00Z", "end": "2026-11-24T12:00:00Z"},
    "runs": [{"id": "r1", "job": "a", "end": "2026-11-24T05:00:00Z", "failure": "user_code_error",
              "expect": {"category": "Code error", "rule": "user-code-error", "action": "No action"}},
             {"id": "r2", "job": "a", "end": "2026-11-24T06:00:00Z", "failure": "user_code_error", "parent": "r1", "automatic": true,
              "expect": {"category": "Code error", "rule": "user-code-error"}},
             {"id": "r3", "job": "a", "end": "2026-11-24T07:00:00Z", "parent": "r2"}],
    "together": [["r1", "r2"]]})", "spec.json");
  ASSERT_TRUE(sim) << sim.error().message;
  auto expected = recorder::parse_json(sim->expected, "expected.json");
  ASSERT_TRUE(expected);
  EXPECT_EQ(recorder::write_json((*expected)["actions"]), R"({"r1":"No action"})");
  EXPECT_EQ(recorder::write_json((*expected)["together"]), R"([["r1","r2"]])");
  std::string runs;
  for (const auto& exchange : sim->bundle.exchanges) {
    if (exchange.response_body.find("\"r3\"") != std::string::npos && exchange.request_body.find("Runs") != std::string::npos) {
      runs = exchange.response_body;
    }
  }
  ASSERT_FALSE(runs.empty());
  auto doc = recorder::parse_json(runs, "Runs");
  ASSERT_TRUE(doc);
  std::map<std::string, std::string> fields;  // "<runId> <field>" -> value
  for (const auto& run : (*doc)["data"]["runsOrError"]["results"].GetArray()) {
    std::string id = run["runId"].GetString();
    for (const char* key : {"status", "parentRunId", "rootRunId"}) {
      fields[id + " " + key] = run[key].IsString() ? run[key].GetString() : "null";
    }
    for (const auto& tag : run["tags"].GetArray()) fields[id + " " + tag["key"].GetString()] = tag["value"].GetString();
  }
  EXPECT_EQ(fields["r3 status"], "SUCCESS");
  EXPECT_EQ(fields["r3 parentRunId"], "r2");
  EXPECT_EQ(fields["r3 rootRunId"], "r1");
  EXPECT_EQ(fields.count("r3 dagster/retry_number"), 0u);  // manual
  EXPECT_EQ(fields["r2 dagster/retry_number"], "1");     // automatic
  EXPECT_EQ(fields["r1 dagster/auto_retry_run_id"], "r2");
  EXPECT_EQ(fields["r1 parentRunId"], "null");
}

// A denied API answers every request 403 PERMISSION_DENIED with the IAM ErrorInfo, as Google's APIs
// answer a credential without the role; the others answer as before. The wording claims reach
// expected.json.
TEST(Simulate, ADeniedApiAnswersPermissionDeniedAndTheWordingClaimsReachExpectedJson) {
  auto sim = simulate_text(R"({"now": "2026-11-24T12:00:00Z", "gcp": {"project": "p", "denied": ["logging"]},
    "runs": [{"job": "a", "end": "2026-11-24T05:00:00Z", "failure": "preempted"}],
    "report": {"mentions": ["evidence missing"], "omits": ["no preemption evidence"]}})", "spec.json");
  ASSERT_TRUE(sim) << sim.error().message;
  int logging = 0, others = 0;
  for (const auto& e : sim->bundle.exchanges) {
    if (e.service == recorder::Service::dagster) continue;
    if (e.service != recorder::Service::logging) {
      ++others;
      EXPECT_EQ(e.status, 200) << e.path;
      continue;
    }
    ++logging;
    EXPECT_EQ(e.status, 403) << e.path;
    auto body = parse(e.response_body);
    EXPECT_EQ(std::string(body["error"]["status"].GetString()), "PERMISSION_DENIED");
    EXPECT_EQ(std::string(body["error"]["details"][0]["reason"].GetString()), "IAM_PERMISSION_DENIED");
    EXPECT_EQ(std::string(body["error"]["details"][0]["metadata"]["permission"].GetString()), "logging.logEntries.list");
  }
  EXPECT_GE(logging, 2);  // step 08's audit log and step 10's events at least
  EXPECT_GE(others, 1);
  auto expected = recorder::parse_json(sim->expected, "expected.json");
  ASSERT_TRUE(expected);
  EXPECT_EQ(recorder::write_json((*expected)["report"]), R"({"mentions":["evidence missing"],"omits":["no preemption evidence"]})");

  EXPECT_EQ(spec_error("{\"now\": \"2026-11-24T12:00:00Z\",\n \"gcp\": {\"project\": \"p\", \"denied\": [\"iam\"]}}"),
            "spec.json:2: /gcp/denied/0: must be one of container, error_reporting, logging, monitoring");
  EXPECT_EQ(spec_error("{\"now\": \"2026-11-24T12:00:00Z\",\n \"report\": {\"mentions\": [\"\"]}}"),
            "spec.json:2: /report/mentions/0: must be a non-empty text");
  EXPECT_EQ(spec_error("{\"now\": \"2026-11-24T12:00:00Z\",\n \"report\": {\"says\": []}}"),
            "spec.json:2: /report/says: unknown key \"says\"; expected one of: mentions, omits");
}

TEST(Simulate, CommandExitsTwoOnABadSpec) {
  day2_test::TempDir dir;
  std::string spec = dir.file("spec.json");
  ASSERT_TRUE(recorder::write_file_atomic(spec, "{\"now\": \"yesterday\"}"));
  std::string err;
  EXPECT_EQ(cli({"simulate", spec, "--out", dir.file("b")}, &err), 2);
  EXPECT_NE(err.find(spec + ":1: /now:"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir.file("b")));
}

TEST(Simulate, ManyRunsArePagedLikeDagster) {
  std::string spec = R"({"now": "2026-11-24T12:00:00Z", "page_size": 100,
    "window": {"start": "2026-11-24T00:00:00Z", "end": "2026-11-24T12:00:00Z"},
    "runs": [{"job": "ok", "start": "2026-11-24T01:00:00Z", "end": "2026-11-24T01:01:00Z", "count": 250, "every": 60}]})";
  auto sim = simulate_world(spec);
  int pages = 0;
  for (const auto& e : sim.bundle.exchanges) pages += operation(e) == "RunsInWindow";
  EXPECT_EQ(pages, 3);
  day2_test::TempDir dir;
  ASSERT_TRUE(recorder::write_bundle(dir.file("b"), sim.bundle));
  ASSERT_TRUE(recorder::write_file_atomic(dir.file("config.json"), sim.config));
  std::string err;
  ASSERT_EQ(cli({"collect", "--replay", dir.file("b"), "--config", dir.file("config.json"), "--out",
                 dir.file("day2.json"), "-q"}, &err), 0) << err;
  auto artifact = parse(read_text(dir.file("day2.json")));
  EXPECT_EQ(artifact["step_01_failed_runs"]["successCount"].GetInt(), 250);
}

TEST(Simulate, CommittedGeneratedScenariosReproduceTheirBundlesByteForByte) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(k_source + "/scenarios")) {
    fs::path spec = entry.path() / "spec.json";
    if (!fs::exists(spec)) continue;
    ++checked;
    day2_test::TempDir dir;
    std::string err;
    ASSERT_EQ(cli({"simulate", spec.string(), "--out", dir.file("bundle")}, &err), 0) << err;
    for (const auto& file : fs::recursive_directory_iterator(entry.path() / "bundle")) {
      if (!file.is_regular_file()) continue;
      auto mine = fs::path(dir.file("bundle")) / fs::relative(file.path(), entry.path() / "bundle");
      EXPECT_TRUE(read_text(file.path()) == read_text(mine)) << file.path() << " differs from a fresh simulation";
    }
    auto count = [](const fs::path& p) {
      return std::distance(fs::directory_iterator(p / "exchanges"), fs::directory_iterator{});
    };
    EXPECT_EQ(count(entry.path() / "bundle"), count(dir.file("bundle"))) << entry.path();
  }
  EXPECT_GE(checked, 1);
}

}  // namespace
}  // namespace analyzer
