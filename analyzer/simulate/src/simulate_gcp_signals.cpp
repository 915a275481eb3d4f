// Error Reporting (groupStats.list, events.list) and Cloud Monitoring (alerts.list,
// timeSeries.list) of a simulated world, in the shapes of the discovery documents of
// docs/reference/gcp/. Error Reporting answers only what its period covers, as the real API does;
// Monitoring's series are the restarts and memory-limit utilisation of the OOM-killed runs' pods.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "simulate_world.hpp"

namespace analyzer::sim {

namespace {

using Params = std::map<std::string, std::string>;

std::string decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

Params query_of(const std::string& url) {
  Params out;
  auto q = url.find('?');
  if (q == std::string::npos) return out;
  std::string_view rest(url);
  rest.remove_prefix(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    out[decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

double period_seconds(const std::string& period) {
  static const std::map<std::string, double> periods = {{"PERIOD_1_HOUR", 3600},      {"PERIOD_6_HOURS", 6 * 3600},
                                                        {"PERIOD_1_DAY", 86400},      {"PERIOD_1_WEEK", 7 * 86400},
                                                        {"PERIOD_30_DAYS", 30 * 86400}};
  auto it = periods.find(period);
  return it == periods.end() ? 30 * 86400 : it->second;
}

std::string service_context(const ErrorGroup& g) {
  return fmt::format(R"({{"service":{},"version":{},"resourceType":"k8s_container"}})", quote(g.service), quote(g.version));
}

std::string error_event(const ErrorGroup& g, double t) {
  return fmt::format(R"({{"eventTime":{},"serviceContext":{},"message":{}}})", quote(rfc3339(t)), service_context(g), quote(g.message));
}

// groupStats.list: the groups with an event in the period, newest last-seen first, with timed
// counts of `timedCountDuration` aligned to the period's start.
recorder::HttpResponse group_stats(const World& world, const Params& params) {
  double now = recorder::to_epoch_seconds(world.now);
  auto period = params.contains("timeRange.period") ? params.at("timeRange.period") : "";
  double begin = now - period_seconds(period);
  double bucket = params.contains("timedCountDuration") ? std::max(1.0, std::atof(params.at("timedCountDuration").c_str())) : 3600;
  std::vector<std::pair<double, std::string>> rows;
  for (const auto& g : world.error_groups) {
    std::map<long long, int> counts;
    for (double t : g.events) {
      if (t >= begin && t <= now) ++counts[static_cast<long long>(std::floor((t - begin) / bucket))];
    }
    if (counts.empty()) continue;
    std::vector<std::string> timed;
    int total = 0;
    for (const auto& [n, count] : counts) {
      double from = begin + static_cast<double>(n) * bucket;
      timed.push_back(fmt::format(R"({{"count":"{}","startTime":{},"endTime":{}}})", count, quote(rfc3339(from)),
                                  quote(rfc3339(from + bucket))));
      total += count;
    }
    rows.emplace_back(g.events.back(), fmt::format(
        R"({{"group":{{"name":{},"groupId":{},"resolutionStatus":{}}},"count":"{}","affectedUsersCount":"0","timedCounts":[{}],"firstSeenTime":{},"lastSeenTime":{},"affectedServices":[{}],"numAffectedServices":1,"representative":{}}})",
        quote(fmt::format("projects/{}/groups/{}", world.gcp.project, g.id)), quote(g.id), quote(g.status), total,
        fmt::join(timed, ","), quote(rfc3339(g.first_seen)), quote(rfc3339(g.events.back())), service_context(g),
        error_event(g, g.events.back())));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
  std::vector<std::string> out;
  for (auto& row : rows) out.push_back(std::move(row.second));
  return json_response(200, out.empty() ? "{}" : fmt::format(R"({{"errorGroupStats":[{}],"timeRangeBegin":{}}})",
                                                               fmt::join(out, ","), quote(rfc3339(begin))));
}

// events.list: the group's events in the period, newest first.
recorder::HttpResponse error_events(const World& world, const Params& params) {
  double now = recorder::to_epoch_seconds(world.now);
  auto period = params.contains("timeRange.period") ? params.at("timeRange.period") : "";
  double begin = now - period_seconds(period);
  auto id = params.contains("groupId") ? params.at("groupId") : "";
  std::vector<std::string> out;
  for (const auto& g : world.error_groups) {
    if (g.id != id) continue;
    for (auto t = g.events.rbegin(); t != g.events.rend(); ++t) {
      if (*t >= begin && *t <= now) out.push_back(error_event(g, *t));
    }
  }
  return json_response(200, out.empty() ? "{}" : fmt::format(R"({{"errorEvents":[{}],"timeRangeBegin":{}}})",
                                                               fmt::join(out, ","), quote(rfc3339(begin))));
}

std::string labels_json(const std::map<std::string, std::string>& labels) {
  std::vector<std::string> out;
  for (const auto& [k, v] : labels) out.push_back(fmt::format("{}:{}", quote(k), quote(v)));
  return fmt::format("{{{}}}", fmt::join(out, ","));
}

// alerts.list: every alert of the project (day2 filters by time itself).
recorder::HttpResponse alerts(const World& world) {
  std::vector<std::string> out;
  for (const auto& alert : world.alerts) {
    std::string close = alert.close == 0 ? "" : fmt::format(R"(,"closeTime":{})", quote(rfc3339(alert.close)));
    out.push_back(fmt::format(
        R"({{"name":{},"state":{},"openTime":{}{},"policy":{{"name":{},"displayName":{},"severity":{}}},"resource":{{"type":{},"labels":{}}},"metric":{{"type":{},"labels":{{}}}}}})",
        quote(fmt::format("projects/{}/alerts/{}", world.gcp.project, alert.id)), alert.close == 0 ? R"("OPEN")" : R"("CLOSED")",
        quote(rfc3339(alert.open)), close, quote(fmt::format("projects/{}/alertPolicies/{}", world.gcp.project, alert.id)),
        quote(alert.policy), quote(alert.severity), quote(alert.resource_type), labels_json(alert.labels), quote(alert.metric)));
  }
  return json_response(200, out.empty() ? "{}" : fmt::format(R"({{"alerts":[{}]}})", fmt::join(out, ",")));
}

// timeSeries.list: for each OOM-killed run in the window, its pod's container restarts (ALIGN_DELTA:
// none, the pod is never restarted) or its memory limit utilisation at the limit (ALIGN_MAX), as the
// filter's metric asks.
recorder::HttpResponse time_series(const World& world, const Params& params) {
  auto filter = params.contains("filter") ? params.at("filter") : "";
  bool restarts = filter.find("restart_count") != std::string::npos;
  bool memory = filter.find("memory/limit_utilization") != std::string::npos;
  double start = recorder::to_epoch_seconds(world.window.start), end = recorder::to_epoch_seconds(world.window.end);
  std::vector<std::string> out;
  for (const auto& run : world.runs) {
    if (run.mode != FailureMode::oom || run.end < start || run.end > end || !(restarts || memory)) continue;
    // One point of the aggregation's alignment period, holding the minute before the kill.
    double width = params.contains("aggregation.alignmentPeriod")
                       ? std::max(1.0, std::atof(params.at("aggregation.alignmentPeriod").c_str()))
                       : 60;
    double t = std::floor((run.end - 30) / width) * width;
    // dagster-k8s Jobs run with backoffLimit 0 and restartPolicy Never: an OOM-killed container is
    // not restarted, so its restart count stays 0; the memory limit utilisation shows the kill.
    std::string value = restarts ? R"({"int64Value":"0"})" : R"({"doubleValue":0.998})";
    out.push_back(fmt::format(
        R"({{"metric":{{"type":{},"labels":{{{}}}}},"resource":{{"type":"k8s_container","labels":{{"project_id":{},"location":{},"cluster_name":{},"namespace_name":"dagster","pod_name":{},"container_name":"dagster"}}}},"metricKind":{},"valueType":{},"points":[{{"interval":{{"startTime":{},"endTime":{}}},"value":{}}}]}})",
        quote(restarts ? "kubernetes.io/container/restart_count" : "kubernetes.io/container/memory/limit_utilization"),
        memory ? R"("memory_type":"non-evictable")" : "", quote(world.gcp.project), quote(world.gcp.location),
        quote(world.gcp.cluster), quote(run_pod(run)), restarts ? R"("DELTA")" : R"("GAUGE")",
        restarts ? R"("INT64")" : R"("DOUBLE")", quote(rfc3339(t)), quote(rfc3339(t + width)), value));
  }
  return json_response(200, out.empty() ? "{}" : fmt::format(R"({{"timeSeries":[{}]}})", fmt::join(out, ",")));
}

}  // namespace

std::optional<recorder::HttpResponse> answer_google_signals(const World& world, const recorder::HttpRequest& request,
                                                            const std::string& path) {
  if (ends_with(path, "/groupStats")) return group_stats(world, query_of(request.url));
  if (ends_with(path, "/events")) return error_events(world, query_of(request.url));
  if (ends_with(path, "/alerts")) return alerts(world);
  if (ends_with(path, "/timeSeries")) return time_series(world, query_of(request.url));
  return std::nullopt;
}

}  // namespace analyzer::sim
