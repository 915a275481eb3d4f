// The HTML incident report (docs/report.md "HTML"): escaping of untrusted artifact text, the SVG
// timeline (one bar per run, one marker per timed signal, the legend), determinism, the file name
// and self-containment. Pages are rendered in process from the private report model, files through
// `day2 report`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "../../../analyzer/report/src/report_model.hpp"
#include "recorder/base/json.hpp"
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
const std::string k_window =
    R"("window": {"epoch": 1774818000, "utc_start": "2026-03-29T21:00:00Z", "utc_end": "2026-03-30T13:00:00Z", "timezone": "America/New_York"})";
// Hostile text: markup, an entity and both quotes.
const std::string k_hostile = R"(<script>alert(\"x\" & 'y')</script>)";
const std::string k_hostile_escaped = "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;";

recorder::Zone new_york() { return *recorder::Zone::find("America/New_York"); }

Report build(const std::string& steps) {
  auto document = recorder::parse_json("{" + k_window + (steps.empty() ? "" : ", " + steps) + "}", "test");
  EXPECT_TRUE(static_cast<bool>(document)) << (document ? "" : document.error().message);
  return build_report(*document, new_york());
}

Report build_file(const fs::path& path) {
  auto document = recorder::parse_json(day2test::read_text(path), path.string());
  EXPECT_TRUE(static_cast<bool>(document)) << (document ? "" : document.error().message);
  return build_report(*document, new_york());
}

// A failed run of step 01; `start`/`end` are epoch seconds or "null".
std::string failure(const std::string& id, const std::string& job, const std::string& category,
                    const std::string& start, const std::string& end, const std::string& message = "boom") {
  return R"({"runId": ")" + id + R"(", "jobName": ")" + job + R"(", "location": "loc", "status": "FAILURE", )" +
         R"("startTime": )" + start + R"(, "endTime": )" + end + R"(, "runFailureMessage": ")" + message +
         R"(", "stepErrors": [], "category": ")" + category + R"(", "ruleId": "r"})";
}

std::string failed_runs(const std::vector<std::string>& failures) {
  std::string list;
  for (const auto& f : failures) { list += (list.empty() ? "" : ", ") + f; }
  return R"("step_01_failed_runs": {"failureCount": )" + std::to_string(failures.size()) +
         R"(, "successCount": 0, "canceledCount": 0, "failures": [)" + list + "]}";
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) { ++n; }
  return n;
}

// Every value of attribute `name` in `html`, in order.
std::vector<std::string> attributes(const std::string& html, const std::string& name) {
  std::vector<std::string> out;
  std::regex pattern(" " + name + "=\"([^\"]*)\"");
  for (std::sregex_iterator it(html.begin(), html.end(), pattern), end; it != end; ++it) { out.push_back((*it)[1]); }
  return out;
}

// The legend's category names, from its text elements.
std::set<std::string> legend_categories(const std::string& html) {
  std::set<std::string> out;
  std::regex pattern(R"re(<g class="legend-category"><rect[^>]*/><text[^>]*>([^<]*)</text></g>)re");
  for (std::sregex_iterator it(html.begin(), html.end(), pattern), end; it != end; ++it) { out.insert((*it)[1]); }
  return out;
}

TEST(ReportHtml, EscapesHostileTextInTextAndAttributes) {
  auto html = render_html(build(failed_runs({failure("run-1", k_hostile, k_hostile, "1774843200", "1774843900",
                                                     k_hostile)})),
                          new_york());
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("'y'")));
  EXPECT_THAT(html, HasSubstr("<code>" + k_hostile_escaped + "</code> run <code>run-1</code>"));  // job, as text
  EXPECT_THAT(html, HasSubstr("Run failure: " + k_hostile_escaped + "</li>"));                      // message
  EXPECT_THAT(html, HasSubstr("data-category=\"" + k_hostile_escaped + "\""));                      // attribute
  EXPECT_THAT(html, HasSubstr("<title>" + k_hostile_escaped + " run run-1\n"));                     // hover
}

TEST(ReportHtml, EscapesAStepErrorInTheMissingSignals) {
  auto html = render_html(build(R"("step_10_gke_events": {"error": "HTTP 403 <b>denied</b> & \"more\""})"), new_york());
  EXPECT_THAT(html, HasSubstr("<li><code>step_10_gke_events</code>: HTTP 403 &lt;b&gt;denied&lt;/b&gt; &amp; "
                              "&quot;more&quot;</li>"));
}

TEST(ReportHtml, DrawsOneBarPerRunWithATime) {
  auto report = build(failed_runs({failure("run-a", "a", "Code error", "1774843200", "1774843900"),
                                   failure("run-b", "b", "Code error", "null", "1774850000"),
                                   failure("run-c", "c", "Infra timeout", "1774852000", "1774853000"),
                                   failure("run-d", "d", "Infra timeout", "null", "null")}));
  auto html = render_html(report, new_york());
  EXPECT_EQ(count(html, "class=\"run-bar\""), 3u);  // run-d has no time: listed, not drawn
  EXPECT_THAT(html, HasSubstr(" run run-a\n"));
  EXPECT_THAT(html, HasSubstr(" run run-b\n"));
  EXPECT_THAT(html, HasSubstr(" run run-c\n"));
  EXPECT_THAT(html, Not(HasSubstr(" run run-d\n")));
  EXPECT_THAT(html, HasSubstr("<code>d</code> run <code>run-d</code>"));
}

TEST(ReportHtml, DrawsOneMarkerPerTimedSignalByKind) {
  auto report = build_file(k_reasoning);
  std::map<std::string, std::size_t> expected;
  for (const auto& row : report.timeline) {
    if (row.epoch && row.kind != "run") { ++expected[row.kind]; }
  }
  ASSERT_GE(expected.size(), 6u) << "the reasoning artifact has signals of many kinds";
  auto html = render_html(report, new_york());
  std::map<std::string, std::size_t> drawn;
  for (const auto& kind : attributes(html, "data-kind")) { ++drawn[kind]; }
  EXPECT_EQ(drawn, expected);
  EXPECT_EQ(count(html, "class=\"marker\""), count(html, "data-kind=\""));
}

TEST(ReportHtml, HoverTextOfAMarkerNamesItsSourceAndPointer) {
  auto html = render_html(build_file(k_overnight), new_york());
  EXPECT_THAT(html, HasSubstr("<title>2026-03-30 00:11:58 EDT\nPod dagster-run-5c1e2d3a-7f80-4b6e-a1d2-c3b4a5968778-"
                              "x7k2p OOMKilling: Memory cgroup out of memory (run 5c1e2d3a, FAILURE)\nsource: GKE pod "
                              "events (step 10)\npointer: /step_10_gke_events/podEvents/0</title>"));
}

TEST(ReportHtml, LegendNamesEveryCategoryDrawn) {
  auto report = build_file(k_reasoning);
  std::set<std::string> categories;
  for (const auto& cause : report.causes) {  // a platform cause's runs keep their own category
    for (const auto& run : cause.runs) { categories.insert(run.category); }
  }
  ASSERT_GE(categories.size(), 2u);
  auto html = render_html(report, new_york());
  EXPECT_EQ(legend_categories(html), categories);
  std::set<std::string> kinds;
  for (const auto& row : report.timeline) {
    if (row.epoch && row.kind != "run") { kinds.insert(row.kind); }
  }
  EXPECT_EQ(count(html, "<g class=\"legend-kind\">"), kinds.size());
}

TEST(ReportHtml, LegendWrapsInsideTheViewBox) {
  std::vector<std::string> failures;
  for (int i = 0; i < 12; ++i) {
    failures.push_back(failure("run-" + std::to_string(i), "job", "A rather long category name number " + std::to_string(i),
                               "1774843200", "1774843900"));
  }
  auto html = render_html(build(failed_runs(failures)), new_york());
  EXPECT_EQ(legend_categories(html).size(), 12u);
  std::regex text_x(R"re(<g class="legend-category"><rect x="([0-9.]+)" y="([0-9]+)")re");
  std::set<std::string> rows;
  for (std::sregex_iterator it(html.begin(), html.end(), text_x), end; it != end; ++it) {
    // 30 px of swatch and gap plus about 7 px a character, within the 1200 px view box.
    EXPECT_LE(std::stod((*it)[1]) + 30 + 7.0 * 37, 1200.0) << (*it)[0];
    rows.insert((*it)[2]);
  }
  EXPECT_GE(rows.size(), 3u);
}

// Self-contained: nothing is loaded from elsewhere (no src, stylesheet, import or script); links
// the reader follows (<a href>, into the Dagster UI and the console) are not loads.
TEST(ReportHtml, IsSelfContained) {
  auto html = render_html(build_file(k_reasoning), new_york());
  std::regex external(R"re((src|srcset|xlink:href|action)\s*=\s*["']?\s*(https?:)?//)re", std::regex::icase);
  EXPECT_FALSE(std::regex_search(html, external));
  std::regex non_anchor_href(R"re(<(?!a\s)[a-z]+[^>]*\shref\s*=)re", std::regex::icase);
  EXPECT_FALSE(std::regex_search(html, non_anchor_href));
  EXPECT_THAT(html, HasSubstr("<a href=\"https://kipp.dagster.cloud/prod/runs/"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, HasSubstr("<style>"));
}

TEST(ReportHtml, ShowsReclassificationEvidenceLikeTheMarkdown) {
  auto html = render_html(build_file(k_data / "artifacts" / "reclassify.json"), new_york());
  EXPECT_THAT(html, HasSubstr("<p class=\"guidance\">Guidance: The agent lost its connection"));
  EXPECT_THAT(html, HasSubstr("<li>Reclassified from Unclassified by rule <code>agent-api-timeout</code></li>\n"
                              "<li class=\"evidence\">Evidence (<span class=\"tag\">agent error</span>): agent agent-1: "
                              "requests.exceptions.ReadTimeout"));
  EXPECT_THAT(html, HasSubstr("\nreclassified from Unclassified\nevidence (agent_error, /step_07_agents/agents/0/errors/0)"));
}

TEST(ReportHtml, ShowsTheRuleAndEvidenceOfAFinding) {
  auto html = render_html(build_file(k_reasoning), new_york());
  EXPECT_THAT(html, HasSubstr("(rule: <code>run-never-started</code>)"));
  EXPECT_THAT(html, HasSubstr("<li class=\"evidence\">Evidence (<a href=\"https://kipp.dagster.cloud/prod/runs/"
                              "aaaaaaaa-0000-4000-8000-000000000001\"><span class=\"tag\">run</span></a>): "
                              "run aaaaaaaa-0000-4000-8000-000000000001 never started</li>"));
}

class ReportHtmlFile : public ::testing::Test {
 protected:
  day2test::Outcome report(const fs::path& artifact, const fs::path& out_dir) {
    return day2test::run_day2({"report", artifact.string(), "--out-dir", out_dir.string(), "--format", "html"});
  }
  day2_test::TempDir m_dir{"day2-report-html"};
};

TEST_F(ReportHtmlFile, IsByteIdenticalForTheSameInput) {
  ASSERT_EQ(report(k_reasoning, m_dir.path() / "a").code, 0);
  ASSERT_EQ(report(k_reasoning, m_dir.path() / "b").code, 0);
  std::string first = day2test::read_text(m_dir.path() / "a" / "day2-report-2026-03-30.html");
  ASSERT_THAT(first, HasSubstr("<svg id=\"timeline\""));
  EXPECT_EQ(day2test::read_text(m_dir.path() / "b" / "day2-report-2026-03-30.html"), first);
}

TEST_F(ReportHtmlFile, IsNamedAfterTheWindowsEndDateInTheReportZone) {
  // 03:30 UTC on the 30th is 23:30 EDT on the 29th.
  auto artifact = m_dir.write("day2.json", R"({"window": {"utc_start": "2026-03-29T11:30:00Z",
    "utc_end": "2026-03-30T03:30:00Z", "timezone": "America/New_York"}})");
  auto outcome = report(artifact, m_dir.path());
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_EQ(outcome.out, (m_dir.path() / "day2-report-2026-03-29.html").string() + "\n");
  outcome = day2test::run_day2({"report", artifact, "--out-dir", m_dir.path().string(), "--format", "html", "--tz", "UTC"});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_EQ(outcome.out, (m_dir.path() / "day2-report-2026-03-30.html").string() + "\n");
  EXPECT_THAT(day2test::read_text(m_dir.path() / "day2-report-2026-03-30.html"), HasSubstr("<!DOCTYPE html>"));
}

}  // namespace
}  // namespace analyzer::report
