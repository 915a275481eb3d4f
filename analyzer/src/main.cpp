// The one `day2` executable: every tool contributes its subcommands to one table, and --help is
// generated from it.
#include <iostream>
#include <utility>
#include <vector>

#include "analyzer/cli/cli.hpp"
#include "recorder/proxy/cli.hpp"
#include "recorder/base/command.hpp"
#include "recorder/base/secrets.hpp"
#include "replay/server.hpp"

int main(int argc, char** argv) {
  // Nothing printed holds a secret day2 holds (recorder/secrets.hpp), logs included.
  recorder::SecretScrubbingBuffer out_buffer(std::cout.rdbuf()), err_buffer(std::cerr.rdbuf());
  auto* cout_was = std::cout.rdbuf(&out_buffer);
  auto* cerr_was = std::cerr.rdbuf(&err_buffer);
  struct Restore {
    std::streambuf* out;
    std::streambuf* err;
    ~Restore() {
      std::cout.flush();
      std::cerr.flush();
      std::cout.rdbuf(out);
      std::cerr.rdbuf(err);
    }
  } restore{cout_was, cerr_was};
  std::vector<recorder::Command> table = analyzer::commands();
  for (recorder::Command& command : replay::commands()) table.push_back(std::move(command));
  for (recorder::Command& command : recorder::commands()) table.push_back(std::move(command));
  return recorder::run_commands(table, {argv + 1, argv + argc}, std::cout, std::cerr);
}
