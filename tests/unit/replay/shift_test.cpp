#include "replay/shift.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "analyzer/cli/cli.hpp"
#include "recorder/bundle.hpp"
#include "recorder/base/time.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace replay {
using namespace recorder;
namespace {

using day2test::read_text;
using std::chrono::hours;
using std::chrono::seconds;

TEST(ParseDuration, ReadsUnitsSignsAndCompounds) {
  EXPECT_EQ(*parse_duration("90s"), seconds{90});
  EXPECT_EQ(*parse_duration("15m"), seconds{900});
  EXPECT_EQ(*parse_duration("-3d"), seconds{-3 * 86400});
  EXPECT_EQ(*parse_duration("+1w"), seconds{7 * 86400});
  EXPECT_EQ(*parse_duration("1d12h"), seconds{36 * 3600});
}

TEST(ParseDuration, RejectsBadTextNamingIt) {
  for (const char* text : {"", "-", "3", "3x", "h", "1d-2h", "99999999999999d", "1.5h"}) {
    auto result = parse_duration(text);
    ASSERT_FALSE(result) << text;
    EXPECT_NE(result.error().message.find(std::string("\"") + text + "\""), std::string::npos) << result.error().message;
  }
}

TEST(IsTimeName, RecognisesTimeMembersAndNotCounts) {
  for (const char* name : {"startTime", "timestamp", "createdBefore", "updatedAfter", "epoch", "lastSeenAt",
                           "created_at", "lastUpdateDate"}) {
    EXPECT_TRUE(is_time_name(name)) << name;
  }
  for (const char* name : {"count", "bytes", "runId", "storageId", "value", "Data"}) {
    EXPECT_FALSE(is_time_name(name)) << name;
  }
}

TEST(ShiftText, MovesRfc3339KeepingFractionAndZoneNotation) {
  EXPECT_EQ(shift_text("2026-03-29T04:00:00.123456789Z", hours{24}), "2026-03-30T04:00:00.123456789Z");
  EXPECT_EQ(shift_text("2026-03-29T23:30:00-05:00", hours{1}), "2026-03-30T00:30:00-05:00");
  EXPECT_EQ(shift_text("2026-01-01T00:00:00z", seconds{-1}), "2025-12-31T23:59:59z");
}

TEST(ShiftText, MovesTimestampsInsideText) {
  EXPECT_EQ(shift_text(R"(resource.type="k8s_pod" AND timestamp>="2026-11-23T22:00:00Z")", hours{-24}),
            R"(resource.type="k8s_pod" AND timestamp>="2026-11-22T22:00:00Z")");
}

TEST(ShiftText, LeavesDatesWithoutZoneAndImpossibleDatesAlone) {
  EXPECT_EQ(shift_text("2026-03-29 04:00:00 and 2026-03-29T04:00:00", hours{1}),
            "2026-03-29 04:00:00 and 2026-03-29T04:00:00");
  EXPECT_EQ(shift_text("2026-02-30T04:00:00Z", hours{1}), "2026-02-30T04:00:00Z");
}

TEST(ShiftJsonText, MovesTimeMembersInEveryForm) {
  std::string in =
      R"({"startTime":1795507784.62378,"createdBefore":1795507830.0,"timestamp":"1795507784623",)"
      R"("endTime":null,"count":1795507784,"runId":"1795507784623","at":"2026-11-24T08:10:30Z",)"
      R"("ticks":[{"timestamp":1795507784}],"lagMinutes":12.5})";
  EXPECT_EQ(shift_json_text(in, hours{24}),
            R"({"startTime":1795594184.62378,"createdBefore":1795594230.0,"timestamp":"1795594184623",)"
            R"("endTime":null,"count":1795507784,"runId":"1795507784623","at":"2026-11-25T08:10:30Z",)"
            R"("ticks":[{"timestamp":1795594184}],"lagMinutes":12.5})");
}

TEST(ShiftJsonText, ShiftsNonJsonAsText) {
  EXPECT_EQ(shift_json_text("since 2026-11-24T08:10:30Z", hours{1}), "since 2026-11-24T09:10:30Z");
}

TEST(ShiftBundle, MovesManifestQueryAndBodies) {
  Bundle bundle;
  bundle.manifest.now = *parse_rfc3339("2026-11-24T12:00:00Z");
  bundle.manifest.window = {*parse_rfc3339("2026-11-23T22:00:00Z"), *parse_rfc3339("2026-11-24T12:00:00Z")};
  Exchange exchange;
  exchange.seq = 1;
  exchange.service = Service::monitoring;
  exchange.method = "GET";
  exchange.path = "/v3/projects/p/timeSeries";
  exchange.query = "interval.startTime=2026-11-23T22%3A00%3A00Z&filter=metric.type%3D%22x%22";
  exchange.response_body = R"({"timeSeries":[{"points":[{"interval":{"endTime":"2026-11-24T04:00:00Z"}}]}]})";
  exchange.status = 200;
  bundle.exchanges.push_back(exchange);
  Bundle moved = shift_bundle(bundle, hours{-48});
  EXPECT_EQ(format_rfc3339_utc(moved.manifest.now), "2026-11-22T12:00:00Z");
  EXPECT_EQ(format_rfc3339_utc(moved.manifest.window.start), "2026-11-21T22:00:00Z");
  EXPECT_EQ(canonical_query(moved.exchanges[0].query), canonical_query("interval.startTime=2026-11-21T22:00:00Z&filter=metric.type%3D%22x%22"));
  EXPECT_EQ(moved.exchanges[0].response_body,
            R"({"timeSeries":[{"points":[{"interval":{"endTime":"2026-11-22T04:00:00Z"}}]}]})");
}

// ---- the example scenario, replayed on other nights --------------------------------------------

const std::string k_bundle = std::string(DAY2_SOURCE_DIR) + "/scenarios/dagster-fixture/bundle";
const std::string k_artifact = std::string(DAY2_SOURCE_DIR) + "/scenarios/dagster-fixture/day2.json";

struct Replayed {
  int code;
  std::string err;
  std::string artifact;
};

Replayed replay_shifted(const std::string& shift) {
  day2_test::TempDir dir;
  std::ostringstream out;
  std::ostringstream err;
  int code = analyzer::run_cli({"collect", "--replay", k_bundle, "--shift", shift, "--out", dir.file("day2.json"), "-q"},
                               out, err);
  return {code, err.str(), read_text(dir.file("day2.json"))};
}

// Shifting the bundle shifts the artifact: every request still matches (no miss, nothing unused)
// and the artifact is the live one with its timestamps moved, on ordinary and DST nights alike.
class ShiftedScenario : public ::testing::TestWithParam<const char*> {};

TEST_P(ShiftedScenario, ReplaysWithoutMissesToTheShiftedArtifact) {
  Replayed replayed = replay_shifted(GetParam());
  ASSERT_EQ(replayed.code, 0) << replayed.err;
  EXPECT_EQ(replayed.err.find("miss"), std::string::npos) << replayed.err;
  EXPECT_EQ(replayed.err.find("never used"), std::string::npos) << replayed.err;
  auto by = parse_duration(GetParam());
  ASSERT_TRUE(by);
  auto expected = parse_body_json(shift_json_text(read_text(k_artifact), *by));
  auto actual = parse_body_json(replayed.artifact);
  ASSERT_TRUE(expected && actual);
  EXPECT_TRUE(*expected == *actual) << "replayed artifact:\n" << replayed.artifact.substr(0, 2000);
}

// The window ends 2026-12-06 19:31:00Z. -35d12h21m lands on the US fall-back night (2026-11-01,
// 05:10-07:10Z), 97d12h39m on the spring-forward night (2027-03-14, 06:10-08:10Z), -1w on another
// Sunday; 0s changes nothing.
INSTANTIATE_TEST_SUITE_P(Nights, ShiftedScenario,
                         ::testing::Values("0s", "24h", "-1w", "-35d12h21m", "97d12h39m", "-3d7h"));

TEST(ShiftedScenarioCli, ShiftWithoutReplayIsAUsageError) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(analyzer::run_cli({"collect", "--dagster-url", "http://127.0.0.1:9/graphql", "--shift", "1d"}, out, err), 2);
  EXPECT_NE(err.str().find("--shift"), std::string::npos) << err.str();
}

TEST(ShiftedScenarioCli, BadDurationIsAUsageErrorNamingIt) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(analyzer::run_cli({"collect", "--replay", k_bundle, "--shift", "1y"}, out, err), 2);
  EXPECT_NE(err.str().find("--shift: not a duration: \"1y\""), std::string::npos) << err.str();
}

}  // namespace
}  // namespace replay
