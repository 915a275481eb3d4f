// The night as Prometheus metrics (docs/metrics.md): `collect --metrics FILE` / `--pushgateway URL`
// write what the artifact says (runs, failed runs by category and rule, tick and load failures, each
// step's outcome and duration, the last successful collection); `report --metrics FILE` adds the
// report's findings and actions. Every label is a closed set (metrics.hpp): the categories, the 17
// steps, ok/error/skipped, the action words; rule ids are the loaded rules' (else "other"); location
// and job names are the top N of the night by configuration (metrics.top_locations, top_jobs), the
// rest "other".
#pragma once

#include <map>
#include <optional>
#include <string>

#include "analyzer/artifact/artifact.hpp"
#include "analyzer/config/config.hpp"
#include "analyzer/metrics/metrics.hpp"
#include "analyzer/classify/reclassify.hpp"
#include "analyzer/classify/rules.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/result.hpp"
#include "recorder/transport.hpp"

namespace analyzer {

enum class RunStatus { success, failure, canceled, queued };
enum class StepOutcome { ok, error, skipped };
enum class TickKind { sensor, schedule };
// The report's action words (docs/report.md "Action rules").
// none: a finding that gets no row of its own (the run rows cover it).
enum class ActionWord { escalate, investigate, monitor, no_action, none };

struct RuleTag { static constexpr std::string_view name = "rule"; };
struct LocationTag { static constexpr std::string_view name = "location"; };
struct JobTag { static constexpr std::string_view name = "job"; };
struct FindingTag { static constexpr std::string_view name = "finding"; };
struct CauseTag { static constexpr std::string_view name = "cause"; };

using RuleName = metrics::Name<RuleTag>;
using LocationName = metrics::Name<LocationTag>;
using JobName = metrics::Name<JobTag>;
using FindingName = metrics::Name<FindingTag>;
using CauseName = metrics::Name<CauseTag>;

// The rule label's values: the ids of `rules` and of `reclassify`, plus "none" (no rule matched).
metrics::NameSet<RuleTag> rule_names(const RuleSet& rules, const ReclassifyRules* reclassify = nullptr);

// What collect knows beyond the artifact.
struct CollectFacts {
  std::map<StepId, double> step_seconds;      // each step that ran: its wall time
  std::optional<double> now;                  // the collection's "now" (epoch seconds)
  std::optional<double> previous_success;     // day2_last_success_timestamp_seconds of the file replaced
};

// The collect families of `artifact` (never throws: a malformed step counts as an error outcome and
// adds no samples). `facts.now` becomes day2_last_success_timestamp_seconds when every step is ok
// and every item was read; otherwise the previous value is carried over (when known).
metrics::Registry collect_metrics(const rapidjson::Value& artifact, const RuleSet& rules, const MetricsSettings& settings,
                                  const CollectFacts& facts);

// Writes `text` to `path` atomically (the textfile collector never sees half a file).
recorder::Result<void> write_metrics_file(const std::string& path, const std::string& text);

// The previous file's day2_last_success_timestamp_seconds, if `path` holds one.
std::optional<double> previous_success(const std::string& path);

// PUT `text` to the Pushgateway at `base` under job `settings.job` and instance `instance`
// (`<base>/metrics/job/<job>/instance/<instance>`, label values with "/" or empty in base64url with
// "@base64", docs/metrics.md). An Error names the gateway's URL (without credentials) and its status.
recorder::Result<void> push_metrics(recorder::Transport& transport, const std::string& base, const std::string& job,
                                    const std::string& instance, const std::string& text);

// The grouping path of a push: "/metrics/job/<job>/instance/<instance>" with each value encoded.
std::string push_path(const std::string& job, const std::string& instance);

}  // namespace analyzer

namespace analyzer::metrics {
template <>
struct LabelTraits<Category> {
  static constexpr std::string_view name = "category";
  static std::string_view value(Category c) { return to_string(c); }
};
template <>
struct LabelTraits<StepId> {
  static constexpr std::string_view name = "step";
  static std::string_view value(StepId s) { return step_key(s); }
};
template <>
struct LabelTraits<RunStatus> {
  static constexpr std::string_view name = "status";
  static std::string_view value(RunStatus s);
};
template <>
struct LabelTraits<StepOutcome> {
  static constexpr std::string_view name = "outcome";
  static std::string_view value(StepOutcome o);
};
template <>
struct LabelTraits<TickKind> {
  static constexpr std::string_view name = "kind";
  static std::string_view value(TickKind k) { return k == TickKind::sensor ? "sensor" : "schedule"; }
};
template <>
struct LabelTraits<ActionWord> {
  static constexpr std::string_view name = "action";
  static std::string_view value(ActionWord a);
};
}  // namespace analyzer::metrics
