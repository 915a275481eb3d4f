// The shape of a `day2` subcommand, so that each tool contributes its commands to one table and
// `day2 --help` is generated from it. run_commands() is the one place that turns errors into text and
// exit codes: 0 ok, 1 error the user can fix, 2 bad usage or input file, 3 internal error.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace recorder {

// Thrown by a command for a usage problem (exit 2): "day2 <command>: error: <message>".
struct UsageError {
  std::string message;
};

struct Command {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>& args, std::ostream& out, std::ostream& err)> run;
};

int run_commands(const std::vector<Command>& commands, const std::vector<std::string>& args, std::ostream& out,
                 std::ostream& err);

}  // namespace recorder
