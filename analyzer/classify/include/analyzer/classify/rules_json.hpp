// For the rules loaders (rules.cpp, reclassify_rules.cpp; the report's runbook.cpp): JSON with
// comments read into a tree that remembers where every value is, so each error can name
// "file:line", the message helpers, and the parts of a rules-file parser that do not depend on the
// file's schema.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recorder/base/json.hpp"
#include "recorder/base/result.hpp"
#include "recorder/base/text.hpp"

namespace analyzer::rules_json {

enum class Kind { null, boolean, number, string, array, object };

// A JSON value and where it is. `offset` is just past a scalar (scalars never span lines) or just
// past the opening bracket of a container; object members carry their key and its offset.
struct Node {
  Kind kind = Kind::null;
  std::size_t offset = 0;
  std::string key;
  std::size_t key_offset = 0;
  std::string text;  // string value
  bool boolean = false;
  bool is_integer = false;
  std::int64_t integer = 0;
  double number = 0;
  std::vector<Node> children;
};

// Parses `text` (comments and trailing commas allowed, UTF-8 validated, at most 32 levels deep).
// Errors read "source:line:column: message".
recorder::Result<Node> parse_located(std::string_view text, std::string_view source);
// The message helpers every checked reader shares (recorder/base/text.hpp).
using recorder::quote;
using recorder::unknown_name;
// "null", "true", "3", "\"text\"", "an array", "an object".
std::string describe(const Node& node);

enum class Empty { allowed, refused };

// The base of a rules-file parser: errors naming "source:line" of an offset into `text`, and the
// checks both rules files make the same way. `text` must outlive the parser.
class FileParser {
 public:
  FileParser(std::string_view text, std::string_view source) : m_text(text), m_source(source) {}

 protected:
  // The whole file: its JSON read with positions, then `Rules` (its `source` set) filled from the
  // root by `top_level(root, rules)`, a Result<void> whose error is the file's.
  template <typename Rules, typename TopLevel>
  recorder::Result<Rules> parse_file(TopLevel&& top_level) {
    auto root = parse_located(m_text, m_source);
    if (!root) return root.error();
    Rules rules;
    rules.source = m_source;
    if (auto checked = top_level(*root, rules); !checked) return checked.error();
    return rules;
  }

  std::size_t line_of(std::size_t offset) const;
  recorder::Error error_at(std::size_t offset, const std::string& what) const;
  // "source:line" of `node`: where a rule is defined.
  std::string where(const Node& node) const;
  // The first member of `object` whose key repeats an earlier one, as an error naming both lines.
  recorder::Result<void> check_unique_keys(const Node& object) const;
  // `member` as a string into `out` ("must be a string" / "must be a non-empty string" otherwise).
  recorder::Result<void> expect_string(const Node& member, std::string& out, Empty empty) const;
  // A rule id (`id`, read from `member`): non-empty, letters, digits, '-', '_' or '.', and not the
  // id of an earlier rule of this file.
  recorder::Result<void> check_rule_id(const Node& member, const std::string& id);
  // The RE2 program of the string `value` (a pattern given for `key`), or an error naming both.
  recorder::Result<std::shared_ptr<const void>> compile_pattern(const Node& value, std::string_view key) const;

  std::string_view m_text;
  std::string m_source;

 private:
  std::map<std::string, std::size_t> m_ids;  // rule id -> offset of its first definition
};

// Reads the rules file at `path` and parses it with `parse` (errors name `path`).
template <typename Rules>
recorder::Result<Rules> load_file(const std::string& path,
                                  recorder::Result<Rules> (*parse)(std::string_view, std::string_view)) {
  auto text = recorder::read_file(path);
  if (!text) return text.error();
  return parse(*text, path);
}

// The rules embedded at build time (`text`, named `name` in messages). Invalid embedded rules are
// a bug of the build, so they throw std::logic_error saying "the embedded <what> are invalid".
template <typename Rules>
Rules parse_embedded(std::string_view text, std::string_view name, std::string_view what,
                     recorder::Result<Rules> (*parse)(std::string_view, std::string_view)) {
  auto parsed = parse(text, name);
  if (!parsed) throw std::logic_error(fmt::format("the embedded {} are invalid: {}", what, parsed.error().message));
  return std::move(parsed).value();
}

}  // namespace analyzer::rules_json
