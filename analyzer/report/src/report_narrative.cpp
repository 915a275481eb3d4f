// The narrative of a root cause (docs/report.md "Root Causes"): what the runs of one group have in
// common, the signals that were linked to them and why the link holds. It only restates links the
// reclassification made (every cited item passed the temporal overlap gate with its run) and counts
// what was not linked, so it can never claim a cause the gate refused.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "report_model.hpp"

namespace analyzer::report {
namespace {

// "a, b and c"
std::string listing(const std::vector<std::string>& items) {
  if (items.empty()) { return ""; }
  if (items.size() == 1) { return items.front(); }
  std::vector<std::string> head(items.begin(), items.end() - 1);
  return fmt::format("{} and {}", fmt::join(head, ", "), items.back());
}

// "2 pod events and 1 agent error"
std::string counted(const std::map<std::string, int>& counts) {
  std::vector<std::string> parts;
  for (const auto& [kind, n] : counts) {
    std::string noun = kind;
    std::replace(noun.begin(), noun.end(), '_', ' ');
    parts.push_back(fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s"));
  }
  return listing(parts);
}

std::string when_span(const Cause& cause) {
  const RunEvidence& first = cause.runs.front();
  const RunEvidence& last = cause.runs.back();  // runs are sorted by end time
  if (cause.runs.size() == 1 || first.ended == last.ended) { return fmt::format("at {}", first.ended); }
  return fmt::format("between {} and {}", first.ended, last.ended);
}

std::string retries(const Cause& cause) {
  std::map<std::string, int> by_status;
  int without = 0;
  for (const auto& run : cause.runs) {
    if (run.retry.empty()) {
      ++without;
      continue;
    }
    ++by_status[run.retry.outcome.empty() ? "?" : run.retry.outcome];  // the last run decides
  }
  if (by_status.empty()) { return "No retry was recorded."; }
  std::vector<std::string> parts;
  for (const auto& [status, n] : by_status) { parts.push_back(fmt::format("{} {}", n, status)); }
  if (without > 0) { parts.push_back(fmt::format("{} not retried", without)); }
  return fmt::format("Retries: {}.", fmt::join(parts, ", "));
}

// What the runs of one cause share: their jobs, the categories collect filed the reclassified ones
// under, the evidence behind the reclassification and their pods' events.
struct CauseTally {
  std::set<std::string> jobs;
  std::set<std::string> collected;
  std::map<std::string, int> own;    // run_event evidence: the run's own record
  std::map<std::string, int> cited;  // other signals (pod events, agent errors, ...): linked through the gate
  int reclassified = 0;
  int during = 0;
  int outside = 0;
  int corroborating = 0;
};

CauseTally tally(const Cause& cause) {
  CauseTally t;
  for (const auto& run : cause.runs) {
    t.jobs.insert(fmt::format("`{}`", run.job));
    if (run.reclassified) {
      ++t.reclassified;
      t.collected.insert(run.collected_category);
      for (const auto& e : run.evidence) {
        if (e.kind == "run_event") {
          ++t.own["item"];
        } else if (e.kind != "run") {
          ++t.cited[e.kind];
        }
      }
    }
    t.during += run.pod_events_during;
    t.outside += run.pod_events_outside;
    if (!run.reclassified) { t.corroborating += run.pod_events_corroborating; }
  }
  return t;
}

// "collect's rule `a`", or for a cause of several rules of one mechanism ("a, b"): "one of collect's
// rules `a`, `b` (one mechanism)".
std::string rules_phrase(const Cause& cause) {
  if (cause.rule_id.find(", ") == std::string::npos) return fmt::format("collect's rule `{}`", cause.rule_id);
  std::vector<std::string> ids;
  for (std::size_t start = 0; start <= cause.rule_id.size();) {
    auto comma = cause.rule_id.find(", ", start);
    ids.push_back(cause.rule_id.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? cause.rule_id.size() + 1 : comma + 2;
  }
  return fmt::format("one of collect's rules `{}` (one mechanism)", fmt::join(ids, "`, `"));
}

// Why the runs sit under this cause: no rule, a reclassification on linked evidence, or collect's own rule.
std::string attribution(const Cause& cause, const CauseTally& t) {
  bool one = cause.runs.size() == 1;
  if (cause.rule_id == "-") {
    return fmt::format(" No classification rule matched {} failure message, error classes or engine events.",
                       one ? "its" : "their");
  }
  if (t.reclassified > 0) {
    std::vector<std::string> from(t.collected.begin(), t.collected.end());
    std::string text = one ? fmt::format(" Collect filed it as {}; `{}` moved it here", listing(from), cause.rule_id)
                           : fmt::format(" {} of them, filed by collect as {}, were moved here by `{}`", t.reclassified,
                                         listing(from), cause.rule_id);
    std::vector<std::string> grounds;
    if (!t.own.empty()) { grounds.push_back(fmt::format("the run's own record ({} item(s))", t.own.at("item"))); }
    if (!t.cited.empty()) {
      bool single = t.cited.size() == 1 && t.cited.begin()->second == 1;
      grounds.push_back(fmt::format("{} that overlap{} the run's lifetime (the temporal overlap gate)",
                                    counted(t.cited), single ? "s" : ""));
    }
    return text + (grounds.empty() ? "." : fmt::format(" on {}.", listing(grounds)));
  }
  const std::string rules = rules_phrase(cause);
  if (t.corroborating > 0) {
    return fmt::format(" {} {} on {} own failure record; {} pod event(s) of {} pods during the run{} "
                       "corroborate it (the temporal overlap gate), cited as evidence.",
                       one ? "It matched" : "Each matched", rules, one ? "its" : "its", t.corroborating,
                       one ? "its" : "their", one ? "" : "s");
  }
  return fmt::format(" {} {} on {} own failure record; no other signal was needed.",
                     one ? "It matched" : "Each matched", rules, one ? "its" : "its");
}

// The pod events of the runs that the gate did not link: worth a look before the cause is closed.
std::string unlinked_pod_events(const CauseTally& t) {
  std::string text;
  if (t.during > 0) {
    text += fmt::format(" {} pod event(s) of these runs' pods happened during the runs without explaining them: check "
                        "them (listed under each run) before closing the cause.",
                        t.during);
  }
  if (t.outside > 0) {
    text += fmt::format(" {} pod event(s) of these runs' pods fall outside the runs' lifetimes and are not linked.",
                        t.outside);
  }
  return text;
}

}  // namespace

std::string narrative(const Cause& cause) {
  if (cause.runs.empty()) { return ""; }
  CauseTally t = tally(cause);
  std::vector<std::string> jobs(t.jobs.begin(), t.jobs.end());
  bool one = cause.runs.size() == 1;
  std::string text = one ? fmt::format("One run of {} failed {}.", listing(jobs), when_span(cause))
                         : fmt::format("{} runs of {} failed {}.", cause.runs.size(), listing(jobs), when_span(cause));
  text += attribution(cause, t);
  text += " " + retries(cause);
  text += unlinked_pod_events(t);
  return text;
}

std::string cause_guidance(const Cause& cause) {
  for (const auto& run : cause.runs) {
    if (run.reclassified && !run.guidance.empty()) { return run.guidance; }
  }
  return "";
}

}  // namespace analyzer::report
