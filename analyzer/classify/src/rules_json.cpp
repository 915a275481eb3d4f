// The JSON reader and message helpers of the rules loaders (rules_json.hpp): rapidjson's SAX reader
// building a tree of located values, and the checks rules.cpp and reclassify_rules.cpp share.
#include "analyzer/classify/rules_json.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <optional>

namespace analyzer {

namespace {

constexpr std::size_t k_max_depth = 32;      // a rules file needs 4 levels; deeper is not a rules file

}  // namespace

namespace rules_json {

// ---- JSON with positions -----------------------------------------------------------------------

namespace {

// rapidjson SAX handler building a Node tree; refuses nesting deeper than k_max_depth so that
// neither the parser's recursion nor the tree can grow without bound.
class TreeBuilder {
 public:
  explicit TreeBuilder(const rapidjson::MemoryStream& stream) : m_stream(stream) {}

  bool Null() { return add(make(Kind::null)); }
  bool Bool(bool value) {
    Node node = make(Kind::boolean);
    node.boolean = value;
    return add(std::move(node));
  }
  bool Int(int value) { return integer(value); }
  bool Uint(unsigned value) { return integer(value); }
  bool Int64(std::int64_t value) { return integer(value); }
  bool Uint64(std::uint64_t value) {
    if (value > static_cast<std::uint64_t>(INT64_MAX)) return Double(static_cast<double>(value));
    return integer(static_cast<std::int64_t>(value));
  }
  bool Double(double value) {
    Node node = make(Kind::number);
    node.number = value;
    return add(std::move(node));
  }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }  // not requested
  bool String(const char* text, rapidjson::SizeType length, bool) {
    Node node = make(Kind::string);
    node.text.assign(text, length);
    return add(std::move(node));
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    m_key.assign(text, length);
    m_key_offset = m_stream.Tell();
    return true;
  }
  bool StartObject() { return open(Kind::object); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(Kind::array); }
  bool EndArray(rapidjson::SizeType) { return close(); }

  // Where the bracket that went too deep is, if that is why parsing stopped.
  std::optional<std::size_t> too_deep_at() const { return m_too_deep_at; }
  Node take_root() { return std::move(m_root); }

 private:
  Node make(Kind kind) {
    Node node;
    node.kind = kind;
    node.offset = m_stream.Tell();
    if (!m_stack.empty() && m_stack.back().kind == Kind::object) {
      node.key = std::move(m_key);
      node.key_offset = m_key_offset;
      m_key.clear();
    }
    return node;
  }
  bool integer(std::int64_t value) {
    Node node = make(Kind::number);
    node.is_integer = true;
    node.integer = value;
    node.number = static_cast<double>(value);
    return add(std::move(node));
  }
  bool add(Node node) {
    if (m_stack.empty()) {
      m_root = std::move(node);
    } else {
      m_stack.back().children.push_back(std::move(node));
    }
    return true;
  }
  bool open(Kind kind) {
    if (m_stack.size() >= k_max_depth) {
      m_too_deep_at = m_stream.Tell() - 1;
      return false;
    }
    m_stack.push_back(make(kind));
    return true;
  }
  bool close() {
    Node node = std::move(m_stack.back());
    m_stack.pop_back();
    return add(std::move(node));
  }

  const rapidjson::MemoryStream& m_stream;
  std::vector<Node> m_stack;
  Node m_root;
  std::string m_key;
  std::size_t m_key_offset = 0;
  std::optional<std::size_t> m_too_deep_at;
};

}  // namespace

// Parses `text` like recorder::parse_json with Comments::allowed (same flags, same error shape
// "source:line:column: message"), keeping positions. UTF-8 is validated so RE2 gets valid patterns.
recorder::Result<Node> parse_located(std::string_view text, std::string_view source) {
  constexpr unsigned flags = rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag |
                             rapidjson::kParseValidateEncodingFlag;
  rapidjson::MemoryStream stream(text.data(), text.size());
  TreeBuilder builder(stream);
  rapidjson::Reader reader;
  if (reader.Parse<flags>(stream, builder)) return builder.take_root();
  auto deep = builder.too_deep_at();
  auto position = recorder::position_of(text, deep ? *deep : reader.GetErrorOffset());
  std::string what = deep ? fmt::format("values are nested deeper than {} levels", k_max_depth)
                          : std::string(rapidjson::GetParseError_En(reader.GetParseErrorCode()));
  return recorder::make_error(fmt::format("{}:{}:{}: {}", source, position.line, position.column, what));
}

std::string describe(const Node& node) {
  switch (node.kind) {
    case Kind::null: return "null";
    case Kind::boolean: return node.boolean ? "true" : "false";
    case Kind::number: return node.is_integer ? fmt::format("{}", node.integer) : fmt::format("{}", node.number);
    case Kind::string: return quote(node.text);
    case Kind::array: return "an array";
    case Kind::object: return "an object";
  }
  return "a value";
}

}  // namespace rules_json

namespace rules_json {

// ---- The parts of a rules-file parser ----------------------------------------------------------

using recorder::Error;
using recorder::Result;

std::size_t FileParser::line_of(std::size_t offset) const { return recorder::position_of(m_text, offset).line; }

Error FileParser::error_at(std::size_t offset, const std::string& what) const {
  return recorder::make_error(fmt::format("{}:{}: {}", m_source, line_of(offset), what));
}

std::string FileParser::where(const Node& node) const { return fmt::format("{}:{}", m_source, line_of(node.offset)); }

Result<void> FileParser::check_unique_keys(const Node& object) const {
  std::map<std::string_view, std::size_t> seen;
  for (const Node& member : object.children) {
    auto [it, inserted] = seen.emplace(member.key, member.key_offset);
    if (!inserted) {
      return error_at(member.key_offset, fmt::format("duplicate key {} (first at line {})", quote(member.key),
                                                     line_of(it->second)));
    }
  }
  return {};
}

Result<void> FileParser::expect_string(const Node& member, std::string& out, Empty empty) const {
  bool refused_empty = empty == Empty::refused && member.text.empty();
  if (member.kind != Kind::string || refused_empty) {
    return error_at(member.offset, fmt::format("{} must be a {}string, got {}", quote(member.key),
                                               empty == Empty::refused ? "non-empty " : "", describe(member)));
  }
  out = member.text;
  return {};
}

Result<void> FileParser::check_rule_id(const Node& member, const std::string& id) {
  bool valid = !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
  if (!valid) {
    return error_at(member.offset, fmt::format("rule id {} must be letters, digits, '-', '_' or '.'", quote(id)));
  }
  auto [it, inserted] = m_ids.emplace(id, member.offset);
  if (!inserted) {
    return error_at(member.offset,
                    fmt::format("duplicate rule id {} (first at line {})", quote(id), line_of(it->second)));
  }
  return {};
}

Result<std::shared_ptr<const void>> FileParser::compile_pattern(const Node& value, std::string_view key) const {
  RE2::Options options;
  options.set_log_errors(false);
  auto compiled = std::make_shared<const RE2>(value.text, options);
  if (!compiled->ok()) {
    return error_at(value.offset, fmt::format("invalid pattern {} for {}: {}", quote(value.text), quote(key),
                                              compiled->error()));
  }
  return std::shared_ptr<const void>(std::move(compiled));
}

}  // namespace rules_json

}  // namespace analyzer
