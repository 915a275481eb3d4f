#include "analyzer/report/report.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/cli_outcome.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using day2test::Outcome;
using day2test::read_text;
using day2test::run_day2;

const fs::path k_data = DAY2_TEST_DATA;
const fs::path k_fixture = k_data / ".." / ".." / "scenarios" / "dagster-fixture" / "day2.json";
const fs::path k_overnight = k_data / "artifacts" / "overnight.json";
// Exercises every reasoning rule of docs/report.md (default settings: no self-resolving alerts).
const fs::path k_reasoning = k_data / "artifacts" / "reasoning.json";
const std::string k_window =
    R"("window": {"epoch": 1774818000, "utc_start": "2026-03-29T21:00:00Z", "utc_end": "2026-03-30T13:00:00Z"})";

class Report : public ::testing::Test {
 protected:
  // `day2 report FILE --out-dir <temp> <extra...>`.
  Outcome report(const fs::path& artifact, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"report", artifact.string(), "--out-dir", m_dir.path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto outcome = run_day2(args);
    if (outcome.code == 0 && outcome.out.ends_with("\n")) { m_last = outcome.out.substr(0, outcome.out.size() - 1); }
    return outcome;
  }
  // The report the last successful `report()` wrote (day2-report-<window end date>.<ext>, the path
  // it printed); `name` ("report.md", "report.json") only says which format the test expects.
  std::string written(const std::string& name) const {
    EXPECT_TRUE(m_last.ends_with(name.substr(name.find('.')))) << m_last << " is not a " << name;
    return read_text(m_last);
  }

  // Compares the report against tests/data/reports/<golden>; DAY2_UPDATE_GOLDEN=1 rewrites it.
  void expect_golden(const fs::path& artifact, const std::string& format, const std::string& golden) {
    auto outcome = report(artifact, {"--format", format});
    ASSERT_EQ(outcome.code, 0) << outcome.err;
    std::string actual = written("report." + format);
    fs::path expected_path = k_data / "reports" / golden;
    if (std::getenv("DAY2_UPDATE_GOLDEN") != nullptr) { std::ofstream(expected_path, std::ios::binary) << actual; }
    EXPECT_EQ(actual, read_text(expected_path))
        << "golden " << expected_path << " differs; the actual report is in " << m_dir.path()
        << " (DAY2_UPDATE_GOLDEN=1 rewrites it; review the diff)";
  }

  day2_test::TempDir m_dir{"day2-report"};
  std::string m_last;  // the path the last successful report() printed
};

TEST_F(Report, GoldenMarkdownDagsterFixture) { expect_golden(k_fixture, "md", "dagster-fixture.md"); }
TEST_F(Report, GoldenJsonDagsterFixture) { expect_golden(k_fixture, "json", "dagster-fixture.json"); }
TEST_F(Report, GoldenMarkdownOvernight) { expect_golden(k_overnight, "md", "overnight.md"); }
TEST_F(Report, GoldenJsonOvernight) { expect_golden(k_overnight, "json", "overnight.json"); }
TEST_F(Report, GoldenMarkdownReasoning) { expect_golden(k_reasoning, "md", "reasoning.md"); }
TEST_F(Report, GoldenJsonReasoning) { expect_golden(k_reasoning, "json", "reasoning.json"); }
TEST_F(Report, GoldenHtmlOvernight) { expect_golden(k_overnight, "html", "overnight.html"); }

TEST_F(Report, PrintsThePathItWrote) {
  auto outcome = report(k_overnight);
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_EQ(outcome.out, (m_dir.path() / "day2-report-2026-03-30.md").string() + "\n");
  EXPECT_EQ(outcome.err, "");
}

TEST_F(Report, CreatesAMissingOutDir) {
  fs::path dir = m_dir.path() / "new" / "reports";
  auto outcome = run_day2({"report", k_overnight.string(), "--out-dir", dir.string()});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_EQ(outcome.out, (dir / "day2-report-2026-03-30.md").string() + "\n");
  EXPECT_THAT(read_text(dir / "day2-report-2026-03-30.md"), HasSubstr("## Day-2 Operations Report"));
}

TEST_F(Report, OutDirThatIsAFileExits2) {
  auto file = m_dir.write("taken", "not a directory");
  auto outcome = run_day2({"report", k_overnight.string(), "--out-dir", file});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_EQ(outcome.err, "day2 report: error: --out-dir: " + file + ": exists and is not a directory\n");
  EXPECT_EQ(read_text(file), "not a directory");
}

TEST_F(Report, IsDeterministic) {
  ASSERT_EQ(report(k_fixture).code, 0);
  std::string first = written("report.md");
  ASSERT_EQ(report(k_fixture).code, 0);
  EXPECT_EQ(written("report.md"), first);
}

TEST_F(Report, FlagsAStepHoldingAnErrorAsAMissingSignal) {
  auto artifact = m_dir.write("day2.json", "{" + k_window + R"(,
    "step_01_failed_runs": {"failureCount": 0, "failures": [], "successCount": 3, "canceledCount": 0},
    "step_10_gke_events": {"error": "logging entries.list: HTTP 403 PERMISSION_DENIED"},
    "step_13_oom_metrics": {"skipped": true, "reason": "Cloud Monitoring API not enabled"}})");
  ASSERT_EQ(report(artifact).code, 0);
  std::string md = written("report.md");
  EXPECT_THAT(md, HasSubstr("> **Missing signals:** 1 step(s) hold an error"));
  EXPECT_THAT(md, HasSubstr("> - `step_10_gke_events`: logging entries.list: HTTP 403 PERMISSION_DENIED\n"));
  EXPECT_THAT(md, HasSubstr("Not collected (skipped): `step_13_oom_metrics` (Cloud Monitoring API not enabled)."));
  EXPECT_THAT(md, HasSubstr("| Investigate | `step_10_gke_events` collection | signals missing"));
  EXPECT_LT(md.find("Missing signals"), md.find("### Timeline"));
}

TEST_F(Report, WithoutStepErrorsHasNoMissingSignalWarning) {
  ASSERT_EQ(report(k_overnight).code, 0);
  EXPECT_THAT(written("report.md"), Not(HasSubstr("Missing signals")));
}

TEST_F(Report, TimesFollowTheReportZone) {
  ASSERT_EQ(report(k_overnight, {"--tz", "America/New_York"}).code, 0);
  std::string new_york = written("report.md");
  ASSERT_EQ(report(k_overnight, {"--tz", "Europe/Berlin"}).code, 0);
  std::string berlin = written("report.md");
  // 2026-03-29T21:00Z is 17:00 EDT and 23:00 CEST; the OOM pod event at 04:11:58Z, 00:11:58 / 06:11:58.
  EXPECT_THAT(new_york, HasSubstr("## Day-2 Operations Report — 2026-03-29 17:00 EDT → 2026-03-30 09:00 EDT\n"));
  EXPECT_THAT(berlin, HasSubstr("## Day-2 Operations Report — 2026-03-29 23:00 CEST → 2026-03-30 15:00 CEST\n"));
  EXPECT_THAT(new_york, HasSubstr("| 2026-03-30 00:11:58 EDT | Pod `dagster-run-5c1e2d3a"));
  EXPECT_THAT(berlin, HasSubstr("| 2026-03-30 06:11:58 CEST | Pod `dagster-run-5c1e2d3a"));
  EXPECT_THAT(berlin, HasSubstr("### Timeline (CET/CEST)"));
  EXPECT_THAT(new_york, HasSubstr("### Timeline (ET)"));
}

TEST_F(Report, DefaultsToTheArtifactsZone) {
  auto artifact = m_dir.write("day2.json", R"({"window": {"utc_start": "2026-03-29T21:00:00Z",
    "utc_end": "2026-03-30T13:00:00Z", "timezone": "Asia/Tokyo"}})");
  ASSERT_EQ(report(artifact).code, 0);
  EXPECT_THAT(written("report.md"), HasSubstr("— 2026-03-30 06:00 JST → 2026-03-30 22:00 JST\n"));
}

TEST_F(Report, RetrySuccessIsNoActionAndRetryFailureIsInvestigate) {
  ASSERT_EQ(report(k_overnight).code, 0);
  std::string md = written("report.md");
  EXPECT_THAT(md, HasSubstr("| No action | Network/SSH (`ssh-banner`): `powerschool__sftp_asset_job` `e41f5a2c` | "
                            "transient: the retry succeeded |"));
  EXPECT_THAT(md, HasSubstr("| Investigate | Node OOM/eviction (`oom-killed`): `kipptaf__dbt_asset_job` `5c1e2d3a` | "
                            "the retry failed too |"));
}

TEST_F(Report, OmitsEmergingIssuesWhenNothingEmerges) {
  auto artifact = m_dir.write("day2.json", "{" + k_window + R"(,
    "step_12_error_groups": {"groups": [], "buckets": {"inWindow": [], "staleOpen": []}}})");
  ASSERT_EQ(report(artifact).code, 0);
  EXPECT_THAT(written("report.md"), Not(HasSubstr("### Emerging Issues")));
}

TEST_F(Report, ListsAStaleOpenErrorGroupAlone) {
  auto artifact = m_dir.write("day2.json", "{" + k_window + R"(,
    "step_12_error_groups": {"groups": [{"groupId": "g1", "exception": "ValueError: x", "lastSeenTime": 1774000000}],
                             "buckets": {"inWindow": [], "staleOpen": ["g1"]}}})");
  ASSERT_EQ(report(artifact).code, 0);
  std::string md = written("report.md");
  EXPECT_THAT(md, HasSubstr("### Emerging Issues"));
  EXPECT_THAT(md, HasSubstr("`g1` ValueError: x, last seen 2026-03-20 — cleanup candidate"));
}

TEST_F(Report, TruncatedArtifactExits2NamingTheFile) {
  auto artifact = m_dir.write("day2.json", "{" + k_window + R"(, "step_01_failed_runs": {"fail)");
  auto outcome = report(artifact);
  EXPECT_EQ(outcome.code, 2);
  EXPECT_THAT(outcome.err, HasSubstr("day2 report: error: " + artifact + ":1:"));
  EXPECT_FALSE(fs::exists(m_dir.path() / "day2-report-2026-03-30.md"));
}

TEST_F(Report, NotAnArtifactExits2) {
  auto artifact = m_dir.write("day2.json", "[1, 2]");
  auto outcome = report(artifact);
  EXPECT_EQ(outcome.code, 2);
  EXPECT_EQ(outcome.err, "day2 report: error: " + artifact +
                             ": not a day2 artifact: the top-level value is an array, expected an object with "
                             "\"window\" and step_NN_* keys\n");
}

TEST_F(Report, MissingFileExits2) {
  auto outcome = report(m_dir.path() / "absent.json");
  EXPECT_EQ(outcome.code, 2);
  EXPECT_THAT(outcome.err, HasSubstr("absent.json"));
}

TEST_F(Report, UnknownZoneExits2) {
  auto outcome = report(k_overnight, {"--tz", "America/Nwe_York"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_THAT(outcome.err, HasSubstr("--tz: unknown time zone \"America/Nwe_York\""));
}

TEST_F(Report, ConfigNamesTheSelfResolvingAlerts) {
  auto without = report(k_reasoning, {"--format", "json"});
  ASSERT_EQ(without.code, 0) << without.err;
  EXPECT_THAT(written("report.json"), Not(HasSubstr("self-resolving-alert")));
  fs::path config = m_dir.path() / "config.json";
  std::ofstream(config) << R"({"report": {"self_resolving_alerts": [
      {"name": "dagster-step.*CPU", "resourcePattern": "^dagster-step-", "reason": "self-resolves during import"}]}})";
  auto with = report(k_reasoning, {"--format", "json", "--config", config.string()});
  ASSERT_EQ(with.code, 0) << with.err;
  EXPECT_THAT(written("report.json"), HasSubstr("self-resolving-alert"));
  EXPECT_THAT(written("report.json"), HasSubstr("self-resolves during import"));
}

TEST_F(Report, BadConfigIsAUsageErrorNamingTheFile) {
  fs::path config = m_dir.path() / "config.json";
  std::ofstream(config) << R"({"report": {"self_resolving_alerts": 3}})";
  auto outcome = report(k_reasoning, {"--config", config.string()});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_THAT(outcome.err, HasSubstr("--config: " + config.string()));
}

TEST_F(Report, TimelineShowsTheCategoryAfterReclassification) {
  auto outcome = report(k_data / "artifacts" / "reclassify.json");
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  std::string md = written("report.md");
  // Every "Run failed" row names the run's final category, the one its root cause carries.
  EXPECT_THAT(md, HasSubstr("— Agent API timeout (`agent-api-timeout`)"));
  EXPECT_THAT(md, HasSubstr("`k8s_job` `a2000000` — K8s API timeout (`k8s-api-timeout`)"));
  EXPECT_THAT(md, Not(HasSubstr("`k8s_job` `a2000000` — Code error")));
}

TEST_F(Report, NarrativeLinksOnlySignalsThatPassTheGate) {
  auto outcome = report(k_data / "artifacts" / "reclassify.json");
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  std::string md = written("report.md");
  // The OOM run: its own pod's OOMKilling during the run is the linked signal.
  EXPECT_THAT(md, HasSubstr("Collect filed it as Unclassified; `pod-oom-eviction` moved it here on 1 pod event that "
                            "overlaps the run's lifetime (the temporal overlap gate)."));
  // The agent run: its pod's OOMKilling an hour after it ended is counted as not linked, never as a cause.
  EXPECT_THAT(md, HasSubstr("`agent-api-timeout` moved it here on 1 agent error that overlaps the run's lifetime"));
  EXPECT_THAT(md, HasSubstr("1 pod event(s) of these runs' pods fall outside the runs' lifetimes and are not linked."));
  EXPECT_THAT(md, Not(HasSubstr("agent-api-timeout` moved it here on 1 agent error and 1 pod event")));
  // A run no rule matched says so instead of inventing a cause.
  EXPECT_THAT(md, HasSubstr("One run of `other_pod_job` failed at 2026-03-30 02:58:20 EDT. No classification rule matched"));
}

TEST_F(Report, UnknownFormatIsAUsageError) {
  auto outcome = report(k_overnight, {"--format", "pdf"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_THAT(outcome.err, HasSubstr("--format: \"pdf\" is not md, json or html"));
}

}  // namespace
}  // namespace analyzer
