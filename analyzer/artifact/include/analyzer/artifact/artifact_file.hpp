// Reading an artifact file for the commands that read one (summarize, report): the one place that
// turns a missing, truncated, hostile or foreign file into an Error naming the file.
#pragma once

#include <rapidjson/document.h>

#include <string>

#include "recorder/base/result.hpp"

namespace analyzer {

// The parsed artifact at `path`, checked to be an object with a "window" object. The Error names
// the file and, for JSON errors, line:column; JSON nested deeper than 256 levels is refused at its
// first bracket too deep (summarize and the report walk values recursively). Never throws.
recorder::Result<rapidjson::Document> read_artifact_file(const std::string& path);

}  // namespace analyzer
