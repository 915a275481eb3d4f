// Recorded nights (collect --record-dir DIR --keep N): each night lands whole in
// DIR/<deployment>/<date>/ or not at all, pruning keeps the newest N and never the night being
// written, a killed recording leaves only its staging directory (removed by the next one), and
// `day2 scenario add` makes a scenario that `day2 regress` passes at once, marked for review.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "analyzer/commands/nights.hpp"
#include "recorder/bundle.hpp"
#include "recorder/base/json.hpp"
#include "support/cli_outcome.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

namespace fs = std::filesystem;

const std::string k_fixture = DAY2_SOURCE_DIR "/scenarios/dagster-fixture";

recorder::Bundle fixture_bundle() {
  auto bundle = recorder::read_bundle(k_fixture + "/bundle");
  EXPECT_TRUE(bundle) << bundle.error().message;
  return bundle ? std::move(*bundle) : recorder::Bundle{};
}

Night night_of(const std::string& date) {
  auto bundle = fixture_bundle();
  return Night{"prod", date, bundle.manifest.window, "America/New_York"};
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Nights, ANightIsWrittenWholeWithItsBundleArtifactSettingsAndDescription) {
  day2_test::TempDir dir;
  auto written = write_night(dir.file("nights"), night_of("2026-12-05"), fixture_bundle(), "{\"artifactVersion\": 1}\n",
                             std::string("{\"gcp\": {\"project\": \"p\"}}\n"));
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, dir.file("nights/prod/2026-12-05"));
  EXPECT_EQ(entries(*written), (std::vector<std::string>{"bundle", "config.json", "day2.json", "night.json"}));
  EXPECT_EQ(entries(dir.file("nights/prod")), (std::vector<std::string>{"2026-12-05"})) << "no staging left";
  auto night = recorder::read_json_file(*written + "/night.json");
  ASSERT_TRUE(night) << night.error().message;
  EXPECT_EQ(recorder::get_string(*night, "deployment"), "prod");
  EXPECT_EQ(recorder::get_string(*night, "date"), "2026-12-05");
  EXPECT_EQ(day2test::read_text(*written + "/config.json"), "{\"gcp\": {\"project\": \"p\"}}\n");
  EXPECT_TRUE(recorder::read_bundle(*written + "/bundle"));
}

TEST(Nights, KeepThreeOverFiveNightsKeepsTheNewestThree) {
  day2_test::TempDir dir;
  std::string current;
  for (const auto* date : {"2026-12-01", "2026-12-03", "2026-12-02", "2026-12-05", "2026-12-04"}) {
    auto written = write_night(dir.file("nights"), night_of(date), fixture_bundle(), "{}", std::nullopt);
    ASSERT_TRUE(written) << written.error().message;
    current = *written;
  }
  auto removed = prune_nights(dir.file("nights/prod"), 3, current);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(entries(dir.file("nights/prod")), (std::vector<std::string>{"2026-12-03", "2026-12-04", "2026-12-05"}));
  EXPECT_EQ(removed->size(), 2u);
}

TEST(Nights, TheNightBeingWrittenIsNeverPrunedEvenWhenItIsTheOldest) {
  day2_test::TempDir dir;
  for (const auto* date : {"2026-12-04", "2026-12-05", "2026-12-06"}) {
    ASSERT_TRUE(write_night(dir.file("nights"), night_of(date), fixture_bundle(), "{}", std::nullopt));
  }
  auto old = write_night(dir.file("nights"), night_of("2026-11-20"), fixture_bundle(), "{}", std::nullopt);
  ASSERT_TRUE(old);
  auto removed = prune_nights(dir.file("nights/prod"), 1, *old);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(entries(dir.file("nights/prod")), (std::vector<std::string>{"2026-11-20", "2026-12-06"}));
}

TEST(Nights, RecordingTheSameNightAgainReplacesItOnlyOnceTheNewOneIsComplete) {
  day2_test::TempDir dir;
  ASSERT_TRUE(write_night(dir.file("nights"), night_of("2026-12-05"), fixture_bundle(), "{\"first\": 1}", std::nullopt));
  ASSERT_TRUE(write_night(dir.file("nights"), night_of("2026-12-05"), fixture_bundle(), "{\"second\": 2}", std::nullopt));
  EXPECT_EQ(day2test::read_text(dir.file("nights/prod/2026-12-05/day2.json")), "{\"second\": 2}");
  EXPECT_EQ(entries(dir.file("nights/prod")), (std::vector<std::string>{"2026-12-05"}));
}

// A child process writes a night's staging directory and is killed with SIGKILL before the rename:
// the older nights are intact, no new night appears, and the next recording removes the staging.
TEST(Nights, AKilledRecordingLeavesOlderNightsIntactAndItsStagingIsRemovedNextTime) {
  day2_test::TempDir dir;
  ASSERT_TRUE(write_night(dir.file("nights"), night_of("2026-12-04"), fixture_bundle(), "{\"older\": true}", std::nullopt));
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // What write_night does before its rename: the staging directory of this process, half written.
    auto staging = fs::path(dir.file("nights/prod")) / (".2026-12-05.partial." + std::to_string(::getpid()));
    fs::create_directories(staging / "bundle");
    std::ofstream(staging / "day2.json") << "{\"half\":";
    ::kill(::getpid(), SIGKILL);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  auto left = entries(dir.file("nights/prod"));
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[1], "2026-12-04");
  EXPECT_EQ(day2test::read_text(dir.file("nights/prod/2026-12-04/day2.json")), "{\"older\": true}");
  EXPECT_FALSE(fs::exists(dir.file("nights/prod/2026-12-05")));

  ASSERT_TRUE(write_night(dir.file("nights"), night_of("2026-12-06"), fixture_bundle(), "{}", std::nullopt));
  EXPECT_EQ(entries(dir.file("nights/prod")), (std::vector<std::string>{"2026-12-04", "2026-12-06"}));
}

TEST(Nights, ADeploymentNameMustBeADirectoryOfItsOwn) {
  EXPECT_EQ(check_deployment_name("prod"), "");
  EXPECT_EQ(check_deployment_name("eu-west_2.b"), "");
  EXPECT_NE(check_deployment_name(""), "");
  EXPECT_NE(check_deployment_name(".."), "");
  EXPECT_NE(check_deployment_name("a/b"), "");
  EXPECT_NE(check_deployment_name(".hidden"), "");
}

TEST(NightsCli, KeepAndRecordDirAreCheckedBeforeAnythingRuns) {
  auto keep_alone = day2test::run_day2({"collect", "--keep", "3"});
  EXPECT_EQ(keep_alone.code, 2);
  EXPECT_NE(keep_alone.err.find("--keep: only with --record-dir"), std::string::npos) << keep_alone.err;
  auto with_replay = day2test::run_day2({"collect", "--record-dir", "/tmp/x", "--replay", k_fixture + "/bundle"});
  EXPECT_EQ(with_replay.code, 2);
  EXPECT_NE(with_replay.err.find("--record-dir and --replay cannot be combined"), std::string::npos) << with_replay.err;
  auto zero = day2test::run_day2({"collect", "--record-dir", "/tmp/x", "--keep", "0"});
  EXPECT_EQ(zero.code, 2);
  EXPECT_NE(zero.err.find("--keep: 0 is not 1 or more"), std::string::npos) << zero.err;
  auto bad_name = day2test::run_day2({"collect", "--record-dir", "/tmp/x", "--deployment", "../etc"});
  EXPECT_EQ(bad_name.code, 2);
  EXPECT_NE(bad_name.err.find("--record-dir: the deployment"), std::string::npos) << bad_name.err;
}

TEST(ScenarioAdd, ARecordedNightBecomesAScenarioThatRegressPassesMarkedForReview) {
  day2_test::TempDir dir;
  auto night = write_night(dir.file("nights"), night_of("2026-11-24"), fixture_bundle(), "{}",
                           std::string("{\"agents\": {\"replicas\": 1}}\n"));
  ASSERT_TRUE(night);
  auto added = day2test::run_day2({"scenario", "add", *night, dir.file("scenarios/fixture-night")});
  ASSERT_EQ(added.code, 0) << added.err;
  EXPECT_EQ(entries(dir.file("scenarios/fixture-night")),
            (std::vector<std::string>{"README.md", "bundle", "config.json", "expected.json"}));
  EXPECT_EQ(entries(dir.file("scenarios")), (std::vector<std::string>{"fixture-night"})) << "no staging left";
  // Its expectation is the fixture's own (written by hand from the fixture's definitions), plus the note.
  auto mine = recorder::read_json_file(dir.file("scenarios/fixture-night/expected.json"));
  auto theirs = recorder::read_json_file(k_fixture + "/expected.json");
  ASSERT_TRUE(mine && theirs);
  EXPECT_EQ((*mine)["runs"], (*theirs)["runs"]);
  EXPECT_EQ((*mine)["findings"]["present"], (*theirs)["findings"]["present"]);
  ASSERT_TRUE(mine->HasMember("review"));
  EXPECT_NE(std::string((*mine)["review"].GetString()).find("2026-11-24"), std::string::npos);
  auto readme = day2test::read_text(dir.file("scenarios/fixture-night/README.md"));
  EXPECT_NE(readme.find("6 failed run(s): 4 Code error, 1 Connection failure, 1 Infra timeout"), std::string::npos) << readme;

  auto regress = day2test::run_day2({"regress", dir.file("scenarios")});
  EXPECT_EQ(regress.code, 0) << regress.out << regress.err;
  EXPECT_NE(regress.out.find("1 passed"), std::string::npos) << regress.out;
  EXPECT_NE(regress.out.find("needs review"), std::string::npos) << regress.out;

  auto again = day2test::run_day2({"scenario", "add", *night, dir.file("scenarios/fixture-night")});
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.err.find("a scenario is never overwritten"), std::string::npos) << again.err;
  auto not_a_night = day2test::run_day2({"scenario", "add", dir.file("nights"), dir.file("scenarios/x")});
  EXPECT_EQ(not_a_night.code, 2);
  EXPECT_NE(not_a_night.err.find("not a night recorded by collect --record-dir"), std::string::npos) << not_a_night.err;
}

TEST(ScenarioAdd, ASecretTheRecordingMissedIsRedactedInTheScenario) {
  day2_test::TempDir dir;
  auto bundle = fixture_bundle();
  // An exchange as a recorder with a gap would have kept it: an API key in a response body.
  bundle.exchanges.front().response_body.insert(1, "\"apiKey\": \"AIzaSyD-canary-0123456789abcdefghijklmno\", ");
  auto night = write_night(dir.file("nights"), Night{"prod", "2026-11-24", bundle.manifest.window, "America/New_York"},
                           bundle, "{}", std::nullopt);
  ASSERT_TRUE(night);
  auto added = day2test::run_day2({"scenario", "add", *night, dir.file("s/leak")});
  ASSERT_EQ(added.code, 0) << added.err;
  EXPECT_NE(added.err.find("redaction changed 1 exchange(s)"), std::string::npos) << added.err;
  for (const auto& entry : fs::recursive_directory_iterator(dir.file("s/leak"))) {
    if (entry.is_regular_file()) {
      EXPECT_EQ(day2test::read_text(entry.path()).find("AIzaSyD-canary"), std::string::npos) << entry.path();
    }
  }
}

}  // namespace
}  // namespace analyzer
