#include "recorder/base/time.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <string>

namespace recorder {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using namespace std::string_literals;

// 2026-02-19T04:41:18.297Z, as Dagster reports it in float seconds and in millisecond strings.
constexpr microseconds k_known{1'771'476'078'297'000};
constexpr std::string_view k_new_york = "America/New_York";

Instant at(std::string_view rfc3339) {
  auto parsed = parse_rfc3339(rfc3339);
  if (!parsed) {
    ADD_FAILURE() << parsed.error().message;
    return Instant{};
  }
  return *parsed;
}

Zone zone(std::string_view name) {
  auto found = Zone::find(name);
  if (!found) {
    ADD_FAILURE() << found.error().message;
    return Zone::utc();
  }
  return *found;
}

std::string rfc3339_error(std::string_view text) {
  auto parsed = parse_rfc3339(text);
  return parsed ? "parsed as " + format_rfc3339_utc(*parsed) : parsed.error().message;
}

// The default window's start, rendered in the zone, for a run at `now`.
std::string default_start(std::string_view zone_name, std::string_view now) {
  const Zone report_zone = zone(zone_name);
  return report_zone.format(default_window(at(now), report_zone).start, "%a %F %H:%M %Z");
}

// --- float epoch seconds ---

TEST(EpochSeconds, KnownValueRoundsToTheMicrosecond) {
  EXPECT_EQ(from_epoch_seconds(1771476078.297), Instant{k_known});
}

TEST(EpochSeconds, RoundsToNearestMicrosecond) {
  EXPECT_EQ(from_epoch_seconds(1.0000004), Instant{microseconds{1'000'000}});
  EXPECT_EQ(from_epoch_seconds(1.0000006), Instant{microseconds{1'000'001}});
}

TEST(EpochSeconds, NegativeSecondsAreBeforeTheEpoch) {
  EXPECT_EQ(from_epoch_seconds(-1.5), Instant{microseconds{-1'500'000}});
}

TEST(EpochSeconds, NanIsTheEpochAndHugeValuesAreClamped) {
  EXPECT_EQ(from_epoch_seconds(std::nan("")), Instant{});
  EXPECT_GT(from_epoch_seconds(std::numeric_limits<double>::infinity()), from_epoch_seconds(1e12));
  EXPECT_LT(from_epoch_seconds(-1e300), from_epoch_seconds(-1e12));
}

TEST(EpochSeconds, ToSecondsKnownValue) {
  EXPECT_DOUBLE_EQ(to_epoch_seconds(Instant{k_known}), 1771476078.297);
  EXPECT_DOUBLE_EQ(to_epoch_seconds(Instant{microseconds{-1'500'000}}), -1.5);
}

// --- epoch millisecond strings ---

TEST(EpochMillis, ParsesKnownValue) {
  auto parsed = parse_epoch_millis("1771476078297");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, Instant{k_known});
}

TEST(EpochMillis, ParsesNegativeAndZero) {
  EXPECT_EQ(*parse_epoch_millis("-1500"), Instant{microseconds{-1'500'000}});
  EXPECT_EQ(*parse_epoch_millis("0"), Instant{});
  EXPECT_EQ(*parse_epoch_millis("-0"), Instant{});
}

TEST(EpochMillis, FormatsKnownValue) {
  EXPECT_EQ(format_epoch_millis(Instant{k_known}), "1771476078297");
}

TEST(EpochMillis, FormatTruncatesTowardThePast) {
  EXPECT_EQ(format_epoch_millis(Instant{k_known + microseconds{999}}), "1771476078297");
  EXPECT_EQ(format_epoch_millis(Instant{microseconds{-1'500}}), "-2");
}

TEST(EpochMillis, RejectsNonDigitsQuotingTheText) {
  for (const char* text : {"12a", "1.5", "+12", " 12", "--1", "1e3", "0x10"}) {
    EXPECT_EQ(parse_epoch_millis(text).error().message,
              "not an epoch-milliseconds string: \""s + text + "\"");
  }
}

TEST(EpochMillis, RejectsEmptyAndLoneMinus) {
  EXPECT_EQ(parse_epoch_millis("").error().message, R"(not an epoch-milliseconds string: "")");
  EXPECT_EQ(parse_epoch_millis("-").error().message, R"(not an epoch-milliseconds string: "-")");
}

TEST(EpochMillis, RejectsValuesAnInstantCannotHold) {
  // int64 microseconds end at 9223372036854775 ms.
  EXPECT_TRUE(parse_epoch_millis("9223372036854775"));
  EXPECT_EQ(parse_epoch_millis("9223372036854776").error().message,
            R"(epoch milliseconds out of range: "9223372036854776")");
  EXPECT_EQ(parse_epoch_millis("-99999999999999999999").error().message,
            R"(epoch milliseconds out of range: "-99999999999999999999")");
}

TEST(EpochMillis, ErrorEscapesControlCharacters) {
  EXPECT_EQ(parse_epoch_millis("1\n\"").error().message,
            R"(not an epoch-milliseconds string: "1\x0a\"")");
}

TEST(EpochMillis, ErrorCutsLongText) {
  EXPECT_EQ(parse_epoch_millis(std::string(100, 'x')).error().message,
            "not an epoch-milliseconds string: \"" + std::string(64, 'x') + "\"... (100 bytes)");
}

// --- RFC 3339 ---

TEST(Rfc3339, ParsesKnownValue) {
  EXPECT_EQ(at("2026-02-19T04:41:18.297Z"), Instant{k_known});
}

TEST(Rfc3339, AcceptsZeroToNineFractionDigits) {
  const std::string digits = "123456789";
  const long long expected_micros[] = {0, 100000, 120000, 123000, 123400, 123450,
                                       123456, 123456, 123456, 123456};
  for (std::size_t count = 0; count <= 9; ++count) {
    const std::string fraction = count == 0 ? "" : "." + digits.substr(0, count);
    const std::string text = "2026-03-30T04:00:00" + fraction + "Z";
    SCOPED_TRACE(text);
    EXPECT_EQ(at(text), at("2026-03-30T04:00:00Z") + microseconds{expected_micros[count]});
  }
}

TEST(Rfc3339, AppliesNumericOffsets) {
  EXPECT_EQ(at("2026-03-29T23:00:00-05:00"), at("2026-03-30T04:00:00Z"));
  EXPECT_EQ(at("2026-03-30T09:45:00+05:45"), at("2026-03-30T04:00:00Z"));
  EXPECT_EQ(at("2026-03-30T04:00:00+00:00"), at("2026-03-30T04:00:00Z"));
  EXPECT_EQ(at("2026-03-30T04:00:00-00:00"), at("2026-03-30T04:00:00Z"));
  EXPECT_EQ(at("2026-03-31T03:59:00+23:59"), at("2026-03-30T04:00:00Z"));
}

TEST(Rfc3339, AcceptsLowerCaseTAndZ) {
  EXPECT_EQ(at("2026-03-30t04:00:00z"), at("2026-03-30T04:00:00Z"));
}

TEST(Rfc3339, AcceptsLeapDayOfLeapYear) {
  EXPECT_EQ(format_rfc3339_utc(at("2024-02-29T12:00:00Z")), "2024-02-29T12:00:00Z");
}

TEST(Rfc3339, LeapSecondIsTheLastMicrosecondOfItsMinute) {
  EXPECT_EQ(at("2016-12-31T23:59:60Z"), at("2016-12-31T23:59:59.999999Z"));
  EXPECT_EQ(at("2016-12-31T18:59:60.5-05:00"), at("2016-12-31T23:59:59.999999Z"));
}

TEST(Rfc3339, RejectsMalformedTextQuotingIt) {
  for (const char* text :
       {"", "2026-03-30", "2026-03-30T04:00:00", "2026-03-30 04:00:00Z", "2026-03-30T04:00:00.Z",
        "2026-03-30T04:00:00.1234567890Z", "2026-03-30T4:00:00Z", "2026-3-30T04:00:00Z",
        "2026-03-30T04:00Z", "2026-03-30T04:00:00+0500", "2026-03-30T04:00:00+05",
        "2026-03-30T04:00:00+05:00:00", "2026-03-30T04:00:00Zjunk", "2026-03-30T04:00:00UTC",
        "+2026-03-30T04:00:00Z", "2026-03-30T04:00:00,5Z", "2026-03-30T04:00:00 Z",
        "2026-03-30T04:00:00.5", "2026-03-30X04:00:00Z", "-026-03-30T04:00:00Z"}) {
    EXPECT_EQ(rfc3339_error(text), "not an RFC 3339 timestamp: \""s + text + "\"");
  }
}

TEST(Rfc3339, RejectsImpossibleDatesAndTimes) {
  for (const char* text :
       {"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z", "2026-03-00T00:00:00Z", "2026-03-30T24:00:00Z",
        "2026-03-30T04:60:00Z", "2026-03-30T04:00:61Z", "2026-03-30T04:00:00+24:00",
        "2026-03-30T04:00:00-05:60", "2100-02-29T00:00:00Z"}) {
    EXPECT_EQ(rfc3339_error(text), "invalid date or time in RFC 3339 timestamp: \""s + text + "\"");
  }
}

TEST(Rfc3339, FormatsWholeSecondsWithoutFraction) {
  EXPECT_EQ(format_rfc3339_utc(at("2026-03-29T23:00:00-05:00")), "2026-03-30T04:00:00Z");
}

TEST(Rfc3339, FormatsFractionTrimmingTrailingZeros) {
  const Instant base = at("2026-03-30T04:00:00Z");
  EXPECT_EQ(format_rfc3339_utc(base + microseconds{123456}), "2026-03-30T04:00:00.123456Z");
  EXPECT_EQ(format_rfc3339_utc(base + microseconds{500000}), "2026-03-30T04:00:00.5Z");
  EXPECT_EQ(format_rfc3339_utc(base + microseconds{120}), "2026-03-30T04:00:00.00012Z");
  EXPECT_EQ(format_rfc3339_utc(base + microseconds{1}), "2026-03-30T04:00:00.000001Z");
}

TEST(Rfc3339, FormatsKnownValue) {
  EXPECT_EQ(format_rfc3339_utc(Instant{k_known}), "2026-02-19T04:41:18.297Z");
}

TEST(Rfc3339, FormatsInstantsBeforeTheEpoch) {
  EXPECT_EQ(format_rfc3339_utc(Instant{microseconds{-1}}), "1969-12-31T23:59:59.999999Z");
}

// --- civil dates ---

TEST(CivilDate, ParsesDate) {
  auto parsed = parse_civil_date("2026-03-30");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->year, 2026);
  EXPECT_EQ(parsed->month, 3u);
  EXPECT_EQ(parsed->day, 30u);
}

TEST(CivilDate, AcceptsLeapDay) { EXPECT_TRUE(parse_civil_date("2024-02-29")); }

TEST(CivilDate, RejectsImpossibleDate) {
  EXPECT_EQ(parse_civil_date("2026-02-30").error().message, R"(no such date: "2026-02-30")");
  EXPECT_EQ(parse_civil_date("2026-13-01").error().message, R"(no such date: "2026-13-01")");
  EXPECT_EQ(parse_civil_date("2026-02-29").error().message, R"(no such date: "2026-02-29")");
}

TEST(CivilDate, RejectsMalformedText) {
  for (const char* text : {"", "2026-3-30", "20260330", "2026-03-30T", "2026/03/30", " 2026-03-30",
                           "2026-03-3a", "26-03-30"}) {
    EXPECT_EQ(parse_civil_date(text).error().message, "not a date (YYYY-MM-DD): \""s + text + "\"");
  }
}

// --- zones ---

TEST(Zone, UnknownZoneIsAnErrorNamingIt) {
  EXPECT_EQ(Zone::find("America/Nwe_York").error().message,
            R"(unknown time zone "America/Nwe_York")");
  EXPECT_EQ(Zone::find("").error().message, R"(unknown time zone "")");
  EXPECT_EQ(Zone::find("../../etc/passwd").error().message,
            R"(unknown time zone "../../etc/passwd")");
}

TEST(Zone, UtcNeedsNoDatabase) {
  const Zone utc = Zone::utc();
  EXPECT_EQ(utc.name(), "UTC");
  EXPECT_EQ(utc.offset(at("2026-03-30T04:00:00Z")), std::chrono::seconds{0});
  EXPECT_EQ(utc.format(at("2026-03-30T04:00:00Z")), "2026-03-30 04:00:00 UTC");
  EXPECT_EQ(utc.format(at("2026-03-30T04:00:00Z"), "%F %T %z"), "2026-03-30 04:00:00 +0000");
}

TEST(Zone, FormatsLocalWallClockTime) {
  const Zone new_york = zone("America/New_York");
  EXPECT_EQ(new_york.name(), "America/New_York");
  EXPECT_EQ(new_york.format(at("2026-03-30T01:00:00Z")), "2026-03-29 21:00:00 EDT");
  EXPECT_EQ(new_york.format(at("2026-01-15T01:00:00Z"), "%F %H:%M %z"), "2026-01-14 20:00 -0500");
}

TEST(Zone, FormatDropsTheFraction) {
  EXPECT_EQ(Zone::utc().format(at("2026-03-30T04:00:00.999Z"), "%T"), "04:00:00");
}

TEST(Zone, OffsetFollowsDaylightSavingTime) {
  const Zone new_york = zone("America/New_York");
  EXPECT_EQ(new_york.offset(at("2026-01-15T12:00:00Z")), hours{-5});
  EXPECT_EQ(new_york.offset(at("2026-07-15T12:00:00Z")), hours{-4});
}

TEST(Zone, KathmanduIsFiveFortyFiveAhead) {
  const Zone kathmandu = zone("Asia/Kathmandu");
  EXPECT_EQ(kathmandu.offset(at("2026-03-30T04:00:00Z")), hours{5} + minutes{45});
  EXPECT_EQ(kathmandu.format(at("2026-03-30T04:00:00Z"), "%F %T %z"), "2026-03-30 09:45:00 +0545");
  EXPECT_EQ(kathmandu.at_local({2026, 3, 30}, 9, 0), at("2026-03-30T03:15:00Z"));
}

TEST(Zone, AtLocalOrdinaryTime) {
  EXPECT_EQ(zone("America/New_York").at_local({2026, 3, 27}, 17, 0), at("2026-03-27T21:00:00Z"));
  EXPECT_EQ(Zone::utc().at_local({2026, 3, 27}, 17, 0), at("2026-03-27T17:00:00Z"));
}

TEST(Zone, AtLocalRollsOverOutOfRangeFields) {
  EXPECT_EQ(Zone::utc().at_local({2026, 2, 30}, 25, 0), at("2026-03-03T01:00:00Z"));
  EXPECT_EQ(Zone::utc().at_local({2026, 13, 1}, 0, -1), at("2026-12-31T23:59:00Z"));
}

TEST(Zone, AtLocalInSpringForwardGapIsWhenTheGapEnds) {
  // 2026-03-08: 02:00 EST jumps to 03:00 EDT, so 02:00-02:59 never happens.
  const Zone new_york = zone("America/New_York");
  EXPECT_EQ(new_york.at_local({2026, 3, 8}, 1, 59), at("2026-03-08T01:59:00-05:00"));
  EXPECT_EQ(new_york.at_local({2026, 3, 8}, 2, 0), at("2026-03-08T03:00:00-04:00"));
  EXPECT_EQ(new_york.at_local({2026, 3, 8}, 2, 30), at("2026-03-08T03:00:00-04:00"));
  EXPECT_EQ(new_york.at_local({2026, 3, 8}, 3, 0), at("2026-03-08T03:00:00-04:00"));
}

TEST(Zone, AtLocalInFallBackOverlapIsTheEarlierInstant) {
  // 2026-11-01: 02:00 EDT falls back to 01:00 EST, so 01:00-01:59 happens twice.
  const Zone new_york = zone("America/New_York");
  EXPECT_EQ(new_york.at_local({2026, 11, 1}, 0, 59), at("2026-11-01T00:59:00-04:00"));
  EXPECT_EQ(new_york.at_local({2026, 11, 1}, 1, 30), at("2026-11-01T01:30:00-04:00"));
  EXPECT_EQ(new_york.at_local({2026, 11, 1}, 2, 0), at("2026-11-01T02:00:00-05:00"));
}

TEST(Zone, LordHoweHalfHourGapAndOverlap) {
  // Lord Howe moves by 30 minutes: +10:30 to +11:00 at 02:00 on 2026-10-04, back at 02:00 on
  // 2027-04-04.
  const Zone lord_howe = zone("Australia/Lord_Howe");
  EXPECT_EQ(lord_howe.at_local({2026, 10, 4}, 2, 15), at("2026-10-04T02:30:00+11:00"));
  EXPECT_EQ(lord_howe.at_local({2027, 4, 4}, 1, 45), at("2027-04-04T01:45:00+11:00"));
  EXPECT_EQ(lord_howe.offset(at("2026-10-04T02:30:00+11:00")), hours{11});
  EXPECT_EQ(lord_howe.offset(at("2026-10-04T01:59:00+10:30")), hours{10} + minutes{30});
}

TEST(Zone, LocalDateUsesTheZone) {
  const Instant instant = at("2026-03-31T02:00:00Z");
  const CivilDate new_york = zone("America/New_York").local_date(instant);
  const CivilDate utc = Zone::utc().local_date(instant);
  EXPECT_EQ(new_york.year * 10000 + new_york.month * 100 + new_york.day, 20260330);
  EXPECT_EQ(utc.year * 10000 + utc.month * 100 + utc.day, 20260331);
}

TEST(Zone, LocalDateJustAfterKathmanduMidnight) {
  const CivilDate date = zone("Asia/Kathmandu").local_date(at("2026-03-30T18:15:00Z"));
  EXPECT_EQ(date.year * 10000 + date.month * 100 + date.day, 20260331);
}

// --- report windows (America/New_York; the week of Monday 2026-03-30 is EDT throughout) ---

TEST(DefaultWindow, MondayStartsFriday) {
  EXPECT_EQ(default_start(k_new_york, "2026-03-30T10:00:00-04:00"), "Fri 2026-03-27 17:00 EDT");
}

TEST(DefaultWindow, MondayJustAfterMidnightStartsFriday) {
  EXPECT_EQ(default_start(k_new_york, "2026-03-30T00:00:00-04:00"), "Fri 2026-03-27 17:00 EDT");
}

TEST(DefaultWindow, TuesdayMorningStartsMonday) {
  EXPECT_EQ(default_start(k_new_york, "2026-03-31T10:00:00-04:00"), "Mon 2026-03-30 17:00 EDT");
}

TEST(DefaultWindow, TuesdayEveningStillStartsMondayNotToday) {
  EXPECT_EQ(default_start(k_new_york, "2026-03-31T18:00:00-04:00"), "Mon 2026-03-30 17:00 EDT");
}

TEST(DefaultWindow, WednesdayStartsTuesday) {
  EXPECT_EQ(default_start(k_new_york, "2026-04-01T10:00:00-04:00"), "Tue 2026-03-31 17:00 EDT");
}

TEST(DefaultWindow, ThursdayStartsWednesday) {
  EXPECT_EQ(default_start(k_new_york, "2026-04-02T10:00:00-04:00"), "Wed 2026-04-01 17:00 EDT");
}

TEST(DefaultWindow, FridayStartsThursday) {
  EXPECT_EQ(default_start(k_new_york, "2026-04-03T10:00:00-04:00"), "Thu 2026-04-02 17:00 EDT");
}

TEST(DefaultWindow, SaturdayStartsFriday) {
  EXPECT_EQ(default_start(k_new_york, "2026-04-04T10:00:00-04:00"), "Fri 2026-04-03 17:00 EDT");
}

TEST(DefaultWindow, SundayStartsFriday) {
  EXPECT_EQ(default_start(k_new_york, "2026-04-05T23:59:00-04:00"), "Fri 2026-04-03 17:00 EDT");
}

TEST(DefaultWindow, UsesTheLocalDateNotTheUtcDate) {
  // Tuesday 02:00 UTC is still Monday evening in New York.
  EXPECT_EQ(default_start(k_new_york, "2026-03-31T02:00:00Z"), "Fri 2026-03-27 17:00 EDT");
}

TEST(DefaultWindow, EndsNow) {
  const Instant now = at("2026-03-31T10:00:00-04:00");
  EXPECT_EQ(default_window(now, zone("America/New_York")).end, now);
}

TEST(DefaultWindow, AcrossSpringForwardIsOneHourShorter) {
  // Friday 17:00 EST to Monday 09:00 EDT: 64 wall-clock hours, 63 real ones.
  const Window window = default_window(at("2026-03-09T09:00:00-04:00"), zone("America/New_York"));
  EXPECT_EQ(window.start, at("2026-03-06T17:00:00-05:00"));
  EXPECT_EQ(window.end - window.start, hours{63});
}

TEST(DefaultWindow, AcrossFallBackIsOneHourLonger) {
  const Window window = default_window(at("2026-11-02T09:00:00-05:00"), zone("America/New_York"));
  EXPECT_EQ(window.start, at("2026-10-30T17:00:00-04:00"));
  EXPECT_EQ(window.end - window.start, hours{65});
}

TEST(DefaultWindow, SkipsADateTheZoneNeverHad) {
  // Samoa skipped Friday 2011-12-30 when it crossed the date line.
  EXPECT_EQ(default_start("Pacific/Apia", "2011-12-31T10:00:00+14:00"), "Thu 2011-12-29 17:00 -10");
}

TEST(DefaultWindow, UtcZone) {
  EXPECT_EQ(default_window(at("2026-03-30T10:00:00Z"), Zone::utc()).start,
            at("2026-03-27T17:00:00Z"));
}

TEST(WindowSince, StartsAtFivePmOnThatDate) {
  const Instant now = at("2026-03-31T10:00:00-04:00");
  const Window window = window_since({2026, 3, 27}, now, zone("America/New_York"));
  EXPECT_EQ(window.start, at("2026-03-27T17:00:00-04:00"));
  EXPECT_EQ(window.end, now);
}

TEST(WindowHours, CoversTheHoursBeforeNow) {
  const Instant now = at("2026-03-31T10:00:00Z");
  EXPECT_EQ(window_hours(24, now).start, at("2026-03-30T10:00:00Z"));
  EXPECT_EQ(window_hours(1.5, now).start, at("2026-03-31T08:30:00Z"));
  EXPECT_EQ(window_hours(24, now).end, now);
}

TEST(WindowHours, ZeroAndNanAreEmpty) {
  const Instant now = at("2026-03-31T10:00:00Z");
  EXPECT_EQ(window_hours(0, now).start, now);
  EXPECT_EQ(window_hours(std::nan(""), now).start, now);
}

}  // namespace
}  // namespace recorder
