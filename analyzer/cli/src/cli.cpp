#include "analyzer/cli/cli.hpp"

#include <utility>

#include "analyzer/commands/commands.hpp"
#include "analyzer/investigate/investigate.hpp"
#include "analyzer/regress/regress.hpp"
#include "analyzer/simulate/simulate.hpp"

namespace analyzer {

std::vector<recorder::Command> commands() {
  std::vector<recorder::Command> all = analysis_commands();
  all.push_back({"regress", "replay every scenario and compare classifications and findings with expectations", run_regress});
  all.push_back({"simulate", "render a scenario spec (an incident world) into a scenario bundle", run_simulate});
  all.push_back({"scenario", "turn a night recorded by collect --record-dir into a regression scenario", run_scenario});
  for (auto& command : investigate_commands()) all.push_back(std::move(command));
  return all;
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return recorder::run_commands(commands(), args, out, err);
}

}  // namespace analyzer
