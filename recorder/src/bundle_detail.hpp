// What the parts of the bundle code share: bundle.cpp (queries, JSON bodies, GraphQL requests),
// bundle_write.cpp, bundle_read.cpp and bundle_read_json.cpp (JsonFile, one file read field by
// field). Private to recorder/src/bundle*.cpp.
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "recorder/base/json.hpp"
#include "recorder/base/result.hpp"
#include "recorder/base/time.hpp"
#include "recorder/bundle.hpp"

namespace recorder::bundle_detail {

using Value = rapidjson::Value;

// Whether no container in `root` sits deeper than `limit` levels.
bool within_depth(const Value& root, std::size_t limit);
// The canonical form of a query: parameters sorted by name (a stable sort: repeated names keep their
// order), names and values URL-encoded.
std::string encode_query(QueryParams params);
// The name of exchange `seq`'s file in exchanges/: "0001.json", "12345.json" past 9999.
std::string exchange_file_name(int seq);

// ---- one file of a bundle, written and read (the bundle and the journal of a recording) ----------

// An exchange file's text (pretty JSON, seq `seq`); an Error for what the reader would refuse.
Result<std::string> render_exchange(const Exchange& exchange, int seq);
// manifest.json's text; exchange_count is bundle.exchanges.size().
Result<std::string> render_manifest(const Bundle& bundle);
// Exchange file `path`, whose name says `expected_seq`.
Result<Exchange> read_exchange(const std::filesystem::path& path, int expected_seq);
// A manifest at `path` (manifest.json, or a journal's recording.json).
Result<Manifest> read_manifest_file(const std::filesystem::path& path);

// ---- reading one file --------------------------------------------------------------------------

// Where a value sits: its JSON pointer (for the line number) and its dotted name (for messages).
struct At {
  std::string pointer;
  std::string name;
  At operator/(std::string_view key) const;
};

// A value as a message quotes it: its JSON, cut to 40 characters.
std::string shown(const Value& value);

enum class Kind { string, integer, object, array };

// One parsed bundle file, read field by field. The first problem is kept and later reads return
// defaults, so reading code stays a straight list of fields with one check at the end.
class JsonFile {
 public:
  static Result<JsonFile> load(const std::filesystem::path& path);

  const Value& root() const { return m_doc; }
  bool failed() const { return m_error.has_value(); }
  const Error& error() const { return *m_error; }

  // Records "<file>:<line>: <what>" unless a problem was recorded already.
  void fail(const At& at, const std::string& what);

  // The member `key` of `object`; nullptr when absent or null. Present with another kind: fails.
  const Value* optional(const Value& object, const At& parent, std::string_view key, Kind kind);
  const Value* required(const Value& object, const At& parent, std::string_view key, Kind kind);
  std::string string(const Value& object, const At& parent, std::string_view key);
  int integer(const Value& object, const At& parent, std::string_view key);
  const Value& object(const Value& object, const At& parent, std::string_view key);
  Instant instant(const Value& object, const At& parent, std::string_view key);

 private:
  JsonFile(std::string name, std::string text, rapidjson::Document doc);

  std::string where(const At& at);

  std::string m_name;
  std::string m_text;
  rapidjson::Document m_doc;
  std::optional<Error> m_error;
  std::optional<std::map<std::string, std::size_t>> m_lines;
};

}  // namespace recorder::bundle_detail
