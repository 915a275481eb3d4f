// Files that are not what they claim: /dev/zero, a FIFO without a writer, a symbolic link out of a
// bundle, nesting 30,000 levels deep. Every reader refuses them at once (exit 2, naming the file and
// the problem), never hangs on them or reads without bound (issue: reliability and security).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "recorder/base/json.hpp"
#include "support/cli_outcome.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

namespace fs = std::filesystem;
using day2_test::TempDir;
using day2test::Outcome;
using day2test::run_day2;

const std::string k_bundle = DAY2_SOURCE_DIR "/scenarios/dagster-fixture/bundle";

// Runs `args` and checks a prompt usage error naming `file` and saying `problem`.
void expect_refused(const std::vector<std::string>& args, const std::string& file, const std::string& problem) {
  auto start = std::chrono::steady_clock::now();
  Outcome outcome = run_day2(args);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(outcome.code, 2) << outcome.err;
  EXPECT_NE(outcome.err.find(file), std::string::npos) << outcome.err;
  EXPECT_NE(outcome.err.find(problem), std::string::npos) << outcome.err;
  EXPECT_LT(seconds, 5.0);
}

std::string copy_bundle(const TempDir& dir) {
  auto bundle = dir.file("bundle");
  fs::copy(k_bundle, bundle, fs::copy_options::recursive);
  return bundle;
}

TEST(HostileFiles, DevZeroAsRulesConfigOrFaultsIsRefused) {
  TempDir dir;
  auto out = dir.file("day2.json");
  expect_refused({"rules", "--rules", "/dev/zero"}, "/dev/zero", "a character device, not a regular file");
  expect_refused({"collect", "--replay", k_bundle, "--config", "/dev/zero", "--out", out}, "/dev/zero",
                 "not a regular file");
  expect_refused({"collect", "--replay", k_bundle, "--faults", "/dev/zero", "--out", out}, "/dev/zero",
                 "not a regular file");
  expect_refused({"summarize", "/dev/zero"}, "/dev/zero", "not a regular file");
  expect_refused({"report", "/dev/zero", "--out-dir", dir.file("r")}, "/dev/zero", "not a regular file");
}

TEST(HostileFiles, ABundleManifestLinkedToDevZeroIsRefused) {
  TempDir dir;
  auto scenario = dir.file("scenarios/dagster-fixture");
  fs::create_directories(scenario);
  fs::copy(DAY2_SOURCE_DIR "/scenarios/dagster-fixture", scenario, fs::copy_options::recursive);
  auto manifest = scenario + "/bundle/manifest.json";
  fs::remove(manifest);
  fs::create_symlink("/dev/zero", manifest);
  expect_refused({"collect", "--replay", scenario + "/bundle", "--out", dir.file("day2.json")}, manifest,
                 "a symbolic link out of the bundle");
  auto regress = run_day2({"regress", dir.file("scenarios")});
  EXPECT_NE(regress.code, 0);
  EXPECT_NE((regress.out + regress.err).find("a symbolic link out of the bundle"), std::string::npos)
      << regress.out << regress.err;
}

TEST(HostileFiles, AnExchangeThatIsAFifoIsRefusedWithoutWaiting) {
  TempDir dir;
  auto bundle = copy_bundle(dir);
  auto exchange = bundle + "/exchanges/0003.json";
  fs::remove(exchange);
  ASSERT_EQ(::mkfifo(exchange.c_str(), 0600), 0);
  expect_refused({"collect", "--replay", bundle, "--out", dir.file("day2.json")}, exchange,
                 "a FIFO, not a regular file");
}

TEST(HostileFiles, AnExchangeLinkedOutOfTheBundleIsRefused) {
  TempDir dir;
  auto bundle = copy_bundle(dir);
  auto exchange = bundle + "/exchanges/0002.json";
  fs::copy_file(exchange, dir.file("outside.json"));
  fs::remove(exchange);
  fs::create_symlink(dir.file("outside.json"), exchange);
  expect_refused({"collect", "--replay", bundle, "--out", dir.file("day2.json")}, exchange,
                 "a symbolic link out of the bundle");
}

TEST(HostileFiles, ALinkInsideTheBundleIsRead) {
  TempDir dir;
  auto bundle = copy_bundle(dir);
  auto exchange = bundle + "/exchanges/0002.json";
  fs::rename(exchange, bundle + "/exchanges/kept.json.orig");
  fs::create_symlink("kept.json.orig", exchange);
  fs::rename(bundle + "/exchanges/kept.json.orig", bundle + "/kept.json");
  fs::remove(exchange);
  fs::create_symlink("../kept.json", exchange);
  auto outcome = run_day2({"collect", "--replay", bundle, "--out", dir.file("day2.json"), "--quiet"});
  EXPECT_EQ(outcome.code, 0) << outcome.err;
}

TEST(HostileFiles, NestingThirtyThousandLevelsDeepIsRefusedQuickly) {
  TempDir dir;
  std::string deep = R"({"collect": )" + std::string(30000, '[') + std::string(30000, ']') + "}";
  auto config = dir.file("deep.json5");
  ASSERT_TRUE(recorder::write_file_atomic(config, deep));
  expect_refused({"collect", "--replay", k_bundle, "--config", config, "--out", dir.file("day2.json")}, config,
                 "nested deeper than 512 levels");
  auto faults = dir.file("deep-faults.json");
  ASSERT_TRUE(recorder::write_file_atomic(faults, R"({"faults": )" + std::string(30000, '[') + std::string(30000, ']') + "}"));
  expect_refused({"collect", "--replay", k_bundle, "--faults", faults, "--out", dir.file("day2.json")}, faults,
                 "nested deeper than 512 levels");
}

TEST(HostileFiles, ReadFileRefusesAFileOverItsLimit) {
  TempDir dir;
  auto path = dir.file("big.json");
  ASSERT_TRUE(recorder::write_file_atomic(path, std::string(100, ' ')));
  auto read = recorder::read_file(path, 99);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().message, path + ": is 100 bytes, more than the 99 bytes day2 reads from one file");
  EXPECT_TRUE(recorder::read_file(path, 100));
}

}  // namespace
}  // namespace analyzer
