// The Dagster GraphQL API of a simulated world: every operation `day2 collect` sends
// (analyzer/queries/), and RunDetail for the investigations a scenario makes claims about, answered
// in the shapes of the recorded fixture, paged like Dagster.
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

#include "recorder/base/json.hpp"
#include "simulate_world.hpp"

namespace analyzer::sim {

namespace {

using Vars = rapidjson::Value;

double var_number(const Vars& vars, const char* key, double fallback) {
  return recorder::get_number(vars, key).value_or(fallback);
}

std::string tags(const Run& r) {
  std::map<std::string, std::string> all = r.tags;
  all["dagster/code_location"] = r.location;
  std::vector<std::string> out;
  for (const auto& [k, v] : all) out.push_back(fmt::format(R"({{"key":{},"value":{}}})", quote(k), quote(v)));
  return "[" + join(out) + "]";
}

std::string origin(const Run& r) {
  return fmt::format(R"({{"repositoryLocationName":{},"repositoryName":{}}})", quote(r.location), quote(k_repository));
}

// Runs matching `statuses` (and the window filter members), newest created first, after `cursor`.
std::vector<const Run*> runs_page(const World& world, const Vars& vars) {
  const Vars* filter = recorder::get_object(vars, "filter");
  std::set<std::string> statuses;
  double updated_after = 0, created_before = 1e18;
  if (filter) {
    if (const auto* list = recorder::get_array(*filter, "statuses")) {
      for (const auto& s : list->GetArray()) statuses.insert(s.IsString() ? s.GetString() : "");
    }
    updated_after = var_number(*filter, "updatedAfter", 0);
    created_before = var_number(*filter, "createdBefore", 1e18);
  }
  std::vector<const Run*> runs;
  for (const auto& r : world.runs) {
    bool in_flight = r.status == "QUEUED" || r.status == "STARTED";
    if (!statuses.empty() && !statuses.contains(r.status)) continue;
    if (!in_flight && (update_time(r) < updated_after || r.created >= created_before)) continue;
    runs.push_back(&r);
  }
  std::sort(runs.begin(), runs.end(), [](const Run* x, const Run* y) {
    return std::tie(y->created, y->id) < std::tie(x->created, x->id);
  });
  auto cursor = recorder::get_string(vars, "cursor");
  if (cursor) {
    auto it = std::find_if(runs.begin(), runs.end(), [&](const Run* r) { return r->id == *cursor; });
    runs.erase(runs.begin(), it == runs.end() ? it : it + 1);
  }
  auto limit = static_cast<std::size_t>(var_number(vars, "limit", 1000));
  if (runs.size() > limit) runs.resize(limit);
  return runs;
}

std::string runs_in_window(const World& world, const Vars& vars) {
  std::vector<std::string> rows;
  for (const Run* r : runs_page(world, vars)) {
    rows.push_back(fmt::format(
        R"({{"runId":{},"jobName":{},"status":{},"startTime":{},"endTime":{},"updateTime":{},"parentRunId":{},"rootRunId":{},"repositoryOrigin":{},"tags":{}}})",
        quote(r->id), quote(r->job), quote(r->status), nullable(r->start), nullable(r->end), number(update_time(*r)),
        r->parent_id.empty() ? "null" : quote(r->parent_id), r->root_id.empty() ? "null" : quote(r->root_id),
        origin(*r), tags(*r)));
  }
  return fmt::format(R"({{"runsOrError":{{"__typename":"Runs","results":[{}]}}}})", join(rows));
}

std::string in_flight_runs(const World& world, const Vars& vars) {
  std::vector<std::string> rows;
  for (const Run* r : runs_page(world, vars)) {
    rows.push_back(fmt::format(
        R"({{"runId":{},"jobName":{},"status":{},"canTerminate":true,"startTime":{},"endTime":null,"updateTime":{},"repositoryOrigin":{},"tags":{},"stats":{{"__typename":"RunStatsSnapshot","enqueuedTime":{},"launchTime":{},"startTime":{},"endTime":null}}}})",
        quote(r->id), quote(r->job), quote(r->status), nullable(r->start), number(update_time(*r)), origin(*r), tags(*r),
        number(r->created), nullable(r->start), nullable(r->start)));
  }
  return fmt::format(
      R"({{"instance":{{"runQueuingSupported":true,"runQueueConfig":{{"maxConcurrentRuns":10,"tagConcurrencyLimitsYaml":null}}}},"runsOrError":{{"__typename":"Runs","results":[{}]}}}})",
      join(rows));
}

// The run `vars.runId` names, or null; `not_found` is then the answer's `field` as Dagster gives it.
const Run* run_of(const World& world, const Vars& vars, const char* field, std::string& not_found) {
  auto id = recorder::get_string(vars, "runId").value_or("");
  auto it = std::find_if(world.runs.begin(), world.runs.end(), [&](const Run& r) { return r.id == id; });
  if (it != world.runs.end()) return &*it;
  not_found = fmt::format(R"({{"{}":{{"__typename":"RunNotFoundError","runId":{},"message":{}}}}})", field, quote(id),
                          quote("Run " + id + " could not be found."));
  return nullptr;
}

std::string run_events_page(const World& world, const Vars& vars) {
  std::string not_found;
  const Run* it = run_of(world, vars, "logsForRun", not_found);
  if (it == nullptr) return not_found;
  auto events = run_events(*it);
  std::size_t from = 0;
  if (auto cursor = recorder::get_string(vars, "afterCursor")) from = std::stoul("0" + cursor->substr(cursor->find('-') + 1));
  auto limit = static_cast<std::size_t>(var_number(vars, "limit", 1000));
  from = std::min(from, events.size());
  std::size_t to = std::min(events.size(), from + std::max<std::size_t>(limit, 1));
  std::vector<std::string> page(events.begin() + static_cast<long>(from), events.begin() + static_cast<long>(to));
  return fmt::format(R"({{"logsForRun":{{"__typename":"EventConnection","cursor":{},"hasMore":{},"events":[{}]}}}})",
                     quote(fmt::format("storage-{}", to)), to < events.size() ? "true" : "false", join(page));
}

// Run.capturedLogs of a run's step file (simulated runs capture one file, named after their step).
std::string captured_logs(const World& world, const Vars& vars) {
  std::string not_found;
  const Run* it = run_of(world, vars, "runOrError", not_found);
  if (it == nullptr) return not_found;
  auto file_key = recorder::get_string(vars, "fileKey").value_or("");
  std::string stderr_text = file_key == it->step ? captured_stderr(*it) : "";
  return fmt::format(R"({{"runOrError":{{"__typename":"Run","capturedLogs":{{"logKey":[{},"compute_logs",{}],"stdout":null,"stderr":{}}}}}}})",
                     quote(it->id), quote(file_key), stderr_text.empty() ? "null" : quote(stderr_text));
}

// Step stats and counts of a run, read back from its event log: what Dagster derives them from.
struct StepCounts {
  std::vector<std::string> stats;  // RunStepStats, in the order the steps started
  int succeeded = 0;
  int failed = 0;
  int materializations = 0;
};

StepCounts step_counts(const Run& run) {
  StepCounts out;
  std::vector<std::string> order;
  std::map<std::string, std::pair<double, double>> times;  // step -> (start, end)
  std::map<std::string, std::string> status;
  for (const auto& text : run_events(run)) {
    auto event = recorder::parse_json(text, "simulated event");
    if (!event) throw std::logic_error(event.error().message);  // a bug in the event builders
    auto type = recorder::get_string(*event, "eventType").value_or("");
    auto step = recorder::get_string(*event, "stepKey").value_or("");
    double at = std::strtod(recorder::get_string(*event, "timestamp").value_or("0").c_str(), nullptr) / 1000;
    if (type == "ASSET_MATERIALIZATION") ++out.materializations;
    if (step.empty() || (type != "STEP_START" && type != "STEP_SUCCESS" && type != "STEP_FAILURE")) continue;
    if (type == "STEP_START" && !times.contains(step)) {
      order.push_back(step);
      times[step] = {at, 0};
      status[step] = "IN_PROGRESS";
    } else if (type != "STEP_START" && times.contains(step)) {
      times[step].second = at;
      status[step] = type.substr(5);
    }
  }
  for (const auto& step : order) {
    out.succeeded += status[step] == "SUCCESS";
    out.failed += status[step] == "FAILURE";
    out.stats.push_back(fmt::format(
        R"({{"stepKey":{},"status":{},"startTime":{},"endTime":{},"attempts":[{{"startTime":{},"endTime":{}}}]}})",
        quote(step), quote(status[step]), number(times[step].first), nullable(times[step].second),
        number(times[step].first), nullable(times[step].second)));
  }
  return out;
}

}  // namespace

std::string run_detail(const World& world, const Vars& vars) {
  std::string not_found;
  const Run* r = run_of(world, vars, "runOrError", not_found);
  if (r == nullptr) return not_found;
  std::string selection = "null";  // every step
  if (!r->parent_id.empty()) {  // a re-execution from failure: the failed step and those after it
    std::vector<std::string> keys{quote(r->step)};
    for (const auto& key : r->downstream) keys.push_back(quote(key));
    selection = "[" + join(keys) + "]";
  }
  auto counts = step_counts(*r);
  bool active = r->status == "QUEUED" || r->status == "STARTED";
  return fmt::format(
      R"({{"runOrError":{{"__typename":"Run","runId":{},"jobName":{},"status":{},"canTerminate":{},"startTime":{},"endTime":{},"updateTime":{},"parentRunId":{},"rootRunId":{},"runConfigYaml":"{{}}\n","stepKeysToExecute":{},"repositoryOrigin":{},"tags":{},"stats":{{"__typename":"RunStatsSnapshot","enqueuedTime":{},"launchTime":{},"startTime":{},"endTime":{},"stepsSucceeded":{},"stepsFailed":{},"materializations":{},"expectations":0}},"stepStats":[{}]}}}})",
      quote(r->id), quote(r->job), quote(r->status), active ? "true" : "false", nullable(r->start), nullable(r->end),
      number(update_time(*r)), r->parent_id.empty() ? "null" : quote(r->parent_id),
      r->root_id.empty() ? "null" : quote(r->root_id), selection, origin(*r), tags(*r), number(r->created),
      number(r->created + 1), nullable(r->start), nullable(r->end), counts.succeeded, counts.failed,
      counts.materializations, join(counts.stats));
}

namespace {

std::string tick_json(const Instigator& ins, const Tick& t, int n) {
  std::string error = "null";
  if (t.status == "FAILURE") {
    std::string cls = t.error_class.empty() ? (ins.sensor ? "SensorExecutionError" : "ScheduleExecutionError") : t.error_class;
    std::string msg = t.message.empty() ? fmt::format("RuntimeError: {} failed", ins.name) : t.message;
    std::string top = ins.sensor ? fmt::format("dagster._core.errors.{}: Error occurred during the execution of evaluation_fn for sensor {}", cls, ins.name)
                                 : fmt::format("dagster._core.errors.{}: Error occurred during the evaluation of schedule {}", cls, ins.name);
    auto colon = msg.find(':');
    error = fmt::format(
        R"({{"className":{},"message":{},"stack":[],"errorChain":[{{"isExplicitLink":true,"error":{{"className":{},"message":{},"stack":[]}}}}]}})",
        quote(cls), quote(top + "\n"), quote(msg.substr(0, colon == std::string::npos ? msg.size() : colon)),
        quote(msg + "\n"));
  }
  return fmt::format(R"({{"id":{},"tickId":{},"status":{},"timestamp":{},"endTimestamp":{},"runIds":[],"error":{}}})",
                     quote(fmt::format("{}:{}", ins.name, number(t.time))), quote(std::to_string(n)), quote(t.status),
                     number(t.time), number(t.time + 0.5), error);
}

// Failed ticks of `ins` in [after, before), newest first, at most `limit`.
std::string ticks(const Instigator& ins, const Vars& vars) {
  double after = var_number(vars, "after", 0), before = var_number(vars, "before", 1e18);
  auto limit = static_cast<std::size_t>(var_number(vars, "limit", 1000));
  std::vector<std::string> out;
  for (int n = static_cast<int>(ins.ticks.size()) - 1; n >= 0 && out.size() < limit; --n) {
    const Tick& t = ins.ticks[static_cast<std::size_t>(n)];
    if (t.status == "FAILURE" && t.time > after && t.time < before) out.push_back(tick_json(ins, t, n + 1));
  }
  return "[" + join(out) + "]";
}

std::string state_id(const Instigator& ins) { return quote(fmt::format("{}:{}", ins.location, ins.name)); }

std::string repository(const World& world, const Location& loc, const Vars& vars) {
  std::vector<std::string> sensors, schedules;
  for (const auto& ins : world.instigators) {
    if (ins.location != loc.name) continue;
    std::string state = fmt::format(R"({{"id":{},"status":"RUNNING","ticks":{}}})", state_id(ins), ticks(ins, vars));
    if (ins.sensor) {
      sensors.push_back(fmt::format(R"({{"id":{},"name":{},"sensorType":"STANDARD","sensorState":{}}})", state_id(ins),
                                    quote(ins.name), state));
    } else {
      schedules.push_back(fmt::format(
          R"({{"id":{},"name":{},"cronSchedule":"0 * * * *","executionTimezone":"UTC","scheduleState":{}}})",
          state_id(ins), quote(ins.name), state));
    }
  }
  return fmt::format(R"({{"name":{},"sensors":[{}],"schedules":[{}]}})", quote(k_repository), join(sensors), join(schedules));
}

std::string all_instigator_ticks(const World& world, const Vars& vars) {
  std::vector<std::string> entries;
  for (const auto& loc : world.locations) {
    std::string inner = loc.load_error.empty()
                            ? fmt::format(R"({{"__typename":"RepositoryLocation","name":{},"repositories":[{}]}})",
                                          quote(loc.name), repository(world, loc, vars))
                            : py_error_text(loc.load_error);
    entries.push_back(fmt::format(R"({{"name":{},"loadStatus":"LOADED","locationOrLoadError":{}}})", quote(loc.name), inner));
  }
  return fmt::format(R"({{"workspaceOrError":{{"__typename":"Workspace","locationEntries":[{}]}}}})", join(entries));
}

std::string instigator_ticks(const World& world, const Vars& vars) {
  const auto* selector = recorder::get_object(vars, "selector");
  auto name = selector ? recorder::get_string(*selector, "name").value_or("") : "";
  auto loc = selector ? recorder::get_string(*selector, "repositoryLocationName").value_or("") : "";
  for (const auto& ins : world.instigators) {
    if (ins.name == name && ins.location == loc) {
      return fmt::format(R"({{"instigationStateOrError":{{"__typename":"InstigationState","id":{},"ticks":{}}}}})",
                         state_id(ins), ticks(ins, vars));
    }
  }
  return fmt::format(R"({{"instigationStateOrError":{{"__typename":"InstigationStateNotFoundError","name":{},"message":"not found"}}}})",
                     quote(name));
}

std::string code_locations(const World& world) {
  std::vector<std::string> entries;
  for (const auto& loc : world.locations) {
    std::string inner = loc.load_error.empty()
                            ? fmt::format(R"({{"__typename":"RepositoryLocation","id":{},"name":{},"repositories":[{{"name":{}}}]}})",
                                          quote(loc.name), quote(loc.name), quote(k_repository))
                            : py_error_text(loc.load_error);
    entries.push_back(fmt::format(
        R"({{"id":{},"name":{},"loadStatus":"LOADED","updatedTimestamp":{},"displayMetadata":[{{"key":"image","value":"etl:latest"}}],"locationOrLoadError":{}}})",
        quote(loc.name), quote(loc.name), number(loc.updated), inner));
  }
  return fmt::format(R"({{"workspaceOrError":{{"__typename":"Workspace","id":"Workspace","locationEntries":[{}]}}}})",
                     join(entries));
}

std::string daemon_health(const World& world) {
  std::vector<Daemon> daemons = world.daemons;
  if (daemons.empty()) {
    for (const char* type : {"BACKFILL", "QUEUED_RUN_COORDINATOR", "SCHEDULER", "SENSOR"}) {
      daemons.push_back({type, true, recorder::to_epoch_seconds(world.now) - 30, {}});
    }
  }
  std::vector<std::string> rows;
  for (const auto& d : daemons) {
    std::vector<std::string> errors;
    for (const auto& e : d.errors) errors.push_back(py_error_text(e, false));
    rows.push_back(fmt::format(
        R"({{"id":{},"daemonType":{},"required":true,"healthy":{},"lastHeartbeatTime":{},"lastHeartbeatErrors":[{}]}})",
        quote(d.type), quote(d.type), d.healthy ? "true" : "false", number(d.heartbeat), join(errors)));
  }
  return fmt::format(
      R"({{"instance":{{"id":"Instance","hasInfo":true,"daemonHealth":{{"id":"daemonHealth","allDaemonStatuses":[{}]}}}}}})",
      join(rows));
}

std::string backfills(const World& world, const Vars& vars) {
  std::vector<const Backfill*> list;
  for (const auto& b : world.backfills) list.push_back(&b);
  std::sort(list.begin(), list.end(), [](const Backfill* x, const Backfill* y) { return x->created > y->created; });
  if (auto cursor = recorder::get_string(vars, "cursor")) {
    auto it = std::find_if(list.begin(), list.end(), [&](const Backfill* b) { return b->id == *cursor; });
    list.erase(list.begin(), it == list.end() ? it : it + 1);
  }
  auto limit = static_cast<std::size_t>(var_number(vars, "limit", 100));
  if (list.size() > limit) list.resize(limit);
  std::vector<std::string> rows;
  for (const Backfill* b : list) {
    std::string key = fmt::format(R"({{"path":[{}]}})", quote(b->asset));
    rows.push_back(fmt::format(
        R"({{"id":{},"status":{},"timestamp":{},"endTimestamp":{},"numPartitions":{},"numCancelable":0,"partitionSetName":null,"isAssetBackfill":true,"fromFailure":false,"assetSelection":[{}],"partitionStatusCounts":[],"assetBackfillData":{{"assetBackfillStatuses":[{{"__typename":"AssetPartitionsStatusCounts","assetKey":{},"numPartitionsTargeted":{},"numPartitionsInProgress":0,"numPartitionsMaterialized":{},"numPartitionsFailed":{}}}]}},"error":null}})",
        quote(b->id), quote(b->status), number(b->created), nullable(b->end), b->partitions, key, key, b->partitions,
        b->partitions - b->failed, b->failed));
  }
  return fmt::format(R"({{"partitionBackfillsOrError":{{"__typename":"PartitionBackfills","results":[{}]}}}})", join(rows));
}

std::string type_fields(const Vars& vars) {
  auto name = recorder::get_string(vars, "name").value_or("");
  std::vector<std::string> fields;
  for (const char* f : {"assetKey", "freshnessInfo", "freshnessPolicy", "freshnessStatusInfo", "id",
                        "internalFreshnessPolicy"}) {
    fields.push_back(fmt::format(R"({{"name":{}}})", quote(f)));
  }
  return fmt::format(R"({{"__type":{{"name":{},"fields":[{}],"inputFields":null}}}})", quote(name), join(fields));
}

std::string dispatch(const World& world, const std::string& op, const Vars& vars) {
  if (op == "RunsInWindow") return runs_in_window(world, vars);
  if (op == "InFlightRuns") return in_flight_runs(world, vars);
  if (op == "RunEvents") return run_events_page(world, vars);
  if (op == "RunDetail") return run_detail(world, vars);
  if (op == "RunCapturedLogs") return captured_logs(world, vars);
  if (op == "AllInstigatorTicks") return all_instigator_ticks(world, vars);
  if (op == "InstigatorTicks") return instigator_ticks(world, vars);
  if (op == "CodeLocations") return code_locations(world);
  if (op == "DaemonHealth") return daemon_health(world);
  if (op == "Backfills") return backfills(world, vars);
  if (op == "TypeFields") return type_fields(vars);
  if (auto assets = answer_assets(world, op, vars); !assets.empty()) return assets;
  return answer_plus(world, op);
}

recorder::HttpResponse json_response(const std::string& body) {
  return {200, {{"content-type", "application/json"}}, body};
}

}  // namespace

// A PythonError from "ClassName: message"; `typed` adds the __typename of a union member.
std::string py_error_text(std::string_view text, bool typed) {
  auto colon = text.find(':');
  std::string cls(text.substr(0, colon == std::string_view::npos ? text.size() : colon));
  return fmt::format(R"({{{}"className":{},"message":{},"stack":[],"errorChain":[]}})",
                     typed ? R"("__typename":"PythonError",)" : "", quote(cls), quote(std::string(text) + "\n"));
}

recorder::HttpResponse answer_dagster(const World& world, const std::string& body) {
  auto request = recorder::parse_json(body, "GraphQL request");
  std::string op = request ? recorder::get_string(*request, "operationName").value_or("") : "";
  static const rapidjson::Value no_vars(rapidjson::kObjectType);
  const rapidjson::Value* vars = request ? recorder::get_object(*request, "variables") : nullptr;
  std::string data = dispatch(world, op, vars ? *vars : no_vars);
  if (data.empty()) {
    return json_response(fmt::format(R"({{"data":null,"errors":[{{"message":{}}}]}})",
                                     quote("day2 simulate: operation \"" + op + "\" is not simulated")));
  }
  auto parsed = recorder::parse_json(R"({"data":)" + data + "}", "simulated " + op);
  if (!parsed) throw std::logic_error(parsed.error().message);  // a bug in the builders above
  return json_response(recorder::write_json(*parsed));
}

}  // namespace analyzer::sim
