// The --details dump: failures, retries, the Google Cloud findings (agent pod churn, cluster and pod
// events, alerts, error groups, OOM runs), asset checks and degraded-asset clusters. Rows are
// sorted (time, then ids) so that the same artifact always prints the same text.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <ostream>
#include <sstream>
#include <string_view>
#include <tuple>
#include <vector>

#include "analyzer/artifact/artifact.hpp"
#include "summarize_steps.hpp"

namespace analyzer::summary {

namespace {

// `items` sorted, joined with ", "; "-" when there are none.
std::string join(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  std::string text;
  for (const auto& item : items) { text += (text.empty() ? "" : ", ") + item; }
  return text.empty() ? "-" : text;
}

struct Row {
  std::string sort_key;
  std::string text;  // one or more lines, each ending in '\n'
};

std::string_view why_unusable(StepState state) {
  switch (state) {
    case StepState::ok: return "ok";
    case StepState::error: return "holds an error";
    case StepState::skipped: return "was skipped";
    case StepState::malformed: return "is malformed";
  }
  return "?";
}

// The payload of step `key` when it is usable; otherwise says why section `title` is unavailable.
const Json* step_payload(const std::vector<Step>& steps, std::string_view key, std::string_view title,
                         std::ostream& out) {
  auto it = std::find_if(steps.begin(), steps.end(), [&](const Step& step) { return step.key == key; });
  if (it == steps.end()) {
    out << title << ": unavailable (" << key << " is absent)\n";
    return nullptr;
  }
  if (it->state != StepState::ok) {
    out << title << ": unavailable (" << key << ' ' << why_unusable(it->state) << ")\n";
    return nullptr;
  }
  return it->value;
}

// The array `payload[key]`; otherwise says why section `title` cannot be listed.
const Json* list_of(const Json& payload, const char* key, std::string_view title, std::ostream& out) {
  const Json* list = member(payload, key);
  if (list == nullptr) {
    out << title << ": ? (no \"" << key << "\")\n";
  } else if (!list->IsArray()) {
    out << title << ": ? (\"" << key << "\" is " << type_name(*list) << ", expected an array)\n";
    list = nullptr;
  }
  return list;
}

// Renders every entry of `list` with `render` (entries that are not objects get a "?" row).
template <class Render>
std::vector<Row> rows_of(const Json& list, Render render) {
  std::vector<Row> rows;
  for (const auto& entry : list.GetArray()) {
    if (entry.IsObject()) {
      rows.push_back(render(entry));
    } else {
      rows.push_back({"~", fmt::format("  ? (entry is {}, expected an object)\n", type_name(entry))});
    }
  }
  return rows;
}

void print_rows(std::string_view title, std::vector<Row> rows, std::ostream& out) {
  if (rows.empty()) {
    out << title << ": none\n";
    return;
  }
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return std::tie(a.sort_key, a.text) < std::tie(b.sort_key, b.text); });
  out << title << " (" << rows.size() << "):\n";
  for (const auto& row : rows) { out << row.text; }
}

std::string first_step_error(const Json& failure) {
  const Json* errors = member(failure, "stepErrors");
  if (errors == nullptr || (errors->IsArray() && errors->Empty())) { return "-"; }
  if (!errors->IsArray() || !errors->Begin()->IsObject()) { return "?"; }
  auto shown = shown_step_error(failure);
  const Json& error = *shown.error;
  std::string attempts = shown.attempts > 1 ? fmt::format(" (final attempt of {})", shown.attempts) : "";
  // Dagster wraps the user's exception (DagsterExecutionStepExecutionError): show the cause.
  const Json* chain = member(error, "causeChain");
  if (chain != nullptr && chain->IsArray() && !chain->Empty() && chain->Begin()->IsObject() &&
      text_of(*chain->Begin(), "message") != "-") {
    const Json& cause = *chain->Begin();
    std::string cause_class = text_of(cause, "className");
    std::string cause_message = text_of(cause, "message");
    // PythonError messages usually start with their class already ("ValueError: ...").
    if (cause_message.find(cause_class + ":") == std::string::npos) cause_message = cause_class + ": " + cause_message;
    return fmt::format("{}: {} (under {}){}", text_of(error, "stepKey"), cause_message, text_of(error, "errorClass"), attempts);
  }
  std::string message = text_of(error, "errorMessage");
  if (message == "-") { message = text_of(error, "message"); }
  std::string error_class = text_of(error, "errorClass");
  // A message that already names its class ("PermissionError: ...", "module.Error: ...") is shown once.
  if (error_class == "-" || message.find(error_class + ":") != std::string::npos) {
    return fmt::format("{}: {}{}", text_of(error, "stepKey"), message, attempts);
  }
  return fmt::format("{}: {}: {}{}", text_of(error, "stepKey"), error_class, message, attempts);
}

Row failure_row(const Json& f) {
  std::string run_id = text_of(f, "runId");
  std::string start = time_of(f, "startTime");
  std::string text = fmt::format("  {}  job {}  location {}\n", run_id, text_of(f, "jobName"), text_of(f, "location"));
  text += fmt::format("    category: {}  rule: {}\n", text_of(f, "category"), text_of(f, "ruleId"));
  if (const Json* error = member(f, "eventsError")) {
    text += fmt::format("    evidence incomplete: the event log could not be read ({}); classified from the "
                        "run's tags and the events read before the error\n",
                        error->IsString() ? clean({error->GetString(), error->GetStringLength()}) : json_text(*error));
  }
  text += fmt::format("    start: {}  end: {}\n", start, time_of(f, "endTime"));
  text += fmt::format("    runFailureMessage: {}\n", text_of(f, "runFailureMessage"));
  text += fmt::format("    first step error: {}\n", first_step_error(f));
  return {start + ' ' + run_id, std::move(text)};
}

void print_failures(const std::vector<Step>& steps, std::ostream& out) {
  constexpr std::string_view title = "Failures";
  const Json* payload = step_payload(steps, step_key(StepId::failed_runs), title, out);
  const Json* list = payload != nullptr ? list_of(*payload, "failures", title, out) : nullptr;
  if (list != nullptr) { print_rows(title, rows_of(*list, failure_row), out); }
}

Row retry_row(const Json& r) {
  std::string parent = text_of(r, "parentRunId");
  std::string retry = text_of(r, "retryRunId");
  return {parent + ' ' + retry, fmt::format("  {} → {}  {}\n", parent, retry, text_of(r, "retryStatus"))};
}

void print_retries(const std::vector<Step>& steps, std::ostream& out) {
  constexpr std::string_view title = "Retries";
  const Json* payload = step_payload(steps, step_key(StepId::retries), title, out);
  const Json* list = payload != nullptr ? list_of(*payload, "retries", title, out) : nullptr;
  if (list != nullptr) { print_rows(title, rows_of(*list, retry_row), out); }
}

Row pod_event_row(const Json& e) {
  std::string time = time_of(e, "timestamp");
  std::string pod = text_of(e, "podName");
  return {time + ' ' + pod, fmt::format("  {}  {}  {}  run {}  {}\n", time, pod, text_of(e, "reason"),
                                        text_of(e, "runId"), text_of(e, "runStatus"))};
}

// Pod events appear only when step 10 carries them: they are optional (Google Cloud access).
void print_pod_events(const std::vector<Step>& steps, std::ostream& out) {
  auto it = std::find_if(steps.begin(), steps.end(), [](const Step& s) { return s.key == step_key(StepId::gke_events); });
  if (it == steps.end() || it->state != StepState::ok || member(*it->value, "podEvents") == nullptr) { return; }
  if (const Json* list = list_of(*it->value, "podEvents", "Pod events", out)) {
    print_rows("Pod events", rows_of(*list, pod_event_row), out);
  }
}

// The payload of `key` when the step is present and ok, else null: the Google Cloud sections are
// optional (no Google Cloud configuration), and the error gate already reports failed steps.
const Json* optional_payload(const std::vector<Step>& steps, std::string_view key) {
  auto it = std::find_if(steps.begin(), steps.end(), [&](const Step& s) { return s.key == key; });
  return it == steps.end() || it->state != StepState::ok ? nullptr : it->value;
}

std::string number_text(const Json& object, const char* key) {
  const Json* value = member(object, key);
  if (value == nullptr || value->IsNull()) { return "-"; }
  return value->IsNumber() ? fmt::format("{:g}", value->GetDouble()) : "?";
}

Row churn_row(const Json& e) {
  std::string time = time_of(e, "timestamp");
  std::string pod = text_of(e, "podName");
  return {time + ' ' + pod, fmt::format("  {}  {}  status {}\n", time, pod, number_text(e, "statusCode"))};
}

void print_agent_churn(const std::vector<Step>& steps, std::ostream& out) {
  const Json* payload = optional_payload(steps, step_key(StepId::agent_pod_churn));
  if (payload == nullptr || member(*payload, "events") == nullptr) { return; }
  out << fmt::format("Agent pod churn: {} creates, verdict {} (replicas {}, maxSurge {}%)\n",
                     number_text(*payload, "createCount"), text_of(*payload, "verdict"),
                     number_text(*payload, "expectedReplicas"),
                     number_text(*payload, "maxSurgePercent"));
  if (const Json* list = list_of(*payload, "events", "Agent pod creations", out)) {
    print_rows("Agent pod creations", rows_of(*list, churn_row), out);
  }
}

Row cluster_event_row(const Json& e) {
  std::string time = time_of(e, "timestamp");
  std::string name = text_of(e, "name");
  return {time + ' ' + name, fmt::format("  {}  {} {}  {}  {}\n", time, text_of(e, "kind"), name, text_of(e, "reason"),
                                         text_of(e, "message"))};
}

void print_cluster_events(const std::vector<Step>& steps, std::ostream& out) {
  const Json* payload = optional_payload(steps, step_key(StepId::gke_events));
  if (payload == nullptr || member(*payload, "clusterEvents") == nullptr) { return; }
  if (const Json* list = list_of(*payload, "clusterEvents", "Cluster events", out)) {
    print_rows("Cluster events", rows_of(*list, cluster_event_row), out);
  }
}

Row alert_row(const Json& a) {
  std::string open = time_of(a, "openTime");
  std::string name = text_of(a, "name");
  return {open + ' ' + name, fmt::format("  {} → {}  {}  {}  {}  {}\n", open, time_of(a, "closeTime"),
                                         text_of(a, "severity"), text_of(a, "policy"), text_of(a, "resourceType"),
                                         name)};
}

void print_alerts(const std::vector<Step>& steps, std::ostream& out) {
  const Json* payload = optional_payload(steps, step_key(StepId::alerts));
  if (payload == nullptr || member(*payload, "alerts") == nullptr) { return; }
  if (const Json* list = list_of(*payload, "alerts", "Alerts", out)) {
    print_rows("Alerts", rows_of(*list, alert_row), out);
  }
}

Row oom_row(const Json& r) {
  std::string run_id = text_of(r, "runId");
  std::vector<std::string> evidence;
  if (const Json* list = member(r, "evidence"); list && list->IsArray()) {
    for (const auto& item : list->GetArray()) {
      if (item.IsString()) evidence.emplace_back(summary::clean({item.GetString(), item.GetStringLength()}));
    }
  }
  std::string strength = member(r, "strength") ? fmt::format("  {} evidence", text_of(r, "strength")) : "";
  return {run_id, fmt::format("  run {}  {}  restarts {}  max memory/limit {}{}{}\n", run_id, text_of(r, "runStatus"),
                              number_text(r, "restarts"), number_text(r, "maxMemoryLimitUtilization"), strength,
                              evidence.empty() ? "" : fmt::format(": {}", join(std::move(evidence))))};
}

void print_oom_runs(const std::vector<Step>& steps, std::ostream& out) {
  const Json* payload = optional_payload(steps, step_key(StepId::oom_metrics));
  if (payload == nullptr || member(*payload, "oomRuns") == nullptr) { return; }
  if (const Json* list = list_of(*payload, "oomRuns", "OOM runs", out)) {
    print_rows("OOM runs", rows_of(*list, oom_row), out);
  }
}

std::string services_text(const Json& group) {
  const Json* services = member(group, "affectedServices");
  if (services == nullptr || services->IsNull()) { return "-"; }
  if (!services->IsArray()) { return "?"; }
  std::vector<std::string> names;
  for (const auto& service : services->GetArray()) {
    std::string version = text_of(service, "version");
    names.push_back(text_of(service, "service") + (version == "-" ? "" : "@" + version));
  }
  return join(std::move(names));
}

std::string correlated_text(const Json& group) {
  const Json* event = member(group, "correlatedPodEvent");
  if (event == nullptr || event->IsNull()) { return "none"; }
  if (!event->IsObject()) { return "?"; }
  return fmt::format("{} at {} on {}", text_of(*event, "reason"), time_of(*event, "timestamp"),
                     text_of(*event, "podName"));
}

Row error_group_row(const Json& g) {
  std::string id = text_of(g, "groupId");
  std::string text = fmt::format("  {}  {}  {}\n", id, text_of(g, "category"), text_of(g, "exception"));
  text += fmt::format("    services: {}\n", services_text(g));
  text += fmt::format("    exceptionLine: {}\n", text_of(g, "exceptionLine"));
  text += fmt::format("    correlated pod event: {}\n", correlated_text(g));
  return {id, std::move(text)};
}

// A bucket lists group ids, or groups: either way print the ids, sorted.
std::string bucket_text(const Json* buckets, const char* key) {
  const Json* bucket = buckets != nullptr ? member(*buckets, key) : nullptr;
  if (bucket == nullptr || !bucket->IsArray()) { return "?"; }
  std::vector<std::string> ids;
  for (const auto& entry : bucket->GetArray()) {
    ids.push_back(entry.IsString() ? first_line({entry.GetString(), entry.GetStringLength()})
                                   : text_of(entry, "groupId"));
  }
  return ids.empty() ? "none" : join(std::move(ids));
}

void print_error_groups(const std::vector<Step>& steps, std::ostream& out) {
  constexpr std::string_view title = "Error groups";
  const Json* payload = step_payload(steps, step_key(StepId::error_groups), title, out);
  if (payload == nullptr) { return; }
  if (const Json* list = list_of(*payload, "groups", title, out)) {
    print_rows(title, rows_of(*list, error_group_row), out);
  }
  const Json* buckets = member(*payload, "buckets");
  out << "  in window: " << bucket_text(buckets, "inWindow") << '\n';
  out << "  stale-open: " << bucket_text(buckets, "staleOpen") << '\n';
}

Row asset_check_row(const Json& c) {
  std::string asset = asset_text(member(c, "asset"));
  std::string check = text_of(c, "check");
  std::string run_id = text_of(c, "runId");
  return {asset + ' ' + check + ' ' + run_id,
          fmt::format("  {}  {}  {}  {}  run {}  {}\n", asset, check, text_of(c, "severity"), text_of(c, "status"),
                      run_id, text_of(c, "description"))};
}

void print_asset_checks(const std::vector<Step>& steps, std::ostream& out) {
  const Json* payload = step_payload(steps, step_key(StepId::asset_checks), "Asset checks", out);
  if (payload == nullptr) { return; }
  for (const char* bucket : {"inWindow_error", "inWindow_warn", "stale_error", "stale_warn"}) {
    std::string title = fmt::format("Asset checks {}", bucket);
    if (const Json* list = list_of(*payload, bucket, title, out)) {
      print_rows(title, rows_of(*list, asset_check_row), out);
    }
  }
}

std::string assets_text(const Json& cluster) {
  const Json* assets = member(cluster, "assets");
  if (assets == nullptr || !assets->IsArray()) { return "?"; }
  std::vector<std::string> names;
  for (const auto& asset : assets->GetArray()) { names.push_back(asset_text(&asset)); }
  return join(std::move(names));
}

// The seed: clusters whose run ended before the window are stale candidates, not impact.
Row cluster_row(const Json& r, std::optional<double> window_start) {
  std::string end = time_of(r, "endTime");
  std::string run_id = text_of(r, "runId");
  const Json* end_time = member(r, "endTime");
  bool stale = window_start && end_time != nullptr && end_time->IsNumber() && end_time->GetDouble() < *window_start;
  return {end + ' ' + run_id,
          fmt::format("  run {}  ended {}{}  {}: {}\n", run_id, end, stale ? " (before the window: stale)" : "",
                      counted(count_text(r, "count", "assets"), "asset", "assets"), assets_text(r))};
}

void print_degraded(const std::vector<Step>& steps, std::optional<double> window_start, std::ostream& out) {
  constexpr std::string_view title = "Degraded assets by run";
  const Json* payload = step_payload(steps, step_key(StepId::degraded_assets), title, out);
  const Json* list = payload != nullptr ? list_of(*payload, "byRun", title, out) : nullptr;
  if (list != nullptr) {
    print_rows(title, rows_of(*list, [&](const Json& r) { return cluster_row(r, window_start); }), out);
  }
}

}  // namespace

void print_details(const std::vector<Step>& steps, std::optional<double> window_start, std::ostream& out) {
  const std::function<void(std::ostream&)> sections[] = {
      [&](std::ostream& o) { print_failures(steps, o); },
      [&](std::ostream& o) { print_retries(steps, o); },
      [&](std::ostream& o) { print_agent_churn(steps, o); },
      [&](std::ostream& o) { print_cluster_events(steps, o); },
      [&](std::ostream& o) { print_pod_events(steps, o); },
      [&](std::ostream& o) { print_alerts(steps, o); },
      [&](std::ostream& o) { print_error_groups(steps, o); },
      [&](std::ostream& o) { print_oom_runs(steps, o); },
      [&](std::ostream& o) { print_asset_checks(steps, o); },
      [&](std::ostream& o) { print_degraded(steps, window_start, o); },
  };
  bool first = true;
  for (const auto& section : sections) {
    std::ostringstream text;
    section(text);
    if (text.view().empty()) { continue; }
    out << (first ? "" : "\n") << text.view();
    first = false;
  }
}

}  // namespace analyzer::summary
