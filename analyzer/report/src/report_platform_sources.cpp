// The sources of the platform causes (analyzer/rules/causes.json): for each kind, the artifact's
// signals that are its incidents, with their extents for the overlap gate (analyzer/overlap.hpp).
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "analyzer/artifact/artifact.hpp"
#include "recorder/base/json.hpp"
#include "report_platform.hpp"

namespace analyzer::report::platform {

namespace {

using summary::member;
using summary::text_of;

// ---- the sources ---------------------------------------------------------------------------------

std::vector<Signal> churn_signals(const Json& artifact, const recorder::Zone& zone) {
  std::vector<Signal> out;
  const Json* step = step_payload(artifact, step_key(StepId::agent_pod_churn));
  if (step == nullptr || text_of(*step, "verdict") != "storm") return out;
  const Json& events = array_of(*step, "events");
  for (rapidjson::SizeType i = 0; i < events.Size(); ++i) {
    if (const Json* code = member(events[i], "statusCode"); code && code->IsNumber() && code->GetDouble() != 0) continue;
    auto at = epoch_of(events[i], "timestamp");
    if (!at) continue;
    out.push_back({{"agent_churn", fmt::format("/step_08_agent_pod_churn/events/{}", i),
                    fmt::format("{} agent pod `{}` created", when(zone, at), text_of(events[i], "podName")), at},
                   instant_extent(*at), "", ""});
  }
  return out;
}

bool mentions(const Json& object, const char* key, std::string_view needle) {
  const Json* value = member(object, key);
  return value != nullptr && value->IsString() && std::string_view(value->GetString()).find(needle) != std::string_view::npos;
}

// Agent errors of step 07: "no agents have recently heartbeated" (`heartbeat`), or ReadTimeouts to
// *.agent.dagster.cloud while at least one agent was RUNNING.
std::vector<Signal> agent_error_signals(const Json& artifact, const recorder::Zone& zone, bool heartbeat) {
  std::vector<Signal> out;
  const Json* step = step_payload(artifact, step_key(StepId::agents));
  if (step == nullptr) return out;
  const Json* running = member(*step, "runningCount");
  bool any_running = running != nullptr && running->IsNumber() && running->GetDouble() >= 1;
  if (!heartbeat && !any_running) return out;
  const Json& agents = array_of(*step, "agents");
  for (rapidjson::SizeType a = 0; a < agents.Size(); ++a) {
    const Json& errors = array_of(agents[a], "errors");
    for (rapidjson::SizeType e = 0; e < errors.Size(); ++e) {
      bool match = heartbeat ? mentions(errors[e], "message", "recently heartbeated") : agent_read_timeout(errors[e]);
      auto at = epoch_of(errors[e], "timestamp");
      if (!match || !at) continue;
      out.push_back({{"agent_error", fmt::format("/step_07_agents/agents/{}/errors/{}", a, e),
                      fmt::format("{} agent `{}`: {}", when(zone, at), text_of(agents[a], "id"), brief(errors[e], "message")), at},
                     instant_extent(*at), "", ""});
    }
  }
  return out;
}

// The locations the artifact names: sensors' and schedules' keys, failed runs', load failures'.
std::set<std::string> known_locations(const Json& artifact) {
  std::set<std::string> out;
  if (const Json* step = step_payload(artifact, step_key(StepId::sensor_ticks))) {
    for (const auto& location : step->GetObject()) out.emplace(location.name.GetString(), location.name.GetStringLength());
  }
  if (const Json* step = step_payload(artifact, step_key(StepId::schedule_ticks)); step && member(*step, "scheduleTickFailures")) {
    const Json& failures = *member(*step, "scheduleTickFailures");
    if (failures.IsObject()) {
      for (const auto& schedule : failures.GetObject()) {
        std::string name = schedule.name.GetString();
        out.insert(name.substr(0, name.find('/')));
      }
    }
  }
  if (const Json* step = step_payload(artifact, step_key(StepId::failed_runs))) {
    for (const auto& failure : array_of(*step, "failures").GetArray()) out.insert(text_of(failure, "location"));
  }
  if (const Json* step = step_payload(artifact, step_key(StepId::load_failures))) {
    for (const auto& failure : array_of(*step, "loadFailures").GetArray()) out.insert(text_of(failure, "location"));
  }
  out.erase("-");
  out.erase("?");
  return out;
}

// The pod pattern of `def` as RE2: placeholders filled from `config`, {location} a capture.
std::string pod_regex(const CauseDef& def, const Config& config) {
  std::string out = def.pod;
  auto replace = [&](std::string_view token, const std::string& value) {
    for (auto at = out.find(token); at != std::string::npos; at = out.find(token, at + value.size())) out.replace(at, token.size(), value);
  };
  replace("{deployment}", RE2::QuoteMeta(config.dagster.deployment));
  replace("{agent_deployment}", RE2::QuoteMeta(config.gcp.agent_deployment));
  replace("{location}", "([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)");
  return out;
}

std::vector<Signal> pod_signals(const Json& artifact, const recorder::Zone& zone, const CauseDef& def, const Config& config) {
  std::vector<Signal> out;
  const Json* step = step_payload(artifact, step_key(StepId::gke_events));
  if (step == nullptr) return out;
  RE2 pattern(pod_regex(def, config), RE2::Quiet);
  if (!pattern.ok()) return out;
  std::map<std::string, std::string> locations;  // Kubernetes name -> location
  for (const auto& location : known_locations(artifact)) locations.emplace(k8s_name(location), location);
  const Json& events = array_of(*step, "podEvents");
  for (rapidjson::SizeType i = 0; i < events.Size(); ++i) {
    const Json& event = events[i];
    // The cheap tests first: most pod events of a night are runs' pods.
    if (const Json* run = member(event, "runId"); run != nullptr && run->IsString()) continue;  // not infrastructure
    auto at = epoch_of(event, "timestamp");
    if (!at) continue;
    std::string reason = text_of(event, "reason");
    if (std::find(def.reasons.begin(), def.reasons.end(), reason) == def.reasons.end()) continue;
    std::string pod = text_of(event, "podName");
    std::string captured;
    bool matched = def.per_location ? RE2::PartialMatch(pod, pattern, &captured) : RE2::PartialMatch(pod, pattern);
    if (!matched) continue;
    std::string scope = def.per_location ? (locations.count(captured) ? locations[captured] : captured) : "";
    out.push_back({{"pod_event", fmt::format("/step_10_gke_events/podEvents/{}", i),
                    fmt::format("{} pod `{}` {}: {}", when(zone, at), pod, reason, brief(event, "message")), at},
                   instant_extent(*at), scope, scope});
  }
  return out;
}

// A location that failed to load is down from its last update to the end of the window (step 05 is
// read in the morning: it was still failing then).
std::vector<Signal> load_failure_signals(const Json& artifact, const recorder::Zone& zone, std::optional<double> end) {
  std::vector<Signal> out;
  const Json* step = step_payload(artifact, step_key(StepId::load_failures));
  if (step == nullptr || !end) return out;
  const Json& failures = array_of(*step, "loadFailures");
  for (rapidjson::SizeType i = 0; i < failures.Size(); ++i) {
    auto at = epoch_of(failures[i], "updatedTimestamp");
    std::string location = text_of(failures[i], "location");
    std::string error = brief(failures[i], "errorChainTop");
    if (error == "-") error = brief(failures[i], "error");
    double start = at ? *at - k_instant_half_width : *end - 1;
    out.push_back({{"load_failure", fmt::format("/step_05_load_failures/loadFailures/{}", i),
                    fmt::format("{} code location `{}` failed to load: {}", when(zone, at), location, error), at},
                   {start, std::max(*end, start + 1)}, location, location});
  }
  return out;
}

// A required daemon that is unhealthy has been since its last heartbeat; without one, when is unknown
// and nothing can pass the gate with it (the extent is empty).
std::vector<Signal> daemon_signals(const Json& artifact, const recorder::Zone& zone, std::optional<double> end) {
  std::vector<Signal> out;
  const Json* step = step_payload(artifact, step_key(StepId::daemons));
  if (step == nullptr || !end) return out;
  const Json& daemons = array_of(*step, "daemons");
  for (rapidjson::SizeType i = 0; i < daemons.Size(); ++i) {
    const Json* healthy = member(daemons[i], "healthy");
    const Json* required = member(daemons[i], "required");
    if (healthy == nullptr || !healthy->IsFalse() || (required != nullptr && required->IsFalse())) continue;
    auto at = epoch_of(daemons[i], "lastHeartbeatTime");
    std::string type = text_of(daemons[i], "daemonType");
    Extent extent = at ? Extent{*at, std::max(*end, *at + 1)} : Extent{*end, *end};
    out.push_back({{"daemon", fmt::format("/step_09_daemons/daemons/{}", i),
                    fmt::format("daemon `{}` unhealthy, last heartbeat {}", type, when(zone, at)), at},
                   extent, type, "", type});
  }
  return out;
}

std::vector<Signal> alert_signals(const Json& artifact, const recorder::Zone& zone, const Config& config, std::optional<double> end) {
  std::vector<Signal> out;
  const Json* step = step_payload(artifact, step_key(StepId::alerts));
  if (step == nullptr || !end) return out;
  const Json& alerts = array_of(*step, "alerts");
  for (rapidjson::SizeType i = 0; i < alerts.Size(); ++i) {
    auto open = epoch_of(alerts[i], "openTime");
    if (!open || self_resolving_alert(alerts[i], config)) continue;
    double close = epoch_of(alerts[i], "closeTime").value_or(*end);
    std::string pointer = fmt::format("/step_11_alerts/alerts/{}", i);
    out.push_back({{"alert", pointer,
                    fmt::format("Alert `{}` ({}) open {} to {}", text_of(alerts[i], "policy"), text_of(alerts[i], "severity"),
                                when(zone, open), epoch_of(alerts[i], "closeTime") ? when(zone, close) : "the end of the window"),
                    open},
                   {*open, std::max(close, *open + 1)}, pointer, "", text_of(alerts[i], "policy")});
  }
  return out;
}

// The class of an exception line: "KeyError" of "KeyError: 'bucket'", "RpcError" of "grpc.RpcError: ...".
std::string exception_class(const std::string& exception) {
  auto name = exception.substr(0, exception.find(':'));
  if (auto dot = name.rfind('.'); dot != std::string::npos) name = name.substr(dot + 1);
  bool word = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
  return word ? name : "";
}

// In-window unclassified error groups (the other categories are triaged as noise) of a service that
// is a code location: the errors of its code server, from their first time in the window to the last.
std::vector<Signal> error_group_signals(const Json& artifact, const recorder::Zone& zone) {
  std::vector<Signal> out;
  const Json* step = step_payload(artifact, step_key(StepId::error_groups));
  const Json* buckets = step ? member(*step, "buckets") : nullptr;
  auto start = epoch_of(*member(artifact, "window"), "utc_start");
  if (buckets == nullptr || !start) return out;
  std::map<std::string, std::string> locations;  // Kubernetes name -> location
  for (const auto& location : known_locations(artifact)) locations.emplace(k8s_name(location), location);
  std::set<std::string> in_window;
  for (const auto& id : array_of(*buckets, "inWindow").GetArray()) in_window.insert(summary::asset_text(&id));
  const Json& groups = array_of(*step, "groups");
  for (rapidjson::SizeType i = 0; i < groups.Size(); ++i) {
    const Json& group = groups[i];
    std::string id = text_of(group, "groupId");
    auto last = epoch_of(group, "lastSeenTime");
    if (!in_window.count(id) || text_of(group, "category") != "unclassified" || !last) continue;
    const Json& services = array_of(group, "affectedServices");
    auto location = services.Empty() ? locations.end() : locations.find(k8s_name(text_of(services[0], "service")));
    if (location == locations.end()) continue;  // not a code location's: nothing to scope it to
    double first = std::max(epoch_of(group, "firstSeenTime").value_or(*start), *start);
    std::string exception = brief(group, "exception");
    out.push_back({{"error_group", fmt::format("/step_12_error_groups/groups/{}", i),
                    fmt::format("error group `{}` of `{}`: {} (last seen {})", id, location->second, exception, when(zone, last)), last},
                   {first - k_instant_half_width, std::max(*last, first) + k_instant_half_width}, id, location->second, id,
                   exception_class(exception)});
  }
  return out;
}

}  // namespace

std::vector<Signal> signals_of(const CauseDef& def, const Json& artifact, const recorder::Zone& zone, const Config& config,
                               std::optional<double> end) {
  switch (def.source) {
    case CauseSource::agent_churn_storm: return churn_signals(artifact, zone);
    case CauseSource::agent_heartbeat_loss: return agent_error_signals(artifact, zone, true);
    case CauseSource::agent_api_timeout: return agent_error_signals(artifact, zone, false);
    case CauseSource::infra_pod: return pod_signals(artifact, zone, def, config);
    case CauseSource::location_load_failure: return load_failure_signals(artifact, zone, end);
    case CauseSource::daemon_unhealthy: return daemon_signals(artifact, zone, end);
    case CauseSource::alert: return alert_signals(artifact, zone, config, end);
    case CauseSource::error_group: return error_group_signals(artifact, zone);
  }
  return {};
}


std::string k8s_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '_') c = '-';
  }
  return out;
}


}  // namespace analyzer::report::platform
