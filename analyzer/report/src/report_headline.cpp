// The report's first lines (docs/report.md "Headline"): the night's verdict in one line, taken from
// the Actions table's most severe rows, and the counts an on-call engineer checks first. Also the
// zone label the headings carry ("ET" for America/New_York, as the seed writes it).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "report_model.hpp"

namespace analyzer::report {

namespace {

// The run failures' span in the zone: "03:09–03:38 EST", or one time when they are one minute.
std::string failure_span(const Report& report, const recorder::Zone& zone) {
  std::optional<double> first, last;
  for (const auto& cause : report.causes) {
    for (const auto& run : cause.runs) {
      if (!run.end_epoch) { continue; }
      first = first ? std::min(*first, *run.end_epoch) : *run.end_epoch;
      last = last ? std::max(*last, *run.end_epoch) : *run.end_epoch;
    }
  }
  if (!first) { return ""; }
  auto at = [&](double epoch) {
    return recorder::Instant(std::chrono::microseconds(static_cast<long long>(epoch * 1e6)));
  };
  auto from = zone.format(at(*first), "%H:%M");
  auto to = zone.format(at(*last), "%H:%M %Z");
  return from == zone.format(at(*last), "%H:%M") ? fmt::format("at {}", to) : fmt::format("between {} and {}", from, to);
}

// "and 3 more actions" / "".
std::string more(std::size_t n) { return n == 0 ? "" : fmt::format(" (and {} more action{})", n, n == 1 ? "" : "s"); }

}  // namespace

std::string zone_label(const recorder::Zone& zone, recorder::Instant at) {
  // The zone's two abbreviations of the year: mid-January and mid-July cover both hemispheres.
  auto year = zone.local_date(at).year;
  auto winter = zone.format(zone.at_local(recorder::CivilDate{year, 1, 15}, 12, 0), "%Z");
  auto summer = zone.format(zone.at_local(recorder::CivilDate{year, 7, 15}, 12, 0), "%Z");
  auto alphabetic = [](const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return (c >= 'A' && c <= 'Z'); });
  };
  if (!alphabetic(winter) || !alphabetic(summer)) { return zone.name(); }  // "+03": the zone has no abbreviation
  if (winter == summer) { return winter; }
  // EST/EDT -> ET, PST/PDT -> PT, AEST/AEDT -> AET: the generic name North Americans and Australians use.
  if (winter.size() == summer.size() && winter.size() >= 3 && winter.substr(0, winter.size() - 2) == summer.substr(0, summer.size() - 2) &&
      winter.back() == 'T' && summer.back() == 'T' && winter[winter.size() - 2] == 'S' && summer[summer.size() - 2] == 'D') {
    return winter.substr(0, winter.size() - 2) + "T";
  }
  return winter + "/" + summer;  // CET/CEST, GMT/BST
}

std::string evidence_kind_name(std::string_view kind) {
  std::string out(kind);
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

void add_headline(const recorder::Zone& zone, Report& report) {
  std::map<Action, std::vector<const ActionRow*>> by_action;
  for (const auto& row : report.actions) { by_action[row.action].push_back(&row); }
  auto count = [&](Action action) { return by_action.count(action) ? by_action[action].size() : 0; };
  std::size_t total = report.actions.size();
  std::size_t failed_runs = 0;
  std::map<std::string, std::size_t> categories;
  for (const auto& cause : report.causes) {
    failed_runs += cause.runs.size();
    for (const auto& run : cause.runs) { ++categories[run.category]; }  // a platform cause's runs keep theirs
  }
  for (auto action : {Action::escalate, Action::investigate, Action::monitor}) {
    if (count(action) == 0) { continue; }
    // The row that matters most: a root cause's runs before a finding, the cause with more runs first.
    const ActionRow& top = **std::min_element(by_action[action].begin(), by_action[action].end(),
                                              [&](const ActionRow* a, const ActionRow* b) {
                                                return std::make_pair(a->run_id.empty(), b->runs) <
                                                       std::make_pair(b->run_id.empty(), a->runs);
                                              });
    report.headline = fmt::format("{}: {} — {}{}", action_name(action), top.item, top.rationale, more(total - 1));
    break;
  }
  if (report.headline.empty()) {
    bool all_retried = failed_runs > 0 && std::all_of(report.actions.begin(), report.actions.end(),
                                                      [](const ActionRow& row) { return row.chain_succeeded; });
    report.headline = failed_runs == 0 && total == 0 ? "Quiet night: no failed run — nothing to do"
                      : all_retried ? fmt::format("{} failed run{}, all retried successfully — nothing to do", failed_runs,
                                                  failed_runs == 1 ? "" : "s")
                                    : fmt::format("No action: {} — {}{}", report.actions.front().item,
                                                  report.actions.front().rationale, more(total - 1));
  }
  std::vector<std::string> parts;
  for (const auto& [category, n] : categories) { parts.push_back(fmt::format("{} {}", n, category)); }
  std::string span = failure_span(report, zone);
  report.counts = fmt::format("{} failed{}{}, {} succeeded, {} canceled", report.failed, span.empty() ? "" : " " + span,
                              parts.empty() ? "" : fmt::format(" ({})", fmt::join(parts, ", ")), report.succeeded,
                              report.canceled);
  std::vector<std::string> actions;
  for (auto action : {Action::escalate, Action::investigate, Action::monitor, Action::no_action}) {
    if (count(action) > 0) { actions.push_back(fmt::format("{} {}", count(action), action_name(action))); }
  }
  if (!actions.empty()) { report.counts += fmt::format(" · actions: {}", fmt::join(actions, ", ")); }
}

}  // namespace analyzer::report
