// The report an on-call engineer opens first (docs/report.md): the verdict and the Actions table
// before the details, the zone's short name in headings, links into the Dagster UI and the console
// on their documented routes, the next command and runbook line of every cause and finding, and
// the outputs tools expect (--out -, --deployment, summarize --json and --tz, regress --junit and
// --json). Expected texts come from docs/report.md and the artifacts' own fields.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "../../../analyzer/report/src/report_model.hpp"
#include "analyzer/report/runbook.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/text.hpp"
#include "support/cli_outcome.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace analyzer::report {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path k_data = DAY2_TEST_DATA;
const fs::path k_overnight = k_data / "artifacts" / "overnight.json";
const fs::path k_reasoning = k_data / "artifacts" / "reasoning.json";
const fs::path k_fixture = DAY2_SOURCE_DIR "/scenarios/dagster-fixture/day2.json";

recorder::Zone zone(const char* name) { return *recorder::Zone::find(name); }

Report build(const fs::path& path, const Config& config = Config{}) {
  auto document = recorder::read_json_file(path.string());
  EXPECT_TRUE(document) << document.error().message;
  return build_report(*document, zone("America/New_York"), config);
}

Report build_text(const std::string& json) {
  auto document = recorder::parse_json(json, "test");
  EXPECT_TRUE(document) << document.error().message;
  return build_report(*document, zone("America/New_York"));
}

recorder::Instant at(const char* rfc3339) { return *recorder::parse_rfc3339(rfc3339); }

TEST(ZoneLabel, IsTheZonesUsualShortName) {
  EXPECT_EQ(zone_label(zone("America/New_York"), at("2026-03-30T13:00:00Z")), "ET");
  EXPECT_EQ(zone_label(zone("America/New_York"), at("2026-01-30T13:00:00Z")), "ET") << "in winter too";
  EXPECT_EQ(zone_label(zone("America/Los_Angeles"), at("2026-03-30T13:00:00Z")), "PT");
  EXPECT_EQ(zone_label(zone("Asia/Tokyo"), at("2026-03-30T13:00:00Z")), "JST");
  EXPECT_EQ(zone_label(zone("UTC"), at("2026-03-30T13:00:00Z")), "UTC");
  EXPECT_EQ(zone_label(zone("Europe/Berlin"), at("2026-03-30T13:00:00Z")), "CET/CEST");
  EXPECT_EQ(zone_label(zone("America/Sao_Paulo"), at("2026-03-30T13:00:00Z")), "America/Sao_Paulo")
      << "the database's abbreviation is -03: the IANA name instead";
}

TEST(Headline, NamesTheMostSevereActionFirstAndCountsTheNight) {
  auto report = build(k_overnight);
  EXPECT_EQ(report.headline.rfind("Investigate: Node OOM/eviction (`oom-killed`): `kipptaf__dbt_asset_job` `5c1e2d3a` — "
                                  "the retry failed too",
                                  0),
            0u)
      << report.headline;
  // Step 01 of overnight.json: 2 failures (00:12:30 and 02:41:00 EDT), 118 successes, 1 canceled.
  EXPECT_THAT(report.counts, HasSubstr("2 failed between 00:12 and 02:41 EDT"));
  EXPECT_THAT(report.counts, HasSubstr("118 succeeded, 1 canceled"));
}

TEST(Headline, AQuietNightSaysSo) {
  auto report = build_text(R"({"window": {"utc_start": "2026-03-29T21:00:00Z", "utc_end": "2026-03-30T13:00:00Z"},
    "step_01_failed_runs": {"failureCount": 0, "successCount": 12, "canceledCount": 0, "failures": []}})");
  EXPECT_EQ(report.headline, "Quiet night: no failed run — nothing to do");
  EXPECT_EQ(report.counts, "0 failed, 12 succeeded, 0 canceled");
}

TEST(Headline, RunsThatAllRetriedSuccessfullyNeedNothing) {
  auto report = build_text(R"({"window": {"utc_start": "2026-03-29T21:00:00Z", "utc_end": "2026-03-30T13:00:00Z"},
    "step_01_failed_runs": {"failureCount": 2, "successCount": 12, "canceledCount": 0, "failures": [
      {"runId": "a1000000-0000-4000-8000-000000000001", "jobName": "j", "location": "l", "category": "Preemption/Interrupt",
       "ruleId": "preempted", "endTime": 1774842000, "startTime": 1774841000},
      {"runId": "a2000000-0000-4000-8000-000000000002", "jobName": "j", "location": "l", "category": "Preemption/Interrupt",
       "ruleId": "preempted", "endTime": 1774842060, "startTime": 1774841000}]},
    "step_02_retries": {"retries": [
      {"parentRunId": "a1000000-0000-4000-8000-000000000001", "retryRunId": "b1", "retryStatus": "SUCCESS"},
      {"parentRunId": "a2000000-0000-4000-8000-000000000002", "retryRunId": "b2", "retryStatus": "SUCCESS"}]}})");
  EXPECT_EQ(report.headline, "2 failed runs, all retried successfully — nothing to do") << report.headline;
}

TEST(ReportOrder, TheMarkdownShowsTheVerdictAndActionsBeforeTheTimeline) {
  auto md = render_markdown(build(k_overnight));
  auto headline = md.find("**Investigate: ");
  auto actions = md.find("### Actions");
  auto timeline = md.find("### Timeline (ET)");
  auto causes = md.find("### Root Causes");
  ASSERT_NE(headline, std::string::npos);
  ASSERT_NE(actions, std::string::npos);
  ASSERT_NE(timeline, std::string::npos);
  EXPECT_LT(headline, actions);
  EXPECT_LT(actions, timeline);
  EXPECT_LT(timeline, causes);
  EXPECT_THAT(md, HasSubstr("| Action | Item | Rationale | Next step |"));
}

TEST(PlainWords, NoJsonPointerOrRulePlumbingInTheProse) {
  for (const auto& path : {k_overnight, k_reasoning, k_data / "artifacts" / "reclassify.json"}) {
    auto md = render_markdown(build(path));
    EXPECT_THAT(md, Not(HasSubstr("`/step_"))) << path;
    EXPECT_THAT(md, Not(HasSubstr("no rule cites"))) << path;
    EXPECT_THAT(md, Not(HasSubstr("Step error: -"))) << path;
  }
}

// The documented routes (docs/report.md "Links"), from the UI's router and the console's pages.
TEST(Links, RunsJobsAndItemsLinkToTheirDocumentedRoutes) {
  Config config;
  config.gcp.project = "acme-prod";
  config.gcp.cluster = "prod";
  auto report = build(k_reasoning, config);
  auto with_runs = std::find_if(report.causes.begin(), report.causes.end(), [](const auto& cause) { return !cause.runs.empty(); });
  ASSERT_NE(with_runs, report.causes.end());
  const auto& run = with_runs->runs.front();
  EXPECT_EQ(run.url, "https://kipp.dagster.cloud/prod/runs/" + run.run_id);
  std::regex job(R"(^https://kipp\.dagster\.cloud/prod/locations/[A-Za-z0-9_.%@-]+/jobs/[A-Za-z0-9_.%-]+$)");
  EXPECT_TRUE(std::regex_match(run.job_url, job)) << run.job_url;
  int logs = 0;
  for (const auto& row : report.timeline) {
    if (row.kind == "pod_event" && !row.url.empty()) {
      ++logs;
      EXPECT_EQ(row.url.rfind("https://console.cloud.google.com/logs/query;query=resource.type%3D%22k8s_pod%22%0A", 0), 0u)
          << row.url;
      EXPECT_THAT(row.url, HasSubstr(";timeRange="));
      EXPECT_THAT(row.url, HasSubstr("?project=acme-prod"));
    }
    if (row.kind == "backfill") { EXPECT_EQ(row.url, "https://kipp.dagster.cloud/prod/runs/b/bfabcdef"); }
  }
  EXPECT_GT(logs, 0);
}

// An agent pod creation (step 08) links to its own pods.create audit entry, found as step 08 finds
// it: the created pod's name in the response; a refused create's generateName in the request.
TEST(Links, AnAgentPodCreationLinksToItsAuditEntry) {
  auto artifact = recorder::parse_json(R"({"step_08_agent_pod_churn": {"events": [
      {"podName": "agent-7d9f8c6b5-x2k9q", "principal": "system:serviceaccount:kube-system:replicaset-controller",
       "statusCode": 0, "timestamp": 1795482000.0},
      {"podName": "agent-7d9f8c6b5-", "principal": "system:serviceaccount:kube-system:replicaset-controller",
       "statusCode": 7, "timestamp": 1795482060.0}]}})", "artifact");
  ASSERT_TRUE(artifact);
  Links links;
  links.project = "acme-prod";
  links.cluster = "prod";
  auto created = links.for_item(*artifact, "agent_churn", "/step_08_agent_pod_churn/events/0");
  EXPECT_EQ(created,
            "https://console.cloud.google.com/logs/query;query="
            "log_id(%22cloudaudit.googleapis.com%2Factivity%22)%0Aresource.type%3D%22k8s_cluster%22%0A"
            "protoPayload.methodName%3D%22io.k8s.core.v1.pods.create%22%0A"
            "protoPayload.response.metadata.name%3D%22agent-7d9f8c6b5-x2k9q%22%0A"
            "resource.labels.cluster_name%3D%22prod%22;timeRange=2026-11-24T00:50:00Z%2F2026-11-24T01:10:00Z"
            "?project=acme-prod");
  auto refused = links.for_item(*artifact, "agent_churn", "/step_08_agent_pod_churn/events/1");
  EXPECT_THAT(refused, HasSubstr("protoPayload.request.metadata.generateName%3D%22agent-7d9f8c6b5-%22"));
  EXPECT_EQ(links.for_item(*artifact, "agent_churn", "/step_08_agent_pod_churn/verdict"), "");
  links.project.clear();
  EXPECT_EQ(links.for_item(*artifact, "agent_churn", "/step_08_agent_pod_churn/events/0"), "") << "no project, no link";
}

TEST(Links, TheDefinitionsRepositoryIsTheLocationAloneAndOthersAreNameAtLocation) {
  Links links;
  links.dagster_base = "http://dagster:3000";
  EXPECT_EQ(links.job("__repository__", "etl", "daily"), "http://dagster:3000/locations/etl/jobs/daily");
  EXPECT_EQ(links.job("my_repo", "etl loc", "daily"), "http://dagster:3000/locations/my_repo@etl%20loc/jobs/daily");
  EXPECT_EQ(links.instigator("sensors", "etl", "s"), "http://dagster:3000/locations/etl/sensors/s");
  EXPECT_EQ(links.error_group("CLr4"), "") << "no project: no console link";
  links.project = "p-1";
  EXPECT_EQ(links.error_group("CLr4"), "https://console.cloud.google.com/errors/detail/CLr4?project=p-1");
  EXPECT_EQ(links.incident("projects/p-1/alerts/0.abc123"),
            "https://console.cloud.google.com/monitoring/alerting/incidents/0.abc123?project=p-1");
}

TEST(Links, TheUiIsWhereTheGraphqlEndpointIsUnlessConfigured) {
  auto document = recorder::read_json_file(k_fixture.string());
  ASSERT_TRUE(document);
  // Recorded from http://127.0.0.1:<port>/graphql: the UI is that origin.
  std::string graphql = (*document)["meta"]["dagsterUrl"].GetString();
  ASSERT_TRUE(graphql.ends_with("/graphql")) << graphql;
  EXPECT_EQ(make_links(*document, nullptr).dagster_base, graphql.substr(0, graphql.size() - 8));
  EXPECT_TRUE(make_links(*document, nullptr).dagster_base.starts_with("http://127.0.0.1:"));
  Config config;
  config.links.dagster_ui = "https://dagster.example.com/";
  EXPECT_EQ(make_links(*document, &config).dagster_base, "https://dagster.example.com");
}

TEST(NextSteps, EveryCauseHasItsRunbookAndCommandsFilledForItsFirstRun) {
  Config config;
  config.gcp.project = "acme-prod";
  auto report = build(k_fixture, config);
  for (const auto& cause : report.causes) {
    ASSERT_TRUE(cause.runbook.has_value()) << cause.category;
    ASSERT_FALSE(cause.next.empty()) << cause.category;
    // A platform cause (the fixture's location that fails to load) claims no run here: its commands
    // need none.
    if (cause.platform) { continue; }
    EXPECT_THAT(cause.next.front(), HasSubstr(cause.runs.front().run_id)) << cause.category;
  }
  // Code error: the failing step of its first run (the fixture's code_error_job fails day2__broken_asset).
  auto first_category = std::find_if(report.causes.begin(), report.causes.end(), [](const auto& c) { return !c.platform; });
  ASSERT_NE(first_category, report.causes.end());
  const auto& code = *first_category;
  ASSERT_EQ(code.category, "Code error");
  EXPECT_EQ(code.next.front(), "day2 logs " + code.runs.front().run_id + " --type STEP_FAILURE --step " + code.runs.front().step_key);
  for (const auto& row : report.actions) {
    if (!row.run_id.empty()) { EXPECT_FALSE(row.next.empty()) << row.item; }
  }
}

TEST(Runbook, TheBuiltInOneCoversEveryCategory) {
  const auto& runbook = default_runbook();
  for (int i = 0; i < k_category_count; ++i) {
    auto name = std::string(to_string(static_cast<Category>(i)));
    EXPECT_TRUE(runbook.categories.count(name)) << name;
  }
  auto is_cause = [](const std::string& kind) {
    const auto& causes = default_platform_causes().causes;
    return std::any_of(causes.begin(), causes.end(), [&](const CauseDef& cause) { return cause.id == kind; });
  };
  for (const auto& [kind, entry] : runbook.findings) { EXPECT_TRUE(finding_kinds().count(kind) || is_cause(kind)) << kind; }
  for (const auto& cause : default_platform_causes().causes) { EXPECT_TRUE(runbook.findings.count(cause.id)) << cause.id; }
}

TEST(Runbook, ABadFileIsRefusedWithFileAndLine) {
  auto unknown_placeholder = parse_runbook("{\"categories\": {\"Code error\": {\n\"diagnosis\": \"d\", \"recovery\": \"r\", "
                                           "\"validation\": \"v\",\n\"commands\": [\"day2 logs {rnu}\"]}}}",
                                           "mine.json");
  ASSERT_FALSE(unknown_placeholder);
  EXPECT_THAT(unknown_placeholder.error().message, HasSubstr("mine.json:3:"));
  EXPECT_THAT(unknown_placeholder.error().message, HasSubstr("placeholder \"rnu\""));
  auto unknown_category = parse_runbook("{\"categories\": {\"Code eror\": {}}}", "mine.json");
  ASSERT_FALSE(unknown_category);
  EXPECT_THAT(unknown_category.error().message, HasSubstr("did you mean \"Code error\""));
  auto missing = parse_runbook("{\"findings\": {\"backfill-failed\": {\"diagnosis\": \"d\"}}}", "mine.json");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("has no \"recovery\""));
}

TEST(Runbook, AnEntryOfTheUsersFileReplacesTheBuiltInOne) {
  auto mine = parse_runbook(R"({"categories": {"Code error": {"diagnosis": "ask #data-eng", "recovery": "r",
    "validation": "v", "commands": ["open https://wiki/{job}"]}}})", "mine.json");
  ASSERT_TRUE(mine) << mine.error().message;
  auto merged = merge_runbooks(default_runbook(), *mine);
  EXPECT_EQ(merged.categories.at("Code error").diagnosis, "ask #data-eng");
  EXPECT_EQ(merged.categories.size(), default_runbook().categories.size());
  EXPECT_EQ(fill_command("open https://wiki/{job} --project {project}", {{"job", "daily"}}),
            "open https://wiki/daily --project PROJECT");
}

TEST(ReportCli, OutDashPrintsTheReportAndWritesNoFile) {
  day2_test::TempDir dir;
  auto outcome = day2test::run_day2({"report", k_overnight.string(), "--out", "-", "--out-dir", dir.file("never")});
  EXPECT_EQ(outcome.code, 2) << "--out and --out-dir are exclusive";
  auto previous = fs::current_path();
  fs::current_path(dir.path());  // the default --out-dir, where a file would land
  outcome = day2test::run_day2({"report", k_overnight.string(), "--out", "-", "--format", "md"});
  fs::current_path(previous);
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_EQ(outcome.out.rfind("## Day-2 Operations Report — ", 0), 0u);
  EXPECT_THAT(outcome.out, HasSubstr("### Actions"));
  EXPECT_TRUE(fs::is_empty(dir.path())) << "nothing written";
}

TEST(ReportCli, TheDeploymentNamesTheFile) {
  day2_test::TempDir dir;
  auto outcome = day2test::run_day2({"report", k_overnight.string(), "--out-dir", dir.path().string(), "--deployment", "prod-eu"});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_TRUE(fs::exists(dir.path() / "day2-report-prod-eu-2026-03-30.md"));
  EXPECT_EQ(day2test::run_day2({"report", k_overnight.string(), "--deployment", "../x"}).code, 2);
}

TEST(ReportCli, ARunbookFileWithAnErrorExits2NamingIt) {
  day2_test::TempDir dir;
  auto bad = dir.write("runbook.json", "{\"findings\": {\"no-such-kind\": {}}}");
  auto outcome = day2test::run_day2({"report", k_overnight.string(), "--out", "-", "--runbook", bad});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_THAT(outcome.err, HasSubstr("--runbook: " + bad + ":1:"));
}

// The numbers of `summarize`'s text ("6 failed, 7 succeeded, 1 canceled") and of --json agree.
TEST(SummarizeJson, HasTheSameCountsAsTheText) {
  auto text = day2test::run_day2({"summarize", k_fixture.string()});
  auto json = day2test::run_day2({"summarize", k_fixture.string(), "--json"});
  ASSERT_EQ(text.code, json.code);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text.out, m, std::regex(R"((\d+) failed, (\d+) succeeded, (\d+) canceled)"))) << text.out;
  auto doc = recorder::parse_json(json.out, "stdout");
  ASSERT_TRUE(doc) << doc.error().message << json.out;
  EXPECT_EQ((*doc)["runs"]["failed"].GetDouble(), std::stod(m[1]));
  EXPECT_EQ((*doc)["runs"]["succeeded"].GetDouble(), std::stod(m[2]));
  EXPECT_EQ((*doc)["runs"]["canceled"].GetDouble(), std::stod(m[3]));
  EXPECT_EQ((*doc)["steps"].Size(), 17u);
  EXPECT_TRUE((*doc)["gate"]["pass"].GetBool());
  EXPECT_THAT(text.out, HasSubstr("Error gate: PASS"));
}

TEST(SummarizeTz, PrintsTheWindowInTheZone) {
  auto text = day2test::run_day2({"summarize", k_fixture.string(), "--tz", "America/New_York"});
  // The fixture's window: 2026-12-06T17:31:00Z to 19:31:00Z, five hours behind in New York.
  EXPECT_THAT(text.out, HasSubstr("day2 summary: window 2026-12-06 12:31:00 EST → 2026-12-06 14:31:00 EST"));
  EXPECT_EQ(day2test::run_day2({"summarize", k_fixture.string(), "--tz", "Mars/Olympus"}).code, 2);
}

TEST(RegressJunit, WritesOneTestcasePerScenario) {
  day2_test::TempDir dir;
  auto outcome = day2test::run_day2({"regress", DAY2_SOURCE_DIR "/scenarios", "--junit", dir.file("junit.xml")});
  ASSERT_EQ(outcome.code, 0) << outcome.out << outcome.err;
  auto xml = day2test::read_text(dir.file("junit.xml"));
  std::smatch total;
  ASSERT_TRUE(std::regex_search(outcome.out, total, std::regex(R"((\d+) scenario\(s\))")));
  const std::regex testcase("<testcase ");
  std::ptrdiff_t cases = std::distance(std::sregex_iterator(xml.begin(), xml.end(), testcase), std::sregex_iterator());
  EXPECT_EQ(cases, std::stol(total[1]));
  EXPECT_THAT(xml, HasSubstr("<testsuite name=\"day2 regress\" tests=\"" + std::string(total[1]) + "\" failures=\"0\" errors=\"0\""));
  EXPECT_THAT(xml, HasSubstr("name=\"" DAY2_SOURCE_DIR "/scenarios/dagster-fixture\""));
}

TEST(RegressJunit, AFailureIsAFailureElementAndJsonSaysTheSame) {
  day2_test::TempDir dir;
  fs::copy(DAY2_SOURCE_DIR "/scenarios/dagster-fixture", dir.path() / "s", fs::copy_options::recursive);
  auto expected = day2test::read_text(dir.path() / "s" / "expected.json");
  auto changed = std::regex_replace(expected, std::regex("\"Infra timeout\""), "\"Code error\"");
  dir.write("s/expected.json", changed);
  auto outcome = day2test::run_day2({"regress", dir.file("s"), "--junit", dir.file("j.xml"), "--json"});
  EXPECT_EQ(outcome.code, 1);
  EXPECT_THAT(day2test::read_text(dir.file("j.xml")), HasSubstr("<failure message=\"1 difference(s)\">"));
  auto doc = recorder::parse_json(outcome.out, "stdout");
  ASSERT_TRUE(doc) << outcome.out;
  EXPECT_EQ((*doc)["failed"].GetUint64(), 1u);
  EXPECT_STREQ((*doc)["scenarios"][0]["result"].GetString(), "fail");
}

}  // namespace
}  // namespace analyzer::report

namespace analyzer::report {
namespace {

// The HTML report holds a section per failed run, readable offline: its steps (from the artifact's
// failures[].steps), the failing step's error, where its captured logs are.
TEST(RunSections, EveryFailedRunOfTheFixtureHasItsSection) {
  auto document = recorder::read_json_file(k_fixture.string());
  ASSERT_TRUE(document);
  auto report = build_report(*document, zone("America/New_York"));
  auto html = render_html(report, zone("America/New_York"));
  const auto& failures = (*document)["step_01_failed_runs"]["failures"];
  ASSERT_EQ(failures.Size(), 6u);
  for (const auto& failure : failures.GetArray()) {
    std::string id = failure["runId"].GetString();
    auto at = html.find("<section class=\"run\" id=\"run-" + id + "\">");
    ASSERT_NE(at, std::string::npos) << id;
    auto section = html.substr(at, html.find("</section>", at) - at);
    for (const auto& step : failure["steps"].GetArray()) {
      EXPECT_THAT(section, HasSubstr(std::string("<tr><td><code>") + step["stepKey"].GetString() + "</code></td><td>" +
                                     step["status"].GetString() + "</td>"))
          << id;
    }
    const auto& errors = failure["stepErrors"];
    if (errors.Empty()) {  // a run stopped before any step failed (max runtime may end it so)
      EXPECT_THAT(section, Not(HasSubstr("<strong>Failing step</strong>"))) << id;
    } else {
      EXPECT_THAT(section, HasSubstr(std::string("<p><strong>Failing step</strong> <code>") + errors[0]["stepKey"].GetString()))
          << id;
    }
    if (failure.HasMember("capturedLog") && failure["capturedLog"].HasMember("lines")) {
      const auto& log = failure["capturedLog"];
      EXPECT_THAT(section, HasSubstr(std::string("<p>Captured stderr of <code>") + log["stepKey"].GetString() + "</code>"))
          << id;
      const auto& lines = log["lines"];
      ASSERT_GT(lines.Size(), 0u) << id;
      EXPECT_THAT(section, HasSubstr(recorder::markup_escape(lines[lines.Size() - 1].GetString()) + "\n</pre>")) << id;
    }
    if (failure["logsCapturedSteps"].Size() > 0) {
      EXPECT_THAT(section, HasSubstr("<code>day2 logs " + id + " --type LOGS_CAPTURED</code>")) << id;
    }
  }
}

}  // namespace
}  // namespace analyzer::report

namespace analyzer::report {
namespace {

// The nightly bundle is a whole post-mortem: every failed run of the example night can be
// investigated offline from scenarios/dagster-fixture/bundle (recorded by `collect --record`).
TEST(PostMortem, EveryFailedRunOfTheFixtureBundleAnswersRunLogsStepsAndCompare) {
  const std::string bundle = DAY2_SOURCE_DIR "/scenarios/dagster-fixture/bundle";
  auto document = recorder::read_json_file(k_fixture.string());
  ASSERT_TRUE(document);
  std::vector<std::string> ids;
  for (const auto& failure : (*document)["step_01_failed_runs"]["failures"].GetArray()) ids.emplace_back(failure["runId"].GetString());
  ASSERT_EQ(ids.size(), 6u);
  for (const auto& id : ids) {
    for (const std::vector<std::string>& command : {std::vector<std::string>{"run", id, "--json"},
                                                    std::vector<std::string>{"logs", id, "--type", "STEP_FAILURE"},
                                                    std::vector<std::string>{"steps", id}}) {
      auto args = command;
      args.insert(args.end(), {"--replay", bundle});
      auto outcome = day2test::run_day2(args);
      EXPECT_EQ(outcome.code, 0) << command[0] << " " << id << ": " << outcome.err;
      EXPECT_THAT(outcome.err, Not(HasSubstr("miss"))) << command[0] << " " << id;
    }
  }
  for (std::size_t i = 0; i + 1 < ids.size(); ++i) {
    auto outcome = day2test::run_day2({"compare", ids[i], ids[i + 1], "--replay", bundle});
    EXPECT_EQ(outcome.code, 0) << ids[i] << " vs " << ids[i + 1] << ": " << outcome.err;
  }
}

}  // namespace
}  // namespace analyzer::report
