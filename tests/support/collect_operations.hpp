// The GraphQL operations `collect` sends to open-source Dagster and the steps that use each, for the
// tests that break one operation and check which steps fail (collect_test, fault_matrix_test).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace day2test {

// Each operation with the steps that read its answer, from analyzer/src/step_*.cpp and collect.cpp
// (a shared fetch counts for every step that reads it). In a fixed order; steps sorted.
const std::vector<std::pair<std::string, std::vector<std::string>>>& collect_operation_steps();

// The steps of `operation` in that table; empty for an operation it does not hold.
std::vector<std::string> steps_of_operation(const std::string& operation);

}  // namespace day2test
