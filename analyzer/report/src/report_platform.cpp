// Root causes across the night (docs/report.md "Root causes across the night"): every incident of the
// platform causes (analyzer/rules/causes.json) found in the artifact becomes a root cause — the agent,
// an infrastructure pod, a code location, a daemon, an alert — and the night's effects (tick failure
// bursts, failed runs, stuck queued runs) are linked to it only when their extents pass the overlap
// gate with the incident's (analyzer/overlap.hpp), within its location when it has one. A run a
// cause claims is listed under it and leaves its category's cause: no run sits under two causes.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <re2/re2.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "analyzer/artifact/artifact.hpp"
#include "analyzer/artifact/overlap.hpp"
#include "recorder/base/json.hpp"
#include "report_platform.hpp"

namespace analyzer::report {

namespace {

using summary::member;
using summary::text_of;

using platform::k8s_name;
using platform::Signal;
using platform::signals_of;

std::string hhmm(const recorder::Zone& zone, double epoch, const char* format = "%H:%M") {
  return zone.format(recorder::from_epoch_seconds(epoch), format);
}

std::optional<double> window_end(const Report& report) {
  auto end = recorder::parse_rfc3339(report.utc_end);
  return end ? std::optional(recorder::to_epoch_seconds(*end)) : std::nullopt;
}

// Incidents: signals of one group; agent errors and pod events split where they pause longer than
// the burst gap (two storms of one night are two causes), a churn storm is one.
std::vector<std::vector<Signal>> incidents_of(const CauseDef& def, std::vector<Signal> signals, double gap) {
  std::sort(signals.begin(), signals.end(), [](const Signal& a, const Signal& b) {
    return std::tie(a.group, a.extent.start, a.evidence.pointer) < std::tie(b.group, b.extent.start, b.evidence.pointer);
  });
  bool split = def.source == CauseSource::infra_pod || def.source == CauseSource::agent_heartbeat_loss ||
               def.source == CauseSource::agent_api_timeout;
  std::vector<std::vector<Signal>> out;
  for (auto& signal : signals) {
    bool joins = !out.empty() && out.back().front().group == signal.group &&
                 (!split || signal.extent.start - out.back().back().extent.end <= gap);
    if (!joins) out.emplace_back();
    out.back().push_back(std::move(signal));
  }
  return out;
}

// ---- the effects ---------------------------------------------------------------------------------

struct TickItem {
  std::string location;
  std::string pointer;
  std::string error;  // error, class and chain top, for the effect's pattern
  double at = 0;
};

std::string tick_text(const Json& tick) {
  return fmt::format("{} {} {}", text_of(tick, "error"), text_of(tick, "errorClass"), text_of(tick, "errorChainTop"));
}

std::vector<TickItem> failed_ticks(const Json& artifact) {
  std::vector<TickItem> out;
  if (const Json* step = step_payload(artifact, step_key(StepId::sensor_ticks))) {
    for (const auto& location : step->GetObject()) {
      if (!location.value.IsObject()) continue;
      for (const auto& sensor : location.value.GetObject()) {
        const Json& ticks = array_of(sensor.value, "ticks");
        for (rapidjson::SizeType i = 0; i < ticks.Size(); ++i) {
          auto at = epoch_of(ticks[i], "timestamp");
          if (!at) continue;
          out.push_back({location.name.GetString(),
                         fmt::format("/step_03_sensor_ticks/{}/{}/ticks/{}", pointer_token(location.name.GetString()),
                                     pointer_token(sensor.name.GetString()), i),
                         tick_text(ticks[i]), *at});
        }
      }
    }
  }
  const Json* step = step_payload(artifact, step_key(StepId::schedule_ticks));
  const Json* failures = step ? member(*step, "scheduleTickFailures") : nullptr;
  if (failures == nullptr || !failures->IsObject()) return out;
  for (const auto& schedule : failures->GetObject()) {
    if (!schedule.value.IsArray()) continue;
    std::string name = schedule.name.GetString();
    for (rapidjson::SizeType i = 0; i < schedule.value.Size(); ++i) {
      auto at = epoch_of(schedule.value[i], "timestamp");
      if (!at) continue;
      out.push_back({name.substr(0, name.find('/')), fmt::format("/step_06_schedule_ticks/scheduleTickFailures/{}/{}", pointer_token(name), i),
                     tick_text(schedule.value[i]), *at});
    }
  }
  return out;
}

// The night's effects, read once.
struct Effects {
  std::vector<TickItem> ticks;
  std::map<std::string, std::string> run_pointers;  // run id -> /step_01_failed_runs/failures/<i>
  std::vector<Signal> queued;                       // stuck queued runs, extent [since, end of window]
};

Effects read_effects(const Json& artifact, const recorder::Zone& zone, std::optional<double> end) {
  Effects effects{failed_ticks(artifact), {}, {}};
  if (const Json* step = step_payload(artifact, step_key(StepId::failed_runs))) {
    const Json& failures = array_of(*step, "failures");
    for (rapidjson::SizeType i = 0; i < failures.Size(); ++i) {
      effects.run_pointers.emplace(text_of(failures[i], "runId"), fmt::format("/step_01_failed_runs/failures/{}", i));
    }
  }
  const Json* step = step_payload(artifact, step_key(StepId::queued_runs));
  if (step == nullptr || !end) return effects;
  const Json& runs = array_of(*step, "runs");
  for (rapidjson::SizeType i = 0; i < runs.Size(); ++i) {
    const Json* stuck = member(runs[i], "stuck");
    auto since = epoch_of(runs[i], "since");
    if (stuck == nullptr || !stuck->IsTrue() || !since) continue;
    effects.queued.push_back({{"queued_run", fmt::format("/step_14_queued_runs/runs/{}", i),
                               fmt::format("run `{}` of `{}` {} since {}", short_id(text_of(runs[i], "runId")), text_of(runs[i], "jobName"),
                                           text_of(runs[i], "status"), when(zone, since)),
                               since},
                              {*since, std::max(*end, *since + 1)}, "", text_of(runs[i], "location")});
  }
  return effects;
}

// "[02:00:30, 02:03:30]": an extent in the report zone.
std::string extent_text(const recorder::Zone& zone, const Extent& extent) {
  return fmt::format("[{}, {}]", hhmm(zone, extent.start, "%H:%M:%S"), hhmm(zone, extent.end, "%H:%M:%S %Z"));
}

bool in_scope(const PlatformIncident& incident, const std::string& location) {
  return incident.scope.empty() || k8s_name(incident.scope) == k8s_name(location);
}

// Tick failures of the incident's scope matching the effect's pattern, in bursts (failures of one
// location no further apart than `gap`); a burst whose extent passes the gate is one effect.
void link_ticks(const EffectSpec& spec, const Effects& effects, double gap, const recorder::Zone& zone, PlatformIncident& incident) {
  std::map<std::string, std::vector<const TickItem*>> by_location;
  for (const auto& tick : effects.ticks) {
    if (!in_scope(incident, tick.location)) continue;
    if (spec.compiled && !RE2::PartialMatch(tick.error, *static_cast<const RE2*>(spec.compiled.get()))) continue;
    if (spec.same_error && (incident.error.empty() || tick.error.find(incident.error) == std::string::npos)) continue;
    by_location[tick.location].push_back(&tick);
  }
  Extent cause{incident.start, incident.end};
  for (auto& [location, ticks] : by_location) {
    std::sort(ticks.begin(), ticks.end(), [](const TickItem* a, const TickItem* b) { return std::tie(a->at, a->pointer) < std::tie(b->at, b->pointer); });
    for (std::size_t first = 0; first < ticks.size();) {
      std::size_t last = first;
      while (last + 1 < ticks.size() && ticks[last + 1]->at - ticks[last]->at <= gap) ++last;
      Extent burst{ticks[first]->at - k_instant_half_width, ticks[last]->at + k_instant_half_width};
      if (overlaps(burst, cause)) {
        Effect effect{"tickFailure",
                      fmt::format("{} tick failure(s) in `{}` from {} to {}", last - first + 1, location, when(zone, ticks[first]->at),
                                  when(zone, ticks[last]->at)),
                      fmt::format("the burst {} overlaps the incident {}", extent_text(zone, burst), extent_text(zone, cause)), {}};
        effect.evidence.push_back({"tick", ticks[first]->pointer, "first tick failure", ticks[first]->at});
        if (last != first) effect.evidence.push_back({"tick", ticks[last]->pointer, "last tick failure", ticks[last]->at});
        for (std::size_t i = first; i <= last; ++i) effect.covers.push_back(ticks[i]->pointer);
        incident.effects.push_back(std::move(effect));
      }
      first = last + 1;
    }
  }
}

bool run_matches(const EffectSpec& spec, const RunEvidence& run) {
  auto listed = [](const std::vector<std::string>& list, const std::string& value) {
    return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
  };
  return listed(spec.categories, run.category) && listed(spec.rules, run.rule_id);
}

std::optional<Extent> extent_of(const RunEvidence& run) {
  return run_extent(run.start_epoch, run.end_epoch, never_started_timeout(run.run_message));
}

// Failed runs of the effect's categories and rules, in scope, whose lifetime passes the gate. A
// claiming cause takes each run it links out of `unclaimed` (ids), so no later cause lists it too.
void link_runs(const EffectSpec& spec, const Effects& effects, const std::vector<const RunEvidence*>& runs,
               std::set<std::string>& unclaimed, const recorder::Zone& zone, PlatformIncident& incident, std::vector<std::string>& claimed) {
  Extent cause{incident.start, incident.end};
  for (const RunEvidence* run : runs) {
    if (!run_matches(spec, *run) || !in_scope(incident, run->location)) continue;
    if (incident.claims_runs && !unclaimed.count(run->run_id)) continue;
    auto extent = extent_of(*run);
    if (!extent || !overlaps(*extent, cause)) continue;
    auto pointer = effects.run_pointers.find(run->run_id);
    Effect effect{"runFailure",
                  fmt::format("run `{}` of `{}` failed {}: {} (rule `{}`)", short_id(run->run_id), run->job, run->ended, run->category,
                              run->rule_id),
                  fmt::format("the run {} overlaps the incident {}", extent_text(zone, *extent), extent_text(zone, cause)), {}};
    effect.evidence.push_back({"run", pointer == effects.run_pointers.end() ? "" : pointer->second,
                               fmt::format("run {} {}", run->run_id, run->category), run->end_epoch});
    if (incident.claims_runs) effect.covers.push_back(effect.evidence.back().pointer);  // correlated runs stay their findings'
    
    incident.effects.push_back(std::move(effect));
    if (incident.claims_runs) {
      unclaimed.erase(run->run_id);
      claimed.push_back(run->run_id);
    }
  }
}

void link_queued(const Effects& effects, const recorder::Zone& zone, PlatformIncident& incident) {
  Extent cause{incident.start, incident.end};
  for (const auto& queued : effects.queued) {
    if (!in_scope(incident, queued.scope) || !overlaps(queued.extent, cause)) continue;
    incident.effects.push_back({"queuedRun", queued.evidence.summary,
                                fmt::format("stuck {} overlaps the incident {}", extent_text(zone, queued.extent), extent_text(zone, cause)),
                                {queued.evidence}, {queued.evidence.pointer}});
  }
}

Action action_of(const std::string& name) {
  if (name == "Escalate") return Action::escalate;
  if (name == "Monitor") return Action::monitor;
  return Action::investigate;
}

PlatformIncident incident_of(const CauseDef& def, const std::vector<Signal>& signals) {
  PlatformIncident incident{def.id, std::string(to_string(def.source)), def.title, def.meaning, signals.front().scope, "", 0, 0,
                            action_of(def.action), def.rationale, def.claims_runs, "", {}, {}, def.supersedes};
  if (!signals.front().label.empty()) incident.title += fmt::format(" (`{}`)", signals.front().label);
  incident.error = signals.front().error;
  incident.start = signals.front().extent.start;
  incident.end = signals.front().extent.end;
  for (const auto& signal : signals) {
    incident.start = std::min(incident.start, signal.extent.start);
    incident.end = std::max(incident.end, signal.extent.end);
    incident.signals.push_back(signal.evidence);
  }
  return incident;
}

// "02:00–02:07 EST": from the first to the last of the incident's signals that have a time.
std::string span_of(const PlatformIncident& incident, const recorder::Zone& zone) {
  std::optional<double> first, last;
  for (const auto& signal : incident.signals) {
    if (!signal.epoch) continue;
    first = first ? std::min(*first, *signal.epoch) : *signal.epoch;
    last = last ? std::max(*last, *signal.epoch) : *signal.epoch;
  }
  if (!first) return "";
  return hhmm(zone, *first) == hhmm(zone, *last) ? hhmm(zone, *first, "%H:%M %Z")
                                                  : fmt::format("{}–{}", hhmm(zone, *first), hhmm(zone, *last, "%H:%M %Z"));
}

std::string platform_narrative(const Cause& cause) {
  const PlatformIncident& p = *cause.platform;
  std::string text = fmt::format("{}{}: {}.", p.title, p.scope.empty() ? "" : fmt::format(" (`{}`)", p.scope), p.meaning);
  text += fmt::format(" It rests on {} signal(s){}.", p.signals.size(), p.span.empty() ? "" : " at " + p.span);
  if (p.effects.empty()) {
    return text + " No tick failure, failed run or stuck queued run of the window passed the overlap gate with it: it explains "
                  "nothing else in the window, but it is an incident of its own.";
  }
  std::map<std::string, std::size_t> kinds;
  for (const auto& effect : p.effects) ++kinds[effect.kind];
  std::vector<std::string> parts;
  if (kinds.count("tickFailure")) parts.push_back(fmt::format("{} tick failure burst(s)", kinds["tickFailure"]));
  if (kinds.count("runFailure")) parts.push_back(fmt::format("{} failed run(s){}", kinds["runFailure"], p.claims_runs ? "" : " (correlated; they stay under their own cause)"));
  if (kinds.count("queuedRun")) parts.push_back(fmt::format("{} stuck queued run(s)", kinds["queuedRun"]));
  return text + fmt::format(" Linked through the overlap gate (rule `{}`): {}.", p.id, fmt::join(parts, ", "));
}

// Moves the runs in `claimed` out of the category causes into `cause` (by end time), dropping
// category causes left empty and retelling the narratives of those that changed.
void move_runs(const std::vector<std::string>& claimed, std::vector<Cause>& categories, Cause& cause) {
  std::set<std::string> ids(claimed.begin(), claimed.end());
  for (auto& group : categories) {
    auto moved = std::stable_partition(group.runs.begin(), group.runs.end(), [&](const RunEvidence& r) { return !ids.count(r.run_id); });
    if (moved == group.runs.end()) continue;
    std::move(moved, group.runs.end(), std::back_inserter(cause.runs));
    group.runs.erase(moved, group.runs.end());
    if (!group.runs.empty()) group.narrative = narrative(group);
  }
  std::erase_if(categories, [](const Cause& c) { return c.runs.empty(); });
  std::sort(cause.runs.begin(), cause.runs.end(), [](const RunEvidence& a, const RunEvidence& b) {
    return std::tie(a.end_epoch, a.run_id) < std::tie(b.end_epoch, b.run_id);
  });
}

}  // namespace

namespace {

// One mechanism, one cause: an incident of a cause that folds into another (causes.json "foldsInto")
// and passes the overlap gate with one of that cause's incidents becomes part of it — its signals
// join, its extent widens — instead of a second cause (lost heartbeats while the agent's pod was
// preempted are that preemption).
void fold(std::vector<std::pair<const CauseDef*, PlatformIncident>>& incidents) {
  for (auto& [def, incident] : incidents) {
    for (const auto& target : def->folds_into) {
      auto into = std::find_if(incidents.begin(), incidents.end(), [&](const auto& other) {
        return other.first->id == target && !other.second.signals.empty() && other.second.scope == incident.scope &&
               overlaps({other.second.start, other.second.end}, {incident.start, incident.end});
      });
      if (into == incidents.end() || incident.signals.empty()) continue;
      into->second.start = std::min(into->second.start, incident.start);
      into->second.end = std::max(into->second.end, incident.end);
      into->second.signals.insert(into->second.signals.end(), incident.signals.begin(), incident.signals.end());
      incident.signals.clear();  // folded: dropped below
    }
  }
  std::erase_if(incidents, [](const auto& entry) { return entry.second.signals.empty(); });
}

}  // namespace

void add_platform_causes(const Json& artifact, const recorder::Zone& zone, const Config& config, const PlatformCauses& causes,
                         Report& report) {
  auto end = window_end(report);
  std::vector<std::pair<const CauseDef*, PlatformIncident>> incidents;
  for (const auto& def : causes.causes) {
    for (const auto& signals : incidents_of(def, signals_of(def, artifact, zone, config, end), causes.burst_gap_seconds)) {
      incidents.emplace_back(&def, incident_of(def, signals));
    }
  }
  fold(incidents);
  if (incidents.empty()) return;  // a quiet platform: no effects to read
  for (auto& [def, incident] : incidents) { incident.span = span_of(incident, zone); }
  Effects effects = read_effects(artifact, zone, end);
  std::vector<const RunEvidence*> runs;
  std::set<std::string> unclaimed;
  for (const auto& cause : report.causes) {
    for (const auto& run : cause.runs) {
      runs.push_back(&run);
      unclaimed.insert(run.run_id);
    }
  }
  std::vector<std::pair<Cause, std::vector<std::string>>> platform;
  for (auto& [def, incident] : incidents) {  // in the file's order: the first cause that claims a run keeps it
    std::vector<std::string> claimed;
    for (const auto& spec : def->effects) {
      if (spec.kind == EffectKind::tick_failure) link_ticks(spec, effects, causes.burst_gap_seconds, zone, incident);
      if (spec.kind == EffectKind::run_failure) link_runs(spec, effects, runs, unclaimed, zone, incident, claimed);
      if (spec.kind == EffectKind::queued_run) link_queued(effects, zone, incident);
    }
    if (def->only_with_effects && incident.effects.empty()) continue;  // an alert nothing failed with: Impact only
    Cause cause{incident.title, incident.id, {}, {}};
    cause.platform = std::move(incident);
    platform.emplace_back(std::move(cause), std::move(claimed));
  }
  std::vector<Cause> out;
  for (auto& [cause, claimed] : platform) {
    move_runs(claimed, report.causes, cause);
    cause.narrative = platform_narrative(cause);
    out.push_back(std::move(cause));
  }
  // The night's incidents first — those that explain something before those that explain nothing
  // else, each by start — then the failed runs' categories as before.
  std::stable_sort(out.begin(), out.end(), [](const Cause& a, const Cause& b) {
    return std::make_tuple(a.platform->effects.empty(), a.platform->start, a.rule_id, a.platform->scope) <
           std::make_tuple(b.platform->effects.empty(), b.platform->start, b.rule_id, b.platform->scope);
  });
  std::move(report.causes.begin(), report.causes.end(), std::back_inserter(out));
  report.causes = std::move(out);
}

bool superseded(const Finding& finding, const Report& report) {
  if (!finding.covers.empty()) {  // every item explained by the night's platform causes
    std::set<std::string> covered;
    for (const auto& cause : report.causes) {
      if (!cause.platform) continue;
      for (const auto& effect : cause.platform->effects) covered.insert(effect.covers.begin(), effect.covers.end());
      for (const auto& signal : cause.platform->signals) covered.insert(signal.pointer);
    }
    if (std::all_of(finding.covers.begin(), finding.covers.end(), [&](const std::string& p) { return covered.count(p) > 0; })) return true;
  }
  std::string kind = finding_kind(finding);
  for (const auto& cause : report.causes) {
    if (!cause.platform) continue;
    const auto& list = cause.platform->supersedes;
    if (std::find(list.begin(), list.end(), kind) == list.end()) continue;
    if (finding.evidence.empty()) return true;
    std::set<std::string> pointers;
    for (const auto& e : cause.platform->signals) pointers.insert(e.pointer);
    for (const auto& effect : cause.platform->effects) {
      for (const auto& e : effect.evidence) pointers.insert(e.pointer);
    }
    bool shared = std::any_of(finding.evidence.begin(), finding.evidence.end(), [&](const Evidence& e) { return pointers.count(e.pointer) > 0; });
    if (shared) return true;
  }
  return false;
}

}  // namespace analyzer::report
