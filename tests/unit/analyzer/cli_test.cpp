#include "analyzer/cli/cli.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include <regex>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/collect/collect.hpp"
#include "analyzer/classify/rules.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/log.hpp"
#include "support/cli_outcome.hpp"
#include "support/ports.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

using day2_test::TempDir;
using day2test::closed_port;
using day2test::Outcome;
using day2test::run_day2;

// `collect` with `extra` arguments that fail before any request is sent.
Outcome collect(std::vector<std::string> extra) {
  std::vector<std::string> args{"collect", "--dagster-url", "http://127.0.0.1:9/graphql", "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_day2(args);
}

using day2test::ScopedEnv;

// ---- top level -------------------------------------------------------------------------------

TEST(Cli, HelpListsTheCommands) {
  auto result = run_day2({"--help"});
  EXPECT_EQ(result.code, 0);
  EXPECT_EQ(result.out.rfind("usage: day2 <command> [options]\n", 0), 0u) << result.out;
  EXPECT_NE(result.out.find("\n  collect "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\n  summarize "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\n  rules "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("Exit codes: 0 ok, 1 error"), std::string::npos) << result.out;
  EXPECT_EQ(result.err, "");
}

TEST(Cli, ShortHelpAndHelpCommandMatchLongHelp) {
  auto help = run_day2({"--help"});
  EXPECT_EQ(run_day2({"-h"}).out, help.out);
  EXPECT_EQ(run_day2({"help"}).out, help.out);
}

TEST(Cli, NoArgumentsPrintsUsageOnStderrAndExits2) {
  auto result = run_day2({});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, run_day2({"--help"}).out);
}

TEST(Cli, UnknownCommandExits2) {
  auto result = run_day2({"frobnicate"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "day2: error: unknown command \"frobnicate\" (see day2 --help)\n");
}

// The manual page holds every command's own --help; completion scripts exist for bash and zsh only.
TEST(Cli, ManPageAndCompletionsComeFromTheCommands) {
  auto man = run_day2({"--man"});
  ASSERT_EQ(man.code, 0) << man.err;
  auto help = run_day2({"--help"});
  std::regex command_line(R"(\n  ([a-z]+) {2,})");
  int commands = 0;
  for (std::sregex_iterator it(help.out.begin(), help.out.end(), command_line), end; it != end; ++it) {
    ++commands;
    EXPECT_NE(man.out.find(".SS \"day2 " + (*it)[1].str() + "\""), std::string::npos) << (*it)[1];
  }
  EXPECT_GE(commands, 14);  // the analyzer's commands (the test harness runs its table)
  EXPECT_NE(man.out.find(run_day2({"report", "--help"}).out.substr(0, 60)), std::string::npos);
  auto zsh = run_day2({"--completion", "zsh"});
  EXPECT_EQ(zsh.code, 0);
  EXPECT_EQ(zsh.out.rfind("#compdef day2\n", 0), 0u);
  EXPECT_NE(zsh.out.find("collect) opts=("), std::string::npos);
  auto fish = run_day2({"--completion", "fish"});
  EXPECT_EQ(fish.code, 2);
  EXPECT_EQ(fish.err, "day2: error: --completion: unknown shell \"fish\" (bash or zsh)\n");
  EXPECT_EQ(run_day2({"--completion"}).code, 2);
}

// The version and the commit built: the source tree's HEAD when it is a git checkout.
TEST(Cli, VersionNamesTheCommit) {
  auto result = run_day2({"--version"});
  EXPECT_EQ(result.code, 0);
  EXPECT_EQ(result.err, "");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(result.out, m, std::regex(R"(day2 (\S+) \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n)")))
      << result.out;
  EXPECT_EQ(m[1].str(), DAY2_VERSION);
  std::string head;
  if (FILE* git = ::popen("git -C '" DAY2_SOURCE_DIR "' rev-parse --short=12 HEAD 2>/dev/null", "r")) {
    char line[64] = {};
    if (std::fgets(line, sizeof line, git) != nullptr) head = std::string(line).substr(0, 12);
    ::pclose(git);
  }
  if (!head.empty()) {
    EXPECT_EQ(m[2].str().substr(0, 12), head);
  }
}

// ---- collect: usage errors -------------------------------------------------------------------

TEST(CliCollect, HelpDescribesOptionsAndExitCodes) {
  auto result = run_day2({"collect", "--help"});
  EXPECT_EQ(result.code, 0);
  EXPECT_EQ(result.out.rfind("usage: day2 collect [options]\n", 0), 0u) << result.out;
  for (const char* option : {"--config", "--dagster-url", "--hours", "--since", "--tz", "--out", "--rules",
                             "--retries", "--timeout", "--concurrency"}) {
    EXPECT_NE(result.out.find(option), std::string::npos) << option;
  }
  EXPECT_NE(result.out.find("Exit codes:"), std::string::npos);
}

TEST(CliCollect, NegativeHours) {
  auto result = collect({"--hours", "-1"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --hours: -1 is not in (0, 8784]\n");
}

TEST(CliCollect, NotANumberHours) {
  auto result = collect({"--hours", "nan"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --hours: nan is not in (0, 8784]\n");
}

TEST(CliCollect, HoursAndSinceCannotBeCombined) {
  auto result = collect({"--hours", "3", "--since", "2026-01-01"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --hours and --since cannot be combined\n");
}

TEST(CliCollect, UnknownTimeZone) {
  auto result = collect({"--tz", "Mars/Base"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --tz: unknown time zone \"Mars/Base\"\n");
}

TEST(CliCollect, NowMustBeRfc3339) {
  auto result = collect({"--now", "yesterday"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --now: not an RFC 3339 timestamp: \"yesterday\"\n");
}

TEST(CliCollect, SinceImpossibleDate) {
  auto result = collect({"--since", "2026-02-30"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --since: no such date: \"2026-02-30\"\n");
}

TEST(CliCollect, SinceInTheFuture) {
  auto result = collect({"--now", "2026-03-02T12:00:00Z", "--tz", "UTC", "--since", "2026-03-02"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --since: 2026-03-02 17:00 UTC is not before now (2026-03-02T12:00:00Z)\n");
}

TEST(CliCollect, UnknownFlavor) {
  auto result = collect({"--flavor", "cloud"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --flavor: \"cloud\" is not oss or plus\n");
}

TEST(CliCollect, FlavorPlusNeedsOrganization) {
  auto result = collect({"--flavor", "plus"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err,
            "day2 collect: error: --flavor plus needs --organization (or \"dagster/organization\" in --config)\n");
}

TEST(CliCollect, ConcurrencyZero) {
  auto result = collect({"--concurrency", "0"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --concurrency: 0 is not in 1-64\n");
}

TEST(CliCollect, ConcurrencyNotANumber) {
  auto result = collect({"--concurrency", "many"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err,
            "day2 collect: error: the argument ('many') for option '--concurrency' is invalid "
            "(see day2 collect --help)\n");
}

TEST(CliCollect, TimeoutZero) {
  auto result = collect({"--timeout", "0"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --timeout: 0 is not in (0, 3600] seconds\n");
}

TEST(CliCollect, RetriesOutOfRange) {
  auto result = collect({"--retries", "21"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --retries: 21 is not in 0-20\n");
}

TEST(CliCollect, DagsterUrlWithFtpScheme) {
  auto result = run_day2({"collect", "--dagster-url", "ftp://x"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --dagster-url: \"ftp://x\": scheme \"ftp\" is not http or https\n");
}

TEST(CliCollect, MissingConfigFile) {
  TempDir dir("day2-cli");
  auto path = dir.file("missing.json");
  auto result = collect({"--config", path});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --config: " + path + ": cannot open: No such file or directory\n");
}

TEST(CliCollect, BadConfigFileNamesFileAndLine) {
  TempDir dir("day2-cli");
  auto path = dir.write("day2.json", "{\n  \"dagster\": {\n    \"urll\": \"http://x/\"\n  }\n}\n");
  auto result = collect({"--config", path});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: --config: " + path + ":3: unknown setting \"dagster/urll\"; expected one of: dagster/deployment, dagster/flavor, "
                        "dagster/organization, dagster/token_env, dagster/url; did you mean \"dagster/url\"?\n");
}

TEST(CliCollect, BadTimeZoneInConfigNamesTheFile) {
  TempDir dir("day2-cli");
  auto path = dir.write("day2.json", "{\"report\": {\"timezone\": \"Mars/Base\"}}");
  auto result = collect({"--config", path});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: " + path + ": report.timezone: unknown time zone \"Mars/Base\"\n");
}

TEST(CliCollect, UnknownOption) {
  auto result = collect({"--bogus"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: unknown option --bogus\n");
}

TEST(CliCollect, OptionMissingItsValue) {
  auto result = collect({"--hours"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err,
            "day2 collect: error: the required argument for option '--hours' is missing (see day2 collect --help)\n");
}

TEST(CliCollect, RulesWithUnknownCategoryNamesFileAndLine) {
  TempDir dir("day2-cli");
  auto path = dir.write("my.rules.json",
                        "{\"version\": 1, \"rules\": [\n"
                        "  {\"id\": \"x\",\n"
                        "   \"category\": \"Code eror\",\n"
                        "   \"when\": {\"errorClass\": \"Foo\"}}\n"
                        "]}\n");
  auto result = collect({"--rules", path});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err.rfind("day2 collect: error: --rules: " + path + ":3: unknown category \"Code eror\"", 0), 0u)
      << result.err;
}

TEST(CliCollect, RulesWithInvalidPatternNamesFileAndLine) {
  TempDir dir("day2-cli");
  auto path = dir.write("my.rules.json",
                        "{\"version\": 1, \"rules\": [\n"
                        "  {\"id\": \"x\", \"category\": \"Code error\",\n"
                        "   \"when\": {\n"
                        "     \"errorClass\": \"(Foo\"}}\n"
                        "]}\n");
  auto result = collect({"--rules", path});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err.rfind("day2 collect: error: --rules: " + path + ":4: invalid pattern \"(Foo\" for \"errorClass\"", 0),
            0u)
      << result.err;
}

TEST(CliCollect, FlavorPlusWithoutTokenExits1NamingTheVariable) {
  ScopedEnv token("DAGSTER_CLOUD_API_TOKEN", std::nullopt);
  auto result = collect({"--flavor", "plus", "--organization", "o"});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "day2 collect: error: DAGSTER_CLOUD_API_TOKEN is not set; Dagster+ needs an API token in the environment\n");
}

TEST(CliCollect, FlavorPlusWithEmptyTokenExits1) {
  ScopedEnv token("DAGSTER_CLOUD_API_TOKEN", "");
  auto result = collect({"--flavor", "plus", "--organization", "o"});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.err.find("DAGSTER_CLOUD_API_TOKEN is not set"), std::string::npos) << result.err;
}

TEST(CliCollect, TokenVariableNamedInConfigIsTheOneChecked) {
  TempDir dir("day2-cli");
  ScopedEnv token("DAY2_TEST_TOKEN_UNSET", std::nullopt);
  auto path = dir.write("day2.json", R"({"dagster": {"flavor": "plus", "organization": "o", "token_env": "DAY2_TEST_TOKEN_UNSET"}})");
  auto result = collect({"--config", path});
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err,
            "day2 collect: error: DAY2_TEST_TOKEN_UNSET is not set; Dagster+ needs an API token in the environment\n");
}

TEST(CliCollect, OrganizationFlagCompletesAPlusConfig) {
  TempDir dir("day2-cli");
  ScopedEnv token("DAY2_TEST_TOKEN_UNSET", std::nullopt);
  auto path = dir.write("day2.json", R"({"dagster": {"flavor": "plus", "token_env": "DAY2_TEST_TOKEN_UNSET"}})");
  auto result = collect({"--config", path, "--organization", "acme"});
  // Past the organization check: it stops at the missing token (exit 1), not at usage (exit 2).
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.err,
            "day2 collect: error: DAY2_TEST_TOKEN_UNSET is not set; Dagster+ needs an API token in the environment\n");
}

// ---- collect: a run against nothing ---------------------------------------------------------

TEST(CliCollect, ClosedPortGivesAnArtifactWhoseDagsterStepsAllHoldErrors) {
  TempDir dir("day2-cli");
  auto out_path = dir.file("day2.json");
  auto url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/graphql";
  auto level = recorder::log::level();
  auto started = std::chrono::steady_clock::now();
  auto result = run_day2({"collect", "--dagster-url", url, "--retries", "0", "--timeout", "1", "--quiet", "--hours",
                          "2", "--out", out_path});
  auto elapsed = std::chrono::steady_clock::now() - started;
  recorder::log::set_level(level);

  EXPECT_EQ(result.code, 1) << result.err;
  EXPECT_EQ(result.out, out_path + "\n");
  EXPECT_LT(elapsed, std::chrono::seconds(30));
  auto artifact = recorder::read_json_file(out_path);
  ASSERT_TRUE(artifact) << artifact.error().message;

  std::vector<std::string> expected_errors;
  for (const auto& key : step_keys()) {
    const auto* step = recorder::get_object(*artifact, key.c_str());
    ASSERT_NE(step, nullptr) << key;
    if (recorder::get_bool(*step, "skipped") == true) continue;  // Dagster+ and Google Cloud steps
    auto error = recorder::get_string(*step, "error");
    ASSERT_TRUE(error.has_value()) << key << " holds no error";
    EXPECT_NE(error->find(url + " failed: connection refused"), std::string::npos) << key << ": " << *error;
    EXPECT_NE(error->find("(after 1 attempt)"), std::string::npos) << key << ": " << *error;
    expected_errors.push_back(key);
  }
  EXPECT_GE(expected_errors.size(), 10u);
  EXPECT_EQ(error_steps(*artifact), expected_errors);
  EXPECT_NE(result.err.find(std::to_string(expected_errors.size()) + " step(s) hold errors"), std::string::npos)
      << result.err;
}

TEST(CliCollect, UnwritableOutExits1NamingThePath) {
  TempDir dir("day2-cli");
  auto out_path = dir.file("no/such/dir/day2.json");
  auto url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/graphql";
  auto level = recorder::log::level();
  auto result = run_day2({"collect", "--dagster-url", url, "--retries", "0", "--timeout", "1", "--quiet", "--out", out_path});
  recorder::log::set_level(level);
  EXPECT_EQ(result.code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "day2 collect: error: " + out_path + ": cannot create a temporary file: No such file or directory\n");
}

// ---- rules -----------------------------------------------------------------------------------

TEST(CliRules, ListsTheDefaultRules) {
  auto result = run_day2({"rules"});
  EXPECT_EQ(result.code, 0);
  const auto& rules = default_rules();
  EXPECT_EQ(result.out.rfind(rules.source + ": " + std::to_string(rules.rules.size()) + " rules, first match wins\n", 0), 0u)
      << result.out;
  for (const auto& rule : rules.rules) {
    EXPECT_NE(result.out.find("  " + rule.id + " "), std::string::npos) << rule.id;
  }
  EXPECT_NE(result.out.find("preempt-hang-max-runtime"), std::string::npos);
  EXPECT_NE(result.out.find("Step preempt-hang"), std::string::npos);
  EXPECT_NE(result.out.find("Preemption/Interrupt (mechanism interrupt)\n"), std::string::npos) << result.out;
  EXPECT_EQ(result.err, "");
}

TEST(CliRules, ListsARulesFile) {
  TempDir dir("day2-cli");
  auto path = dir.write("my.rules.json",
                        R"({"version": 1, "rules": [{"id": "x", "category": "Code error", "when": {"errorClass": "Foo"}}]})");
  auto result = run_day2({"rules", "--rules", path});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out.rfind(path + ": 1 rules, first match wins\n", 0), 0u) << result.out;
  EXPECT_NE(result.out.find("  x "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("Code error"), std::string::npos) << result.out;
}

TEST(CliRules, MissingRulesFileExits2) {
  TempDir dir("day2-cli");
  auto path = dir.file("bad");
  auto result = run_day2({"rules", "--rules", path});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 rules: error: --rules: " + path + ": cannot open: No such file or directory\n");
}

TEST(CliRules, MalformedRulesFileExits2NamingFileAndLine) {
  TempDir dir("day2-cli");
  auto path = dir.write("bad.rules.json", "{\"version\": 1,\n \"rules\": [\n  {\"id\": \"x\"}\n]}\n");
  auto result = run_day2({"rules", "--rules", path});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err.rfind("day2 rules: error: --rules: " + path + ":3: ", 0), 0u) << result.err;
}

TEST(CliRules, PrintDefaultPrintsTheEmbeddedFile) {
  auto result = run_day2({"rules", "--print-default"});
  EXPECT_EQ(result.code, 0);
  EXPECT_EQ(result.out, std::string(default_rules_text()));
}

// ---- summarize -------------------------------------------------------------------------------

TEST(CliSummarize, MissingFileExits2) {
  TempDir dir("day2-cli");
  auto path = dir.file("day2.json");
  auto result = run_day2({"summarize", path});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "day2 summarize: error: " + path + ": cannot open: No such file or directory\n");
}

TEST(CliSummarize, Help) {
  auto result = run_day2({"summarize", "--help"});
  EXPECT_EQ(result.code, 0);
  EXPECT_EQ(result.out.rfind("usage: day2 summarize [--details | --json] [--tz ZONE] [FILE]\n", 0), 0u) << result.out;
}

TEST(CliSummarize, UnknownOptionExits2) {
  auto result = run_day2({"summarize", "--bogus"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 summarize: error: unknown option --bogus\n");
}

}  // namespace
}  // namespace analyzer

namespace analyzer {
namespace {

// Boost's prefix guessing is off: an abbreviation is an unknown option, with the nearest one named.
TEST(CliOptions, AnAbbreviatedOptionIsUnknownAndTheNearestIsNamed) {
  auto result = day2test::run_day2({"collect", "--hour", "3"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 collect: error: unknown option --hour; did you mean --hours?\n");
  auto report = day2test::run_day2({"report", "day2.json", "--form", "md"});
  EXPECT_EQ(report.code, 2);
  EXPECT_EQ(report.err, "day2 report: error: unknown option --form; did you mean --format?\n");
}

TEST(CliOptions, AMisspeltCommandNamesTheNearest) {
  auto result = day2test::run_day2({"colect"});
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2: error: unknown command \"colect\"; did you mean \"collect\"? (see day2 --help)\n");
}

}  // namespace
}  // namespace analyzer
