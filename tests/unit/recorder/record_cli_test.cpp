// `day2 record` option handling: every bad option is a usage error (exit 2) naming the option,
// found before anything listens.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "recorder/bundle.hpp"
#include "recorder/journal.hpp"
#include "recorder/proxy/cli.hpp"
#include "support/cli_outcome.hpp"
#include "support/temp_dir.hpp"

namespace recorder {
namespace {

using day2_test::TempDir;

day2test::Outcome record(std::vector<std::string> args) {
  args.insert(args.begin(), "record");
  return day2test::capture([&](std::ostream& out, std::ostream& err) { return run_commands(commands(), args, out, err); });
}

TEST(RecordCli, HelpListsTheOptions) {
  auto run = record({"--help"});
  EXPECT_EQ(run.code, 0);
  for (const char* option : {"--listen", "--upstream", "--out", "--redact", "--max-exchanges", "--duration",
                             "--allow-remote", "--now", "--overwrite"}) {
    EXPECT_NE(run.out.find(option), std::string::npos) << option;
  }
}

TEST(RecordCli, UpstreamAndOutAreRequired) {
  TempDir dir("day2-record-cli");
  auto no_upstream = record({"--out", dir.file("b")});
  EXPECT_EQ(no_upstream.code, 2);
  EXPECT_EQ(no_upstream.err.rfind("day2 record: error: --upstream is required", 0), 0u) << no_upstream.err;
  auto no_out = record({"--upstream", "http://127.0.0.1:3000"});
  EXPECT_EQ(no_out.code, 2);
  EXPECT_EQ(no_out.err.rfind("day2 record: error: --out is required", 0), 0u) << no_out.err;
}

TEST(RecordCli, NonLoopbackListenNeedsAllowRemote) {
  TempDir dir("day2-record-cli");
  auto run = record({"--upstream", "http://127.0.0.1:3000", "--out", dir.file("b"), "--listen", "0.0.0.0:8080"});
  EXPECT_EQ(run.code, 2);
  EXPECT_EQ(run.err.rfind("day2 record: error: --listen: 0.0.0.0 is not a loopback address", 0), 0u) << run.err;
}

TEST(RecordCli, BadValuesNameTheirOption) {
  TempDir dir("day2-record-cli");
  std::vector<std::string> base = {"--upstream", "http://127.0.0.1:3000", "--out", dir.file("b")};
  struct Case {
    std::vector<std::string> extra;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"--listen", "127.0.0.1"}, "--listen: \"127.0.0.1\" is not HOST:PORT (e.g. 127.0.0.1:3333)"},
      {{"--listen", "127.0.0.1:70000"}, "--listen: 70000 is not a port (0-65535)"},
      {{"--max-exchanges", "0"}, "--max-exchanges: 0 is not a positive integer"},
      {{"--duration", "soon"}, "--duration: soon is not a number of seconds > 0"},
      {{"--timeout", "-1"}, "--timeout: -1 is not a number of seconds > 0"},
      {{"--upstream", "logging=ftp://x"}, "--upstream: \"ftp://x\": scheme \"ftp\" is not http or https"},
      {{"--upstream", "dagster=http://127.0.0.1:3001"},
       "--upstream: two upstreams named dagster; name the second dagster-2=URL"},
      {{"--redact", dir.file("missing.json")}, "--redact: "},
      {{"--now", "yesterday"}, "--now: "},
      {{"--tz", "Mars/Olympus"}, "--tz: "},
  };
  for (const auto& c : cases) {
    auto args = base;
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    auto run = record(args);
    EXPECT_EQ(run.code, 2) << c.message;
    EXPECT_EQ(run.err.rfind("day2 record: error: " + c.message, 0), 0u) << run.err;
  }
}

// A bad redaction file is refused before the proxy listens, naming the file, the line and the problem.
// A misspelt key would leave what it names unredacted: it is refused with the nearest known key.
TEST(RecordCli, BadRedactionFileNamesFileAndLine) {
  TempDir dir("day2-record-cli");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\n  \"patterns\": [\n    {\"name\": \"email\"}\n  ]\n}\n", ":3: each pattern is {\"name\": string, \"pattern\": string}"},
      {"{\n  \"patterns\": [],\n  \"json_path\": [\"/data/*/metadata\"]\n}\n",
       ":3: unknown key \"json_path\"; expected one of: patterns, json_paths; did you mean \"json_paths\"?"},
      {"{\"patterns\": [\n  {\"name\": \"email\", \"patern\": \"x@y\"}\n]}\n",
       ":2: unknown key \"patern\"; expected one of: name, pattern; did you mean \"pattern\"?"},
      {"{\n  \"json_paths\": \"/data\"\n}\n", ":2: \"json_paths\" must be an array, got \"/data\""},
      {"{\n  \"patterns\": null\n}\n", ":2: \"patterns\" must be an array, got null"},
  };
  for (const auto& [text, message] : cases) {
    auto file = dir.write("redact.json", text);
    auto run = record({"--upstream", "http://127.0.0.1:3000", "--out", dir.file("b"), "--redact", file});
    EXPECT_EQ(run.code, 2) << text;
    EXPECT_EQ(run.err, "day2 record: error: --redact: " + file + message + "\n");
  }
}

TEST(RecordCli, ExistingOutNeedsOverwrite) {
  TempDir dir("day2-record-cli");
  auto run = record({"--upstream", "http://127.0.0.1:3000", "--out", dir.path().string()});
  EXPECT_EQ(run.code, 2);
  EXPECT_EQ(run.err, "day2 record: error: --out: " + dir.path().string() +
                         " already exists; pass --overwrite to replace the bundle in it\n");
}

// A journal left by a recorder that died (what Journal::create and write_exchange leave on disk).
void leave_journal(const std::string& out, int exchanges) {
  Manifest manifest;
  manifest.now = *parse_rfc3339("2026-11-24T08:00:00Z");
  manifest.window = {manifest.now - std::chrono::hours(12), manifest.now};
  auto journal = Journal::create(out, manifest);
  ASSERT_TRUE(journal.ok()) << journal.error().message;
  for (int seq = 1; seq <= exchanges; ++seq) {
    Exchange exchange;
    exchange.service = Service::dagster;
    exchange.method = "GET";
    exchange.path = "/items/" + std::to_string(seq);
    exchange.status = 200;
    exchange.response_body = R"({"item":)" + std::to_string(seq) + "}";
    ASSERT_TRUE((*journal)->write_exchange(seq, exchange).ok());
  }
}  // the lock goes with the Journal, as with a killed process

TEST(RecordCli, TheNextStartNamesAnUnfinishedRecordingAndHowToKeepIt) {
  TempDir dir("day2-record-cli");
  auto out = dir.file("night");
  leave_journal(out, 3);
  auto run = record({"--upstream", "http://127.0.0.1:3000", "--out", out});
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("has an unfinished recording of 3 exchange(s)"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("`day2 record --recover " + out + "`"), std::string::npos) << run.err;
  EXPECT_TRUE(std::filesystem::is_directory(journal_dir(out)));  // refused: nothing touched
}

TEST(RecordCli, RecoverWritesTheJournaledExchangesAsABundleMarkedIncomplete) {
  TempDir dir("day2-record-cli");
  auto out = dir.file("night");
  leave_journal(out, 2);
  EXPECT_FALSE(read_bundle(out).ok());  // nothing looks like a bundle before the recovery
  auto run = record({"--recover", out});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.err.find("recovered 2 exchange(s)"), std::string::npos) << run.err;
  auto bundle = read_bundle(out);
  ASSERT_TRUE(bundle.ok()) << bundle.error().message;
  ASSERT_EQ(bundle->exchanges.size(), 2u);
  EXPECT_EQ(bundle->exchanges[1].path, "/items/2");
  EXPECT_EQ(bundle->exchanges[1].response_body, R"({"item":2})");
  EXPECT_NE(bundle->manifest.recovered.find("incomplete"), std::string::npos) << bundle->manifest.recovered;
  EXPECT_FALSE(std::filesystem::exists(journal_dir(out)));
}

TEST(RecordCli, RecoverWithoutAJournalOrOverABundleChangesNothing) {
  TempDir dir("day2-record-cli");
  auto none = record({"--recover", dir.file("nothing")});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("no recording's journal beside"), std::string::npos) << none.err;
  auto out = dir.file("night");
  leave_journal(out, 1);
  std::filesystem::create_directory(out);
  auto taken = record({"--recover", out});
  EXPECT_EQ(taken.code, 1);
  EXPECT_NE(taken.err.find("already exists; the journal is left as it is"), std::string::npos) << taken.err;
  EXPECT_TRUE(std::filesystem::is_directory(journal_dir(out)));
  auto mixed = record({"--recover", out, "--upstream", "http://127.0.0.1:3000"});
  EXPECT_EQ(mixed.code, 2);
  EXPECT_NE(mixed.err.find("--recover takes no --upstream"), std::string::npos) << mixed.err;
}

}  // namespace
}  // namespace recorder
