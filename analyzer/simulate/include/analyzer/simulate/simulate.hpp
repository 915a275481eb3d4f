// `day2 simulate`: renders a scenario spec (a compact JSON incident world, docs/scenarios.md
// "Scenario specs") into a scenario bundle with the shape of a recorded one, by running collect
// in process against the world's simulated Dagster and Google Cloud APIs.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "recorder/bundle.hpp"
#include "recorder/base/result.hpp"

namespace analyzer {

struct Simulation {
  recorder::Bundle bundle;  // manifest source "generated"; exchanges in a canonical order
  std::string expected;     // expected.json text from the spec's ground truth
  std::string config;       // config.json text when the world needs settings (Google Cloud, page size), else ""
};

// Reads the spec at `path` and simulates it. Deterministic: the same spec gives the same bundle.
// Never throws on bad input: unreadable files, malformed JSON, unknown keys or failure modes and
// out-of-range times come back as an Error "<path>:<line>: <JSON path>: <what>". Blocks while
// collect runs (threads, no network, no clock).
recorder::Result<Simulation> simulate_file(const std::string& path);
recorder::Result<Simulation> simulate_text(std::string_view text, const std::string& source);

// The `day2 simulate SPEC (--out DIR | --scenario DIR) [--overwrite]` command.
int run_simulate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace analyzer
