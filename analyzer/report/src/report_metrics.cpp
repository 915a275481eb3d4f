// `day2 report --metrics FILE`: the report's findings, actions, root causes and final categories as
// metrics (docs/metrics.md), merged into FILE beside what `collect --metrics` wrote there.
#include <fmt/format.h>

#include <fstream>

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

metrics::Registry report_metrics(const Report& report, const ReclassifyRules& reclassify) {
  metrics::Registry registry;
  auto findings = registry.gauge<FindingName, ActionWord>(
      "day2_findings", "Findings of the report (Impact and Emerging Issues) by kind and the action they get (none: the run rows cover it).");
  auto actions = registry.gauge<ActionWord>("day2_actions", "Rows of the report's Actions table by action.");
  auto causes = registry.gauge<Category>("day2_root_causes", "Root causes of the report's failed runs by category.");
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
  auto rules = rule_names(default_rules(), &reclassify);
  for (const auto& cause : report.causes) {
    auto category = parse_category(cause.category);
    if (!category) continue;  // no category: no useful label, dropped
    causes.add(1, *category);
    failed.add(static_cast<double>(cause.runs.size()), *category, rules(cause.rule_id == "-" ? "none" : cause.rule_id));
  }
  return registry;
}

}  // namespace analyzer::report
