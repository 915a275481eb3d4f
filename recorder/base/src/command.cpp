#include "recorder/base/command.hpp"

#include <fmt/format.h>

#include <boost/program_options/errors.hpp>

#include "recorder/base/options.hpp"
#include "recorder/base/text.hpp"
#include "recorder/base/version.hpp"

namespace recorder {

namespace {

constexpr const char* k_exit_codes =
    "Exit codes: 0 ok, 1 error (see stderr), 2 bad usage or input file, 3 internal error.\n";

void help(const std::vector<Command>& commands, std::ostream& out) {
  out << "usage: day2 <command> [options]\n\n"
         "day2 tells the people who run Dagster what went wrong overnight and why.\n\ncommands:\n";
  for (const auto& command : commands) out << fmt::format("  {:<11} {}\n", command.name, command.summary);
  out << "\n`day2 <command> --help` describes each command. `day2 --version` prints the version;\n"
         "`day2 --man` the manual page; `day2 --completion bash|zsh` a completion script.\n"
      << k_exit_codes;
}

}  // namespace

int run_commands(const std::vector<Command>& commands, const std::vector<std::string>& args, std::ostream& out,
                 std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    help(commands, args.empty() ? err : out);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--man" && args.size() == 1) {
    out << man_page(commands, DAY2_VERSION);
    return 0;
  }
  if (args[0] == "--completion") {
    auto script = args.size() == 2 ? completion_script(commands, args[1])
                                   : Result<std::string>(make_error("--completion needs one shell: bash or zsh"));
    if (!script) {
      err << "day2: error: " << script.error().message << '\n';
      return 2;
    }
    out << *script;
    return 0;
  }
  if (args[0] == "--version") {
    out << "day2 " << DAY2_VERSION << " (commit " << build_commit() << ")\n";
    return 0;
  }
  for (const auto& command : commands) {
    if (command.name != args[0]) continue;
    std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
      return command.run(rest, out, err);
    } catch (const UsageError& e) {
      err << "day2 " << command.name << ": error: " << e.message << '\n';
      return 2;
    } catch (const boost::program_options::error& e) {
      err << "day2 " << command.name << ": error: " << e.what() << " (see day2 " << command.name << " --help)\n";
      return 2;
    } catch (const std::exception& e) {
      err << "day2 " << command.name << ": internal error: " << e.what() << '\n';
      return 3;
    }
  }
  std::vector<std::string> names;
  for (const auto& command : commands) names.push_back(command.name);
  if (auto nearest = nearest_name(args[0], names); !nearest.empty()) {
    err << fmt::format("day2: error: unknown command \"{}\"; did you mean \"{}\"? (see day2 --help)\n", args[0], nearest);
    return 2;
  }
  err << fmt::format("day2: error: unknown command \"{}\" (see day2 --help)\n", args[0]);
  return 2;
}

}  // namespace recorder
