// The one checked-JSON reader of day2's files (bundle files, fault files, configs, scenario specs,
// redaction settings, regress's expected.json):
// a parsed file read member by member, where every problem is an Error naming "file:line" of the
// value at fault, typed required and optional members, and closed key sets that suggest the nearest
// known name. The rules files keep their own located tree (analyzer/classify/rules_json.hpp: values
// with offsets, for rules whose ids must be traced to a line) and share its messages (text.hpp).
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "recorder/base/json.hpp"
#include "recorder/base/result.hpp"
#include "recorder/base/time.hpp"

namespace recorder {

// Where a value sits: its JSON pointer (which finds its line) and its dotted name (for messages:
// "request.headers.x", "faults[2]").
struct JsonAt {
  std::string pointer;
  std::string name;
  JsonAt operator/(std::string_view key) const;
  JsonAt operator/(std::size_t index) const;
};

enum class JsonKind { string, integer, number, boolean, object, array };

// "a string", "an integer", ...: how messages name a kind.
std::string_view kind_name(JsonKind kind);
// A value as a message quotes it: its JSON, cut to 40 characters.
std::string shown(const rapidjson::Value& value);

// One parsed file. Two ways to report a problem: error_at() builds the Error at once (for readers
// that return on the first problem), fail() keeps the first problem and later reads return
// defaults (for readers written as a straight list of fields with one check at the end).
class CheckedJson {
 public:
  // `text` parsed as `source` (parse_json's limits: depth, numbers).
  static Result<CheckedJson> parse(std::string text, std::string source, Comments comments = Comments::forbidden);
  // The regular file at `path` (read_file's limits: size, file type) parsed as above.
  static Result<CheckedJson> load(const std::string& path, Comments comments = Comments::forbidden);

  const rapidjson::Value& root() const { return m_doc; }
  const std::string& source() const { return m_source; }

  // The 1-based line of the value at `pointer`; nullopt when the file has no such value.
  std::optional<std::size_t> line_of(std::string_view pointer) const;
  // "source:line" of the value at `pointer`; `source` alone when the file has no such value.
  std::string where(std::string_view pointer) const;
  // The Error "source:line: what" for the value at `at`.
  Error error_at(const JsonAt& at, std::string_view what) const;

  bool failed() const { return m_error.has_value(); }
  const Error& error() const { return *m_error; }
  // Records error_at(at, what) unless a problem was recorded already.
  void fail(const JsonAt& at, const std::string& what);

  // The member `key` of `object`; nullptr when absent or null. Present with another kind: fails.
  const rapidjson::Value* optional(const rapidjson::Value& object, const JsonAt& parent, std::string_view key,
                                   JsonKind kind);
  // As optional(), but absent fails ("\"<name>\" is missing") and so does null ("must be <kind>, got null").
  const rapidjson::Value* required(const rapidjson::Value& object, const JsonAt& parent, std::string_view key,
                                   JsonKind kind);
  std::string string(const rapidjson::Value& object, const JsonAt& parent, std::string_view key);
  int integer(const rapidjson::Value& object, const JsonAt& parent, std::string_view key);
  const rapidjson::Value& object(const rapidjson::Value& object, const JsonAt& parent, std::string_view key);
  Instant instant(const rapidjson::Value& object, const JsonAt& parent, std::string_view key);

  // The first member of `object` whose key is not in `known`, as the Error
  // `unknown <what> "x"; expected one of: a, b; did you mean "a"?` at that member; none: success.
  Result<void> closed_keys(const rapidjson::Value& object, const JsonAt& at, std::span<const std::string_view> known,
                           std::string_view what = "member") const;

 private:
  CheckedJson(std::string source, std::string text, rapidjson::Document doc);

  std::string m_source;
  std::string m_text;
  rapidjson::Document m_doc;
  std::optional<Error> m_error;
  Comments m_comments = Comments::forbidden;
  mutable std::optional<std::map<std::string, std::size_t>> m_lines;  // found on the first error
};

}  // namespace recorder
