// The failing step's captured output: the excerpt collect keeps (captured_log_excerpt), what it reads
// from Dagster's answers (captured from the real fixture), what the simulator answers, and what the
// HTML report's run section shows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "analyzer/collect/collect.hpp"
#include "analyzer/clients/dagster_client.hpp"
#include "analyzer/artifact/failure.hpp"
#include "recorder/base/json.hpp"
#include "recorder/redact.hpp"
#include "recorder/base/secrets.hpp"
#include "recorder/base/text.hpp"
#include "support/captured_dagster.hpp"
#include "support/cli_outcome.hpp"
#include "support/files.hpp"
#include "support/fake_transport.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;
using testing::IsEmpty;
using testing::Not;

// The excerpt with a redactor of its own (collect shares one across a night's runs).
CapturedLog excerpt(std::string_view stdout_text, std::string_view stderr_text, int max_lines) {
  return captured_log_excerpt(stdout_text, stderr_text, max_lines, recorder::Redactor());
}

TEST(CapturedLogExcerpt, KeepsTheLastLinesOfStderr) {
  auto log = excerpt("printed\n", "one\ntwo\nthree\nfour\n", 3);
  EXPECT_EQ(log.stream, "stderr");
  EXPECT_EQ(log.total_lines, 4);
  EXPECT_THAT(log.lines, ElementsAre("two", "three", "four"));
  EXPECT_TRUE(log.error.empty());
}

TEST(CapturedLogExcerpt, ReadsStdoutWhenStderrHoldsOnlyBlanks) {
  auto log = excerpt("printed a\r\nprinted b\r\n", " \n\t\n", 30);
  EXPECT_EQ(log.stream, "stdout");
  EXPECT_THAT(log.lines, ElementsAre("printed a", "printed b"));  // carriage returns dropped
  EXPECT_EQ(log.total_lines, 2);
}

TEST(CapturedLogExcerpt, NothingCapturedIsNoStreamAndNoLines) {
  auto log = excerpt("", "\n\n", 30);
  EXPECT_EQ(log.stream, "");
  EXPECT_THAT(log.lines, IsEmpty());
  EXPECT_EQ(log.total_lines, 0);
}

TEST(CapturedLogExcerpt, TrailingBlankLinesAreNotCountedButInnerOnesStay) {
  auto log = excerpt("", "a\n\nb\n\n\n  \n", 30);
  EXPECT_THAT(log.lines, ElementsAre("a", "", "b"));
  EXPECT_EQ(log.total_lines, 3);
}

TEST(CapturedLogExcerpt, ZeroLinesKeepsNoneButCountsThem) {
  auto log = excerpt("", "a\nb\n", 0);
  EXPECT_THAT(log.lines, IsEmpty());
  EXPECT_EQ(log.total_lines, 2);
}

TEST(CapturedLogExcerpt, ALongLineIsClippedAtACharacterBoundary) {
  std::string line(398, 'x');
  line += "\xC3\xA9\xC3\xA9 and more";  // é straddles the 400-byte limit
  auto log = excerpt("", line, 5);
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_EQ(log.lines[0], std::string(398, 'x') + "\xC3\xA9" + "\xE2\x80\xA6");
  std::string_view rest = log.lines[0];
  while (!rest.empty()) {
    auto length = recorder::utf8_length(rest);
    ASSERT_GT(length, 0u) << "invalid UTF-8 in the clipped line";
    rest.remove_prefix(length);
  }
}

TEST(CapturedLogExcerpt, SecretsInTheOutputAreRedacted) {
  const std::string jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkYXkyIn0.c2lnbmF0dXJlLXZhbHVlLWxvbmc";
  recorder::hold_secret("day2-held-token-0123456789");
  auto log = excerpt("", "calling with Authorization: Bearer abcdefghijklmnop123456\n"
                                      "token " + jwt + "\nusing day2-held-token-0123456789 now\n"
                                      "postgres://etl:hunter2secret@db:5432/x\n", 30);
  ASSERT_EQ(log.lines.size(), 4u);
  std::string all = log.lines[0] + log.lines[1] + log.lines[2] + log.lines[3];
  for (const char* secret : {"abcdefghijklmnop123456", "hunter2secret", "day2-held-token-0123456789"}) {
    EXPECT_THAT(all, Not(HasSubstr(secret))) << all;
  }
  EXPECT_THAT(all, Not(HasSubstr(jwt))) << all;
  EXPECT_THAT(all, HasSubstr("<redacted"));
}

// ---- collect, from Dagster's own answers -------------------------------------------------------

// The captured code_error run: its failing step's file is read and the excerpt ends with the user's
// raise, as Dagster's stderr of that step does (RunCapturedLogs.code_error.json, from the fixture).
// The artifact collect makes from the captured answers with `lines` lines of captured output.
rapidjson::Document collect_captured(const std::shared_ptr<day2test::FakeTransport>& transport, int lines) {
  day2test::answer_captured(*transport);
  Config config;
  config.retries = 0;
  config.captured_log_lines = lines;
  DagsterClient client(transport, config.dagster, "", std::chrono::milliseconds(2000));
  CollectRequest request{config, day2test::captured_window()};
  return collect(client, request);
}

TEST(CapturedLogCollect, TheFailingStepsStderrEndsTheExcerpt) {
  auto transport = std::make_shared<day2test::FakeTransport>();
  auto artifact = collect_captured(transport, 5);
  auto answer = day2test::dagster_data("RunCapturedLogs.code_error");
  std::string stderr_text = answer["data"]["runOrError"]["capturedLogs"]["stderr"].GetString();
  const auto& failures = artifact["step_01_failed_runs"]["failures"];
  int seen = 0;
  for (const auto& failure : failures.GetArray()) {
    if (std::string(failure["jobName"].GetString()) != "code_error_job") continue;
    ++seen;
    const auto& log = failure["capturedLog"];
    EXPECT_EQ(std::string(log["stepKey"].GetString()), "day2__broken_asset");
    EXPECT_EQ(std::string(log["stream"].GetString()), "stderr");
    ASSERT_EQ(log["lines"].Size(), 5u);
    std::string last = log["lines"][4].GetString();
    EXPECT_THAT(last, HasSubstr("raise ValueError(\"day2 fixture: invalid value in column 'amount': 'abc'\")"));
    EXPECT_NE(stderr_text.find(last), std::string::npos);
    EXPECT_GT(log["totalLines"].GetInt(), 5);
  }
  EXPECT_EQ(seen, 1);
  // Every failed run whose failing step has a captured file asked for it; the canceled run did not.
  EXPECT_THAT(transport->unanswered(), IsEmpty());
}

TEST(CapturedLogCollect, ZeroLinesReadsNoCapturedLogs) {
  auto transport = std::make_shared<day2test::FakeTransport>();
  auto artifact = collect_captured(transport, 0);
  for (const auto& failure : artifact["step_01_failed_runs"]["failures"].GetArray()) {
    EXPECT_FALSE(failure.HasMember("capturedLog")) << recorder::write_json(failure["capturedLog"]);
  }
  EXPECT_EQ(transport->count("RunCapturedLogs"), 0u);
}

// ---- the simulator and the report ---------------------------------------------------------------

// A generated user-code failure: the step's captured stderr carries its STEP_FAILURE line and the
// user's exception; the report's run section shows those lines under the step's error.
TEST(CapturedLogReport, TheRunSectionShowsTheExcerptOfAGeneratedFailure) {
  day2_test::TempDir dir;
  auto spec = dir.write("spec.json", R"({
    "description": "one user-code failure",
    "now": "2026-11-24T13:00:00Z",
    "window": "default",
    "seed": 7,
    "runs": [{"job": "ingest", "step": "load_orders", "failure": "user_code_error",
              "error": "KeyError: 'customer_id'",
              "start": "2026-11-24T03:00:00Z", "end": "2026-11-24T03:05:00Z"}]
  })");
  auto simulated = day2test::run_day2({"simulate", spec, "--scenario", dir.file("s")});
  ASSERT_EQ(simulated.code, 0) << simulated.err;
  auto collected = day2test::run_day2({"collect", "--replay", dir.file("s/bundle"), "--out", dir.file("day2.json"), "-q"});
  ASSERT_EQ(collected.code, 0) << collected.err;
  auto artifact = recorder::read_json_file(dir.file("day2.json"));
  ASSERT_TRUE(artifact) << artifact.error().message;
  const auto& failure = (*artifact)["step_01_failed_runs"]["failures"][0];
  const auto& lines = failure["capturedLog"]["lines"];
  std::string text;
  for (const auto& line : lines.GetArray()) text += std::string(line.GetString()) + "\n";
  EXPECT_THAT(text, HasSubstr("- ingest - "));
  EXPECT_THAT(text, HasSubstr(" - load_orders - STEP_FAILURE - "));
  EXPECT_THAT(text, HasSubstr("KeyError: 'customer_id'"));

  auto report = day2test::run_day2({"report", dir.file("day2.json"), "--format", "html", "--out", dir.file("r.html")});
  ASSERT_EQ(report.code, 0) << report.err;
  auto html = day2test::read_text(dir.file("r.html"));
  EXPECT_THAT(html, HasSubstr("Captured stderr of <code>load_orders</code>"));
  EXPECT_THAT(html, HasSubstr("<pre class=\"log\">"));
  EXPECT_THAT(html, HasSubstr("KeyError: &#39;customer_id&#39;"));
}

}  // namespace
}  // namespace analyzer
