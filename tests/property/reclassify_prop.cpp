// Properties of reclassification (analyzer/reclassify.hpp) over generated runs, agent errors and pod
// events at random times: every agent error or pod event cited as evidence passes the overlap gate
// with its run, and shifting every timestamp by the same amount changes no classification.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidjson/pointer.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/artifact/overlap.hpp"
#include "analyzer/classify/reclassify.hpp"
#include "recorder/base/json.hpp"
#include "support/rc_check.hpp"

namespace analyzer {
namespace {

constexpr std::int64_t k_base = 1774800000;  // 2026-03-29
const std::vector<std::string> k_categories = {"Unclassified", "Connection failure", "Code error", "Infra timeout"};
const std::vector<std::string> k_reasons = {"OOMKilling", "Evicted", "Preempted"};
const std::vector<std::string> k_agent_messages = {
    "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='kipp.agent.dagster.cloud', port=443): Read timed out.",
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='kipp.agent.dagster.cloud', port=443)",
    "ReadTimeout talking to api.github.com"};

struct GenRun {
  std::optional<std::int64_t> start;  // null: never started
  std::int64_t end = 0;
  std::string category;
  bool start_timeout = false;  // "taking longer than 180 seconds to start"
};

struct Timed {
  std::int64_t time = 0;
  std::size_t target = 0;  // run index (pod events; == runs.size() for another run's pod)
  std::string text;        // agent message or pod reason
};

struct World {
  std::vector<GenRun> runs;
  std::vector<Timed> agent_errors;
  std::vector<Timed> pod_events;
};

rc::Gen<World> gen_world() {
  return rc::gen::exec([] {
    World world;
    auto runs = *rc::gen::inRange<std::size_t>(1, 5);
    for (std::size_t i = 0; i < runs; ++i) {
      GenRun run;
      auto start = *rc::gen::inRange<std::int64_t>(0, 86400);
      run.end = start + *rc::gen::inRange<std::int64_t>(0, 7200);
      if (*rc::gen::inRange(0, 4) != 0) run.start = start;
      run.start_timeout = !run.start && *rc::gen::arbitrary<bool>();
      run.category = *rc::gen::elementOf(k_categories);
      world.runs.push_back(run);
    }
    // Half the signals land near a run's end (within the instant width or just outside it).
    auto time = [&world] {
      if (*rc::gen::arbitrary<bool>()) return *rc::gen::inRange<std::int64_t>(-3600, 90000);
      return world.runs[*rc::gen::inRange<std::size_t>(0, world.runs.size())].end + *rc::gen::inRange<std::int64_t>(-400, 400);
    };
    auto errors = *rc::gen::inRange<std::size_t>(0, 6);
    for (std::size_t i = 0; i < errors; ++i) {
      world.agent_errors.push_back({time(), 0, *rc::gen::elementOf(k_agent_messages)});
    }
    auto events = *rc::gen::inRange<std::size_t>(0, 6);
    for (std::size_t i = 0; i < events; ++i) {
      world.pod_events.push_back({time(), *rc::gen::inRange<std::size_t>(0, runs + 1),
                                  *rc::gen::elementOf(k_reasons)});
    }
    return world;
  });
}

std::string run_id(std::size_t index) { return fmt::format("run-{}", index); }

// The artifact of `world` with every time moved by `shift` seconds.
std::string artifact_text(const World& world, std::int64_t shift) {
  std::string failures;
  for (std::size_t i = 0; i < world.runs.size(); ++i) {
    const auto& run = world.runs[i];
    std::string start = run.start ? std::to_string(k_base + *run.start + shift) : "null";
    std::string message = run.start_timeout ? "Run timed out due to taking longer than 180 seconds to start."
                                            : "Exceeded maximum runtime of 3600 seconds.";
    failures += fmt::format(R"({}{{"runId": "{}", "startTime": {}, "endTime": {}, "category": "{}", "ruleId": "r",
        "runFailureMessage": "{}", "materializations": []}})",
                            i == 0 ? "" : ",", run_id(i), start, k_base + run.end + shift, run.category, message);
  }
  std::string errors;
  for (const auto& error : world.agent_errors) {
    errors += fmt::format(R"({}{{"timestamp": {}, "className": "", "message": "{}"}})", errors.empty() ? "" : ",",
                          k_base + error.time + shift, error.text);
  }
  std::string events;
  for (const auto& event : world.pod_events) {
    events += fmt::format(R"({}{{"timestamp": {}, "podName": "dagster-run-{}-x", "reason": "{}", "runId": "{}"}})",
                          events.empty() ? "" : ",", k_base + event.time + shift, run_id(event.target), event.text,
                          run_id(event.target));
  }
  return fmt::format(R"({{"step_01_failed_runs": {{"failures": [{}]}}, "step_07_agents": {{"agents": [{{"id": "a",
      "errors": [{}]}}]}}, "step_10_gke_events": {{"podEvents": [{}]}}}})",
                     failures, errors, events);
}

const rapidjson::Value& at(const rapidjson::Value& root, const std::string& pointer) {
  const rapidjson::Value* value = rapidjson::Pointer(pointer.c_str()).Get(root);
  RC_ASSERT(value != nullptr);
  return *value;
}

TEST(ReclassifyProperties, CitedAgentErrorsAndPodEventsOverlapTheirRun) {
  day2test::check("cited signals overlap their run", [] {
    auto world = *gen_world();
    auto document = recorder::parse_json(artifact_text(world, 0), "generated.json");
    RC_ASSERT(document.ok());
    std::size_t cited = 0;
    for (const auto& [id, result] : reclassify(*document, default_reclassify_rules())) {
      const auto& failure = at(*document, result.evidence.at(0).pointer);
      RC_ASSERT(result.evidence.at(0).kind == std::string("run"));
      std::optional<double> start;
      if (failure["startTime"].IsNumber()) start = failure["startTime"].GetDouble();
      auto run = run_extent(start, failure["endTime"].GetDouble(),
                            never_started_timeout(failure["runFailureMessage"].GetString()));
      RC_ASSERT(run.has_value());
      for (const auto& item : result.evidence) {
        if (item.kind != "agent_error" && item.kind != "pod_event") continue;
        double t = at(*document, item.pointer)["timestamp"].GetDouble();
        Extent extent = item.kind == "agent_error" ? instant_extent(t) : pod_event_extent(t, run);
        RC_ASSERT(overlaps(*run, extent));
        if (item.kind == "pod_event") RC_ASSERT(at(*document, item.pointer)["runId"].GetString() == id);
        ++cited;
      }
    }
    RC_TAG(cited > 0 ? "cites a signal" : "cites none");
  });
}

TEST(ReclassifyProperties, ShiftingEveryTimestampChangesNoClassification) {
  day2test::check("time shift invariance", [] {
    auto world = *gen_world();
    auto shift = *rc::gen::inRange<std::int64_t>(-10000000, 10000000);
    auto original = recorder::parse_json(artifact_text(world, 0), "generated.json");
    auto shifted = recorder::parse_json(artifact_text(world, shift), "shifted.json");
    RC_ASSERT(original.ok() && shifted.ok());
    auto before = reclassify(*original, default_reclassify_rules());
    auto after = reclassify(*shifted, default_reclassify_rules());
    RC_ASSERT(before.size() == world.runs.size());
    RC_ASSERT(after.size() == before.size());
    for (const auto& [id, result] : before) {
      const auto& moved = after.at(id);
      RC_ASSERT(moved.category == result.category);
      RC_ASSERT(moved.rule_id == result.rule_id);
      RC_ASSERT(moved.evidence.size() == result.evidence.size());
      for (std::size_t i = 0; i < result.evidence.size(); ++i) {
        RC_ASSERT(moved.evidence[i].pointer == result.evidence[i].pointer);
      }
    }
  });
}

}  // namespace
}  // namespace analyzer
