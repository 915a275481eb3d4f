// Private to the rules loaders (rules.cpp, reclassify_rules.cpp): JSON with comments read into a tree
// that remembers where every value is, so each error can name "file:line", and the message helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/result.hpp"

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
// `text` in double quotes, escaped and cut: a one-line rendering of arbitrary input.
std::string quote(std::string_view text);
// "null", "true", "3", "\"text\"", "an array", "an object".
std::string describe(const Node& node);
// `unknown <what> "x"; expected one of: a, b; did you mean "a"?` (the hint only when close).
std::string unknown_name(std::string_view what, std::string_view name, std::span<const std::string_view> known);

}  // namespace analyzer::rules_json
