// `day2 record` option handling: every bad option is a usage error (exit 2) naming the option,
// found before anything listens.
#include <gtest/gtest.h>

#include <string>
#include <vector>

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

TEST(RecordCli, BadRedactionFileNamesFileAndLine) {
  TempDir dir("day2-record-cli");
  auto file = dir.write("redact.json", "{\n  \"patterns\": [\n    {\"name\": \"email\"}\n  ]\n}\n");
  auto run = record({"--upstream", "http://127.0.0.1:3000", "--out", dir.file("b"), "--redact", file});
  EXPECT_EQ(run.code, 2);
  EXPECT_EQ(run.err, "day2 record: error: --redact: " + file +
                         ":3: each pattern is {\"name\": string, \"pattern\": string}\n");
}

TEST(RecordCli, ExistingOutNeedsOverwrite) {
  TempDir dir("day2-record-cli");
  auto run = record({"--upstream", "http://127.0.0.1:3000", "--out", dir.path().string()});
  EXPECT_EQ(run.code, 2);
  EXPECT_EQ(run.err, "day2 record: error: --out: " + dir.path().string() +
                         " already exists; pass --overwrite to replace the bundle in it\n");
}

}  // namespace
}  // namespace recorder
