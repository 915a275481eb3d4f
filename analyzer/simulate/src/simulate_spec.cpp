// Reading a scenario spec (docs/scenarios.md, "Scenario specs") into a World.
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <set>

#include "recorder/base/checked_json.hpp"
#include "recorder/base/json.hpp"
#include "simulate_spec_util.hpp"
#include "simulate_world.hpp"

namespace analyzer::sim {

namespace {

using namespace spec;

const std::set<std::string> k_run_statuses = {"FAILURE", "SUCCESS", "CANCELED", "QUEUED", "STARTED"};
// A run with step events must last this long from their start (docs/scenarios.md).
constexpr double k_min_run_seconds = 10;

// A deterministic version-4 uuid from the spec's seed and a counter (splitmix64).
std::string make_uuid(std::uint64_t seed, std::uint64_t n) {
  auto mix = [](std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  std::uint64_t hi = mix(seed * 1000003 + n * 2);
  std::uint64_t lo = mix(seed * 1000003 + n * 2 + 1);
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  std::string h = fmt::format("{:016x}{:016x}", hi, lo);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

struct Parser {
  World world;
  std::uint64_t seed = 1;
  std::uint64_t ids = 0;

  std::string next_id() { return make_uuid(seed, ids++); }

  FailureMode mode(const Value& run, const std::string& at) {
    std::string name = text(run, at, "failure", "");
    if (name.empty()) return FailureMode::none;
    const auto& names = failure_mode_names();
    auto it = std::find(names.begin() + 1, names.end(), name);
    if (it == names.end()) {
      std::set<std::string> known(names.begin() + 1, names.end());
      unknown(at + "/failure", "failure mode", name, known);
    }
    return static_cast<FailureMode>(it - names.begin());
  }

  void pod_events(const Value& run, const std::string& at, Run& out) {
    const auto& list = array(run, at, "pod_events");
    for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
      std::string p = fmt::format("{}/pod_events/{}", at, i);
      check_keys(list[i], p, {"reason", "message", "time", "node", "pod"});
      PodEvent e;
      e.reason = text(list[i], p, "reason");
      if (e.reason.empty()) throw SpecError{p, "\"reason\" is required"};
      e.message = text(list[i], p, "message");
      e.time = time_at(list[i], p, "time", world.now, true);
      e.node = text(list[i], p, "node");  // "": the run pod's own node (simulate_gcp.cpp run_node)
      e.pod = text(list[i], p, "pod");
      out.pod_events.push_back(std::move(e));
    }
  }

  Run run(const Value& v, const std::string& at) {
    check_keys(v, at, {"id", "job", "location", "created", "start", "end", "status", "failure", "step", "error",
                       "max_runtime", "exiting_engine_event", "materialized", "attempts", "tags", "retry", "pod_events",
                       "expect", "count", "every", "parent", "automatic", "upstream", "downstream"});
    Run r;
    r.id = text(v, at, "id");
    r.job = text(v, at, "job");
    if (r.job.empty()) throw SpecError{at, "\"job\" is required"};
    r.location = text(v, at, "location", "etl");
    r.mode = mode(v, at);
    r.status = text(v, at, "status", r.mode == FailureMode::none ? "SUCCESS" : "FAILURE");
    if (!k_run_statuses.contains(r.status)) {
      unknown(at + "/status", "status", r.status, k_run_statuses);
    }
    if ((r.mode != FailureMode::none) != (r.status == "FAILURE")) {
      throw SpecError{at, "a run has a \"failure\" mode exactly when its status is FAILURE"};
    }
    run_times(v, at, r);
    r.step = text(v, at, "step", r.job + "_step");
    r.error = text(v, at, "error");  // "" = the failure mode's usual exception
    r.max_runtime = static_cast<int>(num(v, at, "max_runtime", 3600, 1, 7 * 86400));
    r.exiting_engine_event = flag(v, at, "exiting_engine_event");
    r.materialized = flag(v, at, "materialized");
    r.attempts = static_cast<int>(num(v, at, "attempts", 1, 1, 10));
    if (r.attempts > 1 && r.mode != FailureMode::user_code_error && r.mode != FailureMode::connection_error) {
      throw SpecError{at + "/attempts", "only a user_code_error or connection_error step is retried by its RetryPolicy"};
    }
    check_length(at, r);
    read_run_steps(v, at, r);
    spec_tags(v, at, r);
    default_tags(r);
    pod_events(v, at, r);
    expectation(v, at, r);
    return r;
  }

  // When the run was created, started and ended: "created" defaults to 5 s before the start, else
  // to 70 s before the end (its events start 10 s after creation: a minute before the end), and a
  // finished run needs an end (check_length: long enough for its events).
  void run_times(const Value& v, const std::string& at, Run& r) const {
    r.start = time_at(v, at, "start", world.now, false);
    r.end = time_at(v, at, "end", world.now, false);
    r.created = time_at(v, at, "created", world.now, false);
    if (r.created == 0) r.created = r.start != 0 ? r.start - 5 : (r.end != 0 ? r.end - 70 : 0);
    if (r.created == 0) throw SpecError{at, "a run needs \"created\", \"start\" or \"end\""};
    if (r.end != 0 && r.start != 0 && r.end < r.start) throw SpecError{at + "/end", "is before \"start\""};
    bool finished = r.status == "FAILURE" || r.status == "SUCCESS" || r.status == "CANCELED";
    if (finished && r.end == 0) throw SpecError{at, fmt::format("a {} run needs \"end\"", r.status)};
  }

  // Whether the run lasts long enough for the events of its log (simulate_events.cpp): a run that
  // never started, or whose pod was never scheduled, is enqueued and starting in its first 2 s; any
  // other starts its step 6 s after its events begin and fails 1 s before its end, and a max_runtime
  // run materializes 60 s in and logs its exiting engine event 120 s in.
  static void check_length(const std::string& at, const Run& r) {
    if (r.end == 0) return;
    const bool no_worker = r.mode == FailureMode::never_started || r.mode == FailureMode::unschedulable;
    const bool runtime = r.mode == FailureMode::max_runtime;
    const double from = no_worker ? r.created : (r.start != 0 ? r.start : r.created + 10);
    const double need = no_worker                             ? 3
                        : runtime && r.exiting_engine_event ? 121
                        : runtime && r.materialized         ? 61
                                                            : k_min_run_seconds;
    if (r.end - from < need) {
      const char* after = no_worker ? "\"created\"" : r.start != 0 ? "\"start\"" : "\"created\" plus 10 s";
      throw SpecError{at + "/end", fmt::format("must be at least {} s after {} (the events of its log need them)", need, after)};
    }
  }

  // The spec's own "tags" of the run.
  static void spec_tags(const Value& v, const std::string& at, Run& r) {
    const Value* tags = member(v, "tags");
    if (tags == nullptr) return;
    if (!tags->IsObject()) throw SpecError{at + "/tags", "must be an object of strings"};
    for (const auto& t : tags->GetObject()) {
      if (!t.value.IsString()) throw SpecError{at + "/tags/" + t.name.GetString(), "must be a string"};
      r.tags[t.name.GetString()] = t.value.GetString();
    }
  }

  // What the scenario expects the run to be classified as ("expect"), when it says.
  static void expectation(const Value& v, const std::string& at, Run& r) {
    const Value* e = member(v, "expect");
    if (e == nullptr) return;
    check_keys(*e, at + "/expect", {"category", "rule", "action"});
    r.expected = true;
    r.expect.category = text(*e, at + "/expect", "category");
    r.expect.rule = text(*e, at + "/expect", "rule");
    if (member(*e, "action") != nullptr) {
      r.expect.action = one_of(*e, at + "/expect", "action", {"Escalate", "Investigate", "Monitor", "No action"}, "");
    }
    if (r.expect.category.empty()) throw SpecError{at + "/expect", "\"category\" is required"};
  }

  // The tags Dagster itself sets for the run's failure (the spec's own tags win).
  static void default_tags(Run& r) {
    auto set = [&](const char* key, std::string value) { r.tags.emplace(key, std::move(value)); };
    switch (r.mode) {
      case FailureMode::user_code_error:
      case FailureMode::connection_error:
      case FailureMode::k8s_api_error:
      case FailureMode::prestart_kill:
      case FailureMode::backoff_limit: set("dagster/failure_reason", "STEP_FAILURE"); break;
      case FailureMode::never_started: set("dagster/failure_reason", "START_TIMEOUT"); break;
      case FailureMode::preempted: set("dagster/failure_reason", "UNEXPECTED_TERMINATION"); break;
      case FailureMode::max_runtime: set("dagster/max_runtime", std::to_string(r.max_runtime)); break;
      default: break;
    }
  }

  void add_runs(const Value& v, const std::string& at) {
    Run base = run(v, at);
    int count = static_cast<int>(num(v, at, "count", 1, 1, 5000));
    double every = num(v, at, "every", 0, 0, 86400);
    const Value* retry = member(v, "retry");
    std::string parent = text(v, at, "parent");
    if (!parent.empty() && count != 1) throw SpecError{at + "/count", "a re-execution (\"parent\") is one run"};
    if (parent.empty() && member(v, "automatic") != nullptr) throw SpecError{at + "/automatic", "only a re-execution (\"parent\") is automatic or not"};
    if (!parent.empty() && !base.upstream.empty()) {
      throw SpecError{at + "/upstream", "a re-execution from failure (\"parent\") starts at the failed step: no upstream steps run"};
    }
    if (!parent.empty()) reexecution_of(parent, flag(v, at, "automatic"), at, base);
    for (int i = 0; i < count; ++i) {
      Run r = base;
      double shift = every * i;
      for (double* t : {&r.created, &r.start, &r.end}) {
        if (*t != 0) *t += shift;
      }
      for (auto& e : r.pod_events) e.time += shift;
      if (r.id.empty() || i > 0) r.id = next_id();
      if (retry) add_retry(*retry, at + "/retry", r);
      world.runs.push_back(std::move(r));
    }
  }

  // A re-execution of an earlier run of the spec ("parent": its id), from failure: Dagster's run
  // group (parentRunId, rootRunId and their tags). "automatic": the run-retry daemon launched it
  // (dagster/retry_number; the parent says it will retry), else someone did (manual).
  void reexecution_of(const std::string& parent_id, bool automatic, const std::string& at, Run& child) {
    auto parent = std::find_if(world.runs.begin(), world.runs.end(), [&](const Run& r) { return r.id == parent_id; });
    if (parent == world.runs.end()) {
      throw SpecError{at + "/parent", fmt::format("no earlier run has the id \"{}\"", parent_id)};
    }
    if (parent->status != "FAILURE") throw SpecError{at + "/parent", "re-executes a run that did not fail"};
    if (child.id.empty()) child.id = next_id();
    child.parent_id = parent->id;
    child.root_id = parent->root_id.empty() ? parent->id : parent->root_id;
    child.tags["dagster/parent_run_id"] = child.parent_id;
    child.tags["dagster/root_run_id"] = child.root_id;
    child.tags["dagster/is_resume_retry"] = "true";
    if (!automatic) return;
    auto number = parent->tags.find("dagster/retry_number");
    int previous = number == parent->tags.end() ? 0 : std::atoi(number->second.c_str());
    child.tags["dagster/retry_number"] = std::to_string(previous + 1);
    parent->tags["dagster/max_retries"] = std::to_string(previous + 1);
    parent->tags["dagster/will_retry"] = "true";
    parent->tags["dagster/auto_retry_run_id"] = child.id;
  }

  // A run retry (dagster/max_retries): the failed parent is tagged and a child run follows it.
  void add_retry(const Value& v, const std::string& at, Run& parent) {
    check_keys(v, at, {"status", "duration"});
    Run child;
    child.id = next_id();
    child.job = parent.job;
    child.location = parent.location;
    child.status = text(v, at, "status", "SUCCESS");
    if (child.status != "SUCCESS" && child.status != "CANCELED") {
      throw SpecError{at + "/status", "a retry is SUCCESS or CANCELED (a failing retry is a run of its own)"};
    }
    child.created = parent.end + 1;
    child.start = parent.end + 20;
    child.end = child.start + num(v, at, "duration", 300, k_min_run_seconds, 86400);
    child.step = parent.step;
    child.parent_id = parent.id;
    child.root_id = parent.root_id.empty() ? parent.id : parent.root_id;
    child.tags["dagster/retry_number"] = "1";
    parent.tags["dagster/max_retries"] = "1";
    parent.tags["dagster/will_retry"] = "true";
    parent.tags["dagster/auto_retry_run_id"] = child.id;
    world.runs.push_back(std::move(child));
  }

  void instigators(const Value& doc, const char* key, bool sensor) {
    const auto& list = array(doc, "", key);
    for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
      std::string at = fmt::format("/{}/{}", key, i);
      check_keys(list[i], at, {"location", "name", "ticks"});
      Instigator ins{sensor, text(list[i], at, "location", "etl"), text(list[i], at, "name"), {}};
      if (ins.name.empty()) throw SpecError{at, "\"name\" is required"};
      const auto& ticks = array(list[i], at, "ticks");
      for (rapidjson::SizeType j = 0; j < ticks.Size(); ++j) {
        std::string p = fmt::format("{}/ticks/{}", at, j);
        check_keys(ticks[j], p, {"time", "status", "error_class", "message", "count", "every"});
        Tick t{time_at(ticks[j], p, "time", world.now, true), text(ticks[j], p, "status", "SUCCESS"),
               text(ticks[j], p, "error_class"), text(ticks[j], p, "message")};
        if (t.status != "SUCCESS" && t.status != "FAILURE" && t.status != "SKIPPED") {
          unknown(p + "/status", "tick status", t.status, {"FAILURE", "SKIPPED", "SUCCESS"});
        }
        int count = static_cast<int>(num(ticks[j], p, "count", 1, 1, 5000));
        double every = num(ticks[j], p, "every", 60, 1, 86400);
        for (int n = 0; n < count; ++n, t.time += every) ins.ticks.push_back(t);
      }
      world.instigators.push_back(std::move(ins));
    }
  }

  void rest(const Value& doc) {
    const auto& locations = array(doc, "", "locations");
    for (rapidjson::SizeType i = 0; i < locations.Size(); ++i) {
      std::string at = fmt::format("/locations/{}", i);
      check_keys(locations[i], at, {"name", "load_error"});
      world.locations.push_back({text(locations[i], at, "name"), text(locations[i], at, "load_error"),
                                 recorder::to_epoch_seconds(world.window.start)});
      if (world.locations.back().name.empty()) throw SpecError{at, "\"name\" is required"};
    }
    const auto& daemons = array(doc, "", "daemons");
    for (rapidjson::SizeType i = 0; i < daemons.Size(); ++i) {
      std::string at = fmt::format("/daemons/{}", i);
      check_keys(daemons[i], at, {"type", "healthy", "heartbeat", "errors"});
      Daemon d{text(daemons[i], at, "type"), !member(daemons[i], "healthy") || flag(daemons[i], at, "healthy"),
               time_at(daemons[i], at, "heartbeat", world.now, false), {}};
      if (d.heartbeat == 0) d.heartbeat = recorder::to_epoch_seconds(world.now) - 30;
      const auto& errors = array(daemons[i], at, "errors");
      for (rapidjson::SizeType j = 0; j < errors.Size(); ++j) {
        if (!errors[j].IsString()) throw SpecError{fmt::format("{}/errors/{}", at, j), "must be a string"};
        d.errors.push_back(errors[j].GetString());
      }
      world.daemons.push_back(std::move(d));
    }
    const auto& backfills = array(doc, "", "backfills");
    for (rapidjson::SizeType i = 0; i < backfills.Size(); ++i) {
      std::string at = fmt::format("/backfills/{}", i);
      check_keys(backfills[i], at, {"id", "status", "asset", "partitions", "failed", "created", "end"});
      Backfill b{text(backfills[i], at, "id", fmt::format("bf{:06}", i)), text(backfills[i], at, "status", "COMPLETED_FAILED"),
                 text(backfills[i], at, "asset", "events"),
                 static_cast<int>(num(backfills[i], at, "partitions", 1, 1, 100000)),
                 static_cast<int>(num(backfills[i], at, "failed", 0, 0, 100000)),
                 time_at(backfills[i], at, "created", world.now, true), time_at(backfills[i], at, "end", world.now, false)};
      world.backfills.push_back(std::move(b));
    }
  }

  // "findings" (report findings) and "causes" (platform causes): {"present": [ids], "absent": [ids]}.
  void expectations(const Value& doc, const char* name, std::vector<std::string>& present, std::vector<std::string>& absent) {
    const Value* f = member(doc, name);
    if (!f) return;
    std::string at = std::string("/") + name;
    check_keys(*f, at, {"present", "absent"});
    for (auto [key, out] : {std::pair{"present", &present}, std::pair{"absent", &absent}}) {
      const auto& list = array(*f, at, key);
      for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
        if (!list[i].IsString()) throw SpecError{fmt::format("{}/{}/{}", at, key, i), "must be a rule id string"};
        out->push_back(list[i].GetString());
      }
      std::sort(out->begin(), out->end());
    }
  }

  void findings(const Value& doc) {
    expectations(doc, "findings", world.findings_present, world.findings_absent);
    expectations(doc, "causes", world.causes_present, world.causes_absent);
    together(doc);
    wording(doc);
  }

  // "report": {"mentions": [texts], "omits": [texts]}: wording the report must hold / must not.
  void wording(const Value& doc) {
    const Value* r = member(doc, "report");
    if (!r) return;
    check_keys(*r, "/report", {"mentions", "omits"});
    for (auto [key, out] : {std::pair{"mentions", &world.report_mentions}, std::pair{"omits", &world.report_omits}}) {
      const auto& list = array(*r, "/report", key);
      for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
        if (!list[i].IsString() || list[i].GetStringLength() == 0) {
          throw SpecError{fmt::format("/report/{}/{}", key, i), "must be a non-empty text"};
        }
        out->push_back(list[i].GetString());
      }
      std::sort(out->begin(), out->end());
    }
  }

  // "together": [["<run id>", ...], ...]: runs of the spec that must sit under one root cause.
  void together(const Value& doc) {
    if (member(doc, "together") == nullptr) return;
    const auto& groups = array(doc, "", "together");
    for (rapidjson::SizeType i = 0; i < groups.Size(); ++i) {
      std::string at = fmt::format("/together/{}", i);
      if (!groups[i].IsArray() || groups[i].Size() < 2) throw SpecError{at, "must be a list of two run ids or more"};
      std::vector<std::string> group;
      for (const auto& id : groups[i].GetArray()) {
        bool known = id.IsString() && std::any_of(world.runs.begin(), world.runs.end(),
                                                  [&](const Run& r) { return r.id == id.GetString(); });
        if (!known) throw SpecError{at, "names a run id that no run of the spec has"};
        group.emplace_back(id.GetString());
      }
      world.together.push_back(std::move(group));
    }
  }

  void top(const Value& doc) {
    check_keys(doc, "", {"now", "window", "timezone", "flavor", "organization", "agent_replicas", "seed", "page_size",
                         "gcp", "locations", "runs", "sensors", "schedules", "daemons", "backfills", "agents",
                         "asset_checks", "error_groups", "alerts", "pod_events", "agent_pod_creates", "findings", "causes",
                         "together", "report", "description", "node_pools", "node_events", "exporter_restarts",
                         "investigations"});
    auto now = recorder::parse_rfc3339(text(doc, "", "now"));
    if (!now) throw SpecError{"/now", member(doc, "now") ? now.error().message : "\"now\" is required"};
    world.now = *now;
    world.timezone = text(doc, "", "timezone", world.timezone);
    auto zone = recorder::Zone::find(world.timezone);
    if (!zone) throw SpecError{"/timezone", zone.error().message};
    window(doc, *zone);
    std::string flavor = one_of(doc, "", "flavor", {"oss", "plus"}, "oss");
    world.plus = flavor == "plus";
    world.organization = text(doc, "", "organization", world.plus ? "acme" : "");
    if (!world.plus && member(doc, "organization")) throw SpecError{"/organization", "only with \"flavor\": \"plus\""};
    world.agent_replicas = static_cast<int>(num(doc, "", "agent_replicas", 1, 1, 100));
    seed = static_cast<std::uint64_t>(num(doc, "", "seed", 1, 0, 1e15));
    world.page_size = static_cast<int>(num(doc, "", "page_size", 200, 1, 1000));
    if (const Value* gcp = member(doc, "gcp")) {
      check_keys(*gcp, "/gcp", {"project", "cluster", "location", "agent_namespace", "denied"});
      world.gcp = {text(*gcp, "/gcp", "project"), text(*gcp, "/gcp", "cluster", "prod"),
                   text(*gcp, "/gcp", "location", "us-central1"), text(*gcp, "/gcp", "agent_namespace"), {}};
      if (world.gcp.project.empty()) throw SpecError{"/gcp", "\"project\" is required"};
      const auto& denied = array(*gcp, "/gcp", "denied");
      for (rapidjson::SizeType i = 0; i < denied.Size(); ++i) {
        static const std::vector<std::string> k_apis = {"container", "error_reporting", "logging", "monitoring"};
        if (!denied[i].IsString() || std::find(k_apis.begin(), k_apis.end(), denied[i].GetString()) == k_apis.end()) {
          throw SpecError{fmt::format("/gcp/denied/{}", i), "must be one of container, error_reporting, logging, monitoring"};
        }
        world.gcp.denied.emplace_back(denied[i].GetString());
      }
    }
    const auto& runs = array(doc, "", "runs");
    for (rapidjson::SizeType i = 0; i < runs.Size(); ++i) add_runs(runs[i], fmt::format("/runs/{}", i));
    instigators(doc, "sensors", true);
    instigators(doc, "schedules", false);
    rest(doc);
    read_agents(doc, world);
    read_checks(doc, world);
    read_google_signals(doc, world);
    findings(doc);
    read_investigations(doc, world);
    if (world.locations.empty()) world.locations.push_back({"etl", "", recorder::to_epoch_seconds(world.window.start)});
  }

  // The window: {"start", "end"}, or absent / "default" for collect's default window (17:00 in the
  // zone on the previous business day, to now).
  void window(const Value& doc, const recorder::Zone& zone) {
    const Value* w = member(doc, "window");
    if (!w || (w->IsString() && std::string_view(w->GetString()) == "default")) {
      world.window = recorder::default_window(world.now, zone);
      return;
    }
    if (w->IsString()) throw SpecError{"/window", "must be {\"start\", \"end\"} or \"default\""};
    check_keys(*w, "/window", {"start", "end"});
    world.window.start = recorder::from_epoch_seconds(time_at(*w, "/window", "start", world.now, true));
    world.window.end = recorder::from_epoch_seconds(time_at(*w, "/window", "end", world.now, true));
    if (world.window.end <= world.window.start) throw SpecError{"/window/end", "must be after window.start"};
    if (world.window.end > world.now) throw SpecError{"/window/end", "must not be after \"now\""};
  }
};

}  // namespace

const std::vector<std::string>& failure_mode_names() {
  static const std::vector<std::string> names = {
      "",          "user_code_error", "connection_error", "max_runtime", "never_started", "k8s_api_error",
      "prestart_kill", "oom",          "evicted",          "preempted",   "unclassified",
      "unschedulable", "backoff_limit"};
  return names;
}

recorder::Result<World> parse_world(std::string_view text_in, const std::string& source) {
  auto file = recorder::CheckedJson::parse(std::string(text_in), source);
  if (!file) return file.error();
  Parser parser;
  try {
    parser.top(file->root());
  } catch (const spec::SpecError& e) {
    std::string pointer = e.pointer;
    auto line = file->line_of(pointer);
    while (!line && !pointer.empty()) {  // a missing key: name its parent's line
      pointer.erase(pointer.rfind('/'));
      line = file->line_of(pointer);
    }
    return recorder::make_error(
        fmt::format("{}:{}: {}: {}", source, line.value_or(1), e.pointer.empty() ? "/" : e.pointer, e.message));
  }
  return std::move(parser.world);
}

}  // namespace analyzer::sim
