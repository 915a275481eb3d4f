// The number that crashed every day2 reader (RapidJSON 1.1.0's full-precision strtod reads out of
// bounds on 0.<50 zeros>27E-326) and its neighbours, in each kind of file day2 reads: an artifact
// (summarize, report), a bundle (collect --replay), a config, a fault file, a rules file and a redact
// file. Each command answers as it would for any other number there: success, or a usage error
// naming the file, never a crash (these run under ASan in CI). The replay server's case is in
// replay_http_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "recorder/proxy/cli.hpp"
#include "recorder/base/command.hpp"
#include "recorder/base/json.hpp"
#include "support/cli_outcome.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

namespace fs = std::filesystem;
using day2_test::TempDir;
using day2test::Outcome;
using day2test::run_day2;

const std::string k_scenario = DAY2_SOURCE_DIR "/scenarios/dagster-fixture";

std::vector<std::string> hostile_numbers() {
  const std::string zeros(50, '0');
  return {"0." + zeros + "27E-326", "-0." + zeros + "27E-326", "0." + zeros + "27E-325", "0." + zeros + "027E-326",
          "0." + zeros + "27E-400", "0." + std::string(330, '0') + "27"};
}

std::string read(const std::string& path) {
  auto text = recorder::read_file(path);
  EXPECT_TRUE(text) << text.error().message;
  return text ? *text : "";
}

void write(const std::string& path, const std::string& text) {
  auto written = recorder::write_file_atomic(path, text);
  ASSERT_TRUE(written) << written.error().message;
}

// `text` with `"hostile": number, ` inserted after the first occurrence of `after`.
std::string with_number(std::string text, const std::string& after, const std::string& number) {
  auto at = text.find(after);
  EXPECT_NE(at, std::string::npos) << after;
  if (at != std::string::npos) text.insert(at + after.size(), "\"hostile\": " + number + ", ");
  return text;
}

void expect_usage_error_naming(const Outcome& outcome, const std::string& path) {
  EXPECT_EQ(outcome.code, 2) << outcome.err;
  EXPECT_NE(outcome.err.find(path), std::string::npos) << outcome.err;
}

TEST(HostileNumber, InAnArtifactSummarizeAndReportRunAsUsual) {
  for (const auto& number : hostile_numbers()) {
    SCOPED_TRACE(number);
    TempDir dir;
    auto path = dir.file("day2.json");
    write(path, with_number(read(k_scenario + "/day2.json"), "{", number));
    auto summary = run_day2({"summarize", path});
    EXPECT_EQ(summary.code, 0) << summary.err;
    EXPECT_NE(summary.out.find("Error gate: PASS"), std::string::npos);
    auto report = run_day2({"report", path, "--out-dir", dir.file("reports"), "--format", "json"});
    EXPECT_EQ(report.code, 0) << report.err;
  }
}

TEST(HostileNumber, InABundleResponseCollectReplaysAsUsual) {
  for (const auto& number : hostile_numbers()) {
    SCOPED_TRACE(number);
    TempDir dir;
    auto bundle = dir.file("bundle");
    fs::copy(k_scenario + "/bundle", bundle, fs::copy_options::recursive);
    auto exchange = bundle + "/exchanges/0001.json";
    write(exchange, with_number(read(exchange), "\"data\": {", number));
    auto outcome = run_day2({"collect", "--replay", bundle, "--out", dir.file("day2.json"), "--quiet"});
    EXPECT_EQ(outcome.code, 0) << outcome.err;
  }
}

TEST(HostileNumber, InAFaultFileItIsAProbabilityOfZero) {
  for (const auto& number : hostile_numbers()) {
    SCOPED_TRACE(number);
    TempDir dir;
    auto faults = dir.file("faults.json");
    write(faults, R"({"faults": [{"type": "reset", "p": )" + number + "}]}");
    auto outcome = run_day2({"collect", "--replay", k_scenario + "/bundle", "--faults", faults, "--out",
                             dir.file("day2.json"), "--quiet"});
    EXPECT_EQ(outcome.code, 0) << outcome.err;
    EXPECT_NE(outcome.err.find("faults: 0 injected"), std::string::npos) << outcome.err;
  }
}

TEST(HostileNumber, InAConfigRulesOrRedactFileItIsAUsageErrorNamingTheFile) {
  for (const auto& number : hostile_numbers()) {
    SCOPED_TRACE(number);
    TempDir dir;
    auto config = dir.file("day2.json5");
    write(config, R"({"collect": {"page_size": )" + number + "}}");
    expect_usage_error_naming(run_day2({"collect", "--replay", k_scenario + "/bundle", "--config", config, "--out",
                                        dir.file("day2.json"), "--quiet"}),
                              config);
    auto rules = dir.file("rules.json");
    write(rules, with_number(read(DAY2_SOURCE_DIR "/analyzer/rules/default.rules.json"), "{", number));
    expect_usage_error_naming(run_day2({"rules", "--rules", rules}), rules);
    auto redact = dir.file("redact.json");
    write(redact, R"({"json_paths": [], "patterns": )" + number + "}");
    // --duration bounds the proxy should the file ever be accepted.
    std::vector<std::string> args{"record", "--upstream", "http://127.0.0.1:9", "--out", dir.file("ui"),
                                  "--duration", "1", "--redact", redact};
    expect_usage_error_naming(day2test::capture([&](std::ostream& out, std::ostream& err) {
                                return recorder::run_commands(recorder::commands(), args, out, err);
                              }),
                              redact);
  }
}

}  // namespace
}  // namespace analyzer
