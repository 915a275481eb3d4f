// The seed's reasoning rules about agents, ticks and alerts, as findings with a rule id and evidence
// (docs/report.md "Reasoning rules"). Two signals are linked only when their extents pass the overlap
// gate (analyzer/overlap.hpp); otherwise each is its own finding.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <set>
#include <tuple>

#include "analyzer/artifact/artifact.hpp"
#include "analyzer/artifact/overlap.hpp"
#include "recorder/base/json.hpp"
#include "report_model.hpp"

namespace analyzer::report {

namespace {

using summary::member;
using summary::text_of;

bool mentions(const Json& object, const char* key, std::string_view needle) {
  const Json* value = member(object, key);
  return value != nullptr && value->IsString() && std::string_view(value->GetString()).find(needle) != std::string_view::npos;
}

struct PodEvent {
  std::string pointer;
  std::string summary;
  double at = 0;
};

// step 10 pod events whose pod name starts with `prefix` and whose reason is one of `reasons`.
std::vector<PodEvent> pod_events(const Json& artifact, const recorder::Zone& zone, const std::string& prefix,
                                 std::initializer_list<std::string_view> reasons) {
  std::vector<PodEvent> out;
  const Json* step = step_payload(artifact, step_key(StepId::gke_events));
  if (step == nullptr) { return out; }
  const Json& events = array_of(*step, "podEvents");
  for (rapidjson::SizeType i = 0; i < events.Size(); ++i) {
    std::string pod = text_of(events[i], "podName");
    std::string reason = text_of(events[i], "reason");
    auto at = epoch_of(events[i], "timestamp");
    if (!at || !pod.starts_with(prefix) || std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) { continue; }
    out.push_back({fmt::format("/step_10_gke_events/podEvents/{}", i),
                   fmt::format("{} pod `{}` {}: {}", when(zone, at), pod, reason, brief(events[i], "message")), *at});
  }
  return out;
}

// ---- agent topology ------------------------------------------------------------------------------

struct AgentError {
  std::string pointer;
  std::string summary;
  std::optional<double> at;
  bool no_heartbeat = false;   // "no agents have recently heartbeated"
  bool read_timeout = false;   // ReadTimeout to *.agent.dagster.cloud
};

std::vector<AgentError> agent_errors(const Json& step, const recorder::Zone& zone) {
  std::vector<AgentError> out;
  const Json& agents = array_of(step, "agents");
  for (rapidjson::SizeType a = 0; a < agents.Size(); ++a) {
    const Json& errors = array_of(agents[a], "errors");
    for (rapidjson::SizeType e = 0; e < errors.Size(); ++e) {
      auto at = epoch_of(errors[e], "timestamp");
      AgentError error{fmt::format("/step_07_agents/agents/{}/errors/{}", a, e),
                       fmt::format("{} agent `{}`: {}", when(zone, at), text_of(agents[a], "id"), brief(errors[e], "message")), at};
      error.no_heartbeat = mentions(errors[e], "message", "recently heartbeated");
      error.read_timeout = agent_read_timeout(errors[e]);
      out.push_back(std::move(error));
    }
  }
  return out;
}

// A deviation from the configured replicas, with its possible causes: the agent's pod events
// (Preempted / Evicted / OOMKilling, step 10) and the churn verdict (step 08).
void topology_deviation(const Json& step, const Json& artifact, const recorder::Zone& zone, const Config& config, Report& report) {
  const Json* deviation = member(step, "topologyDeviation");
  if (deviation == nullptr || !deviation->IsTrue()) { return; }
  Finding finding{"Agent topology", fmt::format("{} agent(s) RUNNING, {} expected (dagsterCloudAgent.replicas)",
                                                summary::count_text(step, "runningCount"), summary::count_text(step, "expectedReplicas")),
                  {}, "agent-topology", {{"agent", "/step_07_agents", "topologyDeviation: true", std::nullopt}}};
  if (const Json* churn = step_payload(artifact, step_key(StepId::agent_pod_churn))) {
    finding.items.push_back(fmt::format("agent pod churn (step 08): {} create(s), verdict {}", summary::count_text(*churn, "createCount"),
                                        text_of(*churn, "verdict")));
    finding.evidence.push_back({"agent_churn", "/step_08_agent_pod_churn/verdict", finding.items.back(), std::nullopt});
  }
  for (const auto& event : pod_events(artifact, zone, config.gcp.agent_pod_prefix, {"Preempted", "Evicted", "OOMKilling"})) {
    finding.items.push_back("agent pod event: " + event.summary);
    finding.evidence.push_back({"pod_event", event.pointer, event.summary, event.at});
  }
  report.impact.push_back(std::move(finding));
}

// Agent pods Preempted while no agent heartbeated (the two overlap) → rare, investigate; agents
// RUNNING but ReadTimeout to *.agent.dagster.cloud → control-plane connectivity.
void agent_rules(const Json& artifact, const recorder::Zone& zone, const Config& config, Report& report) {
  const Json* step = step_payload(artifact, step_key(StepId::agents));
  if (step == nullptr) { return; }
  topology_deviation(*step, artifact, zone, config, report);
  auto errors = agent_errors(*step, zone);
  auto preempted = pod_events(artifact, zone, config.gcp.agent_pod_prefix, {"Preempted"});
  Finding rare{"Agent pod preempted without heartbeats", "", {}, "agent-preempted-without-heartbeat", {}};
  for (const auto& event : preempted) {
    for (const auto& error : errors) {
      if (!error.no_heartbeat || !error.at || !overlaps(instant_extent(event.at), instant_extent(*error.at))) { continue; }
      if (rare.evidence.empty() || rare.evidence.back().pointer != event.pointer) {
        rare.evidence.push_back({"pod_event", event.pointer, event.summary, event.at});
        rare.items.push_back(event.summary);
      }
      rare.evidence.push_back({"agent_error", error.pointer, error.summary, error.at});
    }
  }
  if (!rare.items.empty()) {
    rare.summary = "an agent pod was Preempted while no agent heartbeated: agents run at the run pods' priority, so only a "
                   "higher-priority pod could preempt it — rare, investigate";
    report.impact.push_back(std::move(rare));
  }
  const Json* running = member(*step, "runningCount");
  if (running == nullptr || !running->IsNumber() || running->GetDouble() < 1) { return; }
  Finding control{"Agent control-plane timeouts", "", {}, "agent-control-plane-timeout", {}};
  for (const auto& error : errors) {
    if (!error.read_timeout) { continue; }
    control.items.push_back(error.summary);
    control.evidence.push_back({"agent_error", error.pointer, error.summary, error.at});
  }
  if (control.items.empty()) { return; }
  control.summary = fmt::format("{} ReadTimeout(s) to *.agent.dagster.cloud while agents were RUNNING: a control-plane "
                                "connectivity issue, not pod-level preemption", control.items.size());
  report.impact.push_back(std::move(control));
}

// ---- tick UNAVAILABLE bursts ---------------------------------------------------------------------

struct Tick {
  std::string pointer;
  double at = 0;
};

bool unavailable(const Json& tick) {
  return mentions(tick, "error", "UNAVAILABLE") || mentions(tick, "errorClass", "UNAVAILABLE") ||
         mentions(tick, "errorChainTop", "UNAVAILABLE");
}

// UNAVAILABLE ticks of step 03 (sensors) and step 06 (schedules), by code location.
std::map<std::string, std::vector<Tick>> unavailable_ticks(const Json& artifact) {
  std::map<std::string, std::vector<Tick>> out;
  auto add = [&](const std::string& location, const Json& tick, std::string pointer) {
    auto at = epoch_of(tick, "timestamp");
    if (at && unavailable(tick)) { out[location].push_back({std::move(pointer), *at}); }
  };
  if (const Json* step = step_payload(artifact, step_key(StepId::sensor_ticks))) {
    for (const auto& location : step->GetObject()) {
      if (!location.value.IsObject()) { continue; }
      for (const auto& sensor : location.value.GetObject()) {
        const Json& ticks = array_of(sensor.value, "ticks");
        for (rapidjson::SizeType i = 0; i < ticks.Size(); ++i) {
          add(location.name.GetString(), ticks[i],
              fmt::format("/step_03_sensor_ticks/{}/{}/ticks/{}", pointer_token(location.name.GetString()),
                          pointer_token(sensor.name.GetString()), i));
        }
      }
    }
  }
  const Json* step = step_payload(artifact, step_key(StepId::schedule_ticks));
  const Json* failures = step ? member(*step, "scheduleTickFailures") : nullptr;
  if (failures == nullptr || !failures->IsObject()) { return out; }
  for (const auto& schedule : failures->GetObject()) {
    if (!schedule.value.IsArray()) { continue; }
    std::string name = schedule.name.GetString();
    for (rapidjson::SizeType i = 0; i < schedule.value.Size(); ++i) {
      add(name.substr(0, name.find('/')), schedule.value[i],
          fmt::format("/step_06_schedule_ticks/scheduleTickFailures/{}/{}", pointer_token(name), i));
    }
  }
  return out;
}

void tick_burst(const Json& artifact, const recorder::Zone& zone, const std::string& location, std::vector<Tick> ticks,
                Report& report) {
  std::sort(ticks.begin(), ticks.end(), [](const Tick& a, const Tick& b) { return std::tie(a.at, a.pointer) < std::tie(b.at, b.pointer); });
  Finding finding{fmt::format("Tick failures (gRPC UNAVAILABLE) in `{}`", location),
                  fmt::format("{} UNAVAILABLE tick failure(s) from {} to {}: Service recreation and pod preemption look identical "
                              "from the tick log; do not attribute a root cause before this procedure",
                              ticks.size(), when(zone, ticks.front().at), when(zone, ticks.back().at)),
                  {}, "tick-unavailable-procedure", {}};
  finding.evidence.push_back({"tick", ticks.front().pointer, "first UNAVAILABLE tick", ticks.front().at});
  finding.evidence.push_back({"tick", ticks.back().pointer, "last UNAVAILABLE tick", ticks.back().at});
  std::size_t linked = 0;
  for (const auto& event : pod_events(artifact, zone, location + "-", {"Preempted", "Evicted", "Killing"})) {
    bool gated = std::any_of(ticks.begin(), ticks.end(), [&](const Tick& t) { return overlaps(instant_extent(t.at), instant_extent(event.at)); });
    if (!gated) { continue; }
    finding.evidence.push_back({"pod_event", event.pointer, event.summary, event.at});
    ++linked;
  }
  // Missing is not absent: a step that holds an error (or was not collected) says so, never "0 found".
  auto churn_missing = missing_reason(artifact, step_key(StepId::agent_pod_churn));
  std::string churn = churn_missing.empty() ? "none recorded" : "evidence missing: " + churn_missing;
  if (const Json* step = step_payload(artifact, step_key(StepId::agent_pod_churn))) {
    churn = fmt::format("{} create(s), verdict {}", summary::count_text(*step, "createCount"), text_of(*step, "verdict"));
    finding.evidence.push_back({"agent_churn", "/step_08_agent_pod_churn/verdict", "agent pod churn: " + churn, std::nullopt});
  }
  auto events_missing = missing_reason(artifact, step_key(StepId::gke_events));
  std::string first =
      events_missing.empty()
          ? fmt::format("1. Code-server pod events `{}-*` (Preempted/Evicted/Killing, step 10) overlapping the failures: {} found → "
                        "{}", location, linked, linked > 0 ? "preemption (cluster side)" : "no preemption evidence")
          : fmt::format("1. Code-server pod events `{}-*` (Preempted/Evicted/Killing, step 10): evidence missing ({}) → "
                        "preemption can be neither confirmed nor ruled out until they are read", location, events_missing);
  finding.items = {
      first,
      fmt::format("2. No such pod events but agent pod churn or redeploys (step 08: {}) → Service recreation (agent side)", churn),
      "3. Confirm with the Kubernetes audit log (Service and pod create/delete around the failures) before attributing",
  };
  report.impact.push_back(std::move(finding));
}

// ---- alerts --------------------------------------------------------------------------------------

bool resource_matches(const Json& alert, const RE2& pattern) {
  const Json* labels = member(alert, "resourceLabels");
  if (labels == nullptr || !labels->IsObject()) { return RE2::PartialMatch(text_of(alert, "resourceType"), pattern); }
  for (const auto& label : labels->GetObject()) {
    if (label.value.IsString() && RE2::PartialMatch(label.value.GetString(), pattern)) { return true; }
  }
  return false;
}

// The configured entry `alert` matches (policy display name, policy name or name), or nullptr.
const SelfResolvingAlert* known_alert(const Json& alert, const Config& config) {
  for (const auto& known : config.self_resolving_alerts) {
    RE2 name(known.name, RE2::Quiet);
    bool named = name.ok() && (RE2::PartialMatch(text_of(alert, "policy"), name) || RE2::PartialMatch(text_of(alert, "policyName"), name) ||
                               RE2::PartialMatch(text_of(alert, "name"), name));
    if (!named) { continue; }
    if (known.resource_pattern.empty()) { return &known; }
    RE2 resource(known.resource_pattern, RE2::Quiet);
    if (resource.ok() && resource_matches(alert, resource)) { return &known; }
  }
  return nullptr;
}

void alerts(const Json& artifact, const recorder::Zone& zone, const Config& config, Report& report) {
  const Json* step = step_payload(artifact, step_key(StepId::alerts));
  if (step == nullptr) { return; }
  Finding open{"Alerts", "", {}, {}, {}};
  std::map<std::string, Finding> known;  // by reason
  const Json& list = array_of(*step, "alerts");
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
    const Json& alert = list[i];
    std::string line = fmt::format("Alert `{}` ({}, {})", text_of(alert, "policy"), text_of(alert, "severity"), text_of(alert, "state"));
    Evidence evidence{"alert", fmt::format("/step_11_alerts/alerts/{}", i), line + " opened " + when(zone, epoch_of(alert, "openTime")),
                      epoch_of(alert, "openTime")};
    const SelfResolvingAlert* match = known_alert(alert, config);
    Finding& target = match ? known[match->reason] : open;
    if (match && target.label.empty()) {
      target = {"Known self-resolving alerts", match->reason, {}, "self-resolving-alert", {}};
    }
    if (!match) { target.covers.push_back(evidence.pointer); }  // an alert that is a platform cause is monitored there
    target.items.push_back(line);
    target.evidence.push_back(std::move(evidence));
  }
  if (!open.items.empty()) {
    std::sort(open.items.begin(), open.items.end());
    open.summary = fmt::format("{} alert(s) open during the window", open.items.size());
    report.impact.push_back(std::move(open));
  }
  for (auto& [reason, finding] : known) {
    std::sort(finding.items.begin(), finding.items.end());
    finding.summary = fmt::format("{} alert(s): {}", finding.items.size(), reason);
    report.impact.push_back(std::move(finding));
  }
}

// Step 08's verdict "storm": far more agent pod creations than a rollout, even a retried one, makes
// (seed: "3-4 creates = a rollout retry; >>4 = sustained storm"): a platform issue of its own, whether
// or not the agents looked healthy when Dagster+ was asked.
void churn_storm(const Json& artifact, const recorder::Zone& zone, Report& report) {
  const Json* step = step_payload(artifact, step_key(StepId::agent_pod_churn));
  if (step == nullptr || text_of(*step, "verdict") != "storm") { return; }
  Finding storm{"Agent pod churn storm",
                fmt::format("{} agent pod creation(s) in the window for {} replica(s) (maxSurge {} %): far beyond a rollout "
                            "or a retried one; the agent's pods keep being replaced",
                            summary::count_text(*step, "createCount"), summary::count_text(*step, "expectedReplicas"),
                            summary::count_text(*step, "maxSurgePercent")),
                {}, "agent-churn-storm", {}};
  const Json& events = array_of(*step, "events");
  for (rapidjson::SizeType i = 0; i < events.Size(); ++i) {
    if (const Json* code = member(events[i], "statusCode"); code && code->IsNumber() && code->GetDouble() != 0) { continue; }
    storm.evidence.push_back({"agent_churn", fmt::format("/step_08_agent_pod_churn/events/{}", i),
                              "created " + text_of(events[i], "podName"), epoch_of(events[i], "timestamp")});
  }
  if (!storm.evidence.empty()) {
    storm.items.push_back(fmt::format("{} pod(s) created from {} to {}", storm.evidence.size(),
                                      when(zone, storm.evidence.front().epoch), when(zone, storm.evidence.back().epoch)));
  }
  report.impact.push_back(std::move(storm));
}

// Run and step pods that lost their node (step 10 `preemption`). A Spot reclaim and a priority
// preemption look alike from Dagster (the run was interrupted) but need different fixes, so each has
// its own finding; a pod's several events of one loss (Compute Engine's reclaim, then the node's
// shutdown) are one item with all their evidence.
void node_losses(const Json& artifact, const recorder::Zone& zone, Report& report) {
  const Json* step = step_payload(artifact, step_key(StepId::gke_events));
  if (step == nullptr) { return; }
  Finding spot{"Spot VM reclaims", "", {}, "spot-reclaim", {}};
  Finding priority{"Priority preemptions", "", {}, "priority-preemption", {}};
  std::set<std::string> seen_spot, seen_priority;
  const Json& events = array_of(*step, "podEvents");
  for (rapidjson::SizeType i = 0; i < events.Size(); ++i) {
    const Json& event = events[i];
    std::string kind = text_of(event, "preemption");
    const Json* run = member(event, "runId");
    if (run == nullptr || !run->IsString() || (kind != "spot" && kind != "priority")) { continue; }
    auto at = epoch_of(event, "timestamp");
    std::string pod = text_of(event, "podName");
    std::string node = text_of(event, "node");
    std::string pool = text_of(event, "nodePool");
    Finding& finding = kind == "spot" ? spot : priority;
    auto& seen = kind == "spot" ? seen_spot : seen_priority;
    std::string summary = fmt::format("{} pod `{}` {} on node `{}`{}", when(zone, at), pod, text_of(event, "reason"),
                                      node.empty() ? "?" : node, pool.empty() ? "" : fmt::format(" (pool `{}`)", pool));
    finding.evidence.push_back({"pod_event", fmt::format("/step_10_gke_events/podEvents/{}", i), summary, at});
    if (seen.insert(pod).second) { finding.items.push_back(summary); }
  }
  if (!priority.items.empty()) {
    priority.summary = fmt::format("{} run pod(s) preempted by a higher-priority pod (the scheduler's Preempted): give run "
                                   "pods a PriorityClass no lower than what preempts them, or reserve capacity",
                                   priority.items.size());
    report.impact.push_back(std::move(priority));
  }
  if (!spot.items.empty()) {
    spot.summary = fmt::format("{} run pod(s) lost their Spot VM (Compute Engine reclaimed it; no Preempted event): keep "
                               "runs that must not be interrupted on an on-demand pool, or let retries absorb reclaims",
                               spot.items.size());
    report.impact.push_back(std::move(spot));
  }
}

// The GKE event exporter's restarts (step 10): Kubernetes events before each may be missing, so the
// absence of a pod event there is not evidence of anything.
void exporter_gaps(const Json& artifact, const recorder::Zone& zone, Report& report) {
  const Json* step = step_payload(artifact, step_key(StepId::gke_events));
  if (step == nullptr) { return; }
  Finding gap{"Kubernetes event gap", "", {}, "event-exporter-gap", {}};
  const Json& events = array_of(*step, "clusterEvents");
  for (rapidjson::SizeType i = 0; i < events.Size(); ++i) {
    if (text_of(events[i], "reason") != "EventExporterRestarted") { continue; }
    auto at = epoch_of(events[i], "timestamp");
    std::string line = fmt::format("the event exporter restarted at {}", when(zone, at));
    gap.items.push_back(line);
    gap.evidence.push_back({"cluster_event", fmt::format("/step_10_gke_events/clusterEvents/{}", i), line, at});
  }
  if (gap.items.empty()) { return; }
  gap.summary = fmt::format("GKE's event exporter restarted {} time(s): Kubernetes events before each restart may be "
                            "missing, so a pod event not found there is not evidence that nothing happened",
                            gap.items.size());
  report.impact.push_back(std::move(gap));
}

}  // namespace

bool self_resolving_alert(const Json& alert, const Config& config) { return known_alert(alert, config) != nullptr; }

bool agent_read_timeout(const Json& error) {
  // The class is its own member in step 07 ("className": "requests.exceptions.ReadTimeout"); the
  // message of a requests ReadTimeout is "HTTPSConnectionPool(host=...): Read timed out.".
  bool timeout = mentions(error, "className", "ReadTimeout") || mentions(error, "message", "ReadTimeout") ||
                 mentions(error, "message", "Read timed out");
  return timeout && mentions(error, "message", "agent.dagster.cloud");
}

void add_findings(const Json& artifact, const recorder::Zone& zone, const Config& config, Report& report) {
  alerts(artifact, zone, config, report);
  node_losses(artifact, zone, report);
  exporter_gaps(artifact, zone, report);
  churn_storm(artifact, zone, report);
  agent_rules(artifact, zone, config, report);
  for (auto& [location, ticks] : unavailable_ticks(artifact)) {
    // More than the threshold per location: exactly the threshold does not fire.
    if (ticks.size() > static_cast<std::size_t>(config.thresholds.tick_unavailable_burst)) {
      tick_burst(artifact, zone, location, std::move(ticks), report);
    }
  }
  add_run_findings(artifact, zone, config, report);
}

}  // namespace analyzer::report
