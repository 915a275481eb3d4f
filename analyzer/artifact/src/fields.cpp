#include "analyzer/artifact/fields.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "recorder/base/json.hpp"
#include "recorder/base/time.hpp"

namespace analyzer::summary {

namespace {

// 2^53: above it a double no longer holds every whole number, so it is no longer a count.
constexpr double k_max_exact_count = 9007199254740992.0;
// 10000-01-01T00:00:00Z: later epoch seconds would not fit RFC 3339's four-digit year.
constexpr double k_max_epoch_seconds = 253402300800.0;

std::string_view view(const Json& string) { return {string.GetString(), string.GetStringLength()}; }

}  // namespace

const Json* member(const Json& object, const char* key) {
  if (!object.IsObject()) { return nullptr; }
  // A linear scan like RapidJSON's FindMember, but most keys differ in length or first byte: no call
  // to memcmp for them (the report looks up every field of every failed run).
  const std::size_t length = std::strlen(key);
  for (const auto& candidate : object.GetObject()) {
    const char* name = candidate.name.GetString();
    if (candidate.name.GetStringLength() == length && (length == 0 || name[0] == key[0]) &&
        std::memcmp(name, key, length) == 0) {
      return &candidate.value;
    }
  }
  return nullptr;
}

std::string_view type_name(const Json& value) {
  if (value.IsNull()) { return "null"; }
  if (value.IsBool()) { return "a boolean"; }
  if (value.IsNumber()) { return "a number"; }
  if (value.IsString()) { return "a string"; }
  if (value.IsArray()) { return "an array"; }
  return "an object";
}

std::string clean(std::string_view text) {
  auto is_control = [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  };
  if (std::none_of(text.begin(), text.end(), is_control)) { return std::string(text); }  // the usual case
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out;
}

std::string first_line(std::string_view text) {
  auto end = std::find_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; });
  return clean(text.substr(0, static_cast<std::size_t>(end - text.begin())));
}

std::optional<std::uint64_t> as_count(const Json& value) {
  if (value.IsUint64()) { return value.GetUint64(); }
  if (!value.IsDouble()) { return std::nullopt; }
  double number = value.GetDouble();
  if (!(number >= 0 && number < k_max_exact_count) || std::trunc(number) != number) { return std::nullopt; }
  return static_cast<std::uint64_t>(number);
}

std::string count_text(const Json& object, const char* number_key, const char* array_key) {
  if (const Json* number = member(object, number_key)) {
    auto count = as_count(*number);
    return count ? std::to_string(*count) : "?";
  }
  return array_key != nullptr ? length_text(object, array_key) : "?";
}

std::string length_text(const Json& object, const char* key) {
  const Json* array = member(object, key);
  return array != nullptr && array->IsArray() ? std::to_string(array->Size()) : "?";
}

std::string counted(const std::string& count, std::string_view singular, std::string_view plural) {
  return fmt::format("{} {}", count, count == "1" ? singular : plural);
}

std::string text_of(const Json& object, const char* key) {
  const Json* value = member(object, key);
  if (value == nullptr || value->IsNull()) { return "-"; }
  if (!value->IsString()) { return "?"; }
  std::string text = first_line(view(*value));
  return text.empty() ? "-" : text;
}

namespace {
thread_local const recorder::Zone* t_display_zone = nullptr;
}  // namespace

DisplayZone::DisplayZone(const recorder::Zone* zone) : m_previous(t_display_zone) { t_display_zone = zone; }
DisplayZone::~DisplayZone() { t_display_zone = m_previous; }

std::string display_time(recorder::Instant instant) {
  return t_display_zone != nullptr ? t_display_zone->format(instant, "%F %T %Z") : recorder::format_rfc3339_utc(instant);
}

std::string time_of(const Json& object, const char* key) {
  const Json* value = member(object, key);
  if (value == nullptr || value->IsNull()) { return "-"; }
  if (value->IsString()) {
    auto text = first_line(view(*value));
    auto instant = t_display_zone != nullptr ? recorder::parse_rfc3339(text) : recorder::Result<recorder::Instant>(recorder::make_error(""));
    return instant ? display_time(*instant) : text;
  }
  if (!value->IsNumber()) { return "?"; }
  double seconds = value->GetDouble();
  if (!(seconds >= 0 && seconds < k_max_epoch_seconds)) { return recorder::write_json(*value); }
  return display_time(recorder::from_epoch_seconds(std::floor(seconds)));
}

std::string asset_text(const Json* value) {
  if (value == nullptr || value->IsNull()) { return "-"; }
  if (value->IsString()) { return clean(view(*value)); }
  if (value->IsObject()) { return asset_text(member(*value, "path")); }
  if (!value->IsArray()) { return "?"; }
  std::string path;
  for (const auto& part : value->GetArray()) {
    if (!part.IsString()) { return "?"; }
    if (!path.empty()) { path += '/'; }
    path += clean(view(part));
  }
  return path.empty() ? "?" : path;
}

std::string json_text(const Json& value) { return clean(recorder::write_json(value)); }

StepErrorView shown_step_error(const Json& failure) {
  const Json* errors = member(failure, "stepErrors");
  if (errors == nullptr || !errors->IsArray() || errors->Empty() || !errors->Begin()->IsObject()) { return {}; }
  const Json& first = *errors->Begin();
  const Json* key = member(first, "stepKey");
  StepErrorView view{&first, 0};
  for (const auto& error : errors->GetArray()) {
    if (!error.IsObject()) { continue; }
    const Json* other = member(error, "stepKey");
    bool same = key != nullptr && other != nullptr && *other == *key;
    if (!same) { continue; }
    auto type = text_of(error, "eventType");
    if (type == "ExecutionStepUpForRetryEvent" || type == "ExecutionStepFailureEvent") {
      ++view.attempts;
      view.error = &error;  // the latest attempt so far
    }
  }
  return view;
}

}  // namespace analyzer::summary
