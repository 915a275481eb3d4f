// Scenario bundles: a snapshot of every HTTP exchange of one analyzer run, the material of an
// offline post-mortem and of the regression suite. Written by the recorder, read by replay.
// docs/bundle.md describes the format for users.
//
// On-disk layout (format v1), a directory that diffs well in git: every file is pretty JSON (two
// spaces, keys sorted, final newline), one exchange per file, nothing that changes between two
// recordings of the same run (no write time, no absolute path).
//   DIR/manifest.json            the Manifest below; written last
//   DIR/exchanges/NNNN.json      one Exchange per file, NNNN = 1-based sequence, zero-padded to 4
//                                digits ("0001.json"; "12345.json" past 9999). The directory may be
//                                absent when exchange_count is 0 (git does not keep empty ones).
// manifest.json fields (all required unless marked optional):
//   format_version  integer, k_format_version; checked before anything else
//   now             string, RFC 3339 UTC: the recorded "now" (the analyzer's frozen clock on replay)
//   window          {"start", "end"}: RFC 3339 UTC strings, start <= end
//   timezone        string, IANA name of the report zone
//   source          "live" (recorded) or "generated" (day2 simulate)
//   endpoints       {"<alias>": {"service": "<service>", "origin": "<scheme://host:port>"}}: origins
//                   recorded under stable aliases (dagster, logging, ..., "dagster-2" for a second
//                   origin of one service); replay serves them all. Read back sorted by alias.
//   day2_version    string, the version that wrote it
//   redactions      array of strings: what the recorder redacts ("Authorization header",
//                   "pattern email", ...), names only, never values
//   exchange_count  integer >= 0, the number of files in exchanges/ (verified by the reader, so a
//                   bundle whose writer died half-way never loads)
//   recovered       string (optional): present only in a bundle `day2 record --recover` made from
//                   the journal of a recorder that died: what it holds and that it is incomplete
// exchanges/NNNN.json fields:
//   seq       integer, equal to NNNN
//   service   string, recorder::to_string(Service)
//   request   {"method": string, "path": string starting with "/",
//              "query" (optional): {"<name>": ["<decoded value>", ...]}, names sorted, values in
//                          request order,
//              "headers" (optional): {"<lower-case name>": "<value>"}: only the headers that
//                          matter (content-type, non-secret x-goog-* / dagster-cloud-* routing);
//                          repeated headers joined with ", ",
//              "body" (optional): a JSON object or array when the body is one (so it diffs well),
//                          else the body text as a string; absent or null for an empty body,
//              "graphql" (optional, instead of "body"): {"operationName", "query", "variables"},
//                          the GraphQL POST body, for requests whose body has only those members}
//   response  {"status": integer, "headers" (optional, as above: content-type, retry-after, ...),
//              "body" (optional, as above)}
// Unknown members are ignored, so a newer writer may add optional ones without a version bump.
//
// Version history (bump k_format_version on any incompatible change and keep the reader of the
// previous version while bundles of it exist in scenarios/):
//   1  2026-11: first version.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recorder/http.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/result.hpp"
#include "recorder/base/time.hpp"

namespace recorder {

inline constexpr int k_format_version = 1;

enum class BundleSource { live, generated };

struct Endpoint {
  std::string alias;    // "dagster", "logging", ...
  Service service = Service::other;
  std::string origin;   // scheme://host:port as recorded (after redaction)
};

struct Manifest {
  int format_version = k_format_version;
  Instant now{};
  Window window{};
  std::string timezone = "America/New_York";
  BundleSource source = BundleSource::live;
  std::vector<Endpoint> endpoints;
  std::string day2_version;
  std::vector<std::string> redactions;
  int exchange_count = 0;
  // The first exchange recorded for later investigations rather than by the collection (`collect
  // --record` reads each failed run's detail and run group for `day2 run|logs|steps|compare
  // --replay`): a replay of the collection does not report those as unused. 0 = none.
  int investigations_from = 0;
  // Why the bundle is incomplete: set by `day2 record --recover` (recorder/journal.hpp) for a
  // recording whose recorder died; "" for a recording written whole. Optional member "recovered".
  std::string recovered;
};

// One recorded request and its response. Bodies are kept as text here; the writer stores JSON
// bodies parsed (so they diff well) and the reader serialises them back canonically (write_json:
// compact, keys sorted). The reader also returns `query` canonically (canonical_query) and header
// names in lower case.
struct Exchange {
  int seq = 0;
  Service service = Service::other;
  std::string method;
  std::string path;
  std::string query;   // raw query string, without '?'
  Headers request_headers;
  std::string request_body;
  int status = 0;
  Headers response_headers;
  std::string response_body;
};

struct Bundle {
  Manifest manifest;
  std::vector<Exchange> exchanges;
};

// Reads the bundle in `dir`. Never throws on bad data: a missing manifest or exchange file, invalid
// JSON, a missing or mistyped field, or an unknown format version comes back as an Error naming the
// file (and line:column for JSON errors, line for a bad field); the version error lists the
// versions this build knows. Reads files only; no side effects.
Result<Bundle> read_bundle(const std::filesystem::path& dir);

enum class Overwrite { no, yes };

// Writes `bundle` to `dir` atomically: everything goes to a temporary sibling directory
// (".NAME.tmp-XXXXXX"), each file and directory is fsynced, then the directory is renamed into
// place. A reader never sees a partial bundle; on failure the temporary directory is removed.
// Missing parent directories are created. Exchanges are numbered by position (seq 1..N) and
// exchange_count and format_version are written from the data, whatever the fields say.
// With Overwrite::no an existing `dir` is an Error; Overwrite::yes replaces an existing bundle
// (a directory that is empty or holds a manifest.json) and refuses any other directory.
// An Error also for what the reader would reject: an empty method, a path not starting with '/',
// an empty or duplicate endpoint alias, or an instant that RFC 3339 cannot express.
Result<void> write_bundle(const std::filesystem::path& dir, const Bundle& bundle, Overwrite overwrite = Overwrite::no);

std::string_view to_string(BundleSource source);
// The Service named `name` (as written by to_string(Service)); nullopt for an unknown name.
std::optional<Service> service_from_string(std::string_view name);

// ---- How bundles see requests: shared by the writer, the redactor and the matcher -------------

// JSON nested deeper than this is treated as text (it cannot be walked without deep recursion).
inline constexpr std::size_t k_max_json_depth = 256;

// The parsed `body` when it is a JSON object or array nested at most k_max_json_depth deep;
// nullopt otherwise (empty, text, a JSON scalar, invalid or too deep). Never throws.
std::optional<rapidjson::Document> parse_body_json(std::string_view body);

// A query string as (name, value) pairs, percent-decoded ('+' is a space), in order; empty parts
// are skipped and a part without '=' has an empty value. Never throws: a bad escape is kept as is.
using QueryParams = std::vector<std::pair<std::string, std::string>>;
QueryParams parse_query(std::string_view query);
// The query with parameters stably sorted by name and re-encoded with url_encode: equal for any two
// spellings of the same parameters ("b=2&a=x+y" and "a=x%20y&b=2" both give "a=x%20y&b=2").
std::string canonical_query(std::string_view query);

// A GraphQL request: a POST whose body is a JSON object with a string "query", sent to Dagster
// (`service` dagster, or a path ending in "graphql").
struct GraphqlRequest {
  std::string operation_name;  // "operationName", else the name in the query text, else ""
  std::string query;           // the query text as sent
  std::string variables;       // canonical JSON of "variables"; "{}" when absent or null
};
std::optional<GraphqlRequest> parse_graphql_request(Service service, std::string_view method, std::string_view path,
                                                    std::string_view body);

}  // namespace recorder
