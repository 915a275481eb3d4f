// The shape of a `day2` subcommand, so that each tool contributes its commands to one table and
// `day2 --help` is generated from it. run_commands() is the one place that turns errors into text and
// exit codes: 0 ok, 1 error the user can fix, 2 bad usage or input file, 3 internal error.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/base/result.hpp"

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

// Also answers, besides the commands: --help, --version, --man (the manual page, roff) and
// --completion bash|zsh (a completion script), the last two generated from the table and each
// command's --help.
int run_commands(const std::vector<Command>& commands, const std::vector<std::string>& args, std::ostream& out,
                 std::ostream& err);

// The manual page (roff, section 1) of `commands`: the top help, then each command's --help verbatim.
std::string man_page(const std::vector<Command>& commands, std::string_view version);
// A completion script for `shell` ("bash" or "zsh"): the command names, and each command's long
// options as its --help names them. An Error for another shell.
Result<std::string> completion_script(const std::vector<Command>& commands, std::string_view shell);

}  // namespace recorder
