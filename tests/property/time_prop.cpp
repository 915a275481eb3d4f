#include "recorder/base/time.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace recorder {
namespace {

namespace chrono = std::chrono;
using chrono::hours;
using chrono::microseconds;

// Zones with whole-hour, half-hour and 45-minute offsets, negative DST (Dublin), two-hour DST
// (Troll), midnight transitions (Santiago), a skipped day (Apia) and both hemispheres.
const std::vector<std::string> k_zone_names = {
    "UTC",           "America/New_York",    "America/Los_Angeles", "Europe/London",
    "Europe/Dublin", "Asia/Kolkata",        "Asia/Kathmandu",      "Australia/Lord_Howe",
    "Pacific/Apia",  "Pacific/Chatham",     "Pacific/Kiritimati",  "America/St_Johns",
    "America/Sao_Paulo", "America/Santiago", "Africa/Casablanca",  "Antarctica/Troll"};

Zone zone_named(const std::string& name) {
  auto found = Zone::find(name);
  RC_ASSERT(found.ok());
  return *found;
}

rc::Gen<std::string> gen_zone_name() { return rc::gen::elementOf(k_zone_names); }

// An instant between two UTC dates (microsecond precision).
Instant gen_instant(chrono::year_month_day from, chrono::year_month_day to) {
  const auto low = chrono::sys_days{from}.time_since_epoch();
  const auto high = chrono::sys_days{to}.time_since_epoch();
  const auto count = *rc::gen::inRange<std::int64_t>(microseconds{low}.count(),
                                                     microseconds{high}.count());
  return Instant{microseconds{count}};
}

// 1972 on: before it some zones (Africa/Monrovia, LMT everywhere) had offsets with seconds,
// which %z cannot show.
Instant gen_modern_instant() {
  return gen_instant(chrono::year{1972} / 1 / 1, chrono::year{2100} / 1 / 1);
}

chrono::sys_days to_days(const CivilDate& date) {
  return chrono::sys_days{chrono::year{date.year} / chrono::month{date.month} /
                          chrono::day{date.day}};
}

CivilDate to_civil(chrono::sys_days day) {
  const chrono::year_month_day ymd{day};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day())};
}

// Whether `day` happened at all in `zone`: noon on it converts back to it.
bool zone_has_date(const Zone& zone, chrono::sys_days day) {
  return to_days(zone.local_date(zone.at_local(to_civil(day), 12, 0))) == day;
}

bool is_business_day(chrono::sys_days day) {
  const chrono::weekday weekday{day};
  return weekday != chrono::Saturday && weekday != chrono::Sunday;
}

// "2026-03-29 21:00:00 -0400" (%F %T %z) -> "2026-03-29T21:00:00-04:00".
std::string local_to_rfc3339(const std::string& local) {
  RC_ASSERT(local.size() == 25u);
  return local.substr(0, 10) + "T" + local.substr(11, 8) + local.substr(20, 3) + ":" +
         local.substr(23, 2);
}

RC_GTEST_PROP(TimeProperties, EpochSecondsRoundTripWithinAMicrosecond, ()) {
  // Whole nanoseconds within +-2^32 s, where a double still resolves a microsecond.
  const auto nanos = *rc::gen::inRange<std::int64_t>(-(std::int64_t{1} << 32) * 1'000'000'000,
                                                     (std::int64_t{1} << 32) * 1'000'000'000);
  const double seconds = static_cast<double>(nanos) / 1e9;
  RC_ASSERT(std::fabs(to_epoch_seconds(from_epoch_seconds(seconds)) - seconds) <= 1e-6);
}

RC_GTEST_PROP(TimeProperties, InstantToEpochSecondsAndBackIsExact, ()) {
  const Instant instant = gen_instant(chrono::year{1900} / 1 / 1, chrono::year{2100} / 1 / 1);
  RC_ASSERT(from_epoch_seconds(to_epoch_seconds(instant)) == instant);
}

RC_GTEST_PROP(TimeProperties, EpochMillisRoundTripToTheMillisecond, ()) {
  const Instant instant = gen_instant(chrono::year{-30000} / 1 / 1, chrono::year{30000} / 1 / 1);
  const auto parsed = parse_epoch_millis(format_epoch_millis(instant));
  RC_ASSERT(parsed.ok());
  RC_ASSERT(*parsed == chrono::floor<chrono::milliseconds>(instant));
  RC_ASSERT(*parsed <= instant);
}

RC_GTEST_PROP(TimeProperties, Rfc3339RoundTripIsExact, ()) {
  const Instant instant = gen_instant(chrono::year{0} / 1 / 1, chrono::year{10000} / 1 / 1);
  const std::string text = format_rfc3339_utc(instant);
  const auto parsed = parse_rfc3339(text);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(*parsed == instant);
}

RC_GTEST_PROP(TimeProperties, LocalRenderingConvertsBackToTheSameInstant, ()) {
  const Zone zone = zone_named(*gen_zone_name());
  const Instant instant = gen_modern_instant();
  const std::string local = zone.format(instant, "%F %T %z");
  const auto parsed = parse_rfc3339(local_to_rfc3339(local));
  RC_ASSERT(parsed.ok());
  RC_ASSERT(*parsed == chrono::floor<chrono::seconds>(instant));
}

// Zone::format renders its common specifiers itself (%F %T %Y %m %d %H %M %S %Z %%) and hands any
// other pattern to date::format: both agree. A pattern ending in %n (not handled itself) goes to
// date::format, which ends it with a newline.
RC_GTEST_PROP(TimeProperties, PlainPatternsRenderAsDateFormatDoes, ()) {
  const Zone zone = zone_named(*gen_zone_name());
  const Instant instant = gen_instant(chrono::year{1900} / 1 / 1, chrono::year{2200} / 1 / 1);
  static const std::vector<std::string> k_patterns = {"%F %T %Z", "%F %H:%M %Z", "%H:%M %Z", "%Y-%m-%dT%H:%M:%S",
                                                      "%d/%m/%Y %%", "%Z", "at %T on %F"};
  const std::string pattern = *rc::gen::elementOf(k_patterns);
  std::string slow = zone.format(instant, pattern + "%n");
  RC_ASSERT(!slow.empty() && slow.back() == '\n');
  slow.pop_back();
  RC_ASSERT(zone.format(instant, pattern) == slow);
}

RC_GTEST_PROP(TimeProperties, DefaultWindowStartsAtFivePmOnThePreviousBusinessDay, ()) {
  const Zone zone = zone_named(*gen_zone_name());
  const Instant now = gen_modern_instant();
  const Window window = default_window(now, zone);

  RC_ASSERT(window.end == now);
  RC_ASSERT(window.start < now);
  RC_ASSERT(now - window.start <= hours{96});
  RC_ASSERT(zone.format(window.start, "%H:%M") == std::string("17:00"));

  const auto start_day = to_days(zone.local_date(window.start));
  const auto today = to_days(zone.local_date(now));
  RC_ASSERT(start_day < today);
  RC_ASSERT(is_business_day(start_day));
  // The latest business day before today: between them only weekends, or a date the zone skipped
  // (Pacific/Apia, 2011-12-30).
  for (auto day = start_day + chrono::days{1}; day < today; day += chrono::days{1}) {
    RC_ASSERT(!is_business_day(day) || !zone_has_date(zone, day));
  }
}

std::string error_of(const auto& result) { return result.ok() ? "" : result.error().message; }

RC_GTEST_PROP(TimeProperties, ArbitraryTextNeverCrashesTheParsers, (const std::string& text)) {
  // A value or an error, never an exception or a sanitizer report; quoting keeps errors short
  // (64 bytes shown, each escaped to at most 4 characters).
  for (const std::string& message :
       {error_of(parse_epoch_millis(text)), error_of(parse_rfc3339(text)),
        error_of(parse_civil_date(text))}) {
    RC_ASSERT(message.size() <= 64u * 4 + 80);
  }
}

}  // namespace
}  // namespace recorder
