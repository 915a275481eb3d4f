// CheckedJson (checked_json.hpp): one file read member by member, each problem located by line.
#include "recorder/base/checked_json.hpp"

#include <fmt/format.h>

#include "recorder/base/text.hpp"

namespace recorder {

namespace {

using Value = rapidjson::Value;

bool has_kind(const Value& value, JsonKind kind) {
  switch (kind) {
    case JsonKind::string: return value.IsString();
    case JsonKind::integer: return value.IsInt();
    case JsonKind::number: return value.IsNumber();
    case JsonKind::boolean: return value.IsBool();
    case JsonKind::object: return value.IsObject();
    case JsonKind::array: return value.IsArray();
  }
  return false;
}

const Value k_empty_object(rapidjson::kObjectType);

}  // namespace

JsonAt JsonAt::operator/(std::string_view key) const {
  return {pointer + "/" + pointer_token(key), name.empty() ? std::string(key) : name + "." + std::string(key)};
}

JsonAt JsonAt::operator/(std::size_t index) const {
  return {fmt::format("{}/{}", pointer, index), fmt::format("{}[{}]", name, index)};
}

std::string_view kind_name(JsonKind kind) {
  switch (kind) {
    case JsonKind::string: return "a string";
    case JsonKind::integer: return "an integer";
    case JsonKind::number: return "a number";
    case JsonKind::boolean: return "true or false";
    case JsonKind::object: return "an object";
    case JsonKind::array: return "an array";
  }
  return "a value";
}

std::string shown(const Value& value) {
  auto text = write_json(value);
  return text.size() > 40 ? text.substr(0, 37) + "..." : text;
}

namespace {

std::string wrong_kind(const JsonAt& at, JsonKind kind, const Value& value) {
  return fmt::format("\"{}\" must be {}, got {}", at.name, kind_name(kind), shown(value));
}

}  // namespace

Result<CheckedJson> CheckedJson::parse(std::string text, std::string source, Comments comments) {
  auto doc = parse_json(text, source, comments);
  if (!doc) return doc.error();
  CheckedJson file(std::move(source), std::move(text), std::move(*doc));
  file.m_comments = comments;
  return file;
}

Result<CheckedJson> CheckedJson::load(const std::string& path, Comments comments) {
  auto text = read_file(path);
  if (!text) return text.error();
  return parse(std::move(*text), path, comments);
}

CheckedJson::CheckedJson(std::string source, std::string text, rapidjson::Document doc)
    : m_source(std::move(source)), m_text(std::move(text)), m_doc(std::move(doc)) {}

std::optional<std::size_t> CheckedJson::line_of(std::string_view pointer) const {
  if (!m_lines) m_lines = json_value_lines(m_text, m_comments);
  auto it = m_lines->find(std::string(pointer));
  return it == m_lines->end() ? std::nullopt : std::optional<std::size_t>(it->second);
}

std::string CheckedJson::where(std::string_view pointer) const {
  auto line = line_of(pointer);
  return line ? fmt::format("{}:{}", m_source, *line) : m_source;
}

Error CheckedJson::error_at(const JsonAt& at, std::string_view what) const {
  return make_error(fmt::format("{}: {}", where(at.pointer), what));
}

void CheckedJson::fail(const JsonAt& at, const std::string& what) {
  if (!m_error) m_error = error_at(at, what);
}

const Value* CheckedJson::optional(const Value& object, const JsonAt& parent, std::string_view key, JsonKind kind) {
  if (failed() || !object.IsObject()) return nullptr;
  auto it = object.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  if (!has_kind(it->value, kind)) {
    auto at = parent / key;
    fail(at, wrong_kind(at, kind, it->value));
    return nullptr;
  }
  return &it->value;
}

const Value* CheckedJson::required(const Value& object, const JsonAt& parent, std::string_view key, JsonKind kind) {
  if (failed() || !object.IsObject()) return nullptr;
  auto it = object.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
  if (it == object.MemberEnd()) {
    fail(parent, fmt::format("\"{}\" is missing", (parent / key).name));
    return nullptr;
  }
  if (!has_kind(it->value, kind)) {  // null included: a required member must hold a value
    auto at = parent / key;
    fail(at, wrong_kind(at, kind, it->value));
    return nullptr;
  }
  return &it->value;
}

std::string CheckedJson::string(const Value& object, const JsonAt& parent, std::string_view key) {
  const auto* value = required(object, parent, key, JsonKind::string);
  return value ? std::string(value->GetString(), value->GetStringLength()) : std::string();
}

int CheckedJson::integer(const Value& object, const JsonAt& parent, std::string_view key) {
  const auto* value = required(object, parent, key, JsonKind::integer);
  return value ? value->GetInt() : 0;
}

const Value& CheckedJson::object(const Value& object, const JsonAt& parent, std::string_view key) {
  const auto* value = required(object, parent, key, JsonKind::object);
  return value ? *value : k_empty_object;
}

Instant CheckedJson::instant(const Value& object, const JsonAt& parent, std::string_view key) {
  auto text = string(object, parent, key);
  if (failed()) return Instant{};
  auto parsed = parse_rfc3339(text);
  if (!parsed) fail(parent / key, fmt::format("\"{}\": {}", (parent / key).name, parsed.error().message));
  return parsed ? *parsed : Instant{};
}

Result<void> CheckedJson::closed_keys(const Value& object, const JsonAt& at, std::span<const std::string_view> known,
                                      std::string_view what) const {
  if (!object.IsObject()) return {};
  for (const auto& member : object.GetObject()) {
    std::string_view key(member.name.GetString(), member.name.GetStringLength());
    bool listed = false;
    for (auto name : known) listed = listed || name == key;
    if (!listed) return error_at(at / key, unknown_name(what, key, known));
  }
  return {};
}

}  // namespace recorder
