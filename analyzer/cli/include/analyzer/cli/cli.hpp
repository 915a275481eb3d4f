// The `day2` command line: a table of subcommands, each with generated --help. run_cli is the one
// place that turns errors into text and exit codes (0 ok, 1 error the user can fix, 2 usage, 3 bug).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "recorder/base/command.hpp"

namespace analyzer {

// Every analyzer subcommand: the analysis commands, regress, simulate, scenario and the investigations.
std::vector<recorder::Command> commands();

// Runs the analyzer's commands alone (tests); the day2 executable adds the other tools'.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace analyzer
