// Reclassification of failed runs (analyzer/reclassify.hpp): evaluates the typed predicates of each
// rule over one failure record of step 01 and the other steps' items, applying the overlap gate to
// every signal that is not the run's own, and records the evidence of every predicate that held.
#include "analyzer/artifact/artifact.hpp"
#include "analyzer/classify/reclassify.hpp"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "analyzer/artifact/fields.hpp"
#include "analyzer/artifact/overlap.hpp"
#include "recorder/base/time.hpp"
#include "recorder/base/workers.hpp"

namespace analyzer {

namespace {

using Json = rapidjson::Value;

constexpr std::size_t k_summary_chars = 120;

using summary::member;

std::string string_of(const Json& object, const char* key) {
  const Json* value = member(object, key);
  return value != nullptr && value->IsString() ? std::string(value->GetString(), value->GetStringLength()) : "";
}

const Json& array_of(const Json& object, const char* key) {
  static const Json k_empty(rapidjson::kArrayType);
  const Json* value = member(object, key);
  return value != nullptr && value->IsArray() ? *value : k_empty;
}

// A time: float epoch seconds or an RFC 3339 string; nullopt when absent or unreadable.
std::optional<double> epoch_of(const Json& object, const char* key) {
  const Json* value = member(object, key);
  if (value == nullptr) return std::nullopt;
  if (value->IsNumber()) {
    double seconds = value->GetDouble();
    return seconds > 0 && seconds < 253402300800.0 ? std::optional<double>(seconds) : std::nullopt;
  }
  if (!value->IsString()) return std::nullopt;
  auto instant = recorder::parse_rfc3339({value->GetString(), value->GetStringLength()});
  if (!instant) return std::nullopt;
  return recorder::to_epoch_seconds(*instant);
}

// The step's payload when it holds one (not an error, not skipped), else nullptr.
const Json* step_payload(const Json& artifact, const char* key) {
  const Json* step = member(artifact, key);
  if (step == nullptr || !step->IsObject() || member(*step, "error") != nullptr) return nullptr;
  if (const Json* skipped = member(*step, "skipped"); skipped != nullptr && skipped->IsTrue()) return nullptr;
  return step;
}

std::string token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// The first line of `text`, cut to k_summary_chars.
std::string one_line(std::string_view text) {
  text = text.substr(0, text.find('\n'));
  if (text.size() <= k_summary_chars) return std::string(text);
  std::size_t cut = k_summary_chars;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "…";
}

bool search(const PredicateCall& call, const std::string& text) {
  auto regex = std::static_pointer_cast<const RE2>(call.compiled);
  if (!regex) {  // a hand-built call: compile it now
    RE2::Options options;
    options.set_log_errors(false);
    regex = std::make_shared<const RE2>(call.pattern, options);
  }
  return regex->ok() && !text.empty() && RE2::PartialMatch(text, *regex);
}

// `name` equals `wanted`, or its last dotted component does ("dagster_k8s.client.X" equals "X").
bool same_class(const std::string& name, const std::string& wanted) {
  if (name.empty()) return false;
  if (name == wanted) return true;
  auto dot = name.rfind('.');
  return dot != std::string::npos && name.substr(dot + 1) == wanted;
}

// One failed run being evaluated, and the signals it can be linked to.
struct RunContext {
  const Json& artifact;
  const Json& failure;
  std::string pointer;  // "/step_01_failed_runs/failures/<i>"
  std::string run_id;
  std::optional<Extent> extent;
};

using Sink = std::vector<ReclassifyEvidence>;

bool pod_event(const PredicateCall& call, const RunContext& run, Sink& out) {
  const Json* step = step_payload(run.artifact, step_key(StepId::gke_events));
  if (step == nullptr || !run.extent) return false;
  const Json& events = array_of(*step, "podEvents");
  bool held = false;
  for (rapidjson::SizeType i = 0; i < events.Size(); ++i) {
    const Json& event = events[i];
    std::string reason = string_of(event, "reason");
    if (string_of(event, "runId") != run.run_id) continue;
    // A node-level kill names no pod: with several pods on the node it is evidence for none of them.
    if (const Json* pods = member(event, "nodeEventPods"); pods && pods->IsNumber() && pods->GetDouble() > 1) continue;
    if (std::find(call.reasons.begin(), call.reasons.end(), reason) == call.reasons.end()) continue;
    auto t = epoch_of(event, "timestamp");
    if (!t || !overlaps(pod_event_extent(*t, run.extent), *run.extent)) continue;
    out.push_back({"pod_event", fmt::format("/step_10_gke_events/podEvents/{}", i),
                   one_line(fmt::format("{} on pod {}: {}", reason, string_of(event, "podName"), string_of(event, "message"))),
                   t});
    held = true;
  }
  return held;
}

bool agent_error(const PredicateCall& call, const RunContext& run, Sink& out) {
  const Json* step = step_payload(run.artifact, step_key(StepId::agents));
  if (step == nullptr || !run.extent) return false;
  const Json& agents = array_of(*step, "agents");
  bool held = false;
  for (rapidjson::SizeType a = 0; a < agents.Size(); ++a) {
    const Json& errors = array_of(agents[a], "errors");
    for (rapidjson::SizeType e = 0; e < errors.Size(); ++e) {
      std::string class_name = string_of(errors[e], "className");
      std::string text = class_name.empty() ? string_of(errors[e], "message")
                                            : class_name + ": " + string_of(errors[e], "message");
      auto t = epoch_of(errors[e], "timestamp");
      if (!t || !search(call, text) || !overlaps(instant_extent(*t), *run.extent)) continue;
      out.push_back({"agent_error", fmt::format("/step_07_agents/agents/{}/errors/{}", a, e),
                     one_line(fmt::format("agent {}: {}", string_of(agents[a], "id"), text)), t});
      held = true;
    }
  }
  return held;
}

// A pattern over strings of the failure record: each candidate is (pointer suffix, text).
bool record_pattern(const PredicateCall& call, const RunContext& run, Sink& out,
                    const std::vector<std::pair<std::string, std::string>>& candidates) {
  bool held = false;
  for (const auto& [suffix, text] : candidates) {
    if (!search(call, text)) continue;
    out.push_back({"run_event", run.pointer + suffix, one_line(text), std::nullopt});
    held = true;
  }
  return held;
}

std::vector<std::pair<std::string, std::string>> record_strings(const RunContext& run, Predicate predicate) {
  std::vector<std::pair<std::string, std::string>> out;
  const Json& failure = run.failure;
  if (predicate == Predicate::run_failure_message) {
    out.emplace_back("/runFailureMessage", string_of(failure, "runFailureMessage"));
    out.emplace_back("/runFailureErrorMessage", string_of(failure, "runFailureErrorMessage"));
  } else if (predicate == Predicate::engine_event) {
    const Json& events = array_of(failure, "engineEvents");
    for (rapidjson::SizeType i = 0; i < events.Size(); ++i) {
      if (events[i].IsString()) out.emplace_back(fmt::format("/engineEvents/{}", i), events[i].GetString());
    }
  } else {  // step_error: each step error's event message, then its error message
    const Json& errors = array_of(failure, "stepErrors");
    for (rapidjson::SizeType i = 0; i < errors.Size(); ++i) {
      out.emplace_back(fmt::format("/stepErrors/{}/message", i), string_of(errors[i], "message"));
      out.emplace_back(fmt::format("/stepErrors/{}/errorMessage", i), string_of(errors[i], "errorMessage"));
    }
  }
  return out;
}

bool error_class(const PredicateCall& call, const RunContext& run, Sink& out) {
  std::vector<std::pair<std::string, std::string>> candidates = {
      {"/errorClass", string_of(run.failure, "errorClass")},
      {"/runFailureErrorClass", string_of(run.failure, "runFailureErrorClass")}};
  const Json& errors = array_of(run.failure, "stepErrors");
  for (rapidjson::SizeType i = 0; i < errors.Size(); ++i) {
    candidates.emplace_back(fmt::format("/stepErrors/{}/errorClass", i), string_of(errors[i], "errorClass"));
    const Json& chain = array_of(errors[i], "causeChain");
    for (rapidjson::SizeType j = 0; j < chain.Size(); ++j) {
      candidates.emplace_back(fmt::format("/stepErrors/{}/causeChain/{}/className", i, j), string_of(chain[j], "className"));
    }
  }
  for (const auto& [suffix, name] : candidates) {
    if (!same_class(name, call.name)) continue;
    out.push_back({"run_event", run.pointer + suffix, one_line("error class " + name), std::nullopt});
    return true;  // one citation is enough: the classes repeat along the chain
  }
  return false;
}

bool materializations(const PredicateCall& call, const RunContext& run, Sink& out) {
  std::size_t done = array_of(run.failure, "materializations").Size();
  if ((done > 0) != call.present) return false;
  out.push_back({"run_event", run.pointer + "/materializations",
                 fmt::format("{} of {} planned materializations done", done,
                             array_of(run.failure, "plannedMaterializations").Size()),
                 std::nullopt});
  return true;
}

bool logs_captured_absent(const RunContext& run, Sink& out) {
  const Json& errors = array_of(run.failure, "stepErrors");
  if (errors.Empty()) return false;
  std::string step = string_of(errors[0], "stepKey");
  if (step.empty()) return false;
  const Json& captured = array_of(run.failure, "logsCapturedSteps");
  for (const auto& item : captured.GetArray()) {
    if (item.IsString() && step == item.GetString()) return false;
  }
  out.push_back({"run_event", run.pointer + "/logsCapturedSteps",
                 one_line(fmt::format("no LOGS_CAPTURED for failing step {}", step)), std::nullopt});
  return true;
}

bool tag(const PredicateCall& call, const RunContext& run, Sink& out) {
  const Json* tags = member(run.failure, "tags");
  const Json* value = tags != nullptr ? member(*tags, call.name.c_str()) : nullptr;
  if (value == nullptr || !value->IsString()) return false;
  if (call.value && *call.value != value->GetString()) return false;
  out.push_back({"run_event", run.pointer + "/tags/" + token(call.name),
                 one_line(fmt::format("tag {}={}", call.name, value->GetString())), std::nullopt});
  return true;
}

bool holds(const PredicateCall& call, const RunContext& run, Sink& out) {
  switch (call.predicate) {
    case Predicate::pod_event: return pod_event(call, run, out);
    case Predicate::agent_error: return agent_error(call, run, out);
    case Predicate::run_failure_message:
    case Predicate::engine_event:
    case Predicate::step_error: return record_pattern(call, run, out, record_strings(run, call.predicate));
    case Predicate::materializations: return materializations(call, run, out);
    case Predicate::logs_captured_absent: return logs_captured_absent(run, out);
    case Predicate::error_class: return error_class(call, run, out);
    case Predicate::tag: return tag(call, run, out);
  }
  return false;
}

// The rule's evidence when it fires, else nullopt.
std::optional<Sink> fire(const ReclassifyRule& rule, const RunContext& run) {
  Sink evidence;
  for (const auto& call : rule.when) {
    if (!holds(call, run, evidence)) return std::nullopt;
  }
  Sink ignored;
  for (const auto& call : rule.unless) {
    if (holds(call, run, ignored)) return std::nullopt;
  }
  return evidence;
}

// Runs read on one thread: a part of fewer is read faster than a thread starts.
constexpr std::size_t k_min_part = 256;

Reclassification reclassify_run(const RunContext& run, const ReclassifyRules& rules) {
  Reclassification result;
  result.run_id = run.run_id;
  std::string collected = string_of(run.failure, "category");
  auto category = collected.empty() ? std::optional<Category>(Category::unclassified) : parse_category(collected);
  result.collected = category.value_or(Category::unclassified);
  result.collected_rule_id = string_of(run.failure, "ruleId");
  result.category = result.collected;
  result.rule_id = result.collected_rule_id;
  auto end = epoch_of(run.failure, "endTime");
  result.evidence.push_back({"run", run.pointer,
                             one_line(fmt::format("run {} ({}) failed: {}", run.run_id.substr(0, 8),
                                                  string_of(run.failure, "jobName"),
                                                  string_of(run.failure, "runFailureMessage"))),
                             end});
  if (!category) return result;  // a category this day2 does not know: leave it alone
  for (const auto& rule : rules.rules) {
    if (std::find(rule.from.begin(), rule.from.end(), *category) == rule.from.end()) continue;
    auto evidence = fire(rule, run);
    if (!evidence) continue;
    result.category = rule.to;
    result.rule_id = rule.id;
    result.reclassified = true;
    result.guidance = rule.guidance;
    result.evidence.insert(result.evidence.end(), evidence->begin(), evidence->end());
    break;
  }
  return result;
}

}  // namespace

std::map<std::string, Reclassification> reclassify(const rapidjson::Value& artifact, const ReclassifyRules& rules) {
  std::map<std::string, Reclassification> out;
  const Json* step = step_payload(artifact, step_key(StepId::failed_runs));
  if (step == nullptr) return out;
  const Json& failures = array_of(*step, "failures");
  // Each run is read alone, so the runs are read in parts at once.
  std::vector<std::optional<Reclassification>> results(failures.Size());
  recorder::for_each_part(failures.Size(), k_min_part, [&](std::size_t from, std::size_t to) {
    for (auto i = static_cast<rapidjson::SizeType>(from); i < to; ++i) {
      const Json& failure = failures[i];
      std::string run_id = string_of(failure, "runId");
      if (run_id.empty()) continue;
      auto start = epoch_of(failure, "startTime");
      auto end = epoch_of(failure, "endTime");
      RunContext run{artifact, failure, fmt::format("/step_01_failed_runs/failures/{}", i), run_id,
                     run_extent(start, end, never_started_timeout(string_of(failure, "runFailureMessage")))};
      results[i] = reclassify_run(run, rules);
    }
  });
  for (auto& result : results) {  // in the artifact's order: a repeated run id keeps its first run
    if (result) out.emplace(result->run_id, std::move(*result));
  }
  return out;
}

}  // namespace analyzer
