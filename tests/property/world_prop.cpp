// The generated incident worlds of world_prop.hpp: the generator, the spec rendering, the ground
// truth and the in-process round trip simulate -> collect --replay -> report. The properties are in
// world_classify_prop.cpp and world_report_prop.cpp.
#include "world_prop.hpp"

#include <gtest/gtest.h>
#include <rapidjson/pointer.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "analyzer/cli/cli.hpp"
#include "analyzer/artifact/overlap.hpp"
#include "analyzer/simulate/simulate.hpp"
#include "recorder/bundle.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/time.hpp"

namespace day2test::world {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t k_start_2024 = 1704067200;  // 2024-01-01T00:00:00Z
const std::vector<std::string> k_jobs = {"load_orders", "sync_crm", "score_users", "export_ledger"};
const std::vector<std::string> k_pod_reasons = {"OOMKilling", "Evicted", "Preempted", "Killing", "BackOff"};

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::user_code_error: return "user_code_error";
    case Mode::connection_error: return "connection_error";
    case Mode::max_runtime:
    case Mode::slow_query:
    case Mode::preempt_hang: return "max_runtime";
    case Mode::never_started: return "never_started";
    case Mode::k8s_api_error: return "k8s_api_error";
    case Mode::prestart_kill: return "prestart_kill";
    case Mode::oom: return "oom";
    case Mode::evicted: return "evicted";
    case Mode::preempted: return "preempted";
    case Mode::unclassified: return "unclassified";
  }
  return "?";
}

// Collect's category and rule for the mode (analyzer/rules/default.rules.json), then the
// reclassification that needs nothing but the run's own log (reclassify.rules.json).
Truth collected_truth(Mode mode) {
  switch (mode) {
    case Mode::user_code_error: return {"Code error", "user-code-error"};
    case Mode::connection_error: return {"Connection failure", "connection-error-class"};
    case Mode::max_runtime: return {"Infra timeout", "max-runtime-exceeded"};
    case Mode::slow_query: return {"Slow-query timeout (dbt)", "dbt-slow-query"};
    case Mode::preempt_hang: return {"Step preempt-hang", "preempt-hang-max-runtime"};
    case Mode::never_started: return {"Infra timeout", "start-timeout"};
    case Mode::k8s_api_error: return {"K8s API failure", "k8s-api-error"};  // DagsterK8sAPIRetryLimitExceeded
    case Mode::prestart_kill: return {"K8s pre-start kill", "k8s-prestart-kill"};
    case Mode::oom: return {"Node OOM/eviction", "oom-killed"};
    case Mode::evicted: return {"Node OOM/eviction", "pod-evicted"};
    case Mode::preempted: return {"Preemption/Interrupt", "run-interrupted"};
    case Mode::unclassified: return {"Unclassified", "-"};
  }
  return {"?", "?"};
}

std::string rfc3339(std::int64_t epoch) { return recorder::format_rfc3339_utc(recorder::from_epoch_seconds(static_cast<double>(epoch))); }

analyzer::Extent extent_of(const World& world, const Run& run) {
  double start = static_cast<double>(world.start + run.start), end = static_cast<double>(world.start + run.end);
  if (run.mode == Mode::never_started) return *analyzer::run_extent(std::nullopt, end, 180.0);
  return *analyzer::run_extent(start, end);
}

bool agent_timeout(const AgentError& e) {
  return e.class_name.find("ReadTimeout") != std::string::npos && e.message.find(".agent.dagster.cloud") != std::string::npos;
}

std::string run_json(const World& world, const Run& run, const Variant& variant) {
  std::int64_t base = world.start + variant.shift;
  std::string times = run.mode == Mode::never_started
                          ? fmt::format(R"("created": "{}", "end": "{}")", rfc3339(base + run.start), rfc3339(base + run.end))
                          : fmt::format(R"("start": "{}", "end": "{}")", rfc3339(base + run.start), rfc3339(base + run.end));
  std::string extra = run.mode == Mode::slow_query     ? R"(, "materialized": true)"
                      : run.mode == Mode::preempt_hang ? R"(, "exiting_engine_event": true)"
                                                       : "";
  std::vector<std::string> events;
  for (const auto& e : run.pod_events) {
    events.push_back(fmt::format(R"({{"reason": "{}", "time": "{}"}})", e.reason, rfc3339(base + e.time)));
  }
  if (variant.reverse_events) std::reverse(events.begin(), events.end());
  return fmt::format(R"({{"id": "{}", "job": "{}", "failure": "{}", {}{}, "pod_events": [{}]}})", run.id, run.job,
                     mode_name(run.mode), times, extra, fmt::join(events, ", "));
}

std::string instigators_json(const World& world, const Variant& variant, bool sensors) {
  std::vector<std::string> out;
  for (const auto& t : world.ticks) {
    if (t.sensor != sensors) continue;
    out.push_back(fmt::format(
        R"({{"location": "etl", "name": "{}", "ticks": [{{"time": "{}", "status": "FAILURE", "message": "RuntimeError: upstream bucket is gone", "count": {}, "every": 60}}]}})",
        t.name, rfc3339(world.start + variant.shift + t.time), t.count));
  }
  if (variant.reverse_events) std::reverse(out.begin(), out.end());
  return fmt::format("[{}]", fmt::join(out, ", "));
}

std::string uuid(std::uint64_t salt, std::size_t index) {
  return fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", static_cast<std::uint32_t>(salt), index, salt % 4096,
                     (salt >> 12) % 4096, (salt >> 24) * 16 + index);
}

// A run without its id (gen_world numbers them).
rc::Gen<Run> gen_run(std::int64_t window_seconds) {
  return rc::gen::exec([=] {
    Run run;
    run.job = *rc::gen::elementOf(k_jobs);
    run.mode = static_cast<Mode>(*rc::gen::inRange(0, static_cast<int>(Mode::unclassified) + 1));
    // As long as the run's log needs (docs/scenarios.md, runs[]): its step starts 6 s in and fails 1 s
    // before the end; a slow query materializes 60 s in, a preempt-hang logs its engine event 120 s in.
    std::int64_t shortest = run.mode == Mode::preempt_hang ? 121 : run.mode == Mode::slow_query ? 61 : 10;
    std::int64_t length = run.mode == Mode::never_started ? 180 : *rc::gen::inRange<std::int64_t>(shortest, 7200);
    run.start = *rc::gen::inRange<std::int64_t>(60, window_seconds - length - 60);
    run.end = run.start + length;
    // Pod events of the run's pod: near an edge of the run (inside or just outside the overlap
    // gate's reach) or anywhere in the window.
    auto events = *rc::gen::inRange(0, 3);
    for (int i = 0; i < events; ++i) {
      std::int64_t edge = *rc::gen::arbitrary<bool>() ? run.start : run.end;
      std::int64_t t = *rc::gen::arbitrary<bool>() ? edge + *rc::gen::inRange<std::int64_t>(-200, 200)
                                                    : *rc::gen::inRange<std::int64_t>(0, window_seconds);
      run.pod_events.push_back({std::clamp<std::int64_t>(t, 0, window_seconds - 1), *rc::gen::elementOf(k_pod_reasons)});
    }
    return run;
  });
}

}  // namespace

Scratch::Scratch() {
  fs::path base = ::access("/dev/shm", W_OK) == 0 ? fs::path("/dev/shm") : fs::temp_directory_path();
  std::string pattern = (base / "day2-world-prop-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  m_path = pattern;
}

Scratch::~Scratch() {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  if (test != nullptr && test->result()->Failed()) {
    std::cerr << "round trip files left in " << m_path << '\n';
    return;
  }
  std::error_code ec;
  fs::remove_all(m_path, ec);
}

std::string Scratch::file(const std::string& name) const { return (fs::path(m_path) / name).string(); }

const std::vector<std::string>& zones() {
  static const std::vector<std::string> names = {"America/New_York", "UTC",           "Europe/London",
                                                 "Asia/Kolkata",     "Australia/Lord_Howe", "America/Los_Angeles",
                                                 "Asia/Kathmandu"};
  return names;
}

std::map<std::string, Truth> ground_truth(const World& world) {
  std::map<std::string, Truth> out;
  for (const auto& run : world.runs) {
    Truth truth = collected_truth(run.mode);
    auto extent = extent_of(world, run);
    bool agent = std::any_of(world.agent_errors.begin(), world.agent_errors.end(), [&](const AgentError& e) {
      return agent_timeout(e) && analyzer::overlaps(extent, analyzer::instant_extent(static_cast<double>(world.start + e.time)));
    });
    bool pod = world.gcp && std::any_of(run.pod_events.begin(), run.pod_events.end(), [&](const PodEvent& e) {
      double t = static_cast<double>(world.start + e.time);
      bool collected = e.time >= 0 && world.start + e.time < world.end();
      return collected && (e.reason == "OOMKilling" || e.reason == "Evicted") &&
             analyzer::overlaps(extent, analyzer::pod_event_extent(t, extent));
    });
    if (agent && (truth.category == "Unclassified" || truth.category == "Connection failure")) {
      truth = {"Agent API timeout", "agent-api-timeout"};
    } else if (pod && truth.category == "Unclassified") {
      truth = {"Node OOM/eviction", "pod-oom-eviction"};
    }
    out[run.id] = truth;
  }
  return out;
}

// The disrupted infrastructure pods as the spec's top-level pod events ([] without Google Cloud:
// nothing would read them).
std::string infra_json(const World& world, const Variant& variant) {
  if (!world.gcp) return "[]";
  std::vector<std::string> events;
  for (const auto& e : world.infra) {
    const char* pod = e.pod == InfraPod::agent     ? "user-cloud-dagster-cloud-agent-agent-7d9f8c6b5-abcde"
                      : e.pod == InfraPod::secrets ? "onepassword-connect-6b7c9d8f5-k2x4p"
                                                   : "etl-prod-5d8c9f7b6-q2x4z";
    events.push_back(fmt::format(R"({{"pod": "{}", "reason": "{}", "time": "{}", "message": "disrupted", "node": "gke-pool-1-node-9"}})", pod,
                                 e.reason, rfc3339(world.start + variant.shift + e.time)));
  }
  if (variant.reverse_events) std::reverse(events.begin(), events.end());
  return fmt::format("[{}]", fmt::join(events, ", "));
}

std::string spec_text(const World& world, const Variant& variant) {
  std::vector<std::size_t> order = variant.order;
  if (order.empty()) {
    for (std::size_t i = 0; i < world.runs.size(); ++i) order.push_back(i);
  }
  std::vector<std::string> runs;
  for (auto i : order) runs.push_back(run_json(world, world.runs.at(i), variant));
  std::int64_t start = world.start + variant.shift, end = world.end() + variant.shift;
  std::string locations = world.broken_location
                              ? R"([{"name": "etl"}, {"name": "vendor", "load_error": "DagsterImportError: cannot import vendor SDK"}])"
                              : R"([{"name": "etl"}])";
  std::string daemons = world.unhealthy_daemon ? R"([{"type": "SCHEDULER", "healthy": false}])" : "[]";
  std::string backfills = "[]";
  if (world.failed_backfill) {
    backfills = fmt::format(
        R"([{{"id": "bf1", "status": "COMPLETED_FAILED", "asset": "events", "partitions": 3, "failed": 1, "created": "{}", "end": "{}"}}])",
        rfc3339(start + *world.failed_backfill - 600), rfc3339(start + *world.failed_backfill));
  }
  return fmt::format(R"({{
  "now": "{}",
  "window": {{"start": "{}", "end": "{}"}},
  "timezone": "America/New_York",{}
  "runs": [
    {}
  ],
  "sensors": {},
  "schedules": {},
  "locations": {},
  "daemons": {},
  "backfills": {},
  "pod_events": {}
}}
)",
                     rfc3339(end + world.lag), rfc3339(start), rfc3339(end),
                     world.gcp ? R"(
  "gcp": {"project": "acme-prod", "cluster": "prod", "location": "us-central1"},)" : "",
                     fmt::join(runs, ",\n    "), instigators_json(world, variant, true), instigators_json(world, variant, false),
                     locations, daemons, backfills, infra_json(world, variant));
}

rc::Gen<World> gen_world() {
  return rc::gen::exec([] {
    World world;
    world.start = k_start_2024 + *rc::gen::inRange<std::int64_t>(0, 7 * 365) * 86400 + *rc::gen::inRange<std::int64_t>(0, 86400);
    world.hours = *rc::gen::inRange<std::int64_t>(6, 25);
    world.lag = *rc::gen::inRange<std::int64_t>(0, 3600);
    world.gcp = *rc::gen::arbitrary<bool>();
    std::int64_t seconds = world.hours * 3600;
    auto salt = *rc::gen::inRange<std::uint64_t>(1, 1ULL << 40);
    // A container, so that shrinking can drop any run, not only the last ones; at most 4 runs (size
    // 4), each generated at full size (rapidcheck scales ranges by size: at 4, two failure modes).
    world.runs = *rc::gen::resize(
        4, rc::gen::nonEmpty(rc::gen::container<std::vector<Run>>(rc::gen::resize(100, gen_run(seconds)))));
    if (world.runs.size() > 4) world.runs.resize(4);
    for (std::size_t i = 0; i < world.runs.size(); ++i) world.runs[i].id = uuid(salt, i);
    auto ticks = *rc::gen::inRange(0, 3);
    for (int i = 0; i < ticks; ++i) {
      Tick tick{*rc::gen::arbitrary<bool>(), fmt::format("instigator_{}", i), 0, *rc::gen::inRange(1, 4)};
      tick.time = *rc::gen::inRange<std::int64_t>(0, seconds - 300);
      world.ticks.push_back(tick);
    }
    auto errors = *rc::gen::inRange(0, 3);
    for (int i = 0; i < errors; ++i) {
      const auto& run = world.runs[*rc::gen::inRange<std::size_t>(0, world.runs.size())];
      std::int64_t t = *rc::gen::arbitrary<bool>() ? run.end + *rc::gen::inRange<std::int64_t>(-200, 200)
                                                    : *rc::gen::inRange<std::int64_t>(0, seconds);
      bool timeout = *rc::gen::inRange(0, 4) != 3;
      world.agent_errors.push_back(
          {std::clamp<std::int64_t>(t, 0, seconds - 1), timeout ? "requests.exceptions.ReadTimeout" : "requests.exceptions.ConnectionError",
           timeout ? "HTTPSConnectionPool(host='acme.agent.dagster.cloud', port=443): Read timed out. (read timeout=60)"
                   : "HTTPSConnectionPool(host='api.github.com', port=443): Max retries exceeded"});
    }
    auto infra = *rc::gen::inRange(0, 3);
    for (int i = 0; i < infra; ++i) {
      world.infra.push_back({*rc::gen::element(InfraPod::agent, InfraPod::secrets, InfraPod::code_server),
                             *rc::gen::inRange<std::int64_t>(0, seconds),
                             // Not OOMKilling: GKE writes an OOM kill as the node's event, reaching a pod only
                             // through its Scheduled event, which infrastructure pods of a world do not have.
                             *rc::gen::element<std::string>("Preempted", "Evicted", "Killing", "BackOff")});
    }
    // One in four each; written so that shrinking (toward 0) removes them.
    world.broken_location = *rc::gen::inRange(0, 4) == 3;
    world.unhealthy_daemon = *rc::gen::inRange(0, 4) == 3;
    if (*rc::gen::inRange(0, 4) == 3) world.failed_backfill = *rc::gen::inRange<std::int64_t>(600, seconds);
    return world;
  });
}

rc::Gen<std::int64_t> gen_shift(const World& world) {
  // At full size whatever the test's size: rapidcheck scales ranges by size, which would make the
  // fall-back night (kind 2) rare.
  return rc::gen::resize(100, rc::gen::exec([middle = world.start + world.hours * 1800] {
    int kind = *rc::gen::inRange(0, 3);
    if (kind == 0) return *rc::gen::inRange<std::int64_t>(-3 * 365 * 86400LL, 3 * 365 * 86400LL);
    using namespace std::chrono;
    auto y = year(*rc::gen::inRange(2025, 2033));
    year_month_day date = kind == 1 ? year_month_day(sys_days(y / March / Sunday[2])) : year_month_day(sys_days(y / November / Sunday[1]));
    auto zone = recorder::Zone::find("America/New_York");
    RC_ASSERT(zone.ok());
    recorder::CivilDate civil{static_cast<int>(date.year()), static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day())};
    auto target = zone->at_local(civil, *rc::gen::inRange(0, 4), *rc::gen::inRange(0, 60));
    auto jitter = *rc::gen::inRange<std::int64_t>(-3600, 3600);
    return static_cast<std::int64_t>(recorder::to_epoch_seconds(target)) + jitter - middle;
  }));
}

namespace {

std::string cli(const std::vector<std::string>& args, const char* what) {
  std::ostringstream out, err;
  int code = analyzer::run_cli(args, out, err);
  if (code != 0) RC_FAIL(fmt::format("{} exited {}: {}", what, code, err.str()));
  std::string text = out.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
}

rapidjson::Document read_json(const std::string& path) {
  auto doc = recorder::read_json_file(path);
  if (!doc) RC_FAIL(doc.error().message);
  return std::move(*doc);
}

// Step 07 with one agent holding the errors, step 11 with the alerts: the shapes of docs/artifact.md.
void add_signals(rapidjson::Document& artifact, const World& world, const Variant& variant, const Extra& extra) {
  auto& a = artifact.GetAllocator();
  std::int64_t base = world.start + variant.shift;
  std::vector<AgentError> errors = world.agent_errors;
  errors.insert(errors.end(), extra.agent_errors.begin(), extra.agent_errors.end());
  if (variant.reverse_events) std::reverse(errors.begin(), errors.end());
  if (!errors.empty()) {
    rapidjson::Value list(rapidjson::kArrayType);
    for (const auto& e : errors) {
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("timestamp", static_cast<double>(base + e.time), a);
      item.AddMember("className", recorder::json_string(e.class_name, a), a);
      item.AddMember("message", recorder::json_string(e.message, a), a);
      list.PushBack(item, a);
    }
    auto agents = recorder::parse_json(fmt::format(
        R"({{"agents": [{{"id": "agent-1", "agentLabel": "acme-agent", "status": "RUNNING", "lastHeartbeatTime": {}, "heartbeatAgeSeconds": 30}}], "agentCount": 1, "runningCount": 1, "expectedReplicas": 1, "topologyDeviation": false}})",
        base + world.hours * 3600), "step 07");
    RC_ASSERT(agents.ok());
    rapidjson::Value step(*agents, a);
    step["agents"][0].AddMember("errors", list, a);
    artifact.RemoveMember("step_07_agents");
    artifact.AddMember("step_07_agents", step, a);
  }
  if (!extra.alerts.empty()) {
    rapidjson::Value list(rapidjson::kArrayType);
    for (const auto& [open, close] : extra.alerts) {
      auto alert = recorder::parse_json(fmt::format(
          R"({{"name": "projects/acme-prod/alertPolicies/1/incidents/i{}", "state": "CLOSED", "openTime": "{}", "closeTime": "{}", "policy": "CPU limit", "policyName": "projects/acme-prod/alertPolicies/1", "severity": "WARNING", "resourceType": "k8s_container", "resourceLabels": {{}}, "metricType": "kubernetes.io/container/cpu/limit_utilization"}})",
          open, rfc3339(base + open), rfc3339(base + close)), "alert");
      RC_ASSERT(alert.ok());
      list.PushBack(rapidjson::Value(*alert, a), a);
    }
    rapidjson::Value step(rapidjson::kObjectType);
    step.AddMember("alerts", list, a);
    artifact.RemoveMember("step_11_alerts");
    artifact.AddMember("step_11_alerts", step, a);
  }
}

}  // namespace

RoundTrip round_trip(const World& world, const Variant& variant, const std::string& work, const Extra& extra) {
  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(work, ec);
  RC_ASSERT(!ec);
  auto sim = analyzer::simulate_text(spec_text(world, variant), "world.json");
  if (!sim) RC_FAIL("simulate: " + sim.error().message);
  std::string bundle = (fs::path(work) / "bundle").string();
  auto written = recorder::write_bundle(bundle, sim->bundle, recorder::Overwrite::yes);
  if (!written) RC_FAIL(written.error().message);
  std::string artifact = (fs::path(work) / "day2.json").string();
  std::vector<std::string> collect{"collect", "--replay", bundle, "--out", artifact, "-q"};
  if (!sim->config.empty()) {
    std::string config = (fs::path(work) / "config.json").string();
    RC_ASSERT(recorder::write_file_atomic(config, sim->config).ok());
    collect.insert(collect.end(), {"--config", config});
  }
  if (!variant.rules.empty()) collect.insert(collect.end(), {"--rules", variant.rules});
  cli(collect, "collect --replay");
  RoundTrip out{read_json(artifact), {}, artifact};
  if (!world.agent_errors.empty() || !extra.agent_errors.empty() || !extra.alerts.empty()) {
    add_signals(out.artifact, world, variant, extra);
    RC_ASSERT(recorder::write_file_atomic(artifact, recorder::write_json(out.artifact, recorder::Pretty::no)).ok());
  }
  out.report = report_again(artifact, variant.zone, work);
  return out;
}

rapidjson::Document report_again(const std::string& artifact_path, const std::string& zone, const std::string& work) {
  std::string dir = (fs::path(work) / "report").string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  return read_json(cli({"report", artifact_path, "--format", "json", "--out-dir", dir, "--tz", zone}, "report"));
}

void showValue(const World& world, std::ostream& os) {
  os << "spec (day2 simulate):\n" << spec_text(world);
  for (const auto& e : world.agent_errors) {
    os << fmt::format("agent error (added to step 07) at {}: {}: {}\n", rfc3339(world.start + e.time), e.class_name, e.message);
  }
}

}  // namespace day2test::world
