// `day2 report --metrics FILE`: the report's findings, actions, root causes and final categories as
// metrics (docs/metrics.md), merged into FILE beside what `collect --metrics` wrote there.
#include <fmt/format.h>

#include <fstream>
#include <set>

#include "analyzer/report/night_metrics.hpp"
#include "report_model.hpp"

namespace analyzer::report {

namespace {

ActionWord word_of(Action action) {
  switch (action) {
    case Action::escalate: return ActionWord::escalate;
    case Action::investigate: return ActionWord::investigate;
    case Action::monitor: return ActionWord::monitor;
    case Action::no_action: return ActionWord::no_action;
  }
  return ActionWord::none;
}

}  // namespace

metrics::Registry report_metrics(const Report& report, const ReclassifyRules& reclassify,
                                 const PlatformCauses& platform_causes) {
  metrics::Registry registry;
  auto findings = registry.gauge<FindingName, ActionWord>(
      "day2_findings", "Findings of the report (Impact and Emerging Issues) by kind and the action they get (none: the run rows cover it).");
  auto actions = registry.gauge<ActionWord>("day2_actions", "Rows of the report's Actions table by action.");
  auto causes = registry.gauge<Category>("day2_root_causes", "Root causes of the report's failed runs by category.");
  auto platform = registry.gauge<CauseName>(
      "day2_platform_causes", "Platform incidents of the night (root causes from the agent, infrastructure pods, code "
                              "locations, daemons, alerts, error groups) by cause id.");
  auto failed = registry.gauge<Category, RuleName>(
      "day2_report_failed_runs", "Failed runs by their final category and rule, after the report's reclassification.");
  auto kinds = metrics::NameSet<FindingTag>::of(finding_kinds());
  for (const auto* section : {&report.impact, &report.emerging}) {
    for (const auto& finding : *section) {
      auto action = finding_action(finding);
      findings.add(1, kinds(finding_kind(finding)), action ? word_of(*action) : ActionWord::none);
    }
  }
  for (auto word : {ActionWord::escalate, ActionWord::investigate, ActionWord::monitor, ActionWord::no_action}) {
    actions.set(0, word);  // every action word, so "no Escalate this morning" is a 0, not a gap
  }
  for (const auto& row : report.actions) actions.add(1, word_of(row.action));
  std::set<std::string> cause_ids;
  for (const auto& def : platform_causes.causes) cause_ids.insert(def.id);
  auto cause_names = metrics::NameSet<CauseTag>::of(cause_ids);
  for (const auto& id : cause_ids) platform.set(0, cause_names(id));  // every cause: "no storm" is a 0, not a gap
  auto rules = rule_names(default_rules(), &reclassify);
  for (const auto& cause : report.causes) {
    if (cause.platform) platform.add(1, cause_names(cause.rule_id));
    if (auto category = parse_category(cause.category)) causes.add(1, *category);  // a platform cause has no category
    for (const auto& run : cause.runs) {  // each run by its own category and rule, under whichever cause
      auto category = parse_category(run.category);
      if (!category) continue;  // no category: no useful label, dropped
      failed.add(1, *category, rules(run.rule_id == "-" ? "none" : run.rule_id));
    }
  }
  return registry;
}

}  // namespace analyzer::report
