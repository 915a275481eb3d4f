// `day2 runs` (recent runs by job, status, time) and `day2 hung` (runs stuck in STARTING, CANCELING or
// past dagster/max_runtime); `day2 agents` lives in investigate_agents.cpp.
#include <fmt/format.h>

#include <algorithm>

#include "analyzer/investigate/investigate.hpp"
#include "investigate_commands.hpp"
#include "replay/shift.hpp"
#include "analyzer/collect/steps.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;
using recorder::UsageError;

double parse_instant_option(const std::string& option, const std::string& text, recorder::Instant now) {
  if (auto instant = recorder::parse_rfc3339(text)) return recorder::to_epoch_seconds(*instant);
  auto ago = replay::parse_duration(text);
  if (!ago || ago->count() <= 0) {
    throw UsageError{fmt::format("--{}: \"{}\" is neither an RFC 3339 time (2026-03-30T04:00:00Z) nor a duration "
                                 "before now (24h, 90m)", option, text)};
  }
  return recorder::to_epoch_seconds(now - *ago);
}

rapidjson::Value row_json(const Session& session, const RunRowInfo& row, Allocator& a) {
  rapidjson::Value item(rapidjson::kObjectType);
  item.AddMember("runId", recorder::json_string(row.run_id, a), a);
  item.AddMember("jobName", recorder::json_string(row.job_name, a), a);
  item.AddMember("status", recorder::json_string(row.status, a), a);
  item.AddMember("location", recorder::json_string(row.location, a), a);
  item.AddMember("start", time_json(session, row.start_time, a), a);
  item.AddMember("end", time_json(session, row.end_time, a), a);
  item.AddMember("durationSeconds", row.start_time > 0 && row.end_time > 0 ? rapidjson::Value(row.end_time - row.start_time)
                                                                           : rapidjson::Value(), a);
  rapidjson::Value tags(rapidjson::kObjectType);
  for (const auto& [key, value] : row.tags) tags.AddMember(recorder::json_string(key, a), recorder::json_string(value, a), a);
  item.AddMember("tags", tags, a);
  return item;
}

namespace {

constexpr CommandHelp k_runs_help{"day2 runs [--job NAME] [--status S,...] [--since TIME] [--limit N] [--json]",
                                  "Recent runs, newest created first.",
                                  "day2 runs --job flaky_job --status FAILURE,SUCCESS --since 24h", k_list_exit_codes};

int run_runs(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto options = source_options();
  options.add_options()
      ("job", po::value<std::string>()->value_name("NAME"), "only runs of this job")
      ("status", po::value<std::string>()->value_name("S,..."), "only these statuses (QUEUED, STARTING, STARTED, SUCCESS, FAILURE, CANCELING, CANCELED, ...)")
      ("since", po::value<std::string>()->value_name("TIME"), "only runs updated after TIME: RFC 3339, or a duration before now (24h)")
      ("limit", po::value<int>()->default_value(20), "at most N runs, newest first (1-10000)");
  auto vm = parse_args(args, options, {});
  if (print_help_if_asked(vm, k_runs_help, options, out)) return 0;
  RunsQuery query;
  query.limit = vm["limit"].as<int>();
  if (query.limit < 1 || query.limit > 10000) throw UsageError{fmt::format("--limit: {} is not in 1-10000", query.limit)};
  if (vm.count("job")) query.job = vm["job"].as<std::string>();
  if (vm.count("status")) {
    auto list = vm["status"].as<std::string>();
    for (std::size_t start = 0; start <= list.size();) {
      auto comma = list.find(',', start);
      auto status = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma == std::string::npos ? list.size() + 1 : comma + 1;
      std::transform(status.begin(), status.end(), status.begin(), [](unsigned char c) { return std::toupper(c); });
      if (status.empty()) continue;
      if (!is_run_status(status)) {
        throw UsageError{fmt::format("--status: \"{}\" is not a run status (QUEUED, NOT_STARTED, MANAGED, STARTING, "
                                     "STARTED, SUCCESS, FAILURE, CANCELING, CANCELED)", status)};
      }
      query.statuses.push_back(status);
    }
  }
  auto session = open_session(vm, "runs", err);
  if (!session) return 1;
  if (vm.count("since")) query.updated_after = parse_instant_option("since", vm["since"].as<std::string>(), session->now);
  auto rows = fetch_runs(*session->client, query, session->config.page_size);
  if (!rows) return fail(*session, rows.error().message, err);
  if (session->json) {
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    rapidjson::Value list(rapidjson::kArrayType);
    for (const auto& row : *rows) list.PushBack(row_json(*session, row, a), a);
    doc.AddMember("runs", list, a);
    print_json(doc, out);
  } else {
    out << fmt::format("{:<36}  {:<9}  {:<25}  {:<24}  {}\n", "RUN", "STATUS", "JOB", "START", "DURATION");
    for (const auto& row : *rows) {
      out << fmt::format("{:<36}  {:<9}  {:<25}  {:<24}  {}\n", row.run_id, row.status, row.job_name,
                         session->local_time(row.start_time),
                         row.start_time > 0 && row.end_time > 0 ? format_duration(row.end_time - row.start_time) : "-");
    }
    out << fmt::format("-- {} run(s)\n", rows->size());
  }
  return finish(*session, 0, err);
}

// ---- hung ----------------------------------------------------------------------------------------

constexpr CommandHelp k_hung_help{
    "day2 hung [--start-timeout S] [--cancel-timeout S] [--now TIME] [--json]",
    "Runs stuck now: STARTING longer than the start timeout (since launch), CANCELING longer than the\n"
    "cancel timeout (since the last update), STARTED past their dagster/max_runtime tag (since start).\n"
    "Durations: seconds (600) or 90s, 10m, 1h. Replaying a bundle, \"now\" is the bundle's.",
    "day2 hung --start-timeout 8m --url http://127.0.0.1:3000/graphql",
    "Exit codes: 0 no run is hung, 1 some run is hung (or an error), 2 bad usage, 3 internal error.\n"};

int run_hung(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto options = source_options();
  options.add_options()
      ("start-timeout", po::value<std::string>()->value_name("S"), "STARTING longer than this is hung (default 180 s, or thresholds.start_timeout_seconds of --config)")
      ("cancel-timeout", po::value<std::string>()->value_name("S"), "CANCELING longer than this is hung (default 180 s, or thresholds.cancel_timeout_seconds)");
  auto vm = parse_args(args, options, {});
  if (print_help_if_asked(vm, k_hung_help, options, out)) return 0;
  std::optional<double> start_timeout, cancel_timeout;
  if (vm.count("start-timeout")) start_timeout = parse_seconds_option("start-timeout", vm["start-timeout"].as<std::string>());
  if (vm.count("cancel-timeout")) cancel_timeout = parse_seconds_option("cancel-timeout", vm["cancel-timeout"].as<std::string>());
  auto session = open_session(vm, "hung", err);
  if (!session) return 1;
  HungThresholds thresholds{session->config.thresholds.start_timeout_seconds,
                            session->config.thresholds.cancel_timeout_seconds};
  if (start_timeout) thresholds.start_timeout = *start_timeout;
  if (cancel_timeout) thresholds.cancel_timeout = *cancel_timeout;
  auto rows = fetch_in_flight(*session->client, session->config.page_size);
  if (!rows) return fail(*session, rows.error().message, err);
  double now = recorder::to_epoch_seconds(session->now);
  auto hung = find_hung(*rows, thresholds, now);
  if (session->json) {
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    rapidjson::Value list(rapidjson::kArrayType);
    for (const auto& run : hung) {
      auto item = row_json(*session, run.run, a);
      item.AddMember("kind", rapidjson::StringRef(run.kind == HungKind::starting    ? "starting"
                                                  : run.kind == HungKind::canceling ? "canceling"
                                                                                    : "max_runtime"), a);
      item.AddMember("since", time_json(*session, run.since, a), a);
      item.AddMember("stuckSeconds", run.stuck_for, a);
      item.AddMember("limitSeconds", run.limit, a);
      list.PushBack(item, a);
    }
    doc.AddMember("hung", list, a);
    doc.AddMember("inFlight", static_cast<int>(rows->size()), a);
    doc.AddMember("now", time_json(*session, now, a), a);
    rapidjson::Value limits(rapidjson::kObjectType);
    limits.AddMember("startTimeoutSeconds", thresholds.start_timeout, a);
    limits.AddMember("cancelTimeoutSeconds", thresholds.cancel_timeout, a);
    doc.AddMember("thresholds", limits, a);
    print_json(doc, out);
  } else {
    out << fmt::format("now {}; {} run(s) STARTING, STARTED or CANCELING; {} hung\n", session->both_times(now),
                       rows->size(), hung.size());
    for (const auto& run : hung) {
      out << fmt::format("  {}  {:<25} {} for {} (limit {}), since {}\n", run.run.run_id, run.run.job_name,
                         to_string(run.kind), format_duration(run.stuck_for), format_duration(run.limit),
                         session->local_time(run.since));
    }
  }
  return finish(*session, hung.empty() ? 0 : 1, err);
}

}  // namespace

std::vector<recorder::Command> investigate_list_commands() {
  return {
      {"runs", "recent runs by job, status and time", run_runs},
      {"hung", "runs stuck in STARTING, CANCELING or past dagster/max_runtime", run_hung},
      {"agents", "Dagster+ agents and their recent errors", run_agents},
  };
}

std::vector<recorder::Command> investigate_commands() {
  std::vector<recorder::Command> all = investigate_run_commands();
  for (auto& command : investigate_list_commands()) all.push_back(std::move(command));
  for (auto& command : investigate_steps_commands()) all.push_back(std::move(command));
  return all;
}

}  // namespace analyzer
