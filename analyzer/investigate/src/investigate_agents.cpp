// `day2 agents` (Dagster+ only): the agents, their heartbeats and recent errors; with --id, the
// seed's targeted check of one agent (appendix, "Specific agent ID query"): its errors, the failed
// runs within --around of them, and the Kubernetes events of the same window, all three always.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "analyzer/clients/gcp_auth.hpp"
#include "analyzer/clients/gcp_client.hpp"
#include "analyzer/artifact/overlap.hpp"
#include "analyzer/investigate/investigate.hpp"
#include "investigate_commands.hpp"
#include "recorder/base/log.hpp"
#include "analyzer/collect/steps.hpp"

namespace analyzer {

using recorder::UsageError;

std::string_view to_string(ErrorRelation relation) {
  switch (relation) {
    case ErrorRelation::before: return "before";
    case ErrorRelation::during: return "during";
    case ErrorRelation::after: return "after";
  }
  return "during";
}

std::vector<RunNearError> runs_near_errors(const std::vector<RunRowInfo>& runs, const std::vector<double>& error_times,
                                           double around) {
  std::vector<double> errors = error_times;
  std::sort(errors.begin(), errors.end());
  std::vector<RunNearError> out;
  for (const auto& run : runs) {
    if (run.end_time <= 0) continue;
    auto extent = run_extent(run.start_time > 0 ? std::optional<double>(run.start_time) : std::nullopt, run.end_time);
    std::optional<RunNearError> best;
    for (double t : errors) {
      RunNearError near{run, t, 0, ErrorRelation::during};
      if (t < extent->start) near = {run, t, extent->start - t, ErrorRelation::after};
      else if (t > extent->end) near = {run, t, t - extent->end, ErrorRelation::before};
      if (!best || near.distance < best->distance) best = std::move(near);
    }
    if (best && best->distance <= around) out.push_back(std::move(*best));
  }
  std::sort(out.begin(), out.end(), [](const RunNearError& a, const RunNearError& b) {
    return std::tie(a.run.start_time, a.run.run_id) < std::tie(b.run.start_time, b.run.run_id);
  });
  return out;
}

namespace {

struct AgentError {
  double time = 0;
  std::string class_name;
  std::string message;
};

struct Agent {
  std::string id;
  std::string label;
  std::string status;
  double heartbeat = 0;
  std::vector<AgentError> errors;  // after --errors-after, in Dagster's order
};

// The three parts of the check of one agent.
struct AgentCheck {
  double errors_after = 0;
  double around = 0;
  double start = 0;  // the window: [first error - around, last error + around], or [errors-after, now]
  double end = 0;
  bool has_errors = false;
  std::vector<RunNearError> runs;  // FAILURE only; without errors every failed run of the window
  std::string runs_error;
  std::string events_skipped;  // why the Kubernetes events were not read ("" = they were)
  std::string events_error;
  GkeEvents events;  // within [start, end)
};

constexpr std::string_view k_gcp_not_configured = "Google Cloud is not configured (gcp.project, gcp.cluster, gcp.location)";

std::vector<Agent> read_agents(const rapidjson::Value& list, std::optional<double> after) {
  std::vector<Agent> agents;
  for (const auto& item : list.GetArray()) {
    Agent agent{recorder::get_string(item, "id").value_or(""), recorder::get_string(item, "agentLabel").value_or(""),
                recorder::get_string(item, "status").value_or(""), number_or(item, "lastHeartbeatTime", 0), {}};
    if (const auto* errors = recorder::get_array(item, "errors")) {
      for (const auto& error : errors->GetArray()) {
        double at = number_or(error, "timestamp", 0);
        if (after && at <= *after) continue;
        const auto* python = recorder::get_object(error, "error");
        agent.errors.push_back({at, python ? recorder::get_string(*python, "className").value_or("") : "",
                                python ? python_error_text(*python) : ""});
      }
    }
    agents.push_back(std::move(agent));
  }
  return agents;
}

// The Google Cloud client of the check, or nullopt with the reason in `skipped`. Credentials are
// found as collect finds them; replaying needs none (and the frozen clock paces nothing).
std::optional<GcpClient> make_gcp(const Session& session, const po::variables_map& vm, std::string& skipped,
                                  std::string& error) {
  const auto& config = session.config;
  if (config.gcp.project.empty()) {
    skipped = k_gcp_not_configured;
    return std::nullopt;
  }
  auto transport = make_transport_stack(config, session.replay, nullptr, Record::no).transport;
  if (!session.replay) {
    GcpAuthOptions auth;
    if (vm.count("gcp-access-token-env")) auth.access_token_env = vm["gcp-access-token-env"].as<std::string>();
    auto authed = make_gcp_auth_transport(transport, auth);
    if (!authed) {
      error = "Google Cloud credentials: " + authed.error().message;
      return std::nullopt;
    }
    recorder::log::debug("day2 agents: Google Cloud credentials: {}", (*authed)->credentials().description());
    transport = *authed;
  }
  std::string root = vm.count("gcp-api-root") ? vm["gcp-api-root"].as<std::string>() : config.gcp.api_root;
  auto timeout = std::chrono::milliseconds(static_cast<long long>(config.timeout_seconds * 1000));
  return std::make_optional<GcpClient>(transport, root.empty() ? GcpEndpoints{} : GcpEndpoints::all(root), timeout);
}

StepContext step_context(const Session& session, const GcpClient* gcp, double start, double end) {
  return StepContext{*session.client, session.config, default_rules(),
                     recorder::Window{recorder::from_epoch_seconds(start), recorder::from_epoch_seconds(end)},
                     start, end, nullptr, nullptr, nullptr, gcp, session.now, nullptr};
}

AgentCheck check_agent(const Session& session, const po::variables_map& vm, const Agent& agent, double after,
                       double around) {
  AgentCheck check;
  check.errors_after = after;
  check.around = around;
  double now = recorder::to_epoch_seconds(session.now);
  std::vector<double> times;
  for (const auto& error : agent.errors) times.push_back(error.time);
  check.has_errors = !times.empty();
  check.start = check.has_errors ? *std::min_element(times.begin(), times.end()) - around : after;
  check.end = check.has_errors ? *std::max_element(times.begin(), times.end()) + around : now;

  // A failed run near an error started before the window's end but may have ended up to now.
  auto runs = fetch_runs_in_window(step_context(session, nullptr, check.start, std::max(check.end, now)));
  if (!runs) {
    check.runs_error = runs.error().message;
  } else {
    std::erase_if(*runs, [](const RunRowInfo& run) { return run.status != "FAILURE"; });
    if (check.has_errors) {
      check.runs = runs_near_errors(*runs, times, around);
    } else {
      for (auto& run : *runs) check.runs.push_back({std::move(run), 0, 0, ErrorRelation::during});
      std::sort(check.runs.begin(), check.runs.end(), [](const RunNearError& a, const RunNearError& b) {
        return std::tie(a.run.start_time, a.run.run_id) < std::tie(b.run.start_time, b.run.run_id);
      });
    }
  }

  auto gcp = make_gcp(session, vm, check.events_skipped, check.events_error);
  if (!gcp) return check;
  auto events = fetch_gke_events(step_context(session, &*gcp, check.start, check.end), /*full=*/false);
  if (!events) {
    check.events_error = events.error().message;
    return check;
  }
  check.events = std::move(*events);
  auto outside = [&](double t) { return t < check.start || t >= check.end; };
  std::erase_if(check.events.pods, [&](const PodEvent& e) { return outside(e.timestamp); });
  std::erase_if(check.events.cluster, [&](const ClusterEvent& e) { return outside(e.timestamp); });
  return check;
}

rapidjson::Value agent_json(const Session& session, const Agent& agent, Allocator& a) {
  double now = recorder::to_epoch_seconds(session.now);
  rapidjson::Value item(rapidjson::kObjectType);
  item.AddMember("id", string_value(agent.id, a), a);
  item.AddMember("label", string_value(agent.label, a), a);
  item.AddMember("status", string_value(agent.status, a), a);
  item.AddMember("lastHeartbeat", time_json(session, agent.heartbeat, a), a);
  item.AddMember("heartbeatAgeSeconds", agent.heartbeat > 0 ? rapidjson::Value(now - agent.heartbeat) : rapidjson::Value(), a);
  rapidjson::Value errors(rapidjson::kArrayType);
  for (const auto& error : agent.errors) {
    rapidjson::Value e(rapidjson::kObjectType);
    e.AddMember("time", time_json(session, error.time, a), a);
    e.AddMember("className", string_value(error.class_name, a), a);
    e.AddMember("message", string_value(error.message, a), a);
    errors.PushBack(e, a);
  }
  item.AddMember("errors", errors, a);
  return item;
}

rapidjson::Value nullable_string(const std::string& text, Allocator& a) {
  return text.empty() ? rapidjson::Value() : string_value(text, a);
}

rapidjson::Value check_json(const Session& session, const AgentCheck& check, Allocator& a) {
  rapidjson::Value out(rapidjson::kObjectType);
  out.AddMember("aroundSeconds", check.around, a);
  out.AddMember("errorsAfter", time_json(session, check.errors_after, a), a);
  out.AddMember("errorsToCorrelate", check.has_errors, a);
  rapidjson::Value window(rapidjson::kObjectType);
  window.AddMember("start", time_json(session, check.start, a), a);
  window.AddMember("end", time_json(session, check.end, a), a);
  out.AddMember("window", window, a);

  rapidjson::Value runs(rapidjson::kObjectType), list(rapidjson::kArrayType);
  for (const auto& near : check.runs) {
    auto row = row_json(session, near.run, a);
    bool linked = check.has_errors;
    row.AddMember("nearestError", linked ? time_json(session, near.error_time, a) : rapidjson::Value(), a);
    row.AddMember("secondsFromError", linked ? rapidjson::Value(near.distance) : rapidjson::Value(), a);
    row.AddMember("relation", linked ? string_value(to_string(near.relation), a) : rapidjson::Value(), a);
    list.PushBack(row, a);
  }
  runs.AddMember("error", nullable_string(check.runs_error, a), a);
  runs.AddMember("runs", list, a);
  out.AddMember("failedRuns", runs, a);

  rapidjson::Value events(rapidjson::kObjectType), pods(rapidjson::kArrayType), cluster(rapidjson::kArrayType);
  for (const auto& e : check.events.pods) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("time", time_json(session, e.timestamp, a), a);
    row.AddMember("podName", string_value(e.pod_name, a), a);
    row.AddMember("reason", string_value(e.reason, a), a);
    row.AddMember("message", string_value(e.message, a), a);
    row.AddMember("node", nullable_string(e.node, a), a);
    row.AddMember("fromNodeEvent", e.node_event, a);
    pods.PushBack(row, a);
  }
  for (const auto& e : check.events.cluster) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("time", time_json(session, e.timestamp, a), a);
    row.AddMember("kind", string_value(e.kind, a), a);
    row.AddMember("name", string_value(e.name, a), a);
    row.AddMember("reason", string_value(e.reason, a), a);
    row.AddMember("message", string_value(e.message, a), a);
    row.AddMember("resourceType", string_value(e.resource_type, a), a);
    cluster.PushBack(row, a);
  }
  events.AddMember("checked", check.events_skipped.empty() && check.events_error.empty(), a);
  events.AddMember("reason", nullable_string(check.events_skipped, a), a);
  events.AddMember("error", nullable_string(check.events_error, a), a);
  events.AddMember("podEvents", pods, a);
  events.AddMember("clusterEvents", cluster, a);
  out.AddMember("kubernetesEvents", events, a);
  return out;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

void print_agent(const Session& session, const Agent& agent, std::ostream& out) {
  double now = recorder::to_epoch_seconds(session.now);
  out << fmt::format("agent {} ({})  {}  last heartbeat {} ({} ago)\n", agent.id, agent.label, agent.status,
                     session.local_time(agent.heartbeat), format_duration(agent.heartbeat > 0 ? now - agent.heartbeat : -1));
  for (const auto& error : agent.errors) {
    out << fmt::format("  {}  {}\n", session.local_time(error.time), first_line(error.message));
  }
}

std::string near_text(const Session& session, const RunNearError& near) {
  auto at = session.local_time(near.error_time);
  switch (near.relation) {
    case ErrorRelation::during: return "running at the error of " + at;
    case ErrorRelation::after: return fmt::format("started {} after the error of {}", format_duration(near.distance), at);
    case ErrorRelation::before: return fmt::format("ended {} before the error of {}", format_duration(near.distance), at);
  }
  return "";
}

void print_check(const Session& session, const AgentCheck& check, std::ostream& out) {
  auto span = fmt::format("{} .. {}", session.local_time(check.start), session.local_time(check.end));
  out << fmt::format("\ncheck (run all three before concluding, even if the agent looks healthy now):\n");
  if (check.has_errors) {
    out << fmt::format("1. agent errors after {}: see above; window {} ({} around them)\n",
                       session.both_times(check.errors_after), span, format_duration(check.around));
  } else {
    out << fmt::format("1. agent errors after {}: none, so no error to correlate; parts 2 and 3 cover {}\n",
                       session.both_times(check.errors_after), span);
  }
  if (!check.runs_error.empty()) {
    out << "2. failed runs: error: " << check.runs_error << '\n';
  } else {
    out << fmt::format("2. failed runs {}: {}\n",
                       check.has_errors ? "within " + format_duration(check.around) + " of an error" : "in " + span,
                       check.runs.size());
    for (const auto& near : check.runs) {
      out << fmt::format("  {}  {:<25} {} .. {}{}\n", near.run.run_id, near.run.job_name,
                         session.local_time(near.run.start_time), session.local_time(near.run.end_time),
                         check.has_errors ? "  " + near_text(session, near) : "");
    }
  }
  if (!check.events_skipped.empty()) {
    out << "3. Kubernetes events: not checked: " << check.events_skipped << '\n';
    return;
  }
  if (!check.events_error.empty()) {
    out << "3. Kubernetes events: error: " << check.events_error << '\n';
    return;
  }
  out << fmt::format("3. Kubernetes events {}: {}\n", span, check.events.pods.size() + check.events.cluster.size());
  for (const auto& e : check.events.pods) {
    out << fmt::format("  {}  pod {}  {}  {}\n", session.local_time(e.timestamp), e.pod_name, e.reason, first_line(e.message));
  }
  for (const auto& e : check.events.cluster) {
    out << fmt::format("  {}  {} {}  {}  {}\n", session.local_time(e.timestamp), e.kind, e.name, e.reason,
                       first_line(e.message));
  }
}

constexpr CommandHelp k_agents_help{
    "day2 agents [--id ID [--around D]] [--errors-after TIME] [--json]   (Dagster+ only)",
    "Dagster+ agents: status, last heartbeat, recent errors. With --id, the check of that agent (the seed's\n"
    "appendix): its errors after --errors-after (default 24h), the FAILURE runs whose lifetime comes within\n"
    "--around of one of them, and the Kubernetes events (Cloud Logging, gcp.* of --config) of the window\n"
    "[first error - around, last error + around], or [errors-after, now] when there is no error.",
    "day2 agents --flavor plus --organization acme --config day2.json --id 3f2a --errors-after 6h", k_list_exit_codes};

// The agents, and the check of --id when there is one: as JSON with --json, else as text.
void print_agents(const Session& session, const std::vector<Agent>& agents, const std::optional<AgentCheck>& check,
                  std::ostream& out) {
  if (session.json) {
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    rapidjson::Value items(rapidjson::kArrayType);
    for (const auto& agent : agents) items.PushBack(agent_json(session, agent, a), a);
    doc.AddMember("agents", items, a);
    if (check) doc.AddMember("check", check_json(session, *check, a), a);
    print_json(doc, out);
  } else {
    for (const auto& agent : agents) print_agent(session, agent, out);
    if (check) print_check(session, *check, out);
  }
}

int finish_check(const Session& session, const AgentCheck& check, std::ostream& err) {
  // An incomplete check is not a conclusion: say which part failed, and exit 1.
  if (!check.runs_error.empty()) err << "day2 agents: error: failed runs: " << check.runs_error << '\n';
  if (!check.events_error.empty()) err << "day2 agents: error: Kubernetes events: " << check.events_error << '\n';
  return finish(session, check.runs_error.empty() && check.events_error.empty() ? 0 : 1, err);
}

}  // namespace

int run_agents(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto options = source_options();
  options.add_options()
      ("id", po::value<std::string>(), "only this agent, and check its errors against failed runs and GKE events")
      ("errors-after", po::value<std::string>()->value_name("TIME"), "only errors after TIME: RFC 3339, or a duration before now (2h; with --id, default 24h)")
      ("around", po::value<std::string>()->value_name("D"), "with --id: runs and events this close to an error (default 30m)")
      ("gcp-api-root", po::value<std::string>()->value_name("URL"), "with --id: every Google Cloud API at this root (a replay server; overrides gcp.api_root)")
      ("gcp-access-token-env", po::value<std::string>()->value_name("NAME"), "with --id: environment variable holding a Google access token (default GOOGLE_OAUTH_ACCESS_TOKEN), else Application Default Credentials");
  auto vm = parse_args(args, options, {});
  if (print_help_if_asked(vm, k_agents_help, options, out)) return 0;
  std::string id = vm.count("id") ? vm["id"].as<std::string>() : "";
  if (id.empty() && vm.count("around")) throw UsageError{"--around needs --id"};
  double around = vm.count("around") ? parse_seconds_option("around", vm["around"].as<std::string>()) : 1800.0;
  auto session = open_session(vm, "agents", err);
  if (!session) return 1;
  if (session->config.dagster.flavor != Flavor::plus) {
    return fail(*session, "agents exist only on Dagster+ (--flavor plus --organization ORG)", err);
  }
  std::optional<double> after;
  if (vm.count("errors-after")) after = parse_instant_option("errors-after", vm["errors-after"].as<std::string>(), session->now);
  if (!id.empty() && !after) after = recorder::to_epoch_seconds(session->now) - 24 * 3600.0;
  auto data = session->client->query("PlusAgents");
  if (!data) return fail(*session, data.error().message, err);
  const auto* list = recorder::get_array(*data, "agents");
  if (!list) return fail(*session, "PlusAgents: agents is missing", err);
  auto agents = read_agents(*list, after);
  if (!id.empty()) std::erase_if(agents, [&](const Agent& agent) { return agent.id != id; });
  if (!id.empty() && agents.empty()) return fail(*session, fmt::format("no agent {} in {}", id, session->deployment()), err);

  std::optional<AgentCheck> check;
  if (!id.empty()) check = check_agent(*session, vm, agents.front(), *after, around);
  print_agents(*session, agents, check, out);
  if (!check) return finish(*session, 0, err);
  return finish_check(*session, *check, err);
}

}  // namespace analyzer
