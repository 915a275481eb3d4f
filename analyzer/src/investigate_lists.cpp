// `day2 runs` (recent runs by job, status, time), `day2 hung` (runs stuck in STARTING, CANCELING or
// past dagster/max_runtime) and `day2 agents` (Dagster+ agents and their recent errors).
#include <fmt/format.h>

#include <algorithm>

#include "investigate_options.hpp"
#include "recorder/shift.hpp"
#include "steps.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;
using recorder::UsageError;

namespace {

constexpr std::string_view k_exit_codes = "Exit codes: 0 ok, 1 error (Dagster unreachable, a replay miss), 2 bad usage, 3 internal error.\n";

// An instant from an option: RFC 3339, or a duration before `now` ("24h", "90m").
double parse_instant_option(const std::string& option, const std::string& text, recorder::Instant now) {
  if (auto instant = recorder::parse_rfc3339(text)) return recorder::to_epoch_seconds(*instant);
  auto ago = recorder::parse_duration(text);
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

constexpr CommandHelp k_runs_help{"day2 runs [--job NAME] [--status S,...] [--since TIME] [--limit N] [--json]",
                                  "Recent runs, newest created first.",
                                  "day2 runs --job flaky_job --status FAILURE,SUCCESS --since 24h", k_exit_codes};

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

// ---- agents --------------------------------------------------------------------------------------

constexpr CommandHelp k_agents_help{
    "day2 agents [--id ID] [--errors-after TIME] [--json]   (Dagster+ only)",
    "Dagster+ agents: status, last heartbeat, recent errors. Before concluding an agent had no impact,\n"
    "also read `day2 runs --status FAILURE` around its errors and the GKE events of that window.",
    "day2 agents --flavor plus --organization acme --id 3f2a --errors-after 6h", k_exit_codes};

int run_agents(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto options = source_options();
  options.add_options()
      ("id", po::value<std::string>(), "only this agent")
      ("errors-after", po::value<std::string>()->value_name("TIME"), "only errors after TIME: RFC 3339, or a duration before now (2h)");
  auto vm = parse_args(args, options, {});
  if (print_help_if_asked(vm, k_agents_help, options, out)) return 0;
  auto session = open_session(vm, "agents", err);
  if (!session) return 1;
  if (session->config.dagster.flavor != Flavor::plus) {
    return fail(*session, "agents exist only on Dagster+ (--flavor plus --organization ORG)", err);
  }
  std::optional<double> after;
  if (vm.count("errors-after")) after = parse_instant_option("errors-after", vm["errors-after"].as<std::string>(), session->now);
  auto data = session->client->query("PlusAgents");
  if (!data) return fail(*session, data.error().message, err);
  const auto* agents = recorder::get_array(*data, "agents");
  if (!agents) return fail(*session, "PlusAgents: agents is missing", err);
  double now = recorder::to_epoch_seconds(session->now);
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value list(rapidjson::kArrayType);
  std::string id = vm.count("id") ? vm["id"].as<std::string>() : "";
  for (const auto& agent : agents->GetArray()) {
    auto agent_id = recorder::get_string(agent, "id").value_or("");
    if (!id.empty() && agent_id != id) continue;
    rapidjson::Value item(rapidjson::kObjectType);
    double heartbeat = number_or(agent, "lastHeartbeatTime", 0);
    item.AddMember("id", recorder::json_string(agent_id, a), a);
    item.AddMember("label", recorder::json_string(recorder::get_string(agent, "agentLabel").value_or(""), a), a);
    item.AddMember("status", recorder::json_string(recorder::get_string(agent, "status").value_or(""), a), a);
    item.AddMember("lastHeartbeat", time_json(*session, heartbeat, a), a);
    item.AddMember("heartbeatAgeSeconds", heartbeat > 0 ? rapidjson::Value(now - heartbeat) : rapidjson::Value(), a);
    rapidjson::Value errors(rapidjson::kArrayType);
    if (const auto* list_errors = recorder::get_array(agent, "errors")) {
      for (const auto& error : list_errors->GetArray()) {
        double at = number_or(error, "timestamp", 0);
        if (after && at <= *after) continue;
        rapidjson::Value e(rapidjson::kObjectType);
        e.AddMember("time", time_json(*session, at, a), a);
        const auto* python = recorder::get_object(error, "error");
        e.AddMember("className", recorder::json_string(python ? recorder::get_string(*python, "className").value_or("") : "", a), a);
        e.AddMember("message", recorder::json_string(python ? python_error_text(*python) : "", a), a);
        errors.PushBack(e, a);
      }
    }
    item.AddMember("errors", errors, a);
    list.PushBack(item, a);
  }
  if (!id.empty() && list.Empty()) return fail(*session, fmt::format("no agent {} in {}", id, session->deployment()), err);
  if (session->json) {
    doc.AddMember("agents", list, a);
    print_json(doc, out);
    return finish(*session, 0, err);
  }
  for (const auto& item : list.GetArray()) {
    const auto* beat = recorder::get_object(item, "lastHeartbeat");
    out << fmt::format("agent {} ({})  {}  last heartbeat {} ({} ago)\n", recorder::get_string(item, "id").value_or(""),
                       recorder::get_string(item, "label").value_or(""), recorder::get_string(item, "status").value_or(""),
                       beat ? recorder::get_string(*beat, "local").value_or("-") : "-",
                       format_duration(recorder::get_number(item, "heartbeatAgeSeconds").value_or(-1)));
    for (const auto& error : item["errors"].GetArray()) {
      const auto* time = recorder::get_object(error, "time");
      auto message = recorder::get_string(error, "message").value_or("");
      out << fmt::format("  {}  {}\n", time ? recorder::get_string(*time, "local").value_or("-") : "-",
                         message.substr(0, message.find('\n')));
    }
  }
  return finish(*session, 0, err);
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
