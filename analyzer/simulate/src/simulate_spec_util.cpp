// The typed member readers of a scenario spec (simulate_spec_util.hpp).
#include "simulate_spec_util.hpp"

#include <fmt/format.h>

#include <chrono>

#include "recorder/base/checked_json.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/text.hpp"

namespace analyzer::sim {

namespace spec {

std::string join(const std::set<std::string>& names) { return fmt::format("{}", fmt::join(names, ", ")); }

void unknown(const std::string& at, std::string_view what, std::string_view name, const std::set<std::string>& known) {
  const std::vector<std::string_view> names(known.begin(), known.end());
  throw SpecError{at, recorder::unknown_name(what, name, names)};
}

void check_keys(const Value& object, const std::string& at, const std::set<std::string>& known) {
  if (!object.IsObject()) throw SpecError{at, "must be an object"};
  for (const auto& m : object.GetObject()) {
    std::string key = m.name.GetString();
    if (!known.contains(key)) unknown(at + "/" + recorder::pointer_token(key), "key", key, known);
  }
}

const Value* member(const Value& object, const char* key) {
  auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string text(const Value& object, const std::string& at, const char* key, std::string fallback) {
  const Value* v = member(object, key);
  if (!v) return fallback;
  if (!v->IsString()) throw SpecError{at + "/" + key, "must be a string"};
  return v->GetString();
}

double num(const Value& object, const std::string& at, const char* key, double fallback, double min, double max) {
  const Value* v = member(object, key);
  if (!v) return fallback;
  if (!v->IsNumber()) throw SpecError{at + "/" + key, "must be a number"};
  double d = v->GetDouble();
  if (d < min || d > max) throw SpecError{at + "/" + key, fmt::format("{} is out of range ({} to {})", d, min, max)};
  return d;
}

bool flag(const Value& object, const std::string& at, const char* key) {
  const Value* v = member(object, key);
  if (!v) return false;
  if (!v->IsBool()) throw SpecError{at + "/" + key, "must be true or false"};
  return v->GetBool();
}

const Value& array(const Value& object, const std::string& at, const char* key) {
  static const Value empty(rapidjson::kArrayType);
  const Value* v = member(object, key);
  if (!v) return empty;
  if (!v->IsArray()) throw SpecError{at + "/" + key, "must be an array"};
  return *v;
}

// Times are RFC 3339 with a zone, within a week of the world's "now" (a typo in a year or a
// month would otherwise make a silently empty night).
double time_at(const Value& object, const std::string& at, const char* key, recorder::Instant now, bool required,
               int days_before) {
  const Value* v = member(object, key);
  if (!v) {
    if (required) throw SpecError{at, fmt::format("\"{}\" is required", key)};
    return 0;
  }
  if (!v->IsString()) throw SpecError{at + "/" + key, "must be an RFC 3339 time string"};
  auto t = recorder::parse_rfc3339(v->GetString());
  if (!t) throw SpecError{at + "/" + key, t.error().message};
  auto days = std::chrono::duration_cast<std::chrono::hours>(*t - now).count() / 24.0;
  if (days < -days_before || days > 1) {
    throw SpecError{at + "/" + key,
                    fmt::format("{} is not within {} days before \"now\" (or 1 day after)", v->GetString(), days_before)};
  }
  return recorder::to_epoch_seconds(*t);
}

std::string one_of(const Value& object, const std::string& at, const char* key, const std::set<std::string>& known,
                   std::string fallback) {
  std::string value = text(object, at, key, std::move(fallback));
  if (!known.contains(value)) unknown(at + "/" + key, "value", value, known);
  return value;
}

std::map<std::string, std::string> string_map(const Value& object, const std::string& at, const char* key) {
  std::map<std::string, std::string> out;
  const Value* v = member(object, key);
  if (!v) return out;
  if (!v->IsObject()) throw SpecError{at + "/" + key, "must be an object of strings"};
  for (const auto& m : v->GetObject()) {
    if (!m.value.IsString()) throw SpecError{at + "/" + key + "/" + m.name.GetString(), "must be a string"};
    out[m.name.GetString()] = m.value.GetString();
  }
  return out;
}

}  // namespace spec

}  // namespace analyzer::sim
