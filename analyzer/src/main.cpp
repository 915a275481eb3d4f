// The one `day2` executable: every tool contributes its subcommands to one table, and --help is
// generated from it.
#include <iostream>
#include <utility>
#include <vector>

#include "analyzer/cli.hpp"
#include "recorder/cli.hpp"
#include "recorder/command.hpp"
#include "replay/server.hpp"

int main(int argc, char** argv) {
  std::vector<recorder::Command> table = analyzer::commands();
  for (recorder::Command& command : replay::commands()) table.push_back(std::move(command));
  for (recorder::Command& command : recorder::commands()) table.push_back(std::move(command));
  return recorder::run_commands(table, {argv + 1, argv + argc}, std::cout, std::cerr);
}
