// Private to summarize: the steps of an artifact as found, and the two renderings of them beyond
// the gate: the one-line headline per step and the --details dump.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/artifact/artifact.hpp"
#include "analyzer/artifact/fields.hpp"

namespace analyzer::summary {

// ok: a payload; error: {"error": ...}; skipped: {"skipped": true, ...}; malformed: not an object.
enum class StepState { ok, error, skipped, malformed };

struct Step {
  std::string key;               // a step_key()
  const Json* value = nullptr;   // never null; points into the parsed artifact
  StepState state = StepState::ok;
  std::string note;              // error message, skip reason or what is malformed; cleaned
  // "item: error" of each item an ok step could not read (its "itemErrors"), e.g. one failed run's
  // event log: the rest of the step is whole, that item's signals are missing. Cleaned.
  std::vector<std::string> item_errors;
};

// The headline count of step `key` with payload `payload` (any JSON value), e.g. for step 01
// "3 failed, 120 succeeded, 1 canceled". Empty for a step this version does not know.
std::string headline(const std::string& key, const Json& payload);

// The --details dump for `steps` (sorted by key). Sections of absent or unusable steps say so.
// `window_start` (epoch seconds, when readable) marks degraded-asset clusters older than the window.
void print_details(const std::vector<Step>& steps, std::optional<double> window_start, std::ostream& out);

}  // namespace analyzer::summary
