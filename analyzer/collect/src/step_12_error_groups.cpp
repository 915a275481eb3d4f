// Step 12: Error Reporting groups of the window, with the exception text, the pod event that
// explains them (if any), a category and the inWindow / staleOpen buckets.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "collect_helpers.hpp"

namespace analyzer {

using recorder::Result;

namespace {

// A pod event this close to an error of the same pod explains it.
constexpr double k_correlation_seconds = 15 * 60;

struct Period {
  const char* name;
  double seconds;
  const char* timed_count_duration;  // Google's recommended minimum for the period
};

// Error Reporting offers only these periods, all ending now.
constexpr Period k_periods[] = {{"PERIOD_1_HOUR", 3600, "60s"},
                                {"PERIOD_6_HOURS", 6 * 3600, "600s"},
                                {"PERIOD_1_DAY", 86400, "3600s"},
                                {"PERIOD_1_WEEK", 7 * 86400, "21600s"},
                                {"PERIOD_30_DAYS", 30 * 86400, "86400s"}};

// The smallest period reaching back to `start` from `now` (the longest when none does).
const Period& covering_period(double start, double now) {
  for (const auto& period : k_periods) {
    if (now - period.seconds <= start) return period;
  }
  return k_periods[std::size(k_periods) - 1];
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    auto end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(begin, end - begin);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    auto first = line.find_first_not_of(' ');
    if (first != std::string_view::npos) lines.emplace_back(line.substr(first));
    begin = end + 1;
  }
  return lines;
}

// The exception itself: the last line of a Python traceback ("KeyError: 'x'"), else the first line.
std::string exception_of(const std::string& message) {
  auto lines = lines_of(message);
  if (lines.empty()) return "";
  return lines.front().rfind("Traceback", 0) == 0 ? lines.back() : lines.front();
}

// The bottom frame of the traceback ('File "x.py", line 3, in f'), or "" when there is none.
std::string exception_line_of(const std::string& message) {
  auto lines = lines_of(message);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (it->rfind("File \"", 0) == 0) return *it;
  }
  return "";
}

bool contains(std::string_view text, std::string_view needle) { return text.find(needle) != std::string_view::npos; }

// A SIGTERM (the pod being stopped) that lands while Python is still importing the code location:
// the interrupt shows as a signal / interrupt error with import machinery or module-level code on
// the stack. Noise of pod shutdown, not a code defect.
bool sigterm_during_import(const std::string& message) {
  bool sigterm = contains(message, "SIGTERM") || contains(message, "signal 15") ||
                 contains(message, "DagsterExecutionInterruptedError") || contains(message, "KeyboardInterrupt");
  bool importing = contains(message, "importlib") || contains(message, "in <module>") ||
                   contains(message, "import_module") || contains(message, "load_python_module");
  return sigterm && importing;
}

struct Group {
  std::string id;
  std::string status;
  double first_seen = 0;
  double last_seen = 0;
  std::vector<std::pair<std::string, std::string>> services;  // (service, version)
  std::string message;                                        // latest in-window event, else representative
  std::vector<double> event_times;                            // in the window
  double timed_count_in_window = 0;
  const PodEvent* correlated = nullptr;
  std::optional<std::string> events_error;  // its events could not be read: stats only
};

Group read_group(const rapidjson::Value& stats, double start, double end) {
  Group group;
  group.id = string_at(stats, "group/groupId");
  group.status = string_at(stats, "group/resolutionStatus");
  group.first_seen = rfc3339_seconds(stats, "firstSeenTime").value_or(0);
  group.last_seen = rfc3339_seconds(stats, "lastSeenTime").value_or(0);
  if (const auto* services = recorder::get_array(stats, "affectedServices")) {
    for (const auto& service : services->GetArray()) {
      group.services.emplace_back(string_at(service, "service"), string_at(service, "version"));
    }
  }
  group.message = string_at(stats, "representative/message");
  if (const auto* counts = recorder::get_array(stats, "timedCounts")) {
    for (const auto& count : counts->GetArray()) {
      auto from = rfc3339_seconds(count, "startTime");
      auto to = rfc3339_seconds(count, "endTime");
      double n = std::atof(string_at(count, "count").c_str());  // int64 as a string
      if (from && to && *from < end && *to > start) group.timed_count_in_window += n;
    }
  }
  return group;
}

// Adds the group's events of the window (times, latest message, their pods as services).
Result<void> read_events(const StepContext& context, const Period& period, Group& group) {
  auto events = context.gcp->list_error_events(context.config.gcp.project, group.id, period.name);
  if (!events) return events.error();
  double latest = -1;
  for (const auto& event : events->GetArray()) {
    auto time = rfc3339_seconds(event, "eventTime");
    if (!time || *time < context.start || *time >= context.end) continue;
    group.event_times.push_back(*time);
    std::pair<std::string, std::string> service{string_at(event, "serviceContext/service"),
                                                string_at(event, "serviceContext/version")};
    if (std::find(group.services.begin(), group.services.end(), service) == group.services.end()) {
      group.services.push_back(service);
    }
    if (*time > latest) {
      latest = *time;
      group.message = string_at(event, "message");
    }
  }
  return {};
}

// The Preempted / Evicted / OOMKilling event of one of the group's pods closest to one of its errors.
const PodEvent* correlate(const Group& group, const std::vector<PodEvent>& pods) {
  const PodEvent* best = nullptr;
  double best_gap = k_correlation_seconds;
  for (const auto& event : pods) {
    if (event.reason != "Preempted" && event.reason != "Evicted" && event.reason != "OOMKilling" &&
        event.reason != "NodePreempted") {
      continue;
    }
    bool same_pod = std::any_of(group.services.begin(), group.services.end(), [&](const auto& service) {
      return service.second == event.pod_name || service.first == event.pod_name;
    });
    if (!same_pod) continue;
    for (double time : group.event_times) {
      double gap = std::fabs(time - event.timestamp);
      if (gap <= best_gap) {
        best_gap = gap;
        best = &event;
      }
    }
  }
  return best;
}

rapidjson::Value group_json(const Group& group, Allocator& a) {
  rapidjson::Value row(rapidjson::kObjectType);
  row.AddMember("groupId", string_value(group.id, a), a);
  row.AddMember("exception", string_value(exception_of(group.message), a), a);
  rapidjson::Value services(rapidjson::kArrayType);
  for (const auto& [service, version] : group.services) {
    rapidjson::Value entry(rapidjson::kObjectType);
    entry.AddMember("service", string_value(service, a), a);
    entry.AddMember("version", string_value(version, a), a);
    services.PushBack(entry, a);
  }
  row.AddMember("affectedServices", services, a);
  std::string line = exception_line_of(group.message);
  row.AddMember("exceptionLine", line.empty() ? rapidjson::Value() : string_value(line, a), a);
  rapidjson::Value correlated;
  if (group.correlated != nullptr) {
    correlated.SetObject();
    correlated.AddMember("reason", string_value(group.correlated->reason, a), a);
    correlated.AddMember("timestamp", group.correlated->timestamp, a);
    correlated.AddMember("podName", string_value(group.correlated->pod_name, a), a);
  }
  row.AddMember("correlatedPodEvent", correlated, a);
  const char* category = sigterm_during_import(group.message) ? "sigterm_during_import"
                         : group.correlated != nullptr        ? "preemption_artifact"
                                                              : "unclassified";
  row.AddMember("category", rapidjson::StringRef(category), a);
  row.AddMember("resolutionStatus", string_value(group.status.empty() ? "OPEN" : group.status, a), a);
  row.AddMember("firstSeenTime", group.first_seen, a);
  row.AddMember("lastSeenTime", group.last_seen, a);
  row.AddMember("eventsInWindow", static_cast<int>(group.event_times.size()), a);
  return row;
}

// The groupStats of the period `over`, last seen first.
Result<rapidjson::Document> group_stats(const StepContext& context, const Period& over) {
  return context.gcp->list_group_stats(
      context.config.gcp.project,
      {{"timeRange.period", over.name}, {"timedCountDuration", over.timed_count_duration},
       {"order", "LAST_SEEN_DESC"}, {"pageSize", "100"}});
}

bool is_open(const Group& group) { return group.status.empty() || group.status == "OPEN"; }

// groupStats lists only groups with errors in the period asked: an OPEN group silent since before
// the window never comes back from a window-sized one. Its candidates come from the longest
// period (30 days); they have nothing in the window, so their events are not read. Returns why they
// could not be read ("" when they were).
std::string add_stale_candidates(const StepContext& context, std::vector<Group>& groups, std::set<std::string>& ids) {
  const Period& longest = k_periods[std::size(k_periods) - 1];
  auto month = group_stats(context, longest);
  if (!month) return month.error().message;
  for (const auto& entry : month->GetArray()) {
    if (!entry.IsObject()) continue;
    auto group = read_group(entry, context.start, context.end);
    if (!is_open(group) || group.last_seen >= context.start || ids.contains(group.id)) continue;
    group.timed_count_in_window = 0;  // its counts are of the month, none in the window
    ids.insert(group.id);
    groups.push_back(std::move(group));
  }
  return "";
}

// The step's lists: every group row, the bucket each is in, and what could not be read.
struct GroupRows {
  rapidjson::Value rows{rapidjson::kArrayType};
  rapidjson::Value in_window{rapidjson::kArrayType};
  rapidjson::Value stale_open{rapidjson::kArrayType};
  rapidjson::Value item_errors{rapidjson::kArrayType};
};

void add_group_row(const StepContext& context, Group& group, const Result<GkeEvents>& gke, GroupRows& out,
                   Allocator& a) {
  if (group.events_error) {
    out.item_errors.PushBack(item_error("error group " + group.id, *group.events_error, a), a);
  }
  // Events are sampled: a group with no listed event in the window still counts when its timed
  // counts put occurrences there.
  bool seen = !group.event_times.empty() || (group.last_seen >= context.start && group.timed_count_in_window > 0);
  bool open = is_open(group);
  // A group whose events could not be read was seen since the window began (else they were not
  // asked for): its row stays, marked, even where its stats alone cannot put it in a bucket.
  if (!seen && !open && !group.events_error) return;
  if (gke) group.correlated = correlate(group, gke->pods);
  auto row = group_json(group, a);
  if (group.events_error) row.AddMember("eventsError", string_value(*group.events_error, a), a);
  out.rows.PushBack(row, a);
  if (seen || open) (seen ? out.in_window : out.stale_open).PushBack(string_value(group.id, a), a);
}

}  // namespace

StepResult step_error_groups(StepContext& context) {
  // Error Reporting's periods all end at the real now, whatever "now" the window was computed from.
  double now = recorder::to_epoch_seconds(context.now);
  const Period& period = covering_period(context.start, now);
  auto stats = group_stats(context, period);
  if (!stats) return stats.error();
  std::vector<Group> groups;
  std::set<std::string> ids;
  for (const auto& entry : stats->GetArray()) {
    if (!entry.IsObject()) continue;
    groups.push_back(read_group(entry, context.start, context.end));
    ids.insert(groups.back().id);
  }
  const Period& longest = k_periods[std::size(k_periods) - 1];
  std::string stale_error = &period != &longest ? add_stale_candidates(context, groups, ids) : "";
  // lastSeenTime ignores the period: only groups seen since the window began can be in it. Groups are
  // independent: one whose events cannot be read keeps what its stats say (timed counts, services).
  (void)parallel_for(groups.size(), context.config.concurrency, [&](std::size_t i) -> Result<void> {
    if (groups[i].last_seen < context.start) return {};
    if (auto read = read_events(context, period, groups[i]); !read) groups[i].events_error = read.error().message;
    return {};
  });

  const auto& gke = context.gke_events->get();
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  GroupRows lists;
  std::sort(groups.begin(), groups.end(), [](const Group& x, const Group& y) { return x.id < y.id; });
  for (auto& group : groups) add_group_row(context, group, gke, lists, a);
  out.AddMember("groups", lists.rows, a);
  rapidjson::Value buckets(rapidjson::kObjectType);
  buckets.AddMember("inWindow", lists.in_window, a);
  buckets.AddMember("staleOpen", lists.stale_open, a);
  out.AddMember("buckets", buckets, a);
  out.AddMember("period", rapidjson::StringRef(period.name), a);
  if (!stale_error.empty()) {  // the in-window groups stand; only the stale candidates are missing
    out.AddMember("staleCandidatesError", string_value(stale_error, a), a);
    lists.item_errors.PushBack(item_error("stale open groups (PERIOD_30_DAYS)", stale_error, a), a);
  }
  if (!gke) out.AddMember("podEventsError", string_value(gke.error().message, a), a);
  if (!lists.item_errors.Empty()) out.AddMember("itemErrors", lists.item_errors, a);
  return out;
}

}  // namespace analyzer
