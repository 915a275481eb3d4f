// The investigation commands' pure analyses: hung runs, step timelines and gaps, run config
// flattening, run comparison, event-type filters.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "analyzer/investigate/investigate.hpp"

namespace {

using analyzer::HungKind;
using analyzer::RunEvent;
using analyzer::RunRowInfo;

RunRowInfo row(std::string id, std::string status) {
  RunRowInfo r;
  r.run_id = std::move(id);
  r.status = std::move(status);
  return r;
}

// A STARTED run that started at `start` with `tags`.
RunRowInfo started(std::string id, double start, std::map<std::string, std::string> tags) {
  auto r = row(std::move(id), "STARTED");
  r.start_time = start;
  r.tags = std::move(tags);
  return r;
}

// "<run id> <kind> <limit>" of each hung run, in order.
std::vector<std::string> kinds_and_limits(const std::vector<analyzer::HungRun>& hung) {
  std::vector<std::string> out;
  for (const auto& run : hung) {
    std::ostringstream line;
    line << run.run.run_id << ' ' << analyzer::to_string(run.kind) << ' ' << run.limit;
    out.push_back(line.str());
  }
  return out;
}

RunEvent event(std::string type, std::string step, double at, std::string level = "DEBUG") {
  RunEvent e;
  e.event_type = std::move(type);
  e.step_key = std::move(step);
  e.timestamp = at;
  e.level = std::move(level);
  return e;
}

TEST(FindHung, StartingPastTheStartTimeoutCountsFromLaunch) {
  auto late = row("late", "STARTING");
  late.launch_time = 1000;
  late.update_time = 1190;  // a later update does not reset the clock
  auto fresh = row("fresh", "STARTING");
  fresh.launch_time = 1100;
  auto hung = analyzer::find_hung({late, fresh}, {180, 180}, 1200);
  ASSERT_EQ(hung.size(), 1u);
  EXPECT_EQ(hung[0].run.run_id, "late");
  EXPECT_EQ(hung[0].kind, HungKind::starting);
  EXPECT_DOUBLE_EQ(hung[0].stuck_for, 200);
  EXPECT_DOUBLE_EQ(hung[0].limit, 180);
}

TEST(FindHung, CancelingCountsFromTheLastUpdate) {
  auto canceling = row("c", "CANCELING");
  canceling.update_time = 1000;
  EXPECT_TRUE(analyzer::find_hung({canceling}, {180, 300}, 1299).empty());
  auto hung = analyzer::find_hung({canceling}, {180, 300}, 1301);
  ASSERT_EQ(hung.size(), 1u);
  EXPECT_EQ(hung[0].kind, HungKind::canceling);
}

TEST(FindHung, StartedOnlyPastItsMaxRuntimeTag) {
  auto hung = analyzer::find_hung({started("tagged", 1000, {{"dagster/max_runtime", "60"}}), started("untagged", 0.5, {}),
                                   started("bad", 1000, {{"dagster/max_runtime", "soon"}})},
                                  {180, 180}, 1061);
  EXPECT_EQ(kinds_and_limits(hung), (std::vector<std::string>{"tagged STARTED past dagster/max_runtime 60"}));
}

TEST(FindHung, MaxRuntimeSecondsTagWhenMaxRuntimeIsAbsent) {
  // Dagster's run monitoring: dagster/max_runtime, else dagster/max_runtime_seconds.
  auto hung = analyzer::find_hung(
      {started("seconds", 1000, {{"dagster/max_runtime_seconds", "120"}}),
       started("both", 1000, {{"dagster/max_runtime", "3600"}, {"dagster/max_runtime_seconds", "120"}})},
      {180, 180}, 1121);
  EXPECT_EQ(kinds_and_limits(hung), (std::vector<std::string>{"seconds STARTED past dagster/max_runtime 120"}));
}

TEST(FindHung, LongestStuckFirst) {
  auto a = row("a", "STARTING");
  a.launch_time = 500;
  auto b = row("b", "CANCELING");
  b.update_time = 100;
  auto hung = analyzer::find_hung({a, b}, {180, 180}, 1000);
  ASSERT_EQ(hung.size(), 2u);
  EXPECT_EQ(hung[0].run.run_id, "b");
  EXPECT_EQ(hung[1].run.run_id, "a");
}

TEST(AnalyzeSteps, StepStartedAndNeverFinishedIsInProgress) {
  auto report = analyzer::analyze_steps(
      {event("STEP_START", "a", 10), event("STEP_SUCCESS", "a", 12), event("STEP_START", "b", 13)}, 600);
  ASSERT_EQ(report.steps.size(), 2u);
  EXPECT_EQ(report.steps[0].step_key, "a");
  EXPECT_EQ(report.steps[0].outcome, "SUCCESS");
  EXPECT_DOUBLE_EQ(report.steps[0].end - report.steps[0].start, 2);
  EXPECT_EQ(report.steps[1].outcome, "IN_PROGRESS");
  EXPECT_EQ(report.steps[1].end, 0);
}

// Issue 25: `day2 steps` lists the steps skipped because an upstream failed, after that failure.
TEST(AnalyzeSteps, AStepSkippedBecauseAnUpstreamFailedIsListedAfterTheFailure) {
  std::vector<RunEvent> events{event("STEP_START", "extract", 1), event("STEP_SUCCESS", "extract", 2),
                               event("STEP_START", "load", 3),    event("STEP_FAILURE", "load", 4),
                               event("STEP_SKIPPED", "publish", 5), event("STEP_SKIPPED", "notify", 5)};
  auto report = analyzer::analyze_steps(events, 600);
  ASSERT_EQ(report.steps.size(), 4u);
  EXPECT_EQ(report.steps[0].step_key, "extract");
  EXPECT_EQ(report.steps[1].step_key, "load");
  EXPECT_EQ(report.steps[1].outcome, "FAILURE");
  EXPECT_EQ(report.steps[2].step_key, "notify");
  EXPECT_EQ(report.steps[2].outcome, "SKIPPED");
  EXPECT_EQ(report.steps[3].step_key, "publish");
  EXPECT_EQ(report.steps[3].outcome, "SKIPPED");
  EXPECT_EQ(report.steps[3].attempts, 0);  // never started
}

// Found against a real Dagster (1.8, 1.11 and 1.13 alike): a step whose upstream failed gets no
// STEP_SKIPPED, only an ERROR log message naming it ("Dependencies for step publish failed: ['load'].
// Not executing.", no event type), and Dagster's stepStats leave it out. day2 lists it as SKIPPED
// with the reason. Close cases: a user's log line on that step that is not Dagster's message, and
// Dagster's message about another step.
TEST(AnalyzeSteps, AStepDagsterDidNotExecuteBecauseItsUpstreamFailedIsSkippedWithTheReason) {
  auto message = [](std::string step, std::string text, double at) {
    auto e = event("", std::move(step), at, "ERROR");
    e.type_name = "LogMessageEvent";
    e.message = std::move(text);
    return e;
  };
  std::vector<RunEvent> events{event("STEP_START", "load", 3), event("STEP_FAILURE", "load", 4),
                               message("publish", "Dependencies for step publish failed: ['load']. Not executing.", 5),
                               message("notify", "Dependencies for step notify were checked. Not executing.", 5),
                               message("audit", "Dependencies for step publish failed: ['load']. Not executing.", 5)};
  auto report = analyzer::analyze_steps(events, 600);
  ASSERT_EQ(report.steps.size(), 2u);
  EXPECT_EQ(report.steps[1].step_key, "publish");
  EXPECT_EQ(report.steps[1].outcome, "SKIPPED");
  EXPECT_EQ(report.steps[1].reason, "dependencies failed: ['load']");
  EXPECT_EQ(report.steps[1].attempts, 0);
  EXPECT_DOUBLE_EQ(report.steps[1].end, 5);
  EXPECT_EQ(report.steps[0].reason, "");
}

TEST(AnalyzeSteps, GapsLongerThanTheThreshold) {
  auto report = analyzer::analyze_steps(
      {event("RUN_START", "", 0), event("STEP_START", "a", 5), event("STEP_FAILURE", "a", 700)}, 600);
  ASSERT_EQ(report.gaps.size(), 1u);
  EXPECT_DOUBLE_EQ(report.gaps[0].from, 5);
  EXPECT_DOUBLE_EQ(report.gaps[0].to, 700);
  EXPECT_EQ(report.gaps[0].before, "STEP_START a");
  EXPECT_EQ(report.gaps[0].after, "STEP_FAILURE a");
}

TEST(AnalyzeSteps, RetriedStepCountsAttempts) {
  auto report = analyzer::analyze_steps({event("STEP_START", "a", 1), event("STEP_UP_FOR_RETRY", "a", 2),
                                         event("STEP_START", "a", 3), event("STEP_SUCCESS", "a", 4)},
                                        600);
  ASSERT_EQ(report.steps.size(), 1u);
  EXPECT_EQ(report.steps[0].attempts, 2);
  EXPECT_EQ(report.steps[0].outcome, "SUCCESS");
  EXPECT_DOUBLE_EQ(report.steps[0].start, 1);
}

TEST(FlattenRunConfig, NestedMappingsAndLists) {
  auto flat = analyzer::flatten_run_config(
      "ops:\n  load:\n    config:\n      rows: 10\n      table: 'orders'\n      tags:\n      - a\n      - b\n"
      "resources:\n  db:\n    config:\n      host: db.internal\n");
  EXPECT_EQ(flat.at("ops.load.config.rows"), "10");
  EXPECT_EQ(flat.at("ops.load.config.table"), "orders");
  EXPECT_EQ(flat.at("ops.load.config.tags[0]"), "a");
  EXPECT_EQ(flat.at("ops.load.config.tags[1]"), "b");
  EXPECT_EQ(flat.at("resources.db.config.host"), "db.internal");
  EXPECT_EQ(flat.size(), 5u);
}

TEST(FlattenRunConfig, EmptyConfigHasNoValues) { EXPECT_TRUE(analyzer::flatten_run_config("{}\n").empty()); }

TEST(CompareRuns, NamesTheDifferingConfigValueAndFirstDifferingStep) {
  analyzer::RunInfo a, b;
  a.run_config_yaml = "ops:\n  load:\n    config:\n      rows: 10\n";
  b.run_config_yaml = "ops:\n  load:\n    config:\n      rows: 20\n";
  a.tags = {{"team", "data"}, {"dagster/run_id", "x"}};
  b.tags = {{"team", "data"}, {"dagster/run_id", "y"}, {"dagster/retry_number", "1"}};
  std::vector<RunEvent> ea{event("STEP_START", "extract", 1), event("STEP_SUCCESS", "extract", 2),
                           event("STEP_START", "load", 3), event("STEP_SUCCESS", "load", 9)};
  std::vector<RunEvent> eb{event("STEP_START", "extract", 1), event("STEP_SUCCESS", "extract", 3),
                           event("STEP_START", "load", 4), event("STEP_FAILURE", "load", 5)};
  auto c = analyzer::compare_runs(a, ea, b, eb);
  ASSERT_EQ(c.config.size(), 1u);
  EXPECT_EQ(c.config[0].key, "ops.load.config.rows");
  EXPECT_EQ(c.config[0].a, "10");
  EXPECT_EQ(c.config[0].b, "20");
  ASSERT_EQ(c.tags.size(), 1u);  // run-specific tags are left out
  EXPECT_EQ(c.tags[0].key, "dagster/retry_number");
  EXPECT_FALSE(c.tags[0].a.has_value());
  EXPECT_EQ(c.first_differing_step, "load");
  EXPECT_EQ(c.first_differing_event, 3u);
  ASSERT_EQ(c.durations.size(), 2u);
  EXPECT_EQ(c.durations[1].step_key, "load");
  EXPECT_DOUBLE_EQ(*c.durations[1].a, 6);
  EXPECT_DOUBLE_EQ(*c.durations[1].b, 1);
}

TEST(CompareRuns, IdenticalRunsHaveNoDifference) {
  analyzer::RunInfo a;
  std::vector<RunEvent> events{event("STEP_START", "s", 1), event("STEP_SUCCESS", "s", 2)};
  auto c = analyzer::compare_runs(a, events, a, events);
  EXPECT_TRUE(c.config.empty());
  EXPECT_TRUE(c.tags.empty());
  EXPECT_FALSE(c.first_differing_step.has_value());
  EXPECT_FALSE(c.first_differing_event.has_value());
}

TEST(CompareRuns, ParallelStepsStartedInAnotherOrderAreNoDifference) {
  analyzer::RunInfo a;
  std::vector<RunEvent> ea{event("STEP_START", "left", 1), event("STEP_START", "right", 2),
                           event("STEP_SUCCESS", "right", 3), event("STEP_SUCCESS", "left", 4),
                           event("STEP_START", "join", 5), event("STEP_FAILURE", "join", 6)};
  std::vector<RunEvent> eb{event("STEP_START", "right", 1), event("STEP_START", "left", 2),
                           event("STEP_SUCCESS", "left", 3), event("STEP_SUCCESS", "right", 4),
                           event("STEP_START", "join", 5), event("STEP_SUCCESS", "join", 6)};
  auto c = analyzer::compare_runs(a, ea, a, eb);
  EXPECT_EQ(c.first_differing_step, "join");
  EXPECT_EQ(c.first_differing_event, 0u);  // the event sequences do differ from the start
}

TEST(CompareRuns, AStepOnlyOneRunReachedDiffers) {
  analyzer::RunInfo a;
  // The failed run A never started `load`: the first step B ran that A did not is the difference.
  std::vector<RunEvent> ea{event("STEP_START", "extract", 1), event("STEP_SUCCESS", "extract", 2)};
  std::vector<RunEvent> eb{event("STEP_START", "extract", 1), event("STEP_SUCCESS", "extract", 2),
                           event("STEP_START", "load", 3), event("STEP_SUCCESS", "load", 4),
                           event("STEP_START", "publish", 5), event("STEP_SUCCESS", "publish", 6)};
  EXPECT_EQ(analyzer::compare_runs(a, ea, a, eb).first_differing_step, "load");
  EXPECT_EQ(analyzer::compare_runs(a, eb, a, ea).first_differing_step, "load");
}

// Issue 25: a re-execution from failure runs only its stepKeysToExecute. The steps of the original
// run it did not re-execute are no difference; the first step both ran whose outcome differs is.
TEST(CompareRuns, AReExecutionFromFailureIsComparedOnTheStepsItExecuted) {
  analyzer::RunInfo original, retry;
  retry.parent_run_id = "aaaaaaaa-0000-4000-8000-000000000001";
  std::vector<RunEvent> ea{event("STEP_START", "extract", 1), event("STEP_SUCCESS", "extract", 2),
                           event("STEP_START", "load", 3), event("STEP_FAILURE", "load", 4),
                           event("STEP_SKIPPED", "publish", 5)};
  std::vector<RunEvent> eb{event("STEP_START", "load", 10), event("STEP_SUCCESS", "load", 11),
                           event("STEP_START", "publish", 12), event("STEP_SUCCESS", "publish", 13)};
  EXPECT_EQ(analyzer::compare_runs(original, ea, retry, eb).first_differing_step, "load");
  EXPECT_EQ(analyzer::compare_runs(retry, eb, original, ea).first_differing_step, "load");
  // The close case: the same steps in two full runs, where A never reached `extract`'s successor:
  // `extract` only in A is a difference when B is not a re-execution.
  analyzer::RunInfo full;
  EXPECT_EQ(analyzer::compare_runs(original, ea, full, eb).first_differing_step, "extract");
  // A re-execution whose executed steps all match the original's: no differing step.
  std::vector<RunEvent> same{event("STEP_START", "load", 10), event("STEP_FAILURE", "load", 11)};
  std::vector<RunEvent> failed_load{event("STEP_START", "extract", 1), event("STEP_SUCCESS", "extract", 2),
                                    event("STEP_START", "load", 3), event("STEP_FAILURE", "load", 4)};
  EXPECT_FALSE(analyzer::compare_runs(original, failed_load, retry, same).first_differing_step.has_value());
}

// The steps a re-execution was asked to run are Dagster's stepKeysToExecute when the answer holds
// them: a step outside them is no difference (must fire), a step inside them that the run never
// reached is one, even in a re-execution (close case: a re-execution of every step, null).
TEST(CompareRuns, StepKeysToExecuteDecideWhichStepsARunWasAskedToRun) {
  analyzer::RunInfo original;
  original.step_keys_known = true;  // null: every step
  std::vector<RunEvent> ea{event("STEP_START", "extract", 1), event("STEP_SUCCESS", "extract", 2),
                           event("STEP_START", "load", 3), event("STEP_FAILURE", "load", 4),
                           event("STEP_SKIPPED", "publish", 5)};
  std::vector<RunEvent> eb{event("STEP_START", "load", 10), event("STEP_SUCCESS", "load", 11),
                           event("STEP_START", "publish", 12), event("STEP_SUCCESS", "publish", 13)};
  analyzer::RunInfo from_failure;  // no parent recorded: the selection alone decides
  from_failure.step_keys_known = true;
  from_failure.step_keys_to_execute = std::set<std::string>{"load", "publish"};
  EXPECT_EQ(analyzer::compare_runs(original, ea, from_failure, eb).first_differing_step, "load");
  EXPECT_EQ(analyzer::compare_runs(from_failure, eb, original, ea).first_differing_step, "load");
  analyzer::RunInfo every_step = from_failure;
  every_step.parent_run_id = "aaaaaaaa-0000-4000-8000-000000000001";
  every_step.step_keys_to_execute.reset();
  EXPECT_EQ(analyzer::compare_runs(original, ea, every_step, eb).first_differing_step, "extract");
}

TEST(ParseEventTypes, AcceptsSeedNamesAndTypeNames) {
  auto types = analyzer::parse_event_types("STEP_FAILURE,LogsCapturedEvent,PIPELINE_FAILURE");
  ASSERT_TRUE(types) << types.error().message;
  EXPECT_EQ(*types, (std::set<std::string>{"STEP_FAILURE", "LogsCapturedEvent", "RUN_FAILURE"}));
}

TEST(ParseEventTypes, UnknownNameSuggestsTheNearest) {
  auto types = analyzer::parse_event_types("STEP_FAILUR");
  ASSERT_FALSE(types);
  EXPECT_NE(types.error().message.find("unknown event type \"STEP_FAILUR\"; did you mean \"STEP_FAILURE\"?"),
            std::string::npos)
      << types.error().message;
}

TEST(EventFilter, MatchesTypeNameStepOfLogsCapturedAndMinimumLevel) {
  analyzer::EventFilter filter;
  filter.types = {"LogsCapturedEvent"};
  filter.step_key = "b";
  RunEvent captured = event("LOGS_CAPTURED", "a,b", 1, "INFO");
  captured.type_name = "LogsCapturedEvent";
  EXPECT_TRUE(analyzer::matches(filter, captured));
  filter.step_key = "c";
  EXPECT_FALSE(analyzer::matches(filter, captured));
  analyzer::EventFilter errors;
  errors.min_level = "ERROR";
  EXPECT_FALSE(analyzer::matches(errors, captured));
  EXPECT_TRUE(analyzer::matches(errors, event("STEP_FAILURE", "a", 1, "CRITICAL")));
}

}  // namespace
