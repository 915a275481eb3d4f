// JSON for every tool: parsing with errors that name `source:line:column`, and writing with sorted
// keys so that artifacts and bundles are deterministic and diff well. JSON is the project's data
// model, so this header exposes rapidjson's document type on purpose.
#pragma once

#include <rapidjson/document.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "recorder/base/result.hpp"

namespace recorder {

enum class Comments { forbidden, allowed };
enum class Pretty { no, yes };

// Objects and arrays nested deeper than this are refused by every reader (parse_json).
inline constexpr std::size_t k_max_parse_depth = 512;
// No file day2 reads (bundle files, artifacts, rules, configs, fault and redact files) may be larger.
inline constexpr std::size_t k_max_file_bytes = std::size_t{1} << 30;  // 1 GiB

// Parses `text`; `source` names it in errors ("config.json:12:5: Missing a comma ..."). Never throws.
// Comments::allowed accepts // and /* */ comments and trailing commas (configuration files). Nesting
// deeper than `max_depth` (at most k_max_parse_depth) and numbers too big for a double are errors.
Result<rapidjson::Document> parse_json(std::string_view text, std::string_view source,
                                       Comments comments = Comments::forbidden,
                                       std::size_t max_depth = k_max_parse_depth);

// Reads the file at `path` and parses it; a missing or unreadable file is an Error naming it.
Result<rapidjson::Document> read_json_file(const std::string& path, Comments comments = Comments::forbidden);

// 1-based line and column of byte `offset` in `text`.
struct TextPosition {
  std::size_t line = 1;
  std::size_t column = 1;
};
TextPosition position_of(std::string_view text, std::size_t offset);

// The 1-based line of every value in a JSON text, keyed by JSON pointer ("/rules/3/when/errorClass";
// "" is the root). For error messages that must name `file:line` of a semantically bad value. Text
// that does not parse gives the locations found before the error.
std::map<std::string, std::size_t> json_value_lines(std::string_view text, Comments comments = Comments::allowed);
// `name` as one token of a JSON pointer ('~' -> "~0", '/' -> "~1"), so that a key holding '/' neither
// names a nested value nor misses its line.
std::string pointer_token(std::string_view name);

// Serialises `value` with object keys sorted (recursively). Pretty::yes indents by two spaces and
// ends with a newline. Doubles are written in the shortest form that round-trips.
std::string write_json(const rapidjson::Value& value, Pretty pretty = Pretty::no);

// Writes `content` to `path` atomically: a temporary file in the same directory, fsync, rename.
// A reader sees the old file or the new one, never a partial one.
Result<void> write_file_atomic(const std::string& path, std::string_view content);
// write_file_atomic(path, write_json(value, pretty)) without the copy of the whole text into a
// string (a 50 MB artifact would be held twice at the end of a collection).
Result<void> write_json_file_atomic(const std::string& path, const rapidjson::Value& value, Pretty pretty);

// Reads a whole regular file of at most `max_bytes`; an Error names the path and the cause. A FIFO,
// a device, a socket or a directory is refused without waiting on it (a FIFO without a writer),
// as is a larger file.
Result<std::string> read_file(const std::string& path, std::size_t max_bytes = k_max_file_bytes);

// Small typed accessors that never throw: nullopt when absent or of another type.
std::optional<std::string> get_string(const rapidjson::Value& object, const char* key);
std::optional<double> get_number(const rapidjson::Value& object, const char* key);
std::optional<bool> get_bool(const rapidjson::Value& object, const char* key);
const rapidjson::Value* get_object(const rapidjson::Value& object, const char* key);
const rapidjson::Value* get_array(const rapidjson::Value& object, const char* key);

// Builds a rapidjson string value copying `text`.
rapidjson::Value json_string(std::string_view text, rapidjson::Document::AllocatorType& allocator);

}  // namespace recorder
