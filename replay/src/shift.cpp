#include "replay/shift.hpp"

#include <re2/re2.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "recorder/http.hpp"
#include "recorder/base/text.hpp"
#include "recorder/base/time.hpp"

namespace replay {

using namespace recorder;  // the exchange model, JSON, time: the base this library builds on
namespace {

using std::chrono::seconds;

// Plausible instants: 2000-01-01 to 2100-01-01, as epoch seconds and as epoch milliseconds.
constexpr double k_min_seconds = 946684800.0;
constexpr double k_max_seconds = 4102444800.0;
constexpr double k_min_millis = k_min_seconds * 1000.0;
constexpr double k_max_millis = k_max_seconds * 1000.0;

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "2026-03-29T04:00:00" (the date-time part, no fraction or zone) moved by `by`; nullopt when the
// fields are out of range (left untouched by the caller).
std::optional<std::string> shift_civil(int year, int month, int day, int hour, int minute, int second, seconds by) {
  using namespace std::chrono;
  year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                      std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  sys_seconds moved = sys_days{date} + hours{hour} + minutes{minute} + std::chrono::seconds{second} + by;
  sys_days moved_day = floor<days>(moved);
  year_month_day moved_date{moved_day};
  hh_mm_ss<std::chrono::seconds> time{moved - moved_day};
  if (int(moved_date.year()) < 0 || int(moved_date.year()) > 9999) return std::nullopt;
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", int(moved_date.year()), unsigned(moved_date.month()),
                     unsigned(moved_date.day()), time.hours().count(), time.minutes().count(), time.seconds().count());
}

const RE2& rfc3339_pattern() {
  static const RE2 pattern(R"((\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2}))");
  return pattern;
}

// A digit string of epoch milliseconds moved by `by`, or nullopt when it is not one.
std::optional<std::string> shift_millis_text(std::string_view text, seconds by) {
  if (!all_digits(text) || text.size() > 15) return std::nullopt;
  std::int64_t millis = 0;
  std::from_chars(text.data(), text.data() + text.size(), millis);
  if (double(millis) < k_min_millis || double(millis) >= k_max_millis) return std::nullopt;
  return std::to_string(millis + by.count() * 1000);
}

class JsonShifter {
 public:
  JsonShifter(seconds by, rapidjson::Document::AllocatorType& allocator) : m_by(by), m_allocator(allocator) {}

  // `value` is the value of a member named `name` ("" at the top and for array elements of an
  // unnamed array); parse_body_json bounds the depth, so recursion is safe.
  void shift(rapidjson::Value& value, bool time_name) {
    if (value.IsObject()) {
      for (auto& member : value.GetObject()) {
        shift(member.value, is_time_name({member.name.GetString(), member.name.GetStringLength()}));
      }
    } else if (value.IsArray()) {
      for (auto& element : value.GetArray()) shift(element, time_name);
    } else if (value.IsString()) {
      std::string_view text{value.GetString(), value.GetStringLength()};
      std::optional<std::string> moved = time_name ? shift_millis_text(text, m_by) : std::nullopt;
      std::string result = moved ? *moved : shift_text(text, m_by);
      if (result != text) value.SetString(result.data(), static_cast<rapidjson::SizeType>(result.size()), m_allocator);
    } else if (value.IsNumber() && time_name) {
      shift_number(value);
    }
  }

 private:
  void shift_number(rapidjson::Value& value) const {
    double number = value.GetDouble();
    std::int64_t step = 0;
    if (number >= k_min_seconds && number < k_max_seconds) step = m_by.count();
    else if (number >= k_min_millis && number < k_max_millis) step = m_by.count() * 1000;
    else return;
    if (value.IsDouble()) value.SetDouble(number + double(step));
    else if (value.IsInt64()) value.SetInt64(value.GetInt64() + step);
    else if (value.IsUint64()) value.SetInt64(static_cast<std::int64_t>(value.GetUint64()) + step);
  }

  seconds m_by;
  rapidjson::Document::AllocatorType& m_allocator;
};

std::string shift_query(std::string_view query, seconds by) {
  QueryParams params = parse_query(query);
  bool changed = false;
  for (auto& [name, value] : params) {
    std::optional<std::string> moved = is_time_name(name) ? shift_millis_text(value, by) : std::nullopt;
    std::string result = moved ? *moved : shift_text(value, by);
    if (result != value) {
      value = std::move(result);
      changed = true;
    }
  }
  if (!changed) return std::string(query);
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += url_encode(name) + "=" + url_encode(value);
  }
  return out;
}

Instant shift_instant(Instant instant, seconds by) { return instant + by; }

}  // namespace

Result<seconds> parse_duration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error{"not a duration: \"" + std::string(text) + "\" (" + std::string(why) +
                 "; write e.g. 24h, -3d, 1d12h, 90m, 1w)"};
  };
  std::string_view rest = text;
  int sign = 1;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
    sign = rest.front() == '-' ? -1 : 1;
    rest.remove_prefix(1);
  }
  if (rest.empty()) return bad("empty");
  std::int64_t total = 0;
  constexpr std::int64_t k_limit = std::int64_t{100} * 366 * 86400;  // a century is plenty
  while (!rest.empty()) {
    std::size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (digits == 0) return bad("expected a number");
    if (digits > 12) return bad("number too large");
    std::int64_t number = 0;
    std::from_chars(rest.data(), rest.data() + digits, number);
    rest.remove_prefix(digits);
    if (rest.empty()) return bad("missing unit after " + std::to_string(number));
    std::int64_t unit = 0;
    switch (rest.front()) {
      case 'w': unit = 7 * 86400; break;
      case 'd': unit = 86400; break;
      case 'h': unit = 3600; break;
      case 'm': unit = 60; break;
      case 's': unit = 1; break;
      default: return bad(std::string("unknown unit '") + rest.front() + "' (w, d, h, m, s)");
    }
    rest.remove_prefix(1);
    total += number * unit;
    if (total > k_limit) return bad("more than a century");
  }
  return seconds{sign * total};
}

bool is_time_name(std::string_view member_name) {
  std::string name = lower(member_name);
  for (std::string_view word : {"time", "date", "epoch", "before", "after", "since", "until"}) {
    if (name.find(word) != std::string::npos) return true;
  }
  bool camel_at = member_name.size() > 2 && member_name.substr(member_name.size() - 2) == "At";
  bool snake_at = name.size() > 3 && name.substr(name.size() - 3) == "_at";
  return camel_at || snake_at;
}

std::string shift_text(std::string_view text, seconds by) {
  if (by.count() == 0 || text.size() < 20) return std::string(text);
  const RE2& pattern = rfc3339_pattern();
  std::string out;
  re2::StringPiece input(text.data(), text.size());
  re2::StringPiece groups[9];
  std::size_t position = 0;
  while (position < text.size() &&
         pattern.Match(input, position, text.size(), RE2::UNANCHORED, groups, 9)) {
    std::size_t start = static_cast<std::size_t>(groups[0].data() - text.data());
    out.append(text.substr(position, start - position));
    auto number = [&](int i) {
      int value = 0;
      std::from_chars(groups[i].data(), groups[i].data() + groups[i].size(), value);
      return value;
    };
    auto moved = shift_civil(number(1), number(2), number(3), number(4), number(5), number(6), by);
    if (moved) {
      out += *moved;
      out.append(groups[7].data(), groups[7].size());
      out.append(groups[8].data(), groups[8].size());
    } else {
      out.append(groups[0].data(), groups[0].size());
    }
    position = start + groups[0].size();
  }
  out.append(text.substr(std::min(position, text.size())));
  return out;
}

std::string shift_json_text(std::string_view text, seconds by) {
  std::optional<rapidjson::Document> doc = parse_body_json(text);
  if (!doc) return shift_text(text, by);
  JsonShifter(by, doc->GetAllocator()).shift(*doc, false);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc->Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

Bundle shift_bundle(Bundle bundle, seconds by) {
  if (by.count() == 0) return bundle;
  bundle.manifest.now = shift_instant(bundle.manifest.now, by);
  bundle.manifest.window.start = shift_instant(bundle.manifest.window.start, by);
  bundle.manifest.window.end = shift_instant(bundle.manifest.window.end, by);
  for (Exchange& exchange : bundle.exchanges) {
    if (!exchange.query.empty()) exchange.query = shift_query(exchange.query, by);
    if (!exchange.request_body.empty()) exchange.request_body = shift_json_text(exchange.request_body, by);
    if (!exchange.response_body.empty()) exchange.response_body = shift_json_text(exchange.response_body, by);
  }
  return bundle;
}

}  // namespace replay
