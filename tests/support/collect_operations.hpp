// The GraphQL operations `collect` sends to open-source Dagster and the Google Cloud paths it reads,
// with the steps that use each, for the tests that break one and check which steps fail
// (collect_test, fault_matrix_test, fault_matrix_gcp_test).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace day2test {

// Each operation with the steps that read its answer, from analyzer/collect/src/step_*.cpp and collect.cpp
// (a shared fetch counts for every step that reads it). In a fixed order; steps sorted.
const std::vector<std::pair<std::string, std::vector<std::string>>>& collect_operation_steps();

// The steps of `operation` in that table; empty for an operation it does not hold.
std::vector<std::string> steps_of_operation(const std::string& operation);

// Whether `operation` reads one of many independent items (one failed run's event log, one asset
// check's history): when it fails, that item is the step's "itemErrors" entry and the step keeps
// the rest of its payload, instead of the whole step becoming {"error": ...}.
bool is_item_operation(const std::string& operation);  // RunEvents, AssetCheckHistory, InstigatorTicks

// Operations whose answers only the report shows (a failed step's captured output, RunCapturedLogs):
// when one fails, its failure says why and no step or item is lost.
const std::vector<std::string>& display_operations();

// A Google Cloud REST path `collect` reads, as answered by gcp_fixture() for project my-proj.
struct GooglePath {
  std::string service;               // its recorder::Service name, for --fault
  std::string path;                  // the URL path, what a REST fault's OPERATION matches
  std::string method;                // the API method that step errors name
  std::vector<std::string> steps;    // the steps that fail without it (sorted)
  std::vector<std::string> degraded; // the steps that keep their data but say it is partial
  std::vector<std::string> items = {}; // the steps that lose one item each (their "itemErrors")
  std::vector<std::string> pools = {}; // the steps that only lose which nodes are Spot ("nodePoolsError")
};

// Every Google path of steps 08 and 10-13 (analyzer/collect/src/step_08_*.cpp, step_1[0-3]_*.cpp;
// the GKE events fetch is shared by steps 10 and 12, and step 12 only loses its pod correlation
// without it; without the node pools step 10 keeps its events and says so). Fixed order.
const std::vector<GooglePath>& collect_google_paths();

}  // namespace day2test
