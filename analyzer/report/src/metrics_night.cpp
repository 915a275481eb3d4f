#include "analyzer/report/night_metrics.hpp"

#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "recorder/http.hpp"
#include "recorder/redact.hpp"
#include "recorder/base/text.hpp"
#include "recorder/base/time.hpp"

namespace analyzer {


std::string_view metrics::LabelTraits<RunStatus>::value(RunStatus s) {
  switch (s) {
    case RunStatus::success: return "success";
    case RunStatus::failure: return "failure";
    case RunStatus::canceled: return "canceled";
    case RunStatus::queued: return "queued";
  }
  return "unknown";
}

std::string_view metrics::LabelTraits<StepOutcome>::value(StepOutcome o) {
  switch (o) {
    case StepOutcome::ok: return "ok";
    case StepOutcome::error: return "error";
    case StepOutcome::skipped: return "skipped";
  }
  return "unknown";
}

std::string_view metrics::LabelTraits<ActionWord>::value(ActionWord a) {
  switch (a) {
    case ActionWord::escalate: return "escalate";
    case ActionWord::investigate: return "investigate";
    case ActionWord::monitor: return "monitor";
    case ActionWord::no_action: return "no_action";
    case ActionWord::none: return "none";
  }
  return "unknown";
}

namespace {

using Json = rapidjson::Value;

constexpr std::string_view k_no_rule = "none";

// A step's payload when it is an object that holds neither an error nor a skip; else nullptr.
const Json* payload_of(const Json& artifact, StepId id) {
  const Json* step = recorder::get_object(artifact, step_key(id));
  if (step == nullptr || step->HasMember("error")) return nullptr;
  if (auto skipped = recorder::get_bool(*step, "skipped"); skipped && *skipped) return nullptr;
  return step;
}

StepOutcome outcome_of(const Json& artifact, StepId id) {
  const Json* step = recorder::get_object(artifact, step_key(id));
  if (step == nullptr || step->HasMember("error")) return StepOutcome::error;
  if (auto skipped = recorder::get_bool(*step, "skipped"); skipped && *skipped) return StepOutcome::skipped;
  return StepOutcome::ok;
}

const Json& array_or_empty(const Json* object, const char* key) {
  static const Json empty(rapidjson::kArrayType);
  const Json* array = object ? recorder::get_array(*object, key) : nullptr;
  return array ? *array : empty;
}

// A count member: a finite, non-negative number; else nullopt (the sample is dropped, not guessed).
std::optional<double> count_of(const Json* object, const char* key) {
  if (object == nullptr) return std::nullopt;
  auto value = recorder::get_number(*object, key);
  if (!value || !std::isfinite(*value) || *value < 0) return std::nullopt;
  return value;
}

struct FailedRun {
  std::optional<Category> category;
  std::string rule;
  std::string location;
  std::string job;
};

struct TickFailures {
  TickKind kind;
  std::string location;
  double count;
};

std::vector<FailedRun> failed_runs(const Json& artifact) {
  std::vector<FailedRun> out;
  for (const auto& failure : array_or_empty(payload_of(artifact, StepId::failed_runs), "failures").GetArray()) {
    if (!failure.IsObject()) continue;
    FailedRun run;
    run.category = parse_category(recorder::get_string(failure, "category").value_or(""));
    run.rule = recorder::get_string(failure, "ruleId").value_or("");
    run.location = recorder::get_string(failure, "location").value_or("");
    run.job = recorder::get_string(failure, "jobName").value_or("");
    out.push_back(std::move(run));
  }
  return out;
}

// Step 03 {location: {sensor: {"failureCount": N}}} and step 06 {"scheduleTickFailures":
// {"<location>/<schedule>": [ticks]}}.
std::vector<TickFailures> tick_failures(const Json& artifact) {
  std::vector<TickFailures> out;
  if (const Json* sensors = payload_of(artifact, StepId::sensor_ticks)) {
    for (const auto& location : sensors->GetObject()) {
      if (!location.value.IsObject()) continue;
      std::string name(location.name.GetString(), location.name.GetStringLength());
      for (const auto& sensor : location.value.GetObject()) {
        if (!sensor.value.IsObject()) continue;
        if (auto count = count_of(&sensor.value, "failureCount")) out.push_back({TickKind::sensor, name, *count});
      }
    }
  }
  if (const Json* schedules = payload_of(artifact, StepId::schedule_ticks)) {
    if (const Json* failures = recorder::get_object(*schedules, "scheduleTickFailures")) {
      for (const auto& schedule : failures->GetObject()) {
        if (!schedule.value.IsArray()) continue;
        std::string key(schedule.name.GetString(), schedule.name.GetStringLength());
        auto slash = key.rfind('/');
        out.push_back({TickKind::schedule, slash == std::string::npos ? std::string() : key.substr(0, slash),
                       static_cast<double>(schedule.value.Size())});
      }
    }
  }
  return out;
}

bool all_read(const Json& artifact) {
  for (const auto& info : step_table()) {
    const Json* step = recorder::get_object(artifact, info.key);
    if (step == nullptr || step->HasMember("error")) return false;
    const Json* items = recorder::get_array(*step, "itemErrors");
    if (items != nullptr && !items->Empty()) return false;
  }
  return true;
}

// RFC 4648 base64url with its padding, as the Pushgateway reads it ("=" alone for the empty string).
std::string padded_base64url(std::string_view text) {
  std::string out = recorder::base64url(text);  // the JWT encoder's: no padding
  while (out.size() % 4 != 0) out += '=';
  return out.empty() ? "=" : out;
}

// One grouping label: "/name/value", or "/name@base64/<base64url>" when the value is empty or holds
// a "/" (the Pushgateway's documented escape); other characters are percent-encoded.
std::string grouping(std::string_view name, std::string_view value) {
  if (value.empty() || value.find('/') != std::string_view::npos) {
    return fmt::format("/{}@base64/{}", name, padded_base64url(value));
  }
  return fmt::format("/{}/{}", name, recorder::url_encode(value));
}

// day2_runs by status (steps 01 and 14) and day2_queued_runs_stuck (step 14).
void add_run_counts(metrics::Registry& registry, const Json& artifact) {
  auto runs = registry.gauge<RunStatus>("day2_runs", "Runs of the window by status (queued: waiting at the end of the window).");
  auto stuck = registry.gauge<>("day2_queued_runs_stuck", "Queued runs older than thresholds.stuck_queue_minutes.");
  const Json* step01 = payload_of(artifact, StepId::failed_runs);
  if (auto n = count_of(step01, "successCount")) runs.set(*n, RunStatus::success);
  if (auto n = count_of(step01, "failureCount")) runs.set(*n, RunStatus::failure);
  if (auto n = count_of(step01, "canceledCount")) runs.set(*n, RunStatus::canceled);
  const Json* step14 = payload_of(artifact, StepId::queued_runs);
  if (step14 != nullptr) {
    runs.set(static_cast<double>(array_or_empty(step14, "runs").Size()), RunStatus::queued);
    if (auto n = count_of(step14, "stuckCount")) stuck.set(*n);
  }
}

// How much each code location failed (its failed runs, failed ticks and load failures): what ranks
// the top N locations that get a label of their own.
std::map<std::string, double> location_weights(const std::vector<FailedRun>& failures,
                                               const std::vector<TickFailures>& ticked, const Json* step05) {
  std::map<std::string, double> location_weight;
  for (const auto& run : failures) location_weight[run.location] += 1;
  for (const auto& tick : ticked) location_weight[tick.location] += tick.count;
  for (const auto& failure : array_or_empty(step05, "loadFailures").GetArray()) {
    if (failure.IsObject()) location_weight[recorder::get_string(failure, "location").value_or("")] += 1;
  }
  return location_weight;
}

// The failed runs by category and rule, by location and by job; the failed ticks and the load failures.
void add_failure_counts(metrics::Registry& registry, const Json& artifact, const RuleSet& rules,
                        const MetricsSettings& settings) {
  auto failed = registry.gauge<Category, RuleName>(
      "day2_failed_runs", "Failed runs of the window by category and the classification rule that matched (none: no rule).");
  auto by_location = registry.gauge<LocationName>("day2_failed_runs_by_location",
                                                  "Failed runs of the window by code location (top N, the rest other).");
  auto by_job = registry.gauge<JobName>("day2_failed_runs_by_job", "Failed runs of the window by job (top N, the rest other).");
  auto ticks = registry.gauge<TickKind, LocationName>("day2_tick_failures",
                                                      "Failed sensor and schedule ticks of the window by code location.");
  auto loads = registry.gauge<LocationName>("day2_location_load_failures", "Code locations that failed to load, by location.");

  auto failures = failed_runs(artifact);
  auto ticked = tick_failures(artifact);
  const Json* step05 = payload_of(artifact, StepId::load_failures);
  std::map<std::string, double> job_weight;
  for (const auto& run : failures) job_weight[run.job] += 1;
  auto locations = metrics::NameSet<LocationTag>::top(location_weights(failures, ticked, step05),
                                                      static_cast<std::size_t>(settings.top_locations));
  auto jobs = metrics::NameSet<JobTag>::top(job_weight, static_cast<std::size_t>(settings.top_jobs));
  auto rule_set = rule_names(rules);
  for (const auto& run : failures) {
    // No category: no useful label, the sample is dropped (day2_runs{status="failure"} still counts it).
    if (run.category) failed.add(1, *run.category, rule_set(run.rule.empty() ? k_no_rule : run.rule));
    by_location.add(1, locations(run.location));
    by_job.add(1, jobs(run.job));
  }
  for (const auto& tick : ticked) ticks.add(tick.count, tick.kind, locations(tick.location));
  for (const auto& failure : array_or_empty(step05, "loadFailures").GetArray()) {
    if (failure.IsObject()) loads.add(1, locations(recorder::get_string(failure, "location").value_or("")));
  }
}

// Each step's outcome (one sample per outcome, 1 for the step's) and the wall time of each that ran.
void add_step_outcomes(metrics::Registry& registry, const Json& artifact, const CollectFacts& facts) {
  auto steps = registry.gauge<StepId, StepOutcome>("day2_step_status",
                                                   "1 for each step's outcome in this collection (ok, error, skipped), else 0.");
  auto durations = registry.gauge<StepId>("day2_collect_duration_seconds", "Wall time of each collection step that ran.");
  for (const auto& info : step_table()) {
    auto outcome = outcome_of(artifact, info.id);
    for (auto each : {StepOutcome::ok, StepOutcome::error, StepOutcome::skipped}) {
      steps.set(each == outcome ? 1 : 0, info.id, each);
    }
  }
  for (const auto& [id, seconds] : facts.step_seconds) durations.set_seconds(seconds, id);
}

// The items the steps could not read, over every step.
double unreadable_items(const Json& artifact) {
  double items = 0;
  for (const auto& info : step_table()) {
    const Json* step = recorder::get_object(artifact, info.key);
    const Json* errors = step ? recorder::get_array(*step, "itemErrors") : nullptr;
    items += errors ? errors->Size() : 0;
  }
  return items;
}

// The end of the collected window (the artifact's window.utc_end), in Unix seconds.
std::optional<double> window_end_seconds(const Json& artifact) {
  const Json* window = recorder::get_object(artifact, "window");
  if (window == nullptr) return std::nullopt;
  auto end = recorder::get_string(*window, "utc_end");
  if (!end) return std::nullopt;
  auto instant = recorder::parse_rfc3339(*end);
  if (!instant) return std::nullopt;
  return std::chrono::duration<double>(instant->time_since_epoch()).count();
}

// Whether the collection read everything, when it last did, and the end of its window.
void add_collection_health(metrics::Registry& registry, const Json& artifact, const CollectFacts& facts) {
  auto unread = registry.gauge<>("day2_unreadable_items", "Items a step could not read (one failed run's events, ...).");
  auto success = registry.gauge<>("day2_collect_success", "1 when every step succeeded and every item was read, else 0.");
  auto last = registry.gauge<>("day2_last_success_timestamp_seconds",
                               "When the last fully successful collection ran (its now), in Unix seconds.");
  auto window_end = registry.gauge<>("day2_window_end_timestamp_seconds", "End of the collected window, in Unix seconds.");
  unread.set(unreadable_items(artifact));
  bool ok = all_read(artifact);
  success.set(ok ? 1 : 0);
  if (ok && facts.now) {
    last.set(*facts.now);
  } else if (facts.previous_success) {
    last.set(*facts.previous_success);
  }
  if (auto end = window_end_seconds(artifact)) window_end.set(*end);
}

}  // namespace

metrics::NameSet<RuleTag> rule_names(const RuleSet& rules, const ReclassifyRules* reclassify) {
  std::set<std::string> ids{std::string(k_no_rule)};
  for (const auto& rule : rules.rules) ids.insert(rule.id);
  if (reclassify != nullptr) {
    for (const auto& rule : reclassify->rules) ids.insert(rule.id);
  }
  return metrics::NameSet<RuleTag>::of(std::move(ids));
}

metrics::Registry collect_metrics(const Json& artifact, const RuleSet& rules, const MetricsSettings& settings,
                                  const CollectFacts& facts) {
  metrics::Registry registry;
  add_run_counts(registry, artifact);
  add_failure_counts(registry, artifact, rules, settings);
  add_step_outcomes(registry, artifact, facts);
  add_collection_health(registry, artifact, facts);
  return registry;
}

recorder::Result<void> write_metrics_file(const std::string& path, const std::string& text) {
  return recorder::write_file_atomic(path, text);
}

std::optional<double> previous_success(const std::string& path) {
  auto text = recorder::read_file(path, std::size_t{4} << 20);  // a textfile is small; none yet is fine
  if (!text) return std::nullopt;
  return metrics::read_sample(*text, "day2_last_success_timestamp_seconds");
}

std::string push_path(const std::string& job, const std::string& instance) {
  return "/metrics" + grouping("job", job) + grouping("instance", instance);
}

recorder::Result<void> push_metrics(recorder::Transport& transport, const std::string& base, const std::string& job,
                                    const std::string& instance, const std::string& text) {
  std::string root = base;
  while (!root.empty() && root.back() == '/') root.pop_back();
  if (auto url = recorder::parse_url(root); !url) {
    return recorder::make_error(fmt::format("--pushgateway {}: {}", recorder::safe_url(base), url.error().message));
  }
  recorder::HttpRequest request;
  request.method = "PUT";
  request.url = root + push_path(job, instance);
  request.headers.push_back({"Content-Type", "text/plain; version=0.0.4; charset=utf-8"});
  request.body = text;
  auto response = transport.send(request);
  if (!response) {
    return recorder::make_error(fmt::format("push to {} failed: {}", recorder::safe_url(request.url), response.error().message));
  }
  if (response->status < 200 || response->status > 299) {
    return recorder::make_error(fmt::format("push to {} failed: HTTP {}: {}", recorder::safe_url(request.url), response->status,
                                            recorder::excerpt(response->body, 200)));
  }
  return {};
}

}  // namespace analyzer
