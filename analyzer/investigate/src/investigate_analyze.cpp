// The investigation commands' analyses, pure functions of fetched data: step timelines and event
// gaps (`day2 steps`), stuck runs (`day2 hung`), run comparison (`day2 compare`).
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "analyzer/investigate/investigate.hpp"

namespace analyzer {

StepsReport analyze_steps(const std::vector<RunEvent>& events, double gap_seconds) {
  std::map<std::string, StepTimeline> steps;
  for (const auto& event : events) {
    if (event.step_key.empty() || event.step_key.find(',') != std::string::npos) continue;
    const auto& type = event.event_type;
    if (type == "STEP_START") {
      auto& step = steps[event.step_key];
      step.step_key = event.step_key;
      if (step.start == 0) step.start = event.timestamp;
      ++step.attempts;
      step.end = 0;  // a restarted step is in progress again
      step.outcome = "IN_PROGRESS";
    } else if (type == "STEP_SUCCESS" || type == "STEP_FAILURE" || type == "STEP_SKIPPED") {
      auto& step = steps[event.step_key];
      step.step_key = event.step_key;
      step.end = event.timestamp;
      step.outcome = type.substr(5);
    } else if (auto reason = not_executed_reason(event.step_key, type, event.message); !reason.empty()) {
      auto& step = steps[event.step_key];
      step.step_key = event.step_key;
      step.end = event.timestamp;
      step.outcome = "SKIPPED";
      step.reason = std::move(reason);
    } else if (type == "STEP_UP_FOR_RETRY") {
      auto& step = steps[event.step_key];
      step.step_key = event.step_key;
      step.outcome = "UP_FOR_RETRY";
    }
  }
  StepsReport report;
  for (auto& [key, step] : steps) report.steps.push_back(std::move(step));
  // In the order the steps happened: a step skipped (never started) at its STEP_SKIPPED or Dagster's
  // "Not executing." message, after the failure that caused it.
  std::sort(report.steps.begin(), report.steps.end(), [](const StepTimeline& x, const StepTimeline& y) {
    auto at = [](const StepTimeline& step) { return step.start > 0 ? step.start : step.end; };
    return std::make_tuple(at(x), x.step_key) < std::make_tuple(at(y), y.step_key);
  });
  auto describe = [](const RunEvent& event) {
    auto name = event.event_type.empty() ? event.type_name : event.event_type;
    return event.step_key.empty() ? name : name + " " + event.step_key;
  };
  for (std::size_t i = 1; i < events.size(); ++i) {
    if (events[i].timestamp - events[i - 1].timestamp > gap_seconds) {
      report.gaps.push_back(
          EventGap{events[i - 1].timestamp, events[i].timestamp, describe(events[i - 1]), describe(events[i])});
    }
  }
  return report;
}

std::string_view to_string(HungKind kind) {
  switch (kind) {
    case HungKind::starting: return "STARTING past the start timeout";
    case HungKind::canceling: return "CANCELING past the cancel timeout";
    case HungKind::max_runtime: return "STARTED past dagster/max_runtime";
  }
  return "?";
}

std::vector<HungRun> find_hung(const std::vector<RunRowInfo>& in_flight, const HungThresholds& thresholds,
                               double now) {
  std::vector<HungRun> hung;
  for (const auto& run : in_flight) {
    std::optional<HungRun> found;
    if (run.status == "STARTING") {
      double since = run.launch_time > 0 ? run.launch_time : run.update_time;
      if (since > 0 && now - since > thresholds.start_timeout) {
        found = HungRun{run, HungKind::starting, since, now - since, thresholds.start_timeout};
      }
    } else if (run.status == "CANCELING") {
      if (run.update_time > 0 && now - run.update_time > thresholds.cancel_timeout) {
        found = HungRun{run, HungKind::canceling, run.update_time, now - run.update_time, thresholds.cancel_timeout};
      }
    } else if (run.status == "STARTED") {
      // Dagster's run monitoring reads dagster/max_runtime, else dagster/max_runtime_seconds.
      auto tag = run.tags.find("dagster/max_runtime");
      if (tag == run.tags.end()) tag = run.tags.find("dagster/max_runtime_seconds");
      if (tag != run.tags.end() && run.start_time > 0) {
        char* end = nullptr;
        double limit = std::strtod(tag->second.c_str(), &end);
        if (end && *end == '\0' && limit > 0 && now - run.start_time > limit) {
          found = HungRun{run, HungKind::max_runtime, run.start_time, now - run.start_time, limit};
        }
      }
    }
    if (found) hung.push_back(std::move(*found));
  }
  std::sort(hung.begin(), hung.end(), [](const HungRun& x, const HungRun& y) {
    return std::tie(y.stuck_for, x.run.run_id) < std::tie(x.stuck_for, y.run.run_id);
  });
  return hung;
}

namespace {

std::string trim(std::string_view text) {
  auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return "";
  auto end = text.find_last_not_of(" \t\r");
  return std::string(text.substr(begin, end - begin + 1));
}

std::string unquote(std::string text) {
  if (text.size() >= 2 && (text.front() == '\'' || text.front() == '"') && text.back() == text.front()) {
    return text.substr(1, text.size() - 2);
  }
  return text;
}

// What flatten_run_config keeps between lines: the values read so far, the mappings and list
// items still open (by indentation) and the next index of each list.
struct ConfigFlattener {
  std::map<std::string, std::string> flat;
  std::vector<std::pair<std::size_t, std::string>> stack;  // indentation -> path
  std::map<std::string, int> list_index;
};

std::string child_path(const std::string& parent, const std::string& key) {
  return (parent.empty() ? "" : parent + ".") + key;
}

// A "- ..." line opens the next item of its parent's list. Returns true when the line is done (a bare
// "-" or a scalar item); otherwise `content` is left as the item's first "key: value" and `indent`
// and `parent` point inside the item.
bool read_list_item(ConfigFlattener& state, std::string& content, std::size_t& indent, std::string& parent) {
  std::string path = fmt::format("{}[{}]", parent, state.list_index[parent]++);
  content = trim(content.substr(1));
  indent += 2;
  if (content.empty()) {
    state.stack.emplace_back(indent - 1, path);
    return true;
  }
  if (content.find(": ") == std::string::npos && content.back() != ':') {
    state.flat[path] = unquote(content);
    return true;
  }
  state.stack.emplace_back(indent - 1, path);
  parent = path;
  return false;
}

// "key:" opens a nested mapping, "key: value" is a value; a line with neither is kept whole.
void read_mapping_line(ConfigFlattener& state, const std::string& content, std::size_t indent,
                       const std::string& parent) {
  auto colon = content.find(": ");
  if (colon == std::string::npos && content.back() == ':') {
    state.stack.emplace_back(indent, child_path(parent, unquote(content.substr(0, content.size() - 1))));
    return;
  }
  if (colon == std::string::npos) {
    state.flat[parent.empty() ? content : parent] = content;
    return;
  }
  state.flat[child_path(parent, unquote(trim(content.substr(0, colon))))] = unquote(trim(content.substr(colon + 2)));
}

}  // namespace

std::map<std::string, std::string> flatten_run_config(const std::string& yaml) {
  // Dagster writes block YAML (yaml.dump): "key: value", nested mappings by indentation, lists as
  // "- item". Anything this reader does not follow stays visible as a whole line under "".
  ConfigFlattener state;
  std::size_t start = 0;
  while (start < yaml.size()) {
    auto newline = yaml.find('\n', start);
    std::string line = yaml.substr(start, newline == std::string::npos ? std::string::npos : newline - start);
    start = newline == std::string::npos ? yaml.size() : newline + 1;
    std::string content = trim(line);
    if (content.empty() || content.front() == '#' || content == "---") continue;
    std::size_t indent = line.find_first_not_of(' ');
    bool item = content.starts_with("- ") || content == "-";
    while (!state.stack.empty() && state.stack.back().first >= indent + (item ? 1 : 0)) state.stack.pop_back();
    std::string parent = state.stack.empty() ? "" : state.stack.back().second;
    if (item && read_list_item(state, content, indent, parent)) continue;
    read_mapping_line(state, content, indent, parent);
  }
  // "{}" (no config) has no values.
  state.flat.erase("{}");
  return std::move(state.flat);
}

namespace {

std::vector<ValueDiff> diff_maps(const std::map<std::string, std::string>& a,
                                 const std::map<std::string, std::string>& b) {
  std::vector<ValueDiff> diffs;
  std::set<std::string> keys;
  for (const auto& [key, value] : a) keys.insert(key);
  for (const auto& [key, value] : b) keys.insert(key);
  for (const auto& key : keys) {
    auto x = a.find(key);
    auto y = b.find(key);
    std::optional<std::string> va = x == a.end() ? std::nullopt : std::optional(x->second);
    std::optional<std::string> vb = y == b.end() ? std::nullopt : std::optional(y->second);
    if (va != vb) diffs.push_back(ValueDiff{key, va, vb});
  }
  return diffs;
}

std::vector<std::string> event_sequence(const std::vector<RunEvent>& events) {
  std::vector<std::string> sequence;
  for (const auto& event : events) {
    auto name = event.event_type.empty() ? event.type_name : event.event_type;
    sequence.push_back(event.step_key.empty() ? name : name + " " + event.step_key);
  }
  return sequence;
}

// Tags that differ between any two runs (their ids and timing): left out of the comparison.
bool is_run_specific_tag(const std::string& key) {
  return key == "dagster/run_id" || key == "dagster/auto_retry_run_id" || key == "dagster/parent_run_id" ||
         key == "dagster/root_run_id" || key == "dagster/backfill" || key == ".dagster/grpc_info";
}

std::map<std::string, std::string> compared_tags(const RunInfo& run) {
  std::map<std::string, std::string> kept;
  for (const auto& [key, value] : run.tags) {
    if (!is_run_specific_tag(key)) kept[key] = value;
  }
  return kept;
}

std::vector<std::string> step_outcomes(const std::vector<StepTimeline>& steps) {
  std::vector<std::string> outcomes;
  for (const auto& step : steps) outcomes.push_back(step.step_key + ":" + step.outcome);
  return outcomes;
}

// Whether `run` was asked to execute `step_key`: every step, unless it executed a selection
// (stepKeysToExecute: a re-execution from failure runs only the failed steps and those after them).
// An answer without stepKeysToExecute (a recording made before day2 asked for it) says nothing: a
// re-execution (a parent run) is then taken to have run a selection that left the step out.
bool asked_to_execute(const RunInfo& run, const std::string& step_key) {
  if (run.step_keys_known) return !run.step_keys_to_execute || run.step_keys_to_execute->contains(step_key);
  return run.parent_run_id.empty() && run.tags.count("dagster/parent_run_id") == 0;
}

std::optional<std::string> first_differing_step(const std::vector<StepTimeline>& steps_a,
                                                const std::vector<StepTimeline>& steps_b, const RunInfo& a,
                                                const RunInfo& b) {
  // Steps are matched by key, not by position: steps that ran in parallel start in any order, and
  // that alone is no difference. The first differing step is the first, in A's start order, then
  // B's for the steps only B ran, whose outcome differs or that only one run has — unless the run
  // without it was never asked to run it: a step outside a re-execution's stepKeysToExecute is no
  // difference.
  std::map<std::string, std::string> by_key_a, by_key_b;
  for (const auto& step : steps_a) by_key_a[step.step_key] = step.outcome;
  for (const auto& step : steps_b) by_key_b[step.step_key] = step.outcome;
  auto differs = [&](const std::string& key) {
    auto x = by_key_a.find(key);
    auto y = by_key_b.find(key);
    if (x == by_key_a.end()) return asked_to_execute(a, key);
    if (y == by_key_b.end()) return asked_to_execute(b, key);
    return x->second != y->second;
  };
  // In the order the steps appear in the run: a skipped step (never started) at its STEP_SKIPPED.
  auto in_run_order = [](std::vector<StepTimeline> steps) {
    auto at = [](const StepTimeline& step) { return step.start > 0 ? step.start : step.end; };
    std::stable_sort(steps.begin(), steps.end(), [&](const StepTimeline& x, const StepTimeline& y) { return at(x) < at(y); });
    return steps;
  };
  for (const auto& steps : {in_run_order(steps_a), in_run_order(steps_b)}) {
    for (const auto& step : steps) {
      if (differs(step.step_key)) return step.step_key;
    }
  }
  return std::nullopt;
}

std::optional<std::size_t> first_differing_event(const std::vector<std::string>& events_a,
                                                 const std::vector<std::string>& events_b) {
  for (std::size_t i = 0; i < std::max(events_a.size(), events_b.size()); ++i) {
    if (i < events_a.size() && i < events_b.size() && events_a[i] == events_b[i]) continue;
    return i;
  }
  return std::nullopt;
}

std::vector<StepDuration> step_durations(const std::vector<StepTimeline>& steps_a,
                                         const std::vector<StepTimeline>& steps_b) {
  std::map<std::string, StepDuration> durations;
  for (const auto& step : steps_a) {
    auto& d = durations[step.step_key];
    d.step_key = step.step_key;
    if (step.start > 0 && step.end > 0) d.a = step.end - step.start;
  }
  for (const auto& step : steps_b) {
    auto& d = durations[step.step_key];
    d.step_key = step.step_key;
    if (step.start > 0 && step.end > 0) d.b = step.end - step.start;
  }
  std::vector<StepDuration> sorted;
  for (auto& [key, d] : durations) sorted.push_back(std::move(d));
  return sorted;
}

}  // namespace

Comparison compare_runs(const RunInfo& a, const std::vector<RunEvent>& events_a, const RunInfo& b,
                        const std::vector<RunEvent>& events_b) {
  Comparison out;
  out.config = diff_maps(flatten_run_config(a.run_config_yaml), flatten_run_config(b.run_config_yaml));
  out.tags = diff_maps(compared_tags(a), compared_tags(b));

  auto steps_a = analyze_steps(events_a, 1e18).steps;
  auto steps_b = analyze_steps(events_b, 1e18).steps;
  out.outcomes_a = step_outcomes(steps_a);
  out.outcomes_b = step_outcomes(steps_b);
  out.first_differing_step = first_differing_step(steps_a, steps_b, a, b);

  out.event_types_a = event_sequence(events_a);
  out.event_types_b = event_sequence(events_b);
  out.first_differing_event = first_differing_event(out.event_types_a, out.event_types_b);

  out.durations = step_durations(steps_a, steps_b);
  return out;
}

}  // namespace analyzer
