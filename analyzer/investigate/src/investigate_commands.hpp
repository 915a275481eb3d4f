// Private to analyzer/investigate: what its files share.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "analyzer/collect/runs.hpp"
#include "analyzer/session/session.hpp"
#include "recorder/base/command.hpp"

namespace analyzer {

// A row of `day2 runs --json` (docs/investigate.md): runId, jobName, status, location, start, end,
// durationSeconds, tags.
rapidjson::Value row_json(const Session& session, const RunRowInfo& row, rapidjson::Document::AllocatorType& allocator);

// `day2 agents` (investigate_agents.cpp), listed by investigate_list_commands().
int run_agents(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The commands of each investigate_*.cpp file, gathered by investigate_commands().
std::vector<recorder::Command> investigate_run_commands();    // run, logs
std::vector<recorder::Command> investigate_list_commands();   // runs, hung, agents
std::vector<recorder::Command> investigate_steps_commands();  // steps, compare

}  // namespace analyzer
