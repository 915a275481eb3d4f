// Outcome: what a command-line entry point returned and wrote on stdout and stderr, so a test
// asserts on all three. Header-only, for the unit and the property tests.
#pragma once

#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "analyzer/cli/cli.hpp"

namespace day2test {

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// Calls `run(out, err)` with two string streams; returns its exit code and what it wrote.
template <class Run>
Outcome capture(Run&& run) {
  std::ostringstream out;
  std::ostringstream err;
  int code = run(out, err);
  return {code, out.str(), err.str()};
}

// `day2 <args>` in process, through analyzer::run_cli (every day2 command).
inline Outcome run_day2(const std::vector<std::string>& args) {
  return capture([&](std::ostream& out, std::ostream& err) { return analyzer::run_cli(args, out, err); });
}

}  // namespace day2test
