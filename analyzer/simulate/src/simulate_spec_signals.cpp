// Reading the spec's Dagster+ agents, asset checks and Google Cloud signals (docs/scenarios.md,
// "Scenario specs") into the World.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "simulate_spec_util.hpp"

namespace analyzer::sim::spec {

namespace {

// Repeats `item` `count` times, `every` seconds apart, from the time `at` gives.
template <typename F>
void repeated(const Value& v, const std::string& at, double default_every, F&& add) {
  int count = static_cast<int>(num(v, at, "count", 1, 1, 5000));
  double every = num(v, at, "every", default_every, 1, 86400);
  for (int n = 0; n < count; ++n) add(every * n);
}

std::vector<std::string> asset_path(const Value& v, const std::string& at) {
  std::string key = text(v, at, "asset");
  if (key.empty()) throw SpecError{at, "\"asset\" is required (an asset key: \"warehouse/orders\")"};
  std::vector<std::string> path;
  std::size_t from = 0;
  for (std::size_t slash = key.find('/'); ; slash = key.find('/', from)) {
    path.push_back(key.substr(from, slash == std::string::npos ? std::string::npos : slash - from));
    if (path.back().empty()) throw SpecError{at + "/asset", fmt::format("\"{}\" has an empty path part", key)};
    if (slash == std::string::npos) break;
    from = slash + 1;
  }
  return path;
}

bool known_run(const World& world, const std::string& id) {
  return std::any_of(world.runs.begin(), world.runs.end(), [&](const Run& r) { return r.id == id; });
}

CheckExecution execution(const Value& v, const std::string& at, const World& world) {
  check_keys(v, at, {"time", "status", "severity", "run", "description", "metadata", "count", "every"});
  CheckExecution e;
  e.time = time_at(v, at, "time", world.now, true);
  e.status = one_of(v, at, "status", {"SUCCEEDED", "FAILED", "EXECUTION_FAILED"}, "FAILED");
  e.severity = one_of(v, at, "severity", {"ERROR", "WARN"}, "ERROR");
  e.run_id = text(v, at, "run");
  if (!e.run_id.empty() && !known_run(world, e.run_id)) {
    throw SpecError{at + "/run", fmt::format("no run has the id \"{}\" (give the run an \"id\")", e.run_id)};
  }
  e.description = text(v, at, "description");
  e.metadata = string_map(v, at, "metadata");
  return e;
}

}  // namespace

void read_agents(const Value& doc, World& world) {
  const auto& agents = array(doc, "", "agents");
  if (!world.plus && !agents.Empty()) throw SpecError{"/agents", "Dagster+ agents need \"flavor\": \"plus\""};
  double now = recorder::to_epoch_seconds(world.now);
  for (rapidjson::SizeType i = 0; i < agents.Size(); ++i) {
    std::string at = fmt::format("/agents/{}", i);
    check_keys(agents[i], at, {"id", "label", "status", "heartbeat", "errors"});
    Agent agent;
    agent.id = text(agents[i], at, "id", fmt::format("agent-{}", i + 1));
    agent.label = text(agents[i], at, "label");
    agent.status = one_of(agents[i], at, "status", {"RUNNING", "NOT_RUNNING"}, "RUNNING");
    agent.heartbeat = time_at(agents[i], at, "heartbeat", world.now, false);
    if (agent.heartbeat == 0) agent.heartbeat = now - 20;
    const auto& errors = array(agents[i], at, "errors");
    for (rapidjson::SizeType j = 0; j < errors.Size(); ++j) {
      std::string p = fmt::format("{}/errors/{}", at, j);
      check_keys(errors[j], p, {"time", "error", "count", "every"});
      double t = time_at(errors[j], p, "time", world.now, true);
      std::string error = text(errors[j], p, "error");
      if (error.find(':') == std::string::npos) throw SpecError{p, "\"error\" is required (\"ClassName: message\")"};
      repeated(errors[j], p, 60, [&](double shift) { agent.errors.push_back({t + shift, error}); });
    }
    world.agents.push_back(std::move(agent));
  }
}

void read_checks(const Value& doc, World& world) {
  const auto& checks = array(doc, "", "asset_checks");
  for (rapidjson::SizeType i = 0; i < checks.Size(); ++i) {
    std::string at = fmt::format("/asset_checks/{}", i);
    check_keys(checks[i], at, {"asset", "name", "description", "executions"});
    AssetCheck check{asset_path(checks[i], at), text(checks[i], at, "name"), text(checks[i], at, "description"), {}};
    if (check.name.empty()) throw SpecError{at, "\"name\" is required"};
    const auto& executions = array(checks[i], at, "executions");
    for (rapidjson::SizeType j = 0; j < executions.Size(); ++j) {
      std::string p = fmt::format("{}/executions/{}", at, j);
      CheckExecution e = execution(executions[j], p, world);
      repeated(executions[j], p, 3600, [&](double shift) {
        CheckExecution copy = e;
        copy.time += shift;
        check.executions.push_back(std::move(copy));
      });
    }
    std::stable_sort(check.executions.begin(), check.executions.end(),
                     [](const CheckExecution& x, const CheckExecution& y) { return x.time < y.time; });
    world.checks.push_back(std::move(check));
  }
}

namespace {

// Calls `read` with each item of the spec's list `key` of Google Cloud signals, its path ("/key/i") and
// index, after checking its keys against `known`. The list needs "gcp" (a project).
template <typename F>
void each_google_item(const Value& doc, const World& world, const char* key, const std::set<std::string>& known,
                      F&& read) {
  const auto& list = array(doc, "", key);
  if (!list.Empty() && world.gcp.project.empty()) {
    throw SpecError{fmt::format("/{}", key), "needs \"gcp\" (a project)"};
  }
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
    std::string at = fmt::format("/{}/{}", key, i);
    check_keys(list[i], at, known);
    read(list[i], at, i);
  }
}

void error_groups(const Value& doc, World& world) {
  std::set<std::string> keys = {"id", "status", "message", "service", "version", "first_seen", "events"};
  each_google_item(doc, world, "error_groups", keys, [&](const Value& item, const std::string& at, rapidjson::SizeType i) {
    ErrorGroup g;
    g.id = text(item, at, "id", fmt::format("group{}", i + 1));
    g.status = one_of(item, at, "status", {"OPEN", "ACKNOWLEDGED", "RESOLVED", "MUTED"}, "OPEN");
    g.message = text(item, at, "message");
    if (g.message.empty()) throw SpecError{at, "\"message\" is required (the error's text or traceback)"};
    g.service = text(item, at, "service", "etl");
    g.version = text(item, at, "version", g.service + "-prod-5d8c9-abcde");
    const auto& events = array(item, at, "events");
    if (events.Empty()) throw SpecError{at, "\"events\" is required (at least one)"};
    for (rapidjson::SizeType j = 0; j < events.Size(); ++j) {
      std::string p = fmt::format("{}/events/{}", at, j);
      check_keys(events[j], p, {"time", "count", "every"});
      double t = time_at(events[j], p, "time", world.now, true, 30);
      repeated(events[j], p, 60, [&](double shift) { g.events.push_back(t + shift); });
    }
    std::sort(g.events.begin(), g.events.end());
    g.first_seen = time_at(item, at, "first_seen", world.now, false, 30);
    if (g.first_seen == 0 || g.first_seen > g.events.front()) g.first_seen = g.events.front();
    world.error_groups.push_back(std::move(g));
  });
}

void alerts(const Value& doc, World& world) {
  std::set<std::string> keys = {"policy", "severity", "open", "close", "resource_type", "labels", "metric"};
  each_google_item(doc, world, "alerts", keys, [&](const Value& item, const std::string& at, rapidjson::SizeType i) {
    Alert alert;
    alert.id = fmt::format("{:020}", 1000 + i);
    alert.policy = text(item, at, "policy");
    if (alert.policy.empty()) throw SpecError{at, "\"policy\" is required (the policy's display name)"};
    alert.severity = one_of(item, at, "severity", {"CRITICAL", "ERROR", "WARNING"}, "WARNING");
    alert.open = time_at(item, at, "open", world.now, true);
    alert.close = time_at(item, at, "close", world.now, false);
    if (alert.close != 0 && alert.close < alert.open) throw SpecError{at + "/close", "is before \"open\""};
    alert.resource_type = text(item, at, "resource_type", alert.resource_type);
    alert.labels = string_map(item, at, "labels");
    alert.metric = text(item, at, "metric", alert.metric);
    world.alerts.push_back(std::move(alert));
  });
}

void pod_events(const Value& doc, World& world) {
  std::set<std::string> keys = {"pod", "reason", "message", "time", "node", "count", "every"};
  each_google_item(doc, world, "pod_events", keys, [&](const Value& item, const std::string& at, rapidjson::SizeType) {
    PodEvent e;
    e.pod = text(item, at, "pod");
    if (e.pod.empty()) throw SpecError{at, "\"pod\" is required (a pod name)"};
    e.reason = text(item, at, "reason");
    if (e.reason.empty()) throw SpecError{at, "\"reason\" is required"};
    e.message = text(item, at, "message");
    e.time = time_at(item, at, "time", world.now, true);
    e.node = text(item, at, "node", "gke-pool-1-node-1");
    repeated(item, at, 60, [&](double shift) {
      PodEvent copy = e;
      copy.time += shift;
      world.pod_events.push_back(std::move(copy));
    });
  });
}

void agent_pod_creates(const Value& doc, World& world) {
  int n = 0;
  std::set<std::string> keys = {"time", "code", "count", "every"};
  each_google_item(doc, world, "agent_pod_creates", keys,
                   [&](const Value& item, const std::string& at, rapidjson::SizeType) {
    double t = time_at(item, at, "time", world.now, true);
    int code = static_cast<int>(num(item, at, "code", 0, 0, 16));
    repeated(item, at, 60, [&](double shift) {
      world.agent_pod_creates.push_back(
          {t + shift, fmt::format("user-cloud-dagster-cloud-agent-agent-7d9f8c6b5-{:05}", ++n), code});
    });
  });
}

void node_pools(const Value& doc, World& world) {
  each_google_item(doc, world, "node_pools", {"name", "spot"}, [&](const Value& item, const std::string& at,
                                                                   rapidjson::SizeType) {
    NodePoolSpec pool{text(item, at, "name"), flag(item, at, "spot")};
    if (pool.name.empty()) throw SpecError{at, "\"name\" is required (the node pool's name)"};
    world.node_pools.push_back(std::move(pool));
  });
}

void node_events(const Value& doc, World& world) {
  std::set<std::string> keys = {"node", "reason", "message", "time", "count", "every"};
  each_google_item(doc, world, "node_events", keys, [&](const Value& item, const std::string& at, rapidjson::SizeType) {
    NodeHappening e;
    e.node = text(item, at, "node");
    if (e.node.empty()) throw SpecError{at, "\"node\" is required (a GKE node name)"};
    e.reason = one_of(item, at, "reason", {"Shutdown", "InstancePreempted", "OOMKilling", "NodeNotReady"}, "");
    if (e.reason.empty()) throw SpecError{at, "\"reason\" is required"};
    e.message = text(item, at, "message");
    e.time = time_at(item, at, "time", world.now, true);
    repeated(item, at, 60, [&](double shift) {
      NodeHappening copy = e;
      copy.time += shift;
      world.node_happenings.push_back(std::move(copy));
    });
  });
}

void exporter_restarts(const Value& doc, World& world) {
  each_google_item(doc, world, "exporter_restarts", {"time"}, [&](const Value& item, const std::string& at,
                                                                  rapidjson::SizeType) {
    world.exporter_restarts.push_back(time_at(item, at, "time", world.now, true));
  });
}

}  // namespace

void read_google_signals(const Value& doc, World& world) {
  error_groups(doc, world);
  alerts(doc, world);
  pod_events(doc, world);
  agent_pod_creates(doc, world);
  node_pools(doc, world);
  node_events(doc, world);
  exporter_restarts(doc, world);
}

}  // namespace analyzer::sim::spec
