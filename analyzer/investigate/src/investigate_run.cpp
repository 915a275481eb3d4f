// `day2 run RUN_ID` (one run: times, tags, stats, config, classified failure, retry chain) and
// `day2 logs RUN_ID` (its events, filtered client-side, paged to the end or to --limit).
#include <fmt/format.h>

#include "analyzer/investigate/investigate.hpp"
#include "investigate_commands.hpp"
#include "analyzer/collect/steps.hpp"

namespace analyzer {

using recorder::UsageError;

namespace {

rapidjson::Value run_json(const Session& session, const RunInfo& run, Allocator& a) {
  rapidjson::Value out(rapidjson::kObjectType);
  auto str = [&](const std::string& text) { return recorder::json_string(text, a); };
  auto opt = [&](const std::string& text) { return text.empty() ? rapidjson::Value() : str(text); };
  out.AddMember("runId", str(run.run_id), a);
  out.AddMember("jobName", str(run.job_name), a);
  out.AddMember("location", str(run.location), a);
  out.AddMember("repository", str(run.repository), a);
  out.AddMember("status", str(run.status), a);
  out.AddMember("parentRunId", opt(run.parent_run_id), a);
  out.AddMember("rootRunId", opt(run.root_run_id), a);
  rapidjson::Value times(rapidjson::kObjectType);
  times.AddMember("enqueued", time_json(session, run.enqueued_time, a), a);
  times.AddMember("launched", time_json(session, run.launch_time, a), a);
  times.AddMember("start", time_json(session, run.start_time, a), a);
  times.AddMember("end", time_json(session, run.end_time, a), a);
  times.AddMember("update", time_json(session, run.update_time, a), a);
  out.AddMember("times", times, a);
  double end = run.end_time > 0 ? run.end_time : recorder::to_epoch_seconds(session.now);
  out.AddMember("durationSeconds", run.start_time > 0 ? rapidjson::Value(end - run.start_time) : rapidjson::Value(), a);
  rapidjson::Value tags(rapidjson::kObjectType);
  for (const auto& [key, value] : run.tags) tags.AddMember(str(key), str(value), a);
  out.AddMember("tags", tags, a);
  rapidjson::Value stats(rapidjson::kObjectType);
  auto count = [](const std::optional<int>& n) { return n ? rapidjson::Value(*n) : rapidjson::Value(); };
  stats.AddMember("stepsSucceeded", count(run.steps_succeeded), a);
  stats.AddMember("stepsFailed", count(run.steps_failed), a);
  stats.AddMember("materializations", count(run.materializations), a);
  out.AddMember("stats", stats, a);
  out.AddMember("runConfigYaml", str(run.run_config_yaml), a);
  return out;
}

// The run config as Dagster stored it, indented under its heading; "(none)" when there is none.
void print_run_config(const RunInfo& run, std::ostream& out) {
  out << "  run config\n";
  std::string config = run.run_config_yaml.empty() ? "(none)\n" : run.run_config_yaml;
  for (std::size_t start = 0; start < config.size();) {
    auto newline = config.find('\n', start);
    out << "    " << config.substr(start, newline - start) << '\n';
    start = newline == std::string::npos ? config.size() : newline + 1;
  }
}

// The message shown for a step error: the first cause's when there is a cause chain.
std::string step_error_text(const rapidjson::Value& error) {
  auto text = recorder::get_string(error, "errorMessage").value_or("");
  if (text.empty()) text = recorder::get_string(error, "message").value_or("");
  if (const auto* chain_links = recorder::get_array(error, "causeChain"); chain_links && !chain_links->Empty()) {
    text = recorder::get_string((*chain_links)[0], "message").value_or(text);
  }
  return text;
}

void print_failure(const rapidjson::Document& f, std::ostream& out) {
  auto rule = recorder::get_string(f, "ruleId").value_or("");
  out << fmt::format("  failure     {} (rule {})\n", recorder::get_string(f, "category").value_or(""),
                     rule.empty() ? "none" : rule);
  if (auto message = recorder::get_string(f, "runFailureMessage").value_or(""); !message.empty()) {
    out << fmt::format("    run: {}\n", message.substr(0, message.find('\n')));
  }
  if (const auto* errors = recorder::get_array(f, "stepErrors")) {
    for (const auto& error : errors->GetArray()) {
      auto text = step_error_text(error);
      out << fmt::format("    step {}: {}\n", recorder::get_string(error, "stepKey").value_or(""),
                         text.substr(0, text.find('\n')));
    }
  }
}

void print_retry_chain(const Session& session, const RunInfo& run, const std::vector<ChainRun>& chain,
                       std::ostream& out) {
  out << fmt::format("  retry chain ({} run{})\n", chain.size(), chain.size() == 1 ? "" : "s");
  for (const auto& entry : chain) {
    out << fmt::format("    {}  {:<9} {}{}{}\n", entry.run_id, entry.status, session.local_time(entry.start_time),
                       entry.retry_number.empty() ? "" : "  retry " + entry.retry_number,
                       entry.run_id == run.run_id ? "  <- this run" : "");
  }
}

void print_run(const Session& session, const RunInfo& run, const std::optional<rapidjson::Document>& failure,
               const std::vector<ChainRun>& chain, std::ostream& out) {
  out << fmt::format("Run {}  {}\n", run.run_id, run.status);
  out << fmt::format("  job         {} (location {}, repository {})\n", run.job_name,
                     run.location.empty() ? "-" : run.location, run.repository.empty() ? "-" : run.repository);
  out << fmt::format("  enqueued    {}\n", session.both_times(run.enqueued_time));
  out << fmt::format("  launched    {}\n", session.both_times(run.launch_time));
  out << fmt::format("  started     {}\n", session.both_times(run.start_time));
  out << fmt::format("  ended       {}\n", session.both_times(run.end_time));
  if (run.start_time > 0) {
    double end = run.end_time > 0 ? run.end_time : recorder::to_epoch_seconds(session.now);
    out << fmt::format("  duration    {}{}\n", format_duration(end - run.start_time), run.end_time > 0 ? "" : " (so far)");
  }
  auto count = [](const std::optional<int>& n) { return n ? std::to_string(*n) : std::string("?"); };
  out << fmt::format("  stats       {} steps succeeded, {} failed, {} materializations\n", count(run.steps_succeeded),
                     count(run.steps_failed), count(run.materializations));
  out << "  tags\n";
  for (const auto& [key, value] : run.tags) out << fmt::format("    {} = {}\n", key, value);
  print_run_config(run, out);
  if (failure) print_failure(*failure, out);
  print_retry_chain(session, run, chain, out);
}

rapidjson::Value chain_run_json(const Session& session, const ChainRun& entry, Allocator& a) {
  rapidjson::Value item(rapidjson::kObjectType);
  item.AddMember("runId", recorder::json_string(entry.run_id, a), a);
  item.AddMember("status", recorder::json_string(entry.status, a), a);
  item.AddMember("parentRunId",
                 entry.parent_run_id.empty() ? rapidjson::Value() : recorder::json_string(entry.parent_run_id, a), a);
  item.AddMember("retryNumber",
                 entry.retry_number.empty() ? rapidjson::Value() : recorder::json_string(entry.retry_number, a), a);
  item.AddMember("start", time_json(session, entry.start_time, a), a);
  item.AddMember("end", time_json(session, entry.end_time, a), a);
  return item;
}

void print_run_json(const Session& session, const RunInfo& run, const std::optional<rapidjson::Document>& failure,
                    const std::vector<ChainRun>& chain, std::ostream& out) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("deployment", recorder::json_string(session.deployment(), a), a);
  doc.AddMember("run", run_json(session, run, a), a);
  rapidjson::Value failure_json;
  if (failure) failure_json.CopyFrom(*failure, a);
  doc.AddMember("failure", failure_json, a);
  rapidjson::Value list(rapidjson::kArrayType);
  for (const auto& entry : chain) list.PushBack(chain_run_json(session, entry, a), a);
  doc.AddMember("retryChain", list, a);
  print_json(doc, out);
}

// The failure record of a failed run, its events read, with the category and rule id of `rules`.
rapidjson::Document classified_failure_json(const FailureRecord& record, const RuleSet& rules) {
  auto verdict = classify(rules, record);
  rapidjson::Document failure(rapidjson::kObjectType);
  auto& a = failure.GetAllocator();
  rapidjson::Value json = failure_to_json(record, a);
  static_cast<rapidjson::Value&>(failure).Swap(json);
  failure.AddMember("category", recorder::json_string(to_string(verdict.category), a), a);
  failure.AddMember("ruleId", verdict.rule_id.empty() ? rapidjson::Value() : recorder::json_string(verdict.rule_id, a),
                    a);
  return failure;
}

std::optional<RuleSet> custom_rules_option(const po::variables_map& vm) {
  if (!vm.count("rules")) return std::nullopt;
  auto loaded = load_rules(vm["rules"].as<std::string>());
  if (!loaded) throw UsageError{"--rules: " + loaded.error().message};
  return std::move(*loaded);
}

constexpr CommandHelp k_run_help{
    "day2 run RUN_ID [options]",
    "One run: status, job, location, times (report zone and UTC), tags, stats, run config, the\n"
    "failure classified as `day2 collect` does (category and rule id), and the retry chain.",
    "day2 run 49065ad4-95da-4840-a047-6e1171e24e4f --url http://127.0.0.1:3000/graphql", k_run_exit_codes};

int run_run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto options = source_options();
  options.add_options()("rules", po::value<std::string>(), "classification rules file (default: the built-in rules)");
  auto vm = parse_run_args(args, options);
  if (print_help_if_asked(vm, k_run_help, options, out)) return 0;
  const auto run_id = required_run_id(vm, "run");
  std::optional<RuleSet> custom_rules = custom_rules_option(vm);
  auto session = open_session(vm, "run", err);
  if (!session) return 1;
  auto lookup = fetch_run(*session->client, run_id);
  if (!lookup) return fail(*session, lookup.error().message, err);
  if (lookup->not_found) return run_not_found(*session, run_id, err);
  const RunInfo& run = *lookup->run;

  std::optional<rapidjson::Document> failure;
  if (run.status == "FAILURE") {
    FailureRecord record = failure_record(run);
    if (auto read = read_run_events(*session->client, session->config.page_size, record); !read) {
      return fail(*session, read.error().message, err);
    }
    failure = classified_failure_json(record, custom_rules ? *custom_rules : default_rules());
  }
  auto chain = fetch_run_group(*session->client, run_id);
  if (!chain) return fail(*session, chain.error().message, err);

  if (session->json) {
    print_run_json(*session, run, failure, chain.value(), out);
  } else {
    print_run(*session, run, failure, chain.value(), out);
  }
  return finish(*session, 0, err);
}

// ---- logs ----------------------------------------------------------------------------------------

void print_event(const Session& session, const RunEvent& event, std::ostream& out) {
  auto type = event.event_type.empty() ? event.type_name : event.event_type;
  auto message = event.message;
  for (std::size_t at = message.find('\n'); at != std::string::npos; at = message.find('\n', at + 1)) {
    message.insert(at + 1, "      ");
  }
  out << fmt::format("{}  {:<7} {:<22} {:<20} {}\n", session.local_time(event.timestamp), event.level, type,
                     event.step_key.empty() ? "-" : event.step_key, message);
  if (!event.error.empty()) out << "      error: " << event.error << '\n';
}

constexpr CommandHelp k_logs_help{
    "day2 logs RUN_ID [--type T1,T2] [--step KEY] [--level L] [--limit N] [--cursor C] [--json]",
    "The run's event log, oldest first, read to the end (or to --limit matching events), filtered\n"
    "on this side (Dagster has no server-side event filter).",
    "day2 logs 49065ad4-95da-4840-a047-6e1171e24e4f --type STEP_FAILURE,RUN_FAILURE --json", k_run_exit_codes};

// The filter of --type, --step and --level.
EventFilter event_filter_options(const po::variables_map& vm) {
  EventFilter filter;
  if (vm.count("type")) {
    auto types = parse_event_types(vm["type"].as<std::string>());
    if (!types) throw UsageError{"--type: " + types.error().message};
    filter.types = *types;
  }
  if (vm.count("step")) filter.step_key = vm["step"].as<std::string>();
  if (vm.count("level")) {
    auto level = parse_level(vm["level"].as<std::string>());
    if (!level) throw UsageError{"--level: " + level.error().message};
    filter.min_level = *level;
  }
  return filter;
}

// --limit: 0 (no limit) when not given.
int limit_option(const po::variables_map& vm) {
  int limit = 0;
  if (vm.count("limit")) {
    limit = vm["limit"].as<int>();
    if (limit < 1) throw UsageError{fmt::format("--limit: {} is not a positive number", limit)};
  }
  return limit;
}

// --page-size: 0 (collect.page_size) when not given.
int page_size_option(const po::variables_map& vm) {
  int page_size = vm.count("page-size") ? vm["page-size"].as<int>() : 0;
  if (vm.count("page-size") && (page_size < 1 || page_size > 10000)) {
    throw UsageError{fmt::format("--page-size: {} is not in 1-10000", page_size)};
  }
  return page_size;
}

rapidjson::Value event_json(const Session& session, const RunEvent& event, Allocator& a) {
  auto str = [&](const std::string& text) { return recorder::json_string(text, a); };
  rapidjson::Value item(rapidjson::kObjectType);
  item.AddMember("typename", str(event.type_name), a);
  item.AddMember("eventType", event.event_type.empty() ? rapidjson::Value() : str(event.event_type), a);
  item.AddMember("level", str(event.level), a);
  item.AddMember("stepKey", event.step_key.empty() ? rapidjson::Value() : str(event.step_key), a);
  item.AddMember("message", str(event.message), a);
  item.AddMember("timestamp", str(event.timestamp_ms), a);
  item.AddMember("time", time_json(session, event.timestamp, a), a);
  item.AddMember("error", event.error.empty() ? rapidjson::Value() : str(event.error), a);
  return item;
}

void print_events_json(const Session& session, const std::string& run_id, const EventPage& page, std::ostream& out) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  auto str = [&](const std::string& text) { return recorder::json_string(text, a); };
  rapidjson::Value events(rapidjson::kArrayType);
  for (const auto& event : page.events) events.PushBack(event_json(session, event, a), a);
  doc.AddMember("runId", str(run_id), a);
  doc.AddMember("events", events, a);
  doc.AddMember("cursor", str(page.cursor), a);
  doc.AddMember("hasMore", !page.complete, a);
  doc.AddMember("scanned", page.scanned, a);
  print_json(doc, out);
}

void print_events(const Session& session, const std::string& run_id, const EventPage& page, std::ostream& out) {
  for (const auto& event : page.events) print_event(session, event, out);
  out << fmt::format("-- {} event(s) of {} read\n", page.events.size(), page.scanned);
  if (!page.complete) {
    out << fmt::format("-- more: day2 logs {} --cursor {}\n", run_id, page.cursor);
  }
}

int run_logs(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto options = source_options();
  options.add_options()
      ("type", po::value<std::string>()->value_name("T1,T2"), "only these event types: DagsterEventType names (STEP_FAILURE, LOGS_CAPTURED) or event type names (ExecutionStepFailureEvent)")
      ("step", po::value<std::string>()->value_name("KEY"), "only events of this step")
      ("level", po::value<std::string>()->value_name("L"), "only events at this level or above (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
      ("limit", po::value<int>()->value_name("N"), "stop after N matching events and print the cursor to continue (default: every event)")
      ("cursor", po::value<std::string>()->value_name("C"), "start after this cursor (from an earlier --limit)")
      ("page-size", po::value<int>(), "events per request (1-10000; default collect.page_size, 200, as collect reads them, so a recorded night replays; Dagster serves at most 1000 a page)");
  auto vm = parse_run_args(args, options);
  if (print_help_if_asked(vm, k_logs_help, options, out)) return 0;
  const auto run_id = required_run_id(vm, "logs");
  EventFilter filter = event_filter_options(vm);
  int limit = limit_option(vm);
  int page_size = page_size_option(vm);
  auto session = open_session(vm, "logs", err);
  if (!session) return 1;
  auto page = fetch_events(*session->client, run_id, vm.count("cursor") ? vm["cursor"].as<std::string>() : "", filter,
                           limit, page_size > 0 ? page_size : session->config.page_size);
  if (!page) return fail(*session, page.error().message, err);
  if (page->not_found) return run_not_found(*session, run_id, err);

  if (session->json) {
    print_events_json(*session, run_id, *page, out);
  } else {
    print_events(*session, run_id, *page, out);
  }
  return finish(*session, 0, err);
}

}  // namespace

std::vector<recorder::Command> investigate_run_commands() {
  return {
      {"run", "one run: times, tags, stats, config, classified failure, retry chain", run_run},
      {"logs", "a run's events, filtered by type, step and level", run_logs},
  };
}

}  // namespace analyzer
