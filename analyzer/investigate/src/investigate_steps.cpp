// `day2 steps RUN_ID` (per-step timeline, unfinished steps, silent gaps in the event log) and
// `day2 compare RUN_A RUN_B` (config, tags, step outcomes, event sequence, durations).
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "analyzer/investigate/investigate.hpp"
#include "investigate_commands.hpp"
#include "recorder/base/text.hpp"

namespace analyzer {

using recorder::UsageError;

namespace {

// What `day2 steps` reads: the run's whole event log.
recorder::Result<EventPage> fetch_steps_input(const DagsterClient& client, const std::string& run_id, int page_size) {
  return fetch_events(client, run_id, "", EventFilter{}, 0, page_size);
}

// What `day2 compare` reads of each run: its detail, then its whole event log; no run when Dagster
// does not know it.
struct CompareInput {
  std::optional<RunInfo> run;
  std::vector<RunEvent> events;
};
recorder::Result<CompareInput> fetch_compare_input(const DagsterClient& client, const std::string& run_id,
                                                   int page_size) {
  auto lookup = fetch_run(client, run_id);
  if (!lookup) return lookup.error();
  if (lookup->not_found) return CompareInput{};
  auto page = fetch_events(client, run_id, "", EventFilter{}, 0, page_size);
  if (!page) return page.error();
  if (page->not_found) return CompareInput{};
  return CompareInput{std::move(lookup->run), std::move(page->events)};
}

rapidjson::Value optional_string(const std::optional<std::string>& text, Allocator& a) {
  return text ? recorder::json_string(*text, a) : rapidjson::Value();
}

rapidjson::Value optional_number(const std::optional<double>& value) {
  return value ? rapidjson::Value(*value) : rapidjson::Value();
}

constexpr CommandHelp k_steps_help{
    "day2 steps RUN_ID [--gap S] [--json]",
    "Per step: start, end, duration, outcome. Steps that started and never finished are called out\n"
    "(a lost step worker, or a run still going), and so are silences between events longer than --gap.",
    "day2 steps 4890f705-6473-4205-a7b0-2c5fde877358 --gap 2m", k_run_exit_codes};

rapidjson::Value step_json(const Session& session, const StepTimeline& step, Allocator& a) {
  rapidjson::Value item(rapidjson::kObjectType);
  item.AddMember("stepKey", recorder::json_string(step.step_key, a), a);
  item.AddMember("outcome", recorder::json_string(step.outcome, a), a);
  item.AddMember("start", time_json(session, step.start, a), a);
  item.AddMember("end", time_json(session, step.end, a), a);
  item.AddMember("durationSeconds", step.start > 0 && step.end > 0 ? rapidjson::Value(step.end - step.start)
                                                                   : rapidjson::Value(), a);
  item.AddMember("attempts", step.attempts, a);
  item.AddMember("reason", step.reason.empty() ? rapidjson::Value() : recorder::json_string(step.reason, a), a);
  return item;
}

rapidjson::Value gap_json(const Session& session, const EventGap& g, Allocator& a) {
  rapidjson::Value item(rapidjson::kObjectType);
  item.AddMember("from", time_json(session, g.from, a), a);
  item.AddMember("to", time_json(session, g.to, a), a);
  item.AddMember("seconds", g.to - g.from, a);
  item.AddMember("before", recorder::json_string(g.before, a), a);
  item.AddMember("after", recorder::json_string(g.after, a), a);
  return item;
}

void print_steps_json(const Session& session, const std::string& run_id, const StepsReport& report, double gap,
                      std::size_t event_count, std::ostream& out) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value steps(rapidjson::kArrayType);
  rapidjson::Value unfinished(rapidjson::kArrayType);
  for (const auto& step : report.steps) {
    steps.PushBack(step_json(session, step, a), a);
    if (step.outcome == "IN_PROGRESS") unfinished.PushBack(recorder::json_string(step.step_key, a), a);
  }
  rapidjson::Value gaps(rapidjson::kArrayType);
  for (const auto& g : report.gaps) gaps.PushBack(gap_json(session, g, a), a);
  doc.AddMember("runId", recorder::json_string(run_id, a), a);
  doc.AddMember("steps", steps, a);
  doc.AddMember("unfinishedSteps", unfinished, a);
  doc.AddMember("gaps", gaps, a);
  doc.AddMember("gapThresholdSeconds", gap, a);
  doc.AddMember("events", static_cast<int>(event_count), a);
  print_json(doc, out);
}

void print_steps(const Session& session, const std::string& run_id, const StepsReport& report,
                 std::size_t event_count, std::ostream& out) {
  out << fmt::format("Run {}: {} step(s), {} event(s)\n", run_id, report.steps.size(), event_count);
  out << fmt::format("  {:<32} {:<12} {:<25} {:<25} {}\n", "STEP", "OUTCOME", "START", "END", "DURATION");
  for (const auto& step : report.steps) {
    out << fmt::format("  {:<32} {:<12} {:<25} {:<25} {}{}\n", step.step_key, step.outcome,
                       session.local_time(step.start), session.local_time(step.end),
                       step.start > 0 && step.end > 0 ? format_duration(step.end - step.start) : "-",
                       step.attempts > 1 ? fmt::format(" ({} attempts)", step.attempts)
                       : step.reason.empty() ? ""
                                             : " (" + step.reason + ")");
  }
  for (const auto& step : report.steps) {
    if (step.outcome == "IN_PROGRESS") {
      out << fmt::format("  ! step {} started at {} and never finished\n", step.step_key,
                         session.local_time(step.start));
    }
  }
  for (const auto& g : report.gaps) {
    out << fmt::format("  ! {} without events, {} to {}: after {}, before {}\n", format_duration(g.to - g.from),
                       session.local_time(g.from), session.local_time(g.to), g.before, g.after);
  }
}

int run_steps(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto options = source_options();
  options.add_options()
      ("gap", po::value<std::string>()->default_value("10m")->value_name("S"), "report silences between events longer than this (600, 90s, 10m)");
  auto vm = parse_run_args(args, options);
  if (print_help_if_asked(vm, k_steps_help, options, out)) return 0;
  const auto run_id = required_run_id(vm, "steps");
  double gap = parse_seconds_option("gap", vm["gap"].as<std::string>());
  auto session = open_session(vm, "steps", err);
  if (!session) return 1;
  auto page = fetch_steps_input(*session->client, run_id, session->config.page_size);
  if (!page) return fail(*session, page.error().message, err);
  if (page->not_found) return run_not_found(*session, run_id, err);
  auto report = analyze_steps(page->events, gap);

  if (session->json) {
    print_steps_json(*session, run_id, report, gap, page->events.size(), out);
  } else {
    print_steps(*session, run_id, report, page->events.size(), out);
  }
  return finish(*session, 0, err);
}

// ---- compare -------------------------------------------------------------------------------------

std::string show(const std::optional<std::string>& value) { return value ? *value : "(absent)"; }

void print_comparison(const Comparison& c, const RunInfo& a, const RunInfo& b, std::ostream& out) {
  out << fmt::format("A {}  {}  {}\nB {}  {}  {}\n", a.run_id, a.status, a.job_name, b.run_id, b.status, b.job_name);
  out << (c.config.empty() ? "run config: same\n" : "run config differs:\n");
  for (const auto& d : c.config) out << fmt::format("  {}: A {} | B {}\n", d.key, show(d.a), show(d.b));
  out << (c.tags.empty() ? "tags: same\n" : "tags differ:\n");
  for (const auto& d : c.tags) out << fmt::format("  {}: A {} | B {}\n", d.key, show(d.a), show(d.b));
  if (c.first_differing_step) {
    out << fmt::format("first differing step: {}\n", *c.first_differing_step);
  } else {
    out << "step outcomes: same\n";
  }
  out << fmt::format("  A: {}\n  B: {}\n", fmt::join(c.outcomes_a, " "), fmt::join(c.outcomes_b, " "));
  if (c.first_differing_event) {
    auto i = *c.first_differing_event;
    out << fmt::format("event sequences differ at #{}: A {} | B {}\n", i + 1,
                       i < c.event_types_a.size() ? c.event_types_a[i] : "(end)",
                       i < c.event_types_b.size() ? c.event_types_b[i] : "(end)");
  } else {
    out << fmt::format("event sequences: same ({} events)\n", c.event_types_a.size());
  }
  out << "durations:\n";
  for (const auto& d : c.durations) {
    out << fmt::format("  {:<32} A {:<12} B {}\n", d.step_key, d.a ? format_duration(*d.a) : "-",
                       d.b ? format_duration(*d.b) : "-");
  }
}

rapidjson::Value diffs_json(const std::vector<ValueDiff>& diffs, Allocator& a) {
  rapidjson::Value list(rapidjson::kArrayType);
  for (const auto& d : diffs) {
    rapidjson::Value item(rapidjson::kObjectType);
    item.AddMember("key", recorder::json_string(d.key, a), a);
    item.AddMember("a", optional_string(d.a, a), a);
    item.AddMember("b", optional_string(d.b, a), a);
    list.PushBack(item, a);
  }
  return list;
}

rapidjson::Value strings_json(const std::vector<std::string>& items, Allocator& a) {
  rapidjson::Value list(rapidjson::kArrayType);
  for (const auto& item : items) list.PushBack(recorder::json_string(item, a), a);
  return list;
}

void print_comparison_json(const Comparison& c, const RunInfo& a, const RunInfo& b, std::ostream& out) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& al = doc.GetAllocator();
  auto side = [&](const RunInfo& run, const std::vector<std::string>& outcomes, const std::vector<std::string>& events) {
    rapidjson::Value item(rapidjson::kObjectType);
    item.AddMember("runId", recorder::json_string(run.run_id, al), al);
    item.AddMember("status", recorder::json_string(run.status, al), al);
    item.AddMember("jobName", recorder::json_string(run.job_name, al), al);
    item.AddMember("stepOutcomes", strings_json(outcomes, al), al);
    item.AddMember("eventTypes", strings_json(events, al), al);
    return item;
  };
  doc.AddMember("a", side(a, c.outcomes_a, c.event_types_a), al);
  doc.AddMember("b", side(b, c.outcomes_b, c.event_types_b), al);
  doc.AddMember("config", diffs_json(c.config, al), al);
  doc.AddMember("tags", diffs_json(c.tags, al), al);
  doc.AddMember("firstDifferingStep", optional_string(c.first_differing_step, al), al);
  doc.AddMember("firstDifferingEvent", c.first_differing_event ? rapidjson::Value(static_cast<int>(*c.first_differing_event))
                                                               : rapidjson::Value(), al);
  rapidjson::Value durations(rapidjson::kArrayType);
  for (const auto& d : c.durations) {
    rapidjson::Value item(rapidjson::kObjectType);
    item.AddMember("stepKey", recorder::json_string(d.step_key, al), al);
    item.AddMember("a", optional_number(d.a), al);
    item.AddMember("b", optional_number(d.b), al);
    durations.PushBack(item, al);
  }
  doc.AddMember("durations", durations, al);
  print_json(doc, out);
}

constexpr CommandHelp k_compare_help{
    "day2 compare RUN_A RUN_B [--json]",
    "What differs between two runs (say, last night's failure and the last success): run config\n"
    "values, tags (not the run-specific ones), the sequence of step outcomes (the first differing\n"
    "step), the sequence of event types, and durations per step.",
    "day2 compare 58cfb27c-aadd-40f7-a296-00bef392347b 670b7bb3-7a3a-450f-a869-08badcbb48e2", k_run_exit_codes};

int run_compare(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto options = source_options();
  options.add_options()("runs", po::value<std::vector<std::string>>(), "RUN_A RUN_B (positional)");
  po::positional_options_description positional;
  positional.add("runs", 2);
  auto vm = parse_args(args, options, positional);
  if (print_help_if_asked(vm, k_compare_help, options, out)) return 0;
  if (!vm.count("runs") || vm["runs"].as<std::vector<std::string>>().size() != 2) {
    throw UsageError{"RUN_A and RUN_B are required (see day2 compare --help)"};
  }
  auto ids = vm["runs"].as<std::vector<std::string>>();
  auto session = open_session(vm, "compare", err);
  if (!session) return 1;
  std::vector<RunInfo> runs;
  std::vector<std::vector<RunEvent>> events;
  for (const auto& id : ids) {
    auto input = fetch_compare_input(*session->client, id, session->config.page_size);
    if (!input) return fail(*session, input.error().message, err);
    if (!input->run) return run_not_found(*session, id, err);
    runs.push_back(std::move(*input->run));
    events.push_back(std::move(input->events));
  }
  auto comparison = compare_runs(runs[0], events[0], runs[1], events[1]);
  if (session->json) print_comparison_json(comparison, runs[0], runs[1], out);
  else print_comparison(comparison, runs[0], runs[1], out);
  return finish(*session, 0, err);
}

}  // namespace

const std::vector<std::string>& claimable_investigations() {
  static const std::vector<std::string> k_names = {"compare", "steps"};
  return k_names;
}

recorder::Result<void> check_investigation(const std::vector<std::string>& command) {
  const auto& known = claimable_investigations();
  if (command.empty() || std::find(known.begin(), known.end(), command[0]) == known.end()) {
    return recorder::make_error(recorder::unknown_name("investigation", command.empty() ? "" : command[0],
                                                       std::vector<std::string_view>(known.begin(), known.end())));
  }
  std::size_t ids = command[0] == "compare" ? 2 : 1;
  if (command.size() != ids + 1) {
    return recorder::make_error(fmt::format("\"{}\" takes {} run id(s), not {}", command[0], ids, command.size() - 1));
  }
  return {};
}

recorder::Result<void> fetch_investigation(const DagsterClient& client, const std::vector<std::string>& command,
                                           int page_size) {
  if (auto ok = check_investigation(command); !ok) return ok;
  if (command[0] == "steps") {
    auto page = fetch_steps_input(client, command[1], page_size);
    if (!page) return page.error();
    return {};
  }
  for (std::size_t i = 1; i < command.size(); ++i) {  // compare
    auto input = fetch_compare_input(client, command[i], page_size);
    if (!input) return input.error();
  }
  return {};
}

std::vector<recorder::Command> investigate_steps_commands() {
  return {
      {"steps", "a run's steps: start, end, duration, outcome; unfinished steps and silent gaps", run_steps},
      {"compare", "what differs between two runs: config, tags, step outcomes, events, durations", run_compare},
  };
}

}  // namespace analyzer
