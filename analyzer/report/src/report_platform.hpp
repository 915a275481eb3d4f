// Private to report: the platform causes' sources (report_platform_sources.cpp), read by
// report_platform.cpp: each signal of the artifact that is an incident of a cause of causes.json.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/artifact/overlap.hpp"
#include "report_model.hpp"

namespace analyzer::report::platform {

// One item of an incident's source: the evidence, its extent, and what it is grouped by (a location,
// a daemon, an alert).
struct Signal {
  Evidence evidence;
  Extent extent;
  std::string group;
  std::string scope;  // the location, for a location's cause
  std::string label = {};  // what the incident's title names: a daemon's type, an alert's policy
  std::string error = {};  // an error group's exception class, for effects that must name it
};

// A location's name as Kubernetes writes it in pod names: lower case, '_' as '-'.
std::string k8s_name(std::string_view name);

// The signals of `def`'s source in `artifact` (`end`: the window's end, for what lasts until the morning).
std::vector<Signal> signals_of(const CauseDef& def, const Json& artifact, const recorder::Zone& zone, const Config& config,
                               std::optional<double> end);

}  // namespace analyzer::report::platform
