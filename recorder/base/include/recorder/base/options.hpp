// Command-line parsing for every day2 command, over Boost.Program_options, with two rules the
// library does not apply by default: an option is never guessed from a prefix (`--hour` is not
// `--hours`, and a new option cannot change what an existing script means), and an unknown option
// names the nearest known one.
#pragma once

#include <boost/program_options.hpp>

#include <string>
#include <vector>

namespace recorder {

// Parses and notifies `args` against `options` (and `positional`, when given). Throws UsageError
// "unknown option --hour; did you mean --hours?" (without the hint when nothing is close) for an
// unknown option, and boost::program_options::error for the library's other complaints.
boost::program_options::variables_map parse_options(
    const std::vector<std::string>& args, const boost::program_options::options_description& options,
    const boost::program_options::positional_options_description* positional = nullptr);

}  // namespace recorder
