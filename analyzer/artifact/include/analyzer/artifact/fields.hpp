// For summarize and the report: reading fields of an untrusted day2 artifact without ever trusting their
// types, and rendering them as one-line text. Every accessor accepts any JSON value: a field that is
// absent renders as "-", one of the wrong type as "?".
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "recorder/base/time.hpp"

namespace analyzer::summary {

using Json = rapidjson::Value;

// The member `key` of `object`, or nullptr when `object` is not an object or has no such member.
const Json* member(const Json& object, const char* key);

// "null", "a boolean", "a number", "a string", "an array" or "an object".
std::string_view type_name(const Json& value);

// `text` made safe for one terminal line: control characters become \n, \t or \xNN.
std::string clean(std::string_view text);
// The first line of `text`, cleaned.
std::string first_line(std::string_view text);

// A non-negative whole number (a count), or nullopt for anything else.
std::optional<std::uint64_t> as_count(const Json& value);
// The count in `object[number_key]`; when that member is absent, the length of the array
// `object[array_key]`. "?" when neither yields a count.
std::string count_text(const Json& object, const char* number_key, const char* array_key = nullptr);
// The length of the array `object[key]`, or "?".
std::string length_text(const Json& object, const char* key);
// "1 agent" / "3 agents" / "? agents".
std::string counted(const std::string& count, std::string_view singular, std::string_view plural);

// The string `object[key]`, first line, cleaned; "-" when absent or null, "?" for another type.
std::string text_of(const Json& object, const char* key);
// A timestamp: float epoch seconds as UTC RFC 3339 (whole seconds), a string as is (cleaned);
// "-" when absent or null, "?" for another type. Numbers outside years 1970-9999 print as numbers.
std::string time_of(const Json& object, const char* key);
// While alive, time_of and display_time print in `zone` ("2026-11-24 03:09:07 EST") instead of
// RFC 3339 UTC (`summarize --tz`); null: UTC.
class DisplayZone {
 public:
  explicit DisplayZone(const recorder::Zone* zone);
  ~DisplayZone();
  DisplayZone(const DisplayZone&) = delete;
  DisplayZone& operator=(const DisplayZone&) = delete;

 private:
  const recorder::Zone* m_previous;
};
std::string display_time(recorder::Instant instant);
// An asset key: "a/b" from a string, an array of strings, or an object with "path"; "?" otherwise.
std::string asset_text(const Json* value);
// Any value as compact JSON, cleaned (for values of an unexpected type).
std::string json_text(const Json& value);

// The step error a reader should see first in a failure's "stepErrors": the first failing step's
// final attempt (a step that retried fails for the last attempt's reason), with how many attempts
// of it failed (ExecutionStepUpForRetryEvent, then ExecutionStepFailureEvent). Null when there is
// none or the list is malformed.
struct StepErrorView {
  const Json* error = nullptr;
  int attempts = 0;
};
StepErrorView shown_step_error(const Json& failure);

}  // namespace analyzer::summary
