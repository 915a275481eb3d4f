// recorder/time.hpp on Howard Hinnant's date/tz, which reads the system's tzdata (USE_OS_TZDB):
// g++ 12's <chrono> has the calendar but not the time zones.
#include "recorder/base/time.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>

namespace recorder {

struct Zone::Impl {
  std::string name;
  // nullptr means UTC, so that Zone::utc() needs no zone database and can never fail.
  const date::time_zone* tz = nullptr;
};

namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// Quotes untrusted text for an error message. Escapes quotes, backslashes and anything that is
// not printable ASCII, and cuts long text so a garbage megabyte does not become the message.
std::string quoted(std::string_view text) {
  constexpr std::size_t k_max_shown = 64;
  std::string out = "\"";
  for (char c : text.substr(0, k_max_shown)) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  out += '"';
  if (text.size() > k_max_shown) { out += fmt::format("... ({} bytes)", text.size()); }
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Exactly `count` (at most 9) ASCII digits at `pos`: no sign, no spaces, unlike strtol.
std::optional<int> read_digits(std::string_view text, std::size_t pos, std::size_t count) {
  if (pos > text.size() || text.size() - pos < count) { return std::nullopt; }
  int value = 0;
  for (char c : text.substr(pos, count)) {
    if (!is_digit(c)) { return std::nullopt; }
    value = value * 10 + (c - '0');
  }
  return value;
}

// The syntax "YYYY-MM-DD" at the start of `text`. The result may be an impossible date
// (month 13, February 30): callers check `ok()` to give that its own message.
std::optional<date::year_month_day> read_date(std::string_view text) {
  auto year = read_digits(text, 0, 4);
  auto month = read_digits(text, 5, 2);
  auto day = read_digits(text, 8, 2);
  if (!year || !month || !day || text[4] != '-' || text[7] != '-') { return std::nullopt; }
  return date::year{*year} / date::month{static_cast<unsigned>(*month)} /
         date::day{static_cast<unsigned>(*day)};
}

CivilDate to_civil(date::year_month_day ymd) {
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day())};
}

CivilDate to_civil(date::local_days day) { return to_civil(date::year_month_day{day}); }

// Arithmetic, not validation: a month or day out of range rolls over as in mktime, so a
// hand-built CivilDate can never reach undefined behaviour inside date.
date::local_days to_local_days(const CivilDate& civil) {
  const auto month = date::year_month{date::year{civil.year}, date::January} +
                     date::months{static_cast<int>(civil.month) - 1};
  return date::local_days{month / 1} + date::days{static_cast<int>(civil.day) - 1};
}

// Seconds as a double -> microseconds, rounded, without the undefined behaviour of converting
// NaN or a huge double to an integer: NaN is 0 and the range is clamped to what fits.
microseconds micros_from_seconds(double value) {
  constexpr double k_limit = 9.2e12;  // int64 microseconds hold about +-9.22e12 seconds
  if (std::isnan(value)) { return microseconds{0}; }
  value = std::clamp(value, -k_limit, k_limit);
  // Splitting off the whole seconds keeps the rounding exact: the fraction is computed
  // without error, and only it is scaled.
  const double whole = std::floor(value);
  const auto fraction = std::llround((value - whole) * 1e6);
  return seconds{static_cast<std::int64_t>(whole)} + microseconds{fraction};
}

// The fields of an RFC 3339 timestamp, before any range check.
struct Rfc3339Fields {
  date::year_month_day date;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int micros = 0;
  int offset_hour = 0;
  int offset_minute = 0;
  int offset_sign = 1;
};

// ".f{1,9}" at `pos`, if present: the microseconds (finer digits truncated) and where it ends.
std::optional<std::pair<int, std::size_t>> read_fraction(std::string_view text, std::size_t pos) {
  if (pos >= text.size() || text[pos] != '.') { return std::pair{0, pos}; }
  std::size_t count = 0;
  while (pos + 1 + count < text.size() && is_digit(text[pos + 1 + count])) { ++count; }
  if (count == 0 || count > 9) { return std::nullopt; }
  const std::size_t kept = std::min<std::size_t>(count, 6);
  int micros = *read_digits(text, pos + 1, kept);
  for (std::size_t i = kept; i < 6; ++i) { micros *= 10; }
  return std::pair{micros, pos + 1 + count};
}

// "Z" or "+HH:MM" / "-HH:MM" at `pos`, which must end the text.
bool read_offset(std::string_view text, std::size_t pos, Rfc3339Fields& fields) {
  if (pos + 1 == text.size() && (text[pos] == 'Z' || text[pos] == 'z')) { return true; }
  if (pos + 6 != text.size() || (text[pos] != '+' && text[pos] != '-') || text[pos + 3] != ':') {
    return false;
  }
  auto hour = read_digits(text, pos + 1, 2);
  auto minute = read_digits(text, pos + 4, 2);
  if (!hour || !minute) { return false; }
  fields.offset_sign = text[pos] == '-' ? -1 : 1;
  fields.offset_hour = *hour;
  fields.offset_minute = *minute;
  return true;
}

// The syntax of "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)".
std::optional<Rfc3339Fields> read_rfc3339(std::string_view text) {
  if (text.size() < 20 || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  auto ymd = read_date(text);
  auto hour = read_digits(text, 11, 2);
  auto minute = read_digits(text, 14, 2);
  auto second = read_digits(text, 17, 2);
  auto fraction = read_fraction(text, 19);
  if (!ymd || !hour || !minute || !second || !fraction) { return std::nullopt; }
  Rfc3339Fields fields{*ymd, *hour, *minute, *second, fraction->first};
  if (!read_offset(text, fraction->second, fields)) { return std::nullopt; }
  return fields;
}

bool in_range(const Rfc3339Fields& f) {
  return f.date.ok() && f.hour < 24 && f.minute < 60 && f.second <= 60 && f.offset_hour < 24 &&
         f.offset_minute < 60;
}

bool is_business_day(date::local_days day) {
  const date::weekday weekday{day};
  return weekday != date::Saturday && weekday != date::Sunday;
}

date::local_days previous_business_day(date::local_days day) {
  do {
    day -= date::days{1};
  } while (!is_business_day(day));
  return day;
}

}  // namespace

Instant from_epoch_seconds(double seconds_since_epoch) {
  return Instant{micros_from_seconds(seconds_since_epoch)};
}

double to_epoch_seconds(Instant instant) {
  // Whole seconds and the remainder separately: one rounding instead of a division of a
  // 16-digit count that may already have lost precision.
  const auto whole = date::floor<seconds>(instant);
  const auto rest = instant - whole;
  return static_cast<double>(whole.time_since_epoch().count()) +
         static_cast<double>(rest.count()) / 1e6;
}

Result<Instant> parse_epoch_millis(std::string_view text) {
  const std::size_t first_digit = !text.empty() && text[0] == '-' ? 1 : 0;
  const std::string_view digits = text.substr(first_digit);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
    return make_error(fmt::format("not an epoch-milliseconds string: {}", quoted(text)));
  }
  std::int64_t millis = 0;
  const auto parsed = std::from_chars(text.data(), text.data() + text.size(), millis);
  // Instant counts microseconds, so the milliseconds must also survive the multiplication.
  constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max() / 1000;
  if (parsed.ec != std::errc{} || millis > k_max || millis < -k_max) {
    return make_error(fmt::format("epoch milliseconds out of range: {}", quoted(text)));
  }
  return Instant{milliseconds{millis}};
}

std::string format_epoch_millis(Instant instant) {
  return std::to_string(date::floor<milliseconds>(instant).time_since_epoch().count());
}

Result<Instant> parse_rfc3339(std::string_view text) {
  auto fields = read_rfc3339(text);
  if (!fields) {
    return make_error(fmt::format("not an RFC 3339 timestamp: {}", quoted(text)));
  }
  if (!in_range(*fields)) {
    return make_error(
        fmt::format("invalid date or time in RFC 3339 timestamp: {}", quoted(text)));
  }
  if (fields->second == 60) {
    // A leap second has no Instant of its own (system_clock ignores them): keep it inside its
    // minute, after every other instant of that minute, so ordering holds and nothing fails.
    fields->second = 59;
    fields->micros = 999'999;
  }
  const auto offset =
      fields->offset_sign * (hours{fields->offset_hour} + minutes{fields->offset_minute});
  return Instant{date::sys_days{fields->date}} + hours{fields->hour} + minutes{fields->minute} +
         seconds{fields->second} + microseconds{fields->micros} - offset;
}

std::string format_rfc3339_utc(Instant instant) {
  const auto whole = date::floor<seconds>(instant);
  std::string text = date::format("%FT%T", whole);
  auto fraction = (instant - whole).count();
  if (fraction != 0) {
    std::string digits = fmt::format(".{:06}", fraction);
    digits.erase(digits.find_last_not_of('0') + 1);
    text += digits;
  }
  return text + 'Z';
}

Result<CivilDate> parse_civil_date(std::string_view text) {
  auto ymd = text.size() == 10 ? read_date(text) : std::nullopt;
  if (!ymd) { return make_error(fmt::format("not a date (YYYY-MM-DD): {}", quoted(text))); }
  if (!ymd->ok()) { return make_error(fmt::format("no such date: {}", quoted(text))); }
  return to_civil(*ymd);
}

Result<Zone> Zone::find(std::string_view name) {
  try {
    date::get_tzdb();
  } catch (const std::runtime_error& e) {
    return make_error(fmt::format("cannot read the time zone database: {}", e.what()));
  }
  try {
    const date::time_zone* tz = date::locate_zone(std::string(name));
    // date reads a zone's rules lazily; do it now, so that a broken zone file fails here with
    // a message rather than with an exception in the middle of a report.
    (void)tz->get_info(date::sys_seconds{});
    return Zone(std::make_shared<const Impl>(Impl{std::string(name), tz}));
  } catch (const std::runtime_error&) {
    return make_error(fmt::format("unknown time zone {}", quoted(name)));
  }
}

Zone Zone::utc() {
  static const auto impl = std::make_shared<const Impl>(Impl{"UTC", nullptr});
  return Zone(impl);
}

Zone::Zone(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl)) {}

const std::string& Zone::name() const { return m_impl->name; }

namespace {

// `pattern` rendered here when it uses only %F %T %Y %m %d %H %M %S %Z and %% (every pattern the
// report prints) and the year has four digits; nullopt otherwise. date::format goes through an
// ostringstream, and a report of 20,000 runs formats a hundred thousand times.
std::optional<std::string> format_plain(std::string_view pattern, date::sys_seconds whole, seconds offset, std::string_view abbrev) {
  const auto local = whole + offset;
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<seconds> time{local - day};
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) { return std::nullopt; }
  const auto month = static_cast<unsigned>(ymd.month()), mday = static_cast<unsigned>(ymd.day());
  const auto hour = time.hours().count(), minute = time.minutes().count(), second = time.seconds().count();
  std::string out;
  out.reserve(pattern.size() + 24);
  auto put = std::back_inserter(out);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') {
      out += pattern[i];
      continue;
    }
    if (++i == pattern.size()) { return std::nullopt; }
    switch (pattern[i]) {
      case 'F': fmt::format_to(put, "{:04}-{:02}-{:02}", year, month, mday); break;
      case 'T': fmt::format_to(put, "{:02}:{:02}:{:02}", hour, minute, second); break;
      case 'Y': fmt::format_to(put, "{:04}", year); break;
      case 'm': fmt::format_to(put, "{:02}", month); break;
      case 'd': fmt::format_to(put, "{:02}", mday); break;
      case 'H': fmt::format_to(put, "{:02}", hour); break;
      case 'M': fmt::format_to(put, "{:02}", minute); break;
      case 'S': fmt::format_to(put, "{:02}", second); break;
      case 'Z': out += abbrev; break;
      case '%': out += '%'; break;
      default: return std::nullopt;
    }
  }
  return out;
}

}  // namespace

std::string Zone::format(Instant instant, std::string_view pattern) const {
  // Whole seconds: date::format would otherwise print %T as "21:00:00.000000".
  const auto whole = date::floor<seconds>(instant);
  if (m_impl->tz == nullptr) {
    if (auto plain = format_plain(pattern, whole, seconds{0}, "UTC")) { return *plain; }
    return date::format(std::string(pattern), whole);
  }
  const auto info = m_impl->tz->get_info(whole);
  if (auto plain = format_plain(pattern, whole, info.offset, info.abbrev)) { return *plain; }
  return date::format(std::string(pattern), date::make_zoned(m_impl->tz, whole));
}

seconds Zone::offset(Instant instant) const {
  if (m_impl->tz == nullptr) { return seconds{0}; }
  return m_impl->tz->get_info(date::floor<seconds>(instant)).offset;
}

Instant Zone::at_local(const CivilDate& civil, int hour, int minute) const {
  const auto local = date::local_seconds{to_local_days(civil)} + hours{hour} + minutes{minute};
  if (m_impl->tz == nullptr) { return Instant{local.time_since_epoch()}; }
  const date::local_info info = m_impl->tz->get_info(local);
  if (info.result == date::local_info::nonexistent) {
    // In a gap: the first period ends exactly where the gap ends.
    return Instant{info.first.end};
  }
  // Unique, or ambiguous: the first period is the earlier of the two.
  return Instant{local.time_since_epoch() - info.first.offset};
}

CivilDate Zone::local_date(Instant instant) const {
  const auto local = date::floor<date::days>(instant + offset(instant));
  return to_civil(date::year_month_day{local});
}

Window default_window(Instant now, const Zone& zone) {
  date::local_days day = to_local_days(zone.local_date(now));
  Instant start = now;
  // Bounded for safety; in practice the first business day is taken, or the one before it when
  // the zone skipped that date entirely (Pacific/Apia skipped Friday 2011-12-30).
  for (int attempt = 0; attempt < 7; ++attempt) {
    day = previous_business_day(day);
    start = zone.at_local(to_civil(day), 17, 0);
    if (to_local_days(zone.local_date(start)) == day) { break; }
  }
  return {start, now};
}

Window window_since(const CivilDate& since, Instant now, const Zone& zone) {
  return {zone.at_local(since, 17, 0), now};
}

Window window_hours(double hours_before, Instant now) {
  return {now - micros_from_seconds(hours_before * 3600.0), now};
}

}  // namespace recorder
