// The next step for every finding (docs/report.md "Next steps and the runbook"): the runbook's entry
// for each root cause's category and each finding's kind, and its commands filled with what the
// report knows (the first run, its job, step and location; the deployment's settings; the window).
#include <fmt/format.h>

#include <map>

#include "report_model.hpp"

namespace analyzer::report {

namespace {

std::map<std::string, std::string> common_values(const Config& config, const Report& report) {
  return {{"project", config.gcp.project},
          {"cluster", config.gcp.cluster},
          {"namespace", config.gcp.namespace_name},
          {"agent_namespace", config.gcp.agent_ns()},
          {"agent_deployment", config.gcp.agent_deployment},
          {"start", report.utc_start},
          {"end", report.utc_end}};
}

std::map<std::string, std::string> run_values(std::map<std::string, std::string> values, const RunEvidence* run) {
  if (run == nullptr) { return values; }
  values["run"] = run->run_id;
  values["job"] = run->job;
  values["step"] = run->step_key;
  values["location"] = run->location;
  return values;
}

std::vector<std::string> filled(const RunbookEntry& entry, const std::map<std::string, std::string>& values) {
  std::vector<std::string> out;
  for (const auto& command : entry.commands) { out.push_back(fill_command(command, values)); }
  return out;
}

const RunEvidence* find_run(const Report& report, const std::string& run_id) {
  for (const auto& cause : report.causes) {
    for (const auto& run : cause.runs) {
      if (run.run_id == run_id) { return &run; }
    }
  }
  return nullptr;
}

// A platform cause's runbook entry: the runbook's finding entry of its id, else of the first finding
// kind it supersedes (the churn storm's cause and finding share one); null when none.
const RunbookEntry* platform_entry(const Runbook& runbook, const PlatformIncident& incident) {
  std::vector<std::string> keys{incident.id};
  keys.insert(keys.end(), incident.supersedes.begin(), incident.supersedes.end());
  for (const auto& key : keys) {
    if (auto found = runbook.findings.find(key); found != runbook.findings.end()) { return &found->second; }
  }
  return nullptr;
}

}  // namespace

void add_next_steps(const Runbook& runbook, const Config& config, Report& report) {
  auto common = common_values(config, report);
  std::map<std::string, const RunbookEntry*> platform;  // cause id -> its entry
  for (auto& cause : report.causes) {
    if (cause.platform) {
      const RunbookEntry* entry = platform_entry(runbook, *cause.platform);
      platform[cause.platform->id] = entry;
      if (entry == nullptr) { continue; }
      cause.runbook = *entry;
      cause.next = filled(*entry, run_values(common, cause.runs.empty() ? nullptr : &cause.runs.front()));
      continue;
    }
    auto entry = runbook.categories.find(cause.category);
    if (entry == runbook.categories.end()) { continue; }
    cause.runbook = entry->second;
    cause.next = filled(entry->second, run_values(common, cause.runs.empty() ? nullptr : &cause.runs.front()));
  }
  for (auto* section : {&report.impact, &report.emerging}) {
    for (auto& finding : *section) {
      auto entry = runbook.findings.find(finding_kind(finding));
      if (entry == runbook.findings.end()) { continue; }
      finding.runbook = entry->second;
      finding.next = filled(entry->second, common);
    }
  }
  for (auto& row : report.actions) {
    if (auto found = platform.find(row.topic); found != platform.end()) {
      if (found->second != nullptr && !found->second->commands.empty()) {
        row.next = fill_command(found->second->commands.front(), run_values(common, find_run(report, row.run_id)));
      }
      continue;
    }
    const auto& table = row.run_id.empty() ? runbook.findings : runbook.categories;
    auto entry = table.find(row.topic);
    if (entry == table.end() || entry->second.commands.empty()) { continue; }
    row.next = fill_command(entry->second.commands.front(), run_values(common, find_run(report, row.run_id)));
  }
}

}  // namespace analyzer::report
