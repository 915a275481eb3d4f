// The runbook (analyzer/rules/runbook.json, docs/report.md "Next steps and the runbook"): for each
// failure category and finding kind, the next commands to run and the seed 003 shape, diagnosis ->
// recovery -> validation. Data users extend like the rules: `day2 report --runbook FILE` adds
// entries or replaces the built-in ones by key.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/base/result.hpp"

namespace analyzer {

struct RunbookEntry {
  std::string diagnosis;
  std::string recovery;
  std::string validation;
  std::vector<std::string> commands;  // templates: {run} {job} {step} ... (k_runbook_placeholders)
};

struct Runbook {
  std::string source;
  std::map<std::string, RunbookEntry> categories;  // by category name ("Code error")
  std::map<std::string, RunbookEntry> findings;    // by finding kind ("agent-churn-storm")
};

// The placeholders a command may use.
inline constexpr std::string_view k_runbook_placeholders[] = {
    "run", "job", "step", "location", "project", "cluster", "namespace", "agent_namespace", "agent_deployment", "start", "end"};

// Parses a runbook file (JSON with comments). Never throws: an unknown key, category, placeholder,
// a missing field or a value of the wrong type is an Error "<source>:<line>: <what>".
recorder::Result<Runbook> parse_runbook(std::string_view text, std::string_view source);
recorder::Result<Runbook> load_runbook(const std::string& path);
// The built-in runbook (embedded at build time).
const Runbook& default_runbook();
// `base` with every entry of `extra` added or replacing the entry of the same key.
Runbook merge_runbooks(const Runbook& base, const Runbook& extra);
// `command` with each {placeholder} replaced by its value in `values`; a placeholder without a
// value becomes its name in capitals (RUN, PROJECT) for the reader to fill in.
std::string fill_command(std::string_view command, const std::map<std::string, std::string>& values);

}  // namespace analyzer
