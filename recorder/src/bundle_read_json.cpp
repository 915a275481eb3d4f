// JsonFile (bundle_detail.hpp): one bundle file read field by field, each problem located by line.
#include <fmt/format.h>

#include "bundle_detail.hpp"

namespace recorder::bundle_detail {

namespace {

std::string escape_pointer(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

bool has_kind(const Value& value, Kind kind) {
  switch (kind) {
    case Kind::string: return value.IsString();
    case Kind::integer: return value.IsInt();
    case Kind::object: return value.IsObject();
    case Kind::array: return value.IsArray();
  }
  return false;
}

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::string: return "a string";
    case Kind::integer: return "an integer";
    case Kind::object: return "an object";
    case Kind::array: return "an array";
  }
  return "a value";
}

const Value k_empty_object(rapidjson::kObjectType);

}  // namespace

At At::operator/(std::string_view key) const {
  return {pointer + "/" + escape_pointer(key), name.empty() ? std::string(key) : name + "." + std::string(key)};
}

std::string shown(const Value& value) {
  auto text = write_json(value);
  return text.size() > 40 ? text.substr(0, 37) + "..." : text;
}

Result<JsonFile> JsonFile::load(const std::filesystem::path& path) {
  auto text = read_file(path.string());
  if (!text) return text.error();
  auto doc = parse_json(*text, path.string());
  if (!doc) return doc.error();
  constexpr std::size_t k_limit = k_max_json_depth + 8;  // bodies sit a few levels down
  if (!within_depth(*doc, k_limit)) {
    return make_error(fmt::format("{}: JSON nested deeper than {} levels", path.string(), k_limit));
  }
  return JsonFile(path.string(), std::move(*text), std::move(*doc));
}

JsonFile::JsonFile(std::string name, std::string text, rapidjson::Document doc)
    : m_name(std::move(name)), m_text(std::move(text)), m_doc(std::move(doc)) {}

void JsonFile::fail(const At& at, const std::string& what) {
  if (!m_error) m_error = make_error(fmt::format("{}: {}", where(at), what));
}

const Value* JsonFile::optional(const Value& object, const At& parent, std::string_view key, Kind kind) {
  if (failed() || !object.IsObject()) return nullptr;
  auto it = object.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  if (!has_kind(it->value, kind)) {
    fail(parent / key, fmt::format("\"{}\" must be {}, got {}", (parent / key).name, kind_name(kind), shown(it->value)));
    return nullptr;
  }
  return &it->value;
}

const Value* JsonFile::required(const Value& object, const At& parent, std::string_view key, Kind kind) {
  if (failed() || !object.IsObject()) return nullptr;
  auto it = object.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
  if (it == object.MemberEnd()) {
    fail(parent, fmt::format("\"{}\" is missing", (parent / key).name));
    return nullptr;
  }
  if (!has_kind(it->value, kind)) {
    fail(parent / key, fmt::format("\"{}\" must be {}, got {}", (parent / key).name, kind_name(kind), shown(it->value)));
    return nullptr;
  }
  return &it->value;
}

std::string JsonFile::string(const Value& object, const At& parent, std::string_view key) {
  const auto* value = required(object, parent, key, Kind::string);
  return value ? std::string(value->GetString(), value->GetStringLength()) : std::string();
}

int JsonFile::integer(const Value& object, const At& parent, std::string_view key) {
  const auto* value = required(object, parent, key, Kind::integer);
  return value ? value->GetInt() : 0;
}

const Value& JsonFile::object(const Value& object, const At& parent, std::string_view key) {
  const auto* value = required(object, parent, key, Kind::object);
  return value ? *value : k_empty_object;
}

Instant JsonFile::instant(const Value& object, const At& parent, std::string_view key) {
  auto text = string(object, parent, key);
  if (failed()) return Instant{};
  auto parsed = parse_rfc3339(text);
  if (!parsed) fail(parent / key, fmt::format("\"{}\": {}", (parent / key).name, parsed.error().message));
  return parsed ? *parsed : Instant{};
}

std::string JsonFile::where(const At& at) {
  if (!m_lines) m_lines = json_value_lines(m_text, Comments::forbidden);
  auto it = m_lines->find(at.pointer);
  return it == m_lines->end() ? m_name : fmt::format("{}:{}", m_name, it->second);
}

}  // namespace recorder::bundle_detail
