// Reading a scenario spec: the error thrown inside the parser and the typed member readers shared by
// simulate_spec.cpp (runs, instigators, the rest) and simulate_spec_signals.cpp (agents, asset
// checks, Google Cloud signals). Private to analyzer/simulate/src/simulate_spec*.cpp.
#pragma once

#include <rapidjson/document.h>

#include <set>
#include <string>
#include <string_view>

#include "recorder/base/time.hpp"
#include "simulate_world.hpp"

namespace analyzer::sim::spec {

using Value = rapidjson::Value;

// Thrown inside the parser only; parse_world turns it into an Error naming file, line and path.
struct SpecError {
  std::string pointer;
  std::string message;
};

std::string join(const std::set<std::string>& names);
// Throws the SpecError `unknown <what> "name"; expected one of: ...; did you mean ...?` at `at`.
[[noreturn]] void unknown(const std::string& at, std::string_view what, std::string_view name,
                          const std::set<std::string>& known);
// Throws a SpecError for a non-object or a key not in `known`.
void check_keys(const Value& object, const std::string& at, const std::set<std::string>& known);
const Value* member(const Value& object, const char* key);
std::string text(const Value& object, const std::string& at, const char* key, std::string fallback = "");
double num(const Value& object, const std::string& at, const char* key, double fallback, double min, double max);
bool flag(const Value& object, const std::string& at, const char* key);
const Value& array(const Value& object, const std::string& at, const char* key);
// `key` as an RFC 3339 time within `days_before` days before `now` (or 1 day after); 0 when absent and
// not required. Error Reporting keeps 30 days: error groups' times may reach that far.
double time_at(const Value& object, const std::string& at, const char* key, recorder::Instant now, bool required,
               int days_before = 7);
// `key` as one of `known` (`fallback` when absent).
std::string one_of(const Value& object, const std::string& at, const char* key, const std::set<std::string>& known,
                   std::string fallback);
// An object of strings ({"k": "v"}) at `key`.
std::map<std::string, std::string> string_map(const Value& object, const std::string& at, const char* key);

// The spec's Dagster+ agents, asset checks and Google Cloud signals (docs/scenarios.md).
void read_agents(const Value& doc, World& world);
void read_checks(const Value& doc, World& world);
void read_google_signals(const Value& doc, World& world);
// A run's "upstream" and "downstream" steps (simulate_spec_steps.cpp), and the spec's
// "investigations" (after the runs: they name run ids).
void read_run_steps(const Value& v, const std::string& at, Run& r);
void read_investigations(const Value& doc, World& world);

}  // namespace analyzer::sim::spec
