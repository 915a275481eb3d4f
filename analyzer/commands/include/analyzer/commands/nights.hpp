// Recorded nights (docs/scenarios.md "From a recorded night to a scenario"): `collect --record-dir
// DIR [--keep N]` keeps each night in DIR/<deployment>/<YYYY-MM-DD>/ and `day2 scenario add
// NIGHT_DIR scenarios/NAME` turns one into a regression scenario.
//
// A night directory holds `night.json` (what was recorded: deployment, date, window, zone, day2
// version), `bundle/` (the scenario bundle, redacted), `day2.json` (the artifact of that morning)
// and, when collect had --config, `config.json` (the settings, byte for byte).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "recorder/bundle.hpp"
#include "recorder/base/result.hpp"
#include "recorder/base/time.hpp"

namespace analyzer {

struct Night {
  std::string deployment;  // a directory name: letters, digits, '.', '_', '-'
  std::string date;        // YYYY-MM-DD: the window's end in the report zone
  recorder::Window window;
  std::string timezone;
};

// Writes the night into `root`/<deployment>/<date>/ atomically: everything goes to a staging
// directory beside it first (".<date>.partial.<pid>"), fsynced, then renamed into place, replacing
// a night of the same date only after the new one is complete. Staging directories of processes
// that no longer exist (a killed recording) are removed first. Returns the night's directory.
recorder::Result<std::string> write_night(const std::string& root, const Night& night, const recorder::Bundle& bundle,
                                          const std::string& artifact_text, const std::optional<std::string>& config_text);

// Removes the nights of `deployment_dir` (directories named YYYY-MM-DD) but the newest `keep` and
// `current` (the night just written, whatever its date). Returns the removed directories.
recorder::Result<std::vector<std::string>> prune_nights(const std::string& deployment_dir, int keep,
                                                        const std::string& current);

// "prod" -> "" (fine); an error message for a name that cannot be a directory of its own.
std::string check_deployment_name(const std::string& name);

}  // namespace analyzer
