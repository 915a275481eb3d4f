// What the parts of the bundle code share: bundle.cpp (queries, JSON bodies, GraphQL requests),
// bundle_write.cpp and bundle_read.cpp (one file read field by field with
// recorder/base/checked_json.hpp). Private to recorder/src/bundle*.cpp.
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "recorder/base/checked_json.hpp"
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

// ---- reading one file: the checked-JSON reader of recorder/base --------------------------------

using At = JsonAt;
using Kind = JsonKind;
using JsonFile = CheckedJson;

}  // namespace recorder::bundle_detail
