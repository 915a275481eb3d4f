// Metrics with closed label sets (docs/metrics.md): the label types refuse values outside their set
// at compile time, inputs are normalised as seed 004 does (empty -> "unknown", outside -> "other",
// negative durations -> 0, NaN dropped), the exposition text is escaped and sorted, and the night's
// families carry what the artifact says (expected figures from the scenario's expected.json).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "analyzer/report/night_metrics.hpp"
#include "analyzer/regress/regress.hpp"
#include "recorder/base/json.hpp"
#include "support/cli_outcome.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

using metrics::Gauge;
using metrics::NameSet;

const std::string k_fixture = DAY2_SOURCE_DIR "/scenarios/dagster-fixture";

// Whether `gauge.set(1.0, args...)` compiles.
template <class G, class... Args>
concept Settable = requires(G gauge, Args... args) { gauge.set(1.0, args...); };

using FailedRuns = Gauge<Category, RuleName>;

// The type-level guarantee: only a Category and a RuleName from a NameSet can label a failed run.
static_assert(Settable<FailedRuns, Category, RuleName>);
static_assert(!Settable<FailedRuns, std::string, std::string>, "a free string cannot be a category or a rule");
static_assert(!Settable<FailedRuns, const char*, RuleName>, "a string literal cannot be a category");
static_assert(!Settable<FailedRuns, Category, std::string>, "a rule id must come from the rules' NameSet");
static_assert(!Settable<FailedRuns, Category, LocationName>, "a location name is not a rule name");
static_assert(!Settable<FailedRuns, Category>, "every label must be given");
static_assert(!std::is_constructible_v<RuleName, std::string>, "only a NameSet makes names");
static_assert(!std::is_constructible_v<LocationName, const char*>);

TEST(MetricsLabels, AnEmptyNameIsUnknownAndANameOutsideTheSetIsOther) {
  auto locations = NameSet<LocationTag>::of({"etl", "ml"});
  EXPECT_EQ(locations("etl").value(), "etl");
  EXPECT_EQ(locations("").value(), "unknown");
  EXPECT_EQ(locations("finance").value(), "other");
}

TEST(MetricsLabels, TheTopNNamesByCountStayTheRestBecomeOther) {
  auto jobs = NameSet<JobTag>::top({{"a", 1}, {"b", 5}, {"c", 5}, {"d", 3}, {"", 9}}, 3);
  // b and c tie at 5 (name order), then d; the empty name is never one of the top.
  EXPECT_EQ(jobs.allowed(), (std::set<std::string>{"b", "c", "d"}));
  EXPECT_EQ(jobs("a").value(), "other");
  EXPECT_EQ(jobs("").value(), "unknown");
  EXPECT_TRUE(NameSet<JobTag>::top({{"a", 1}}, 0).allowed().empty());
}

TEST(MetricsSamples, NaNIsDroppedANegativeDurationClampsToZeroAndAddAccumulates) {
  metrics::Registry registry;
  auto durations = registry.gauge<StepId>("day2_test_seconds", "test");
  durations.set_seconds(-2.5, StepId::failed_runs);
  durations.set_seconds(std::nan(""), StepId::retries);
  EXPECT_EQ(durations.value(StepId::failed_runs), 0.0);
  EXPECT_FALSE(durations.value(StepId::retries).has_value());
  EXPECT_EQ(durations.size(), 1u);
  auto runs = registry.gauge<RunStatus>("day2_test_runs", "test");
  EXPECT_EQ(runs.total(), 0.0) << "nothing counted yet";
  runs.add(2, RunStatus::failure);
  runs.add(3, RunStatus::failure);
  runs.add(std::nan(""), RunStatus::success);
  EXPECT_EQ(runs.value(RunStatus::failure), 5.0);
  EXPECT_EQ(runs.total(), 5.0);
}

TEST(MetricsText, FamiliesSortByNameSamplesByLabelsAndLabelValuesAreEscaped) {
  metrics::Registry registry;
  auto loads = registry.gauge<LocationName>("day2_b", "Help with a \\ backslash\nand a line");
  auto locations = NameSet<LocationTag>::of({"say \"hi\"\\now\n", "alpha"});
  loads.set(1.5, locations("say \"hi\"\\now\n"));
  loads.set(2, locations("alpha"));
  registry.gauge<>("day2_a", "first").set(1e300);
  EXPECT_EQ(registry.text(),
            "# HELP day2_a first\n# TYPE day2_a gauge\nday2_a 1e+300\n"
            "# HELP day2_b Help with a \\\\ backslash\\nand a line\n# TYPE day2_b gauge\n"
            "day2_b{location=\"alpha\"} 2\n"
            "day2_b{location=\"say \\\"hi\\\"\\\\now\\n\"} 1.5\n");
}

TEST(MetricsText, AFamilyRegisteredTwiceOrABadNameIsAProgrammingError) {
  metrics::Registry registry;
  registry.gauge<>("day2_x", "x");
  EXPECT_THROW(registry.gauge<>("day2_x", "again"), std::logic_error);
  EXPECT_THROW(registry.gauge<>("2day", "bad"), std::logic_error);
  EXPECT_THROW(registry.gauge<>("day2-x", "bad"), std::logic_error);
}

TEST(MetricsText, MergingKeepsTheOtherCommandsFamiliesAndReplacesItsOwn) {
  metrics::Registry collect;
  collect.gauge<>("day2_collect_success", "c").set(1);
  collect.gauge<RunStatus>("day2_runs", "r").set(4, RunStatus::failure);
  metrics::Registry report;
  report.gauge<ActionWord>("day2_actions", "a").set(2, ActionWord::escalate);
  auto first = metrics::merge_text(collect.text(), report);
  metrics::Registry again;
  again.gauge<ActionWord>("day2_actions", "a").set(7, ActionWord::monitor);
  auto second = metrics::merge_text(first, again);
  EXPECT_NE(second.find("day2_runs{status=\"failure\"} 4\n"), std::string::npos) << second;
  EXPECT_NE(second.find("day2_collect_success 1\n"), std::string::npos) << second;
  EXPECT_NE(second.find("day2_actions{action=\"monitor\"} 7\n"), std::string::npos) << second;
  EXPECT_EQ(second.find("escalate"), std::string::npos) << "the report's earlier families are replaced: " << second;
  EXPECT_LT(second.find("day2_actions"), second.find("day2_collect_success")) << "sorted by family name";
}

TEST(MetricsText, TheLastSuccessIsReadBackFromAnEarlierFile) {
  EXPECT_EQ(metrics::read_sample("# HELP x y\nday2_last_success_timestamp_seconds 1795507830\n",
                                 "day2_last_success_timestamp_seconds"),
            1795507830.0);
  EXPECT_FALSE(metrics::read_sample("day2_last_success_timestamp_seconds_x 1\n", "day2_last_success_timestamp_seconds"));
  EXPECT_FALSE(metrics::read_sample("day2_last_success_timestamp_seconds NaN\n", "day2_last_success_timestamp_seconds"));
}

// The Pushgateway's grouping key (its README, "URL"): /metrics/job/<JOB>{/<LABEL>/<VALUE>}; a value
// with a "/" or an empty one in base64url with the "@base64" suffix; its example: "/var/tmp" is
// "L3Zhci90bXA=" and the empty string is "=".
TEST(MetricsPush, TheGroupingPathFollowsThePushgatewayUrlScheme) {
  EXPECT_EQ(push_path("day2", "prod"), "/metrics/job/day2/instance/prod");
  EXPECT_EQ(push_path("day2", "/var/tmp"), "/metrics/job/day2/instance@base64/L3Zhci90bXA=");
  EXPECT_EQ(push_path("day2", ""), "/metrics/job/day2/instance@base64/=");
  EXPECT_EQ(push_path("nightly day2", "eu"), "/metrics/job/nightly%20day2/instance/eu");
}

rapidjson::Document fixture_artifact() {
  auto doc = recorder::read_json_file(k_fixture + "/day2.json");
  EXPECT_TRUE(doc) << doc.error().message;
  return doc ? std::move(*doc) : rapidjson::Document{};
}

TEST(NightMetrics, FailedRunsByCategoryAndRuleMatchTheScenariosExpectations) {
  auto artifact = fixture_artifact();
  auto expected = regress::read_expectation(k_fixture);
  ASSERT_TRUE(expected) << expected.error().message;
  auto registry = collect_metrics(artifact, default_rules(), MetricsSettings{}, CollectFacts{});
  // day2_failed_runs carries collect's classification; where the report reclassifies, expected.json
  // differs, so count the expected runs the built-in reclassification leaves alone (all of them here).
  std::map<std::pair<std::string, std::string>, double> want;
  for (const auto& [id, run] : expected->runs) want[{run.category, run.rule}] += 1;
  const auto* family = registry.find("day2_failed_runs");
  ASSERT_NE(family, nullptr);
  for (const auto& [key, count] : want) {
    EXPECT_EQ(family->get({key.first, key.second}), count) << key.first << " / " << key.second;
  }
  EXPECT_EQ(family->total(), static_cast<double>(expected->runs.size()));
  EXPECT_EQ(registry.find("day2_runs")->get({"failure"}), static_cast<double>(expected->runs.size()));
}

TEST(NightMetrics, EveryStepHasExactlyOneOutcomeAndAFailedStepMakesTheCollectionUnsuccessful) {
  auto artifact = fixture_artifact();
  CollectFacts facts;
  facts.now = 1795507830;
  auto ok = collect_metrics(artifact, default_rules(), MetricsSettings{}, facts);
  const auto* steps = ok.find("day2_step_status");
  ASSERT_NE(steps, nullptr);
  EXPECT_EQ(steps->size(), k_step_count * 3);
  EXPECT_EQ(steps->total(), static_cast<double>(k_step_count)) << "one outcome per step";
  EXPECT_EQ(steps->get({"step_07_agents", "skipped"}), 1.0) << "the fixture has no Google Cloud";
  EXPECT_EQ(ok.find("day2_collect_success")->get({}), 1.0);
  EXPECT_EQ(ok.find("day2_last_success_timestamp_seconds")->get({}), 1795507830.0);

  auto& a = artifact.GetAllocator();
  artifact["step_09_daemons"].SetObject();
  artifact["step_09_daemons"].AddMember("error", "GraphQL: daemon health unavailable", a);
  facts.now = 1795600000;
  facts.previous_success = 1795507830;
  auto failed = collect_metrics(artifact, default_rules(), MetricsSettings{}, facts);
  EXPECT_EQ(failed.find("day2_step_status")->get({"step_09_daemons", "error"}), 1.0);
  EXPECT_EQ(failed.find("day2_step_status")->get({"step_09_daemons", "ok"}), 0.0);
  EXPECT_EQ(failed.find("day2_collect_success")->get({}), 0.0);
  EXPECT_EQ(failed.find("day2_last_success_timestamp_seconds")->get({}), 1795507830.0)
      << "a failed night carries the last success over, so an alert on its age fires";
}

TEST(NightMetrics, LocationsAndJobsAreBoundedByConfiguration) {
  auto artifact = fixture_artifact();
  MetricsSettings settings;
  settings.top_locations = 0;
  settings.top_jobs = 2;
  auto registry = collect_metrics(artifact, default_rules(), settings, CollectFacts{});
  const auto* jobs = registry.find("day2_failed_runs_by_job");
  EXPECT_EQ(jobs->size(), 3u) << "two jobs and other";
  EXPECT_EQ(jobs->get({"other"}), 4.0) << "6 failed runs in 6 jobs: 4 beyond the top 2";
  EXPECT_EQ(registry.find("day2_failed_runs_by_location")->get({"other"}), 6.0);
  double sensor_ticks = 0;  // the fixture's failing sensor: its failureCount
  for (const auto& location : artifact["step_03_sensor_ticks"].GetObject()) {
    for (const auto& sensor : location.value.GetObject()) sensor_ticks += sensor.value["failureCount"].GetDouble();
  }
  EXPECT_GT(sensor_ticks, 0);
  EXPECT_EQ(registry.find("day2_tick_failures")->get({"sensor", "other"}), sensor_ticks);
}

TEST(NightMetrics, AFailedRunWithoutCategoryIsDroppedFromItsFamilyButStillCounted) {
  auto artifact = fixture_artifact();
  auto& failures = artifact["step_01_failed_runs"]["failures"];
  failures[0]["category"].SetString("");
  failures[1]["ruleId"].SetNull();
  failures[2]["location"].SetString("");
  auto registry = collect_metrics(artifact, default_rules(), MetricsSettings{}, CollectFacts{});
  EXPECT_EQ(registry.find("day2_failed_runs")->total(), 5.0);
  EXPECT_EQ(registry.find("day2_runs")->get({"failure"}), 6.0);
  EXPECT_GE(registry.find("day2_failed_runs")->get({std::string(to_string(*parse_category(
                                                        failures[1]["category"].GetString()))),
                                                    "none"})
                .value_or(0),
            1.0)
      << "no rule: \"none\"";
  EXPECT_EQ(registry.find("day2_failed_runs_by_location")->get({"unknown"}), 1.0);
}

TEST(NightMetrics, ARuleIdOutsideTheLoadedRulesIsOther) {
  auto artifact = fixture_artifact();
  artifact["step_01_failed_runs"]["failures"][0]["ruleId"].SetString("made-up-rule");
  auto registry = collect_metrics(artifact, default_rules(), MetricsSettings{}, CollectFacts{});
  auto text = registry.text();
  EXPECT_EQ(text.find("made-up-rule"), std::string::npos);
  EXPECT_NE(text.find("rule=\"other\""), std::string::npos) << text;
}

// Every scenario's report, as metrics: no finding kind and no rule falls outside its closed set.
TEST(ReportMetrics, EveryScenariosFindingsAreKnownKinds) {
  day2_test::TempDir dir;
  int scenarios = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DAY2_SOURCE_DIR "/scenarios")) {
    if (!std::filesystem::is_directory(entry.path() / "bundle")) continue;
    ++scenarios;
    std::vector<std::string> collect{"collect", "--replay", (entry.path() / "bundle").string(), "--out", dir.file("a.json"), "-q"};
    std::vector<std::string> report{"report", dir.file("a.json"), "--out-dir", dir.file("r"), "--metrics", dir.file("m.prom")};
    if (std::filesystem::exists(entry.path() / "config.json")) {
      collect.insert(collect.end(), {"--config", (entry.path() / "config.json").string()});
      report.insert(report.end(), {"--config", (entry.path() / "config.json").string()});
    }
    std::filesystem::remove(dir.file("m.prom"));
    auto collected = day2test::run_day2(collect);
    ASSERT_NE(collected.code, 2) << entry.path() << collected.err;
    auto reported = day2test::run_day2(report);
    ASSERT_EQ(reported.code, 0) << entry.path() << reported.err;
    auto text = day2test::read_text(dir.file("m.prom"));
    EXPECT_NE(text.find("# TYPE day2_findings gauge"), std::string::npos) << entry.path();
    EXPECT_EQ(text.find("finding=\"other\""), std::string::npos) << entry.path() << "\n" << text;
    EXPECT_EQ(text.find("rule=\"other\""), std::string::npos) << entry.path() << "\n" << text;
  }
  EXPECT_GE(scenarios, 20);
}

// day2_platform_causes: a night whose agent stopped heartbeating counts that cause once, and every
// other loaded cause as 0 (so an alert on a storm sees 0, not a missing series).
TEST(ReportMetrics, PlatformCausesCountTheNightsIncidentsAndZeroForTheRest) {
  day2_test::TempDir dir;
  const std::string scenario = DAY2_SOURCE_DIR "/scenarios/agent-heartbeat-loss-ticks";
  const std::string config = scenario + "/config.json";
  auto collected = day2test::run_day2(
      {"collect", "--replay", scenario + "/bundle", "--config", config, "--out", dir.file("a.json"), "-q"});
  ASSERT_NE(collected.code, 2) << collected.err;
  auto reported = day2test::run_day2(
      {"report", dir.file("a.json"), "--config", config, "--out-dir", dir.file("r"), "--metrics", dir.file("m.prom")});
  ASSERT_EQ(reported.code, 0) << reported.err;
  auto text = day2test::read_text(dir.file("m.prom"));
  EXPECT_NE(text.find("day2_platform_causes{cause=\"agent-heartbeat-loss\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("day2_platform_causes{cause=\"agent-churn-storm\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("day2_platform_causes{cause=\"infra-pod-secrets\"} 0\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace analyzer
