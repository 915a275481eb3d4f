// Time for every tool: the three timestamp forms the APIs use (float epoch seconds, epoch
// millisecond strings, RFC 3339), report zones (any IANA zone, DST included) and the report window.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "recorder/base/result.hpp"

namespace recorder {

// An instant, microsecond precision (the precision Dagster's float seconds carry).
using Instant = std::chrono::sys_time<std::chrono::microseconds>;

// Float epoch seconds (Dagster's Run.startTime etc.) <-> Instant, rounded to the microsecond.
// NaN gives the epoch and values beyond +-9.2e12 s (what an Instant holds) are clamped.
Instant from_epoch_seconds(double seconds);
double to_epoch_seconds(Instant instant);

// Epoch milliseconds as a decimal string (Dagster event timestamps, e.g. "1771476078297").
// Never throws: empty, non-digit or out-of-range text is an Error quoting the text.
Result<Instant> parse_epoch_millis(std::string_view text);
// Truncates to the millisecond toward the past (-1.5 ms gives "-2"), so parsing it back never
// yields a later instant.
std::string format_epoch_millis(Instant instant);

// RFC 3339 with 0-9 fractional digits and `Z` or a numeric offset ("2026-03-30T04:00:00.123456789Z",
// "2026-03-29T23:00:00-05:00"); lower-case t/z accepted. Fractions finer than a microsecond are
// truncated. Never throws: malformed text is an Error quoting it
// (`not an RFC 3339 timestamp: "..."`), an impossible date or time (2026-02-30, 24:00, offset
// +24:00) one saying so. A leap second (second 60) is accepted and read as the last microsecond
// of its minute (:59.999999).
Result<Instant> parse_rfc3339(std::string_view text);
// UTC form "YYYY-MM-DDTHH:MM:SSZ", with ".ffffff" (trailing zeros trimmed) only when the instant
// has a fractional second.
std::string format_rfc3339_utc(Instant instant);

// A calendar date (YYYY-MM-DD); Error on malformed or impossible dates such as 2026-02-30.
struct CivilDate {
  int year = 1970;
  unsigned month = 1;
  unsigned day = 1;
};
Result<CivilDate> parse_civil_date(std::string_view text);

// An IANA time zone. Copyable handle; the zone database is the system's (tzdata).
class Zone {
 public:
  // Error names the zone: `unknown time zone "America/Nwe_York"`. Reads the zone database from
  // disk on first use.
  static Result<Zone> find(std::string_view name);
  static Zone utc();

  const std::string& name() const;

  // Local wall-clock rendering in this zone: "2026-03-29 21:00:00 EDT" style via `format`
  // (strftime-like, as Howard Hinnant's date::format: %F %T %Z %z %H:%M ...). Whole seconds: the
  // fraction is dropped.
  std::string format(Instant instant, std::string_view format = "%F %T %Z") const;
  // UTC offset in effect at `instant`.
  std::chrono::seconds offset(Instant instant) const;

  // The instant of local wall time `date` `hour`:`minute` in this zone. In a DST gap (a wall time
  // that does not exist) it is the instant the gap ends; in an overlap (a wall time that happens
  // twice) it is the earlier one. `date` should be valid (as from parse_civil_date); an
  // out-of-range day, hour or minute rolls over arithmetically, as in mktime.
  Instant at_local(const CivilDate& date, int hour, int minute) const;
  // The local calendar date of `instant` in this zone.
  CivilDate local_date(Instant instant) const;

  struct Impl;

 private:
  explicit Zone(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> m_impl;
};

// The report window [start, end).
struct Window {
  Instant start;
  Instant end;
};

// The default window: from 17:00 in `zone` on the business day (Mon-Fri) before `now`'s local
// date, to `now`. A Monday (or weekend) run starts Friday 17:00; a Tuesday run, at any hour, Monday
// 17:00. A business day the zone skipped entirely (Pacific/Apia, 2011-12-30) gives way to the one
// before it.
Window default_window(Instant now, const Zone& zone);
// `--since YYYY-MM-DD`: from 17:00 in `zone` on `date` to `now`. A future date gives a start
// after `now`; the caller rejects that.
Window window_since(const CivilDate& date, Instant now, const Zone& zone);
// `--hours N`: the N hours before `now`, to the microsecond. The caller checks N > 0; NaN gives
// an empty window.
Window window_hours(double hours, Instant now);

}  // namespace recorder
