// The recorder's `day2` subcommands: `day2 record`, the recording reverse proxy (recorder/proxy/proxy.hpp)
// that writes what any client says to its APIs as a scenario bundle. The day2 executable adds them
// to its command table.
#pragma once

#include <vector>

#include "recorder/base/command.hpp"

namespace recorder {

// `day2 record --upstream [NAME=]URL --out DIR [--listen HOST:PORT] ...`: records until SIGINT or
// SIGTERM (or --max-exchanges / --duration), then writes the bundle atomically.
std::vector<Command> commands();

}  // namespace recorder
