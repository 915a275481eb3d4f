// The analysis commands: `day2 collect`, `summarize`, `report`, `rules`. Each parses its options,
// runs and returns an exit code (0 ok, 1 error, 2 usage); usage errors are thrown as
// recorder::UsageError and turned into text by recorder::run_commands.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "recorder/base/command.hpp"

namespace analyzer {

int run_collect(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int run_summarize(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int run_report(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int run_rules(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// collect, summarize, report, rules, as table rows.
std::vector<recorder::Command> analysis_commands();

// Runs one of analysis_commands() as `day2` would (errors to text and exit codes): what
// `day2 regress` runs for each scenario.
int run_analysis(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace analyzer
