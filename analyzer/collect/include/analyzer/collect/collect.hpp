// `day2 collect`: gathers every signal of a window into the artifact (day2.json), the contract
// between collection and analysis. Steps are isolated: a failed step holds {"error": "..."} and
// every other step completes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analyzer/artifact/artifact.hpp"
#include "analyzer/config/config.hpp"
#include "analyzer/clients/dagster_client.hpp"
#include "analyzer/clients/gcp_client.hpp"
#include "analyzer/classify/rules.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/time.hpp"

namespace analyzer {

enum class Progress { quiet, lines };

struct CollectRequest {
  Config config;
  recorder::Window window;
  std::string timezone = "America/New_York";
  const RuleSet* rules = nullptr;  // defaults when null
  Progress progress = Progress::quiet;
  // Google Cloud (steps 08, 10-13), used when config.gcp.project is set. `google` is the
  // authenticated transport (it adds the Authorization header; retries and Logging's pacing are its
  // own, as make_transport_stack builds them); null with a project set makes those steps errors. `google_api_root` ("" = config.gcp.api_root, then Google's endpoints)
  // points every API at one server (replay, tests).
  std::shared_ptr<recorder::Transport> google{};
  std::string google_api_root{};
  recorder::Instant now{};               // "now" for Error Reporting's periods; epoch: the clock
  std::map<StepId, double>* step_seconds = nullptr;  // when set: each step that ran, its wall time (metrics)
};

// The artifact's step keys, in order.
const std::vector<std::string>& step_keys();

// Runs every step against `client` (independent steps concurrently, bounded by
// config.concurrency; each under a recorder::Deadline of config.step_seconds) and returns the artifact. Never throws on bad responses: they become step errors.
rapidjson::Document collect(const DagsterClient& client, const CollectRequest& request);

// The step keys of `artifact` that hold an error, in order.
std::vector<std::string> error_steps(const rapidjson::Value& artifact);

// "<step key> (<item>)" for each item a step without an error could not read (its "itemErrors":
// one failed run's event log, one asset check's history), in step order.
std::vector<std::string> unreadable_items(const rapidjson::Value& artifact);

}  // namespace analyzer
