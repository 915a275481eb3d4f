#include "recorder/bundle.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace recorder {
namespace {

namespace fs = std::filesystem;
using day2_test::TempDir;

Instant at(const char* text) { return *parse_rfc3339(text); }

Exchange graphql_exchange() {
  Exchange x;
  x.service = Service::dagster;
  x.method = "POST";
  x.path = "/graphql";
  x.request_headers = {{"Content-Type", "application/json"}};
  x.request_body = R"({"variables":{"runId":"abc"},"operationName":"RunEvents","query":"query RunEvents($runId: ID!) { x }"})";
  x.status = 200;
  x.response_headers = {{"Content-Type", "application/json"}};
  x.response_body = R"({"data":{"run":{"status":"FAILURE","id":"abc"}}})";
  return x;
}

Exchange rest_exchange() {
  Exchange x;
  x.service = Service::logging;
  x.method = "POST";
  x.path = "/v2/entries:list";
  x.query = "b=2&a=x+y&a=0";
  x.request_body = R"({"resourceNames":["projects/p"],"filter":"severity>=ERROR"})";
  x.status = 429;
  x.response_headers = {{"Retry-After", "3"}};
  x.response_body = "slow down";
  return x;
}

Bundle sample_bundle() {
  Bundle b;
  b.manifest.now = at("2026-03-30T13:00:00Z");
  b.manifest.window = {at("2026-03-27T21:00:00Z"), at("2026-03-30T13:00:00.25Z")};
  b.manifest.timezone = "America/New_York";
  b.manifest.source = BundleSource::live;
  b.manifest.endpoints = {{"logging", Service::logging, "https://logging.googleapis.com:443"},
                          {"dagster", Service::dagster, "http://127.0.0.1:3000"}};
  b.manifest.day2_version = "0.1.0";
  b.manifest.redactions = {"Authorization header", "pattern email"};
  b.exchanges = {graphql_exchange(), rest_exchange()};
  return b;
}

// A bundle written to `dir`/bundle; the test fails if writing does.
fs::path written(const TempDir& dir, const Bundle& bundle = sample_bundle()) {
  auto path = dir.path() / "bundle";
  auto result = write_bundle(path, bundle);
  EXPECT_TRUE(result.ok()) << result.error().message;
  return path;
}

std::string slurp(const fs::path& path) { return *read_file(path.string()); }

void put(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A hand-written manifest with a known layout, so error lines are predictable.
std::string manifest_text(const std::string& version = "1", const std::string& count = "1",
                          const std::string& now = "\"2026-03-30T13:00:00Z\"") {
  return "{\n"
         "  \"format_version\": " + version + ",\n"
         "  \"now\": " + now + ",\n"
         "  \"window\": {\"start\": \"2026-03-27T21:00:00Z\", \"end\": \"2026-03-30T13:00:00Z\"},\n"
         "  \"timezone\": \"America/New_York\",\n"
         "  \"source\": \"live\",\n"
         "  \"endpoints\": {},\n"
         "  \"day2_version\": \"0.1.0\",\n"
         "  \"redactions\": [],\n"
         "  \"exchange_count\": " + count + "\n"
         "}\n";
}

std::string exchange_text(const std::string& seq = "1", const std::string& status = "200") {
  return "{\n"
         "  \"seq\": " + seq + ",\n"
         "  \"service\": \"dagster\",\n"
         "  \"request\": {\"method\": \"GET\", \"path\": \"/x\"},\n"
         "  \"response\": {\n"
         "    \"status\": " + status + "\n"
         "  }\n"
         "}\n";
}

// ---- round trip and layout ---------------------------------------------------------------------

TEST(BundleWriter, RoundTripsManifest) {
  TempDir dir;
  auto bundle = read_bundle(written(dir));
  ASSERT_TRUE(bundle.ok()) << bundle.error().message;
  const auto& m = bundle->manifest;
  EXPECT_EQ(m.format_version, k_format_version);
  EXPECT_EQ(m.now, at("2026-03-30T13:00:00Z"));
  EXPECT_EQ(m.window.start, at("2026-03-27T21:00:00Z"));
  EXPECT_EQ(m.window.end, at("2026-03-30T13:00:00.25Z"));
  EXPECT_EQ(m.timezone, "America/New_York");
  EXPECT_EQ(m.source, BundleSource::live);
  ASSERT_EQ(m.endpoints.size(), 2u);
  EXPECT_EQ(m.endpoints[0].alias, "dagster");  // sorted by alias
  EXPECT_EQ(m.endpoints[0].service, Service::dagster);
  EXPECT_EQ(m.endpoints[0].origin, "http://127.0.0.1:3000");
  EXPECT_EQ(m.endpoints[1].alias, "logging");
  EXPECT_EQ(m.day2_version, "0.1.0");
  EXPECT_EQ(m.redactions, (std::vector<std::string>{"Authorization header", "pattern email"}));
  EXPECT_EQ(m.exchange_count, 2);
}

TEST(BundleWriter, RoundTripsExchangesCanonically) {
  TempDir dir;
  auto bundle = read_bundle(written(dir));
  ASSERT_TRUE(bundle.ok()) << bundle.error().message;
  ASSERT_EQ(bundle->exchanges.size(), 2u);
  const auto& g = bundle->exchanges[0];
  EXPECT_EQ(g.seq, 1);
  EXPECT_EQ(g.service, Service::dagster);
  EXPECT_EQ(g.method, "POST");
  EXPECT_EQ(g.path, "/graphql");
  EXPECT_EQ(g.request_headers, (Headers{{"content-type", "application/json"}}));
  EXPECT_EQ(g.request_body,
            R"({"operationName":"RunEvents","query":"query RunEvents($runId: ID!) { x }","variables":{"runId":"abc"}})");
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.response_body, R"({"data":{"run":{"id":"abc","status":"FAILURE"}}})");
  const auto& r = bundle->exchanges[1];
  EXPECT_EQ(r.seq, 2);
  EXPECT_EQ(r.service, Service::logging);
  EXPECT_EQ(r.query, "a=x%20y&a=0&b=2");  // sorted by name, values in request order
  EXPECT_EQ(r.request_body, R"({"filter":"severity>=ERROR","resourceNames":["projects/p"]})");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.response_headers, (Headers{{"retry-after", "3"}}));
  EXPECT_EQ(r.response_body, "slow down");
}

TEST(BundleWriter, WritesSortedPrettyManifest) {
  TempDir dir;
  EXPECT_EQ(slurp(written(dir) / "manifest.json"),
            "{\n"
            "  \"day2_version\": \"0.1.0\",\n"
            "  \"endpoints\": {\n"
            "    \"dagster\": {\n"
            "      \"origin\": \"http://127.0.0.1:3000\",\n"
            "      \"service\": \"dagster\"\n"
            "    },\n"
            "    \"logging\": {\n"
            "      \"origin\": \"https://logging.googleapis.com:443\",\n"
            "      \"service\": \"logging\"\n"
            "    }\n"
            "  },\n"
            "  \"exchange_count\": 2,\n"
            "  \"format_version\": 1,\n"
            "  \"now\": \"2026-03-30T13:00:00Z\",\n"
            "  \"redactions\": [\n"
            "    \"Authorization header\",\n"
            "    \"pattern email\"\n"
            "  ],\n"
            "  \"source\": \"live\",\n"
            "  \"timezone\": \"America/New_York\",\n"
            "  \"window\": {\n"
            "    \"end\": \"2026-03-30T13:00:00.25Z\",\n"
            "    \"start\": \"2026-03-27T21:00:00Z\"\n"
            "  }\n"
            "}\n");
}

TEST(BundleWriter, WritesGraphqlRequestsAsOperationQueryVariables) {
  TempDir dir;
  EXPECT_EQ(slurp(written(dir) / "exchanges" / "0001.json"),
            "{\n"
            "  \"request\": {\n"
            "    \"graphql\": {\n"
            "      \"operationName\": \"RunEvents\",\n"
            "      \"query\": \"query RunEvents($runId: ID!) { x }\",\n"
            "      \"variables\": {\n"
            "        \"runId\": \"abc\"\n"
            "      }\n"
            "    },\n"
            "    \"headers\": {\n"
            "      \"content-type\": \"application/json\"\n"
            "    },\n"
            "    \"method\": \"POST\",\n"
            "    \"path\": \"/graphql\"\n"
            "  },\n"
            "  \"response\": {\n"
            "    \"body\": {\n"
            "      \"data\": {\n"
            "        \"run\": {\n"
            "          \"id\": \"abc\",\n"
            "          \"status\": \"FAILURE\"\n"
            "        }\n"
            "      }\n"
            "    },\n"
            "    \"headers\": {\n"
            "      \"content-type\": \"application/json\"\n"
            "    },\n"
            "    \"status\": 200\n"
            "  },\n"
            "  \"seq\": 1,\n"
            "  \"service\": \"dagster\"\n"
            "}\n");
}

TEST(BundleWriter, WritesQueryAsDecodedListsAndTextBodiesAsStrings) {
  TempDir dir;
  auto text = slurp(written(dir) / "exchanges" / "0002.json");
  EXPECT_NE(text.find("    \"query\": {\n      \"a\": [\n        \"x y\",\n        \"0\"\n      ],\n      \"b\": [\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("    \"body\": \"slow down\",\n"), std::string::npos) << text;
  EXPECT_NE(text.find("      \"resourceNames\": [\n        \"projects/p\"\n      ]\n"), std::string::npos) << text;
}

TEST(BundleWriter, NumbersExchangesByPosition) {
  TempDir dir;
  auto bundle = sample_bundle();
  bundle.exchanges[0].seq = 7;
  bundle.manifest.exchange_count = 99;
  auto read = read_bundle(written(dir, bundle));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->exchanges[0].seq, 1);
  EXPECT_EQ(read->manifest.exchange_count, 2);
}

TEST(BundleReader, LoadsZeroExchangesWithoutExchangesDirectory) {
  TempDir dir;
  put(dir.path() / "b" / "manifest.json", manifest_text("1", "0"));
  auto bundle = read_bundle(dir.path() / "b");
  ASSERT_TRUE(bundle.ok()) << bundle.error().message;
  EXPECT_TRUE(bundle->exchanges.empty());
}

// ---- reader errors -----------------------------------------------------------------------------

TEST(BundleReader, RejectsMissingDirectory) {
  TempDir dir;
  auto bundle = read_bundle(dir.path() / "nope");
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message, (dir.path() / "nope").string() + ": no such directory");
}

TEST(BundleReader, RejectsMissingManifest) {
  TempDir dir;
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message,
            (dir.path() / "manifest.json").string() + ": missing; a bundle directory holds manifest.json and exchanges/");
}

TEST(BundleReader, RejectsUnknownFormatVersionNamingKnownOnes) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text("2"));
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message,
            (dir.path() / "manifest.json").string() + ":2: format_version 2 is not supported (known versions: 1)");
}

TEST(BundleReader, ChecksFormatVersionBeforeOtherFields) {
  TempDir dir;
  put(dir.path() / "manifest.json", "{\"format_version\": 3, \"now\": 12}");
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message,
            (dir.path() / "manifest.json").string() + ":1: format_version 3 is not supported (known versions: 1)");
}

TEST(BundleReader, RejectsMalformedManifestWithLineAndColumn) {
  TempDir dir;
  put(dir.path() / "manifest.json", "{\n  \"format_version\": 1,\n  \"now\": ,\n}\n");
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message, (dir.path() / "manifest.json").string() + ":3:10: Invalid value.");
}

TEST(BundleReader, RejectsMalformedExchangeWithLineAndColumn) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text());
  put(dir.path() / "exchanges" / "0001.json", "{\n  \"seq\": 1\n  \"service\": \"dagster\"\n}\n");
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message,
            (dir.path() / "exchanges" / "0001.json").string() + ":3:3: Missing a comma or '}' after an object member.");
}

// Files are read in parts at once: every exchange comes back in seq order, and of two broken files
// the one of the lower seq is named, as when they were read one by one.
TEST(BundleReader, ReadsManyExchangesInOrderAndNamesTheFirstBrokenFile) {
  TempDir dir;
  auto bundle = sample_bundle();
  for (int i = 0; i < 400; ++i) {
    auto x = rest_exchange();
    x.path = "/v2/entries:list/" + std::to_string(i);
    bundle.exchanges.push_back(x);
  }
  auto path = written(dir, bundle);
  auto read = read_bundle(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->exchanges.size(), 402u);
  for (std::size_t i = 0; i < read->exchanges.size(); ++i) {
    EXPECT_EQ(read->exchanges[i].seq, static_cast<int>(i) + 1);
    if (i >= 2) { EXPECT_EQ(read->exchanges[i].path, "/v2/entries:list/" + std::to_string(i - 2)); }
  }
  put(path / "exchanges" / "0390.json", "{");
  put(path / "exchanges" / "0150.json", "[");  // in the first part, 0390 in the second
  auto broken = read_bundle(path);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().message.rfind((path / "exchanges" / "0150.json").string() + ":", 0), 0u) << broken.error().message;
}

TEST(BundleReader, RejectsMissingExchangeFile) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text("1", "2"));
  put(dir.path() / "exchanges" / "0001.json", exchange_text());
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message,
            (dir.path() / "exchanges" / "0002.json").string() + ": missing; manifest.json says exchange_count 2");
}

TEST(BundleReader, RejectsMoreExchangeFilesThanCounted) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text("1", "1"));
  put(dir.path() / "exchanges" / "0001.json", exchange_text());
  put(dir.path() / "exchanges" / "0002.json", exchange_text("2"));
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message,
            (dir.path() / "exchanges").string() + ": 2 exchange files but manifest.json says exchange_count 1");
}

TEST(BundleReader, RejectsMistypedExchangeFieldNamingLine) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text());
  put(dir.path() / "exchanges" / "0001.json", exchange_text("1", "\"200\""));
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message,
            (dir.path() / "exchanges" / "0001.json").string() + ":6: \"response.status\" must be an integer, got \"200\"");
}

TEST(BundleReader, RejectsMistypedManifestField) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text("1", "1", "1774875600"));
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message,
            (dir.path() / "manifest.json").string() + ":3: \"now\" must be a string, got 1774875600");
}

TEST(BundleReader, RejectsBadTimestamp) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text("1", "1", "\"yesterday\""));
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message,
            (dir.path() / "manifest.json").string() + ":3: \"now\": not an RFC 3339 timestamp: \"yesterday\"");
}

TEST(BundleReader, RejectsMissingField) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text());
  put(dir.path() / "exchanges" / "0001.json", "{\"seq\": 1, \"service\": \"dagster\", \"request\": {\"path\": \"/x\"}}");
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message, (dir.path() / "exchanges" / "0001.json").string() + ":1: \"request.method\" is missing");
}

TEST(BundleReader, RejectsSeqThatDisagreesWithFileName) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text());
  put(dir.path() / "exchanges" / "0001.json", exchange_text("4"));
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message,
            (dir.path() / "exchanges" / "0001.json").string() + ":2: \"seq\" is 4 but the file name says 1");
}

TEST(BundleReader, RejectsUnknownService) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text());
  put(dir.path() / "exchanges" / "0001.json",
      "{\"seq\": 1, \"service\": \"ftp\", \"request\": {\"method\": \"GET\", \"path\": \"/\"}, \"response\": {\"status\": 1}}");
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message, (dir.path() / "exchanges" / "0001.json").string() + ":1: unknown service \"ftp\"; expected one of: dagster, logging, monitoring, error_reporting, container, oauth, "
            "metadata, other");
}

TEST(BundleReader, RejectsQueryValuesThatAreNotStringLists) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text());
  put(dir.path() / "exchanges" / "0001.json",
      "{\"seq\": 1, \"service\": \"dagster\", \"request\": {\"method\": \"GET\", \"path\": \"/\", \"query\": {\"a\": "
      "[1]}}, \"response\": {\"status\": 200}}");
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message,
            (dir.path() / "exchanges" / "0001.json").string() + ":1: \"request.query.a\" must be an array of strings, got [1]");
}

TEST(BundleReader, RejectsManifestThatIsNotAnObject) {
  TempDir dir;
  put(dir.path() / "manifest.json", "[1, 2]");
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message, (dir.path() / "manifest.json").string() + ":1: the manifest must be a JSON object, got [1,2]");
}

TEST(BundleReader, RejectsDeeplyNestedJsonWithoutCrashing) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text());
  put(dir.path() / "exchanges" / "0001.json", std::string(100000, '[') + std::string(100000, ']'));
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  // The reader stops at the 513th level instead of building all 100,000.
  EXPECT_EQ(bundle.error().message, (dir.path() / "exchanges" / "0001.json").string() + ":1:513: nested deeper than 512 levels");
}

TEST(BundleReader, RejectsJsonNestedDeeperThanABundleAllows) {
  TempDir dir;
  put(dir.path() / "manifest.json", manifest_text());
  put(dir.path() / "exchanges" / "0001.json", std::string(300, '[') + std::string(300, ']'));
  auto bundle = read_bundle(dir.path());
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().message, (dir.path() / "exchanges" / "0001.json").string() + ": JSON nested deeper than 264 levels");
}

// ---- atomic writing ----------------------------------------------------------------------------

TEST(BundleWriter, LeavesNoTemporaryDirectoryBehind) {
  TempDir dir;
  written(dir);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path())) names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"bundle"});
}

TEST(BundleWriter, RefusesExistingDirectoryWithoutOverwrite) {
  TempDir dir;
  auto path = written(dir);
  auto again = write_bundle(path, Bundle{});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, path.string() + ": already exists");
  EXPECT_EQ(read_bundle(path)->exchanges.size(), 2u);  // untouched
}

TEST(BundleWriter, ReplacesExistingBundleWithOverwrite) {
  TempDir dir;
  auto path = written(dir);
  auto replaced = write_bundle(path, Bundle{}, Overwrite::yes);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_TRUE(read_bundle(path)->exchanges.empty());
  EXPECT_FALSE(fs::exists(path / "exchanges" / "0001.json"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(BundleWriter, RefusesToReplaceDirectoryThatIsNotABundle) {
  TempDir dir;
  put(dir.path() / "notes" / "todo.txt", "keep me");
  auto result = write_bundle(dir.path() / "notes", Bundle{}, Overwrite::yes);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, (dir.path() / "notes").string() + ": not replaced: it is not a bundle (no manifest.json)");
  EXPECT_TRUE(fs::exists(dir.path() / "notes" / "todo.txt"));
}

TEST(BundleWriter, CreatesMissingParentDirectories) {
  TempDir dir;
  auto result = write_bundle(dir.path() / "a" / "b" / "bundle", sample_bundle());
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(read_bundle(dir.path() / "a" / "b" / "bundle").ok());
}

TEST(BundleWriter, RejectsWhatTheReaderWouldReject) {
  TempDir dir;
  auto bundle = sample_bundle();
  bundle.exchanges[1].method = "";
  auto result = write_bundle(dir.path() / "b", bundle);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "exchange 2: the method is empty");
  bundle = sample_bundle();
  bundle.manifest.endpoints.push_back({"dagster", Service::dagster, "http://other:1"});
  result = write_bundle(dir.path() / "b", bundle);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "manifest: endpoint alias \"dagster\" appears twice");
  EXPECT_FALSE(fs::exists(dir.path() / "b"));
}

TEST(BundleReader, RejectsInterruptedWriteLeftInTemporaryDirectory) {
  // What a killed writer leaves: exchanges written, no manifest yet; or, if the manifest were
  // written early, fewer exchanges than it counts. Neither loads.
  TempDir dir;
  auto tmp = dir.path() / ".bundle.tmp-abc123";
  put(tmp / "exchanges" / "0001.json", exchange_text());
  EXPECT_FALSE(read_bundle(tmp).ok());
  put(tmp / "manifest.json", manifest_text("1", "3"));
  EXPECT_FALSE(read_bundle(tmp).ok());
}

// ---- shared helpers ----------------------------------------------------------------------------

TEST(CanonicalQuery, SortsByNameKeepingValueOrderAndReencodes) {
  EXPECT_EQ(canonical_query("b=2&a=x+y&a=%41"), "a=x%20y&a=A&b=2");
  EXPECT_EQ(canonical_query("&flag&x=%zz"), "flag=&x=%25zz");
  EXPECT_EQ(canonical_query(""), "");
}

TEST(ParseGraphqlRequest, TakesOperationNameFromQueryTextWhenAbsent) {
  auto request = parse_graphql_request(Service::other, "POST", "/prod/graphql",
                                       R"({"query":"  # c\n query   Assets($a: Int) { x }"})");
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->operation_name, "Assets");
  EXPECT_EQ(request->variables, "{}");
  EXPECT_FALSE(parse_graphql_request(Service::logging, "POST", "/v2/entries:list", R"({"query":"x"})").has_value());
  EXPECT_FALSE(parse_graphql_request(Service::dagster, "GET", "/graphql", R"({"query":"x"})").has_value());
}

TEST(ParseBodyJson, AcceptsOnlyObjectsAndArraysWithinDepth) {
  EXPECT_TRUE(parse_body_json(" {\"a\": 1} ").has_value());
  EXPECT_TRUE(parse_body_json("[1]").has_value());
  EXPECT_FALSE(parse_body_json("\"text\"").has_value());
  EXPECT_FALSE(parse_body_json("{").has_value());
  EXPECT_FALSE(parse_body_json(std::string(300, '[') + std::string(300, ']')).has_value());
}

}  // namespace
}  // namespace recorder

namespace recorder {
namespace {

TEST(BundleWriter, RoundTripsWhereTheInvestigationsStart) {
  TempDir dir;
  auto sample = sample_bundle();
  sample.manifest.investigations_from = 2;
  auto bundle = read_bundle(written(dir, sample));
  ASSERT_TRUE(bundle.ok()) << bundle.error().message;
  EXPECT_EQ(bundle->manifest.investigations_from, 2);
  EXPECT_NE(slurp(dir.path() / "bundle" / "manifest.json").find("\"investigations_from\": 2"), std::string::npos);
  TempDir plain;
  auto without = read_bundle(written(plain));
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->manifest.investigations_from, 0);
  EXPECT_EQ(slurp(plain.path() / "bundle" / "manifest.json").find("investigations_from"), std::string::npos)
      << "absent when there are none: older readers see the same manifest";
}

TEST(BundleReader, RefusesInvestigationsFromOutsideTheExchanges) {
  TempDir dir;
  auto text = manifest_text();
  text.replace(text.find("\"exchange_count\": 1"), 19, "\"exchange_count\": 1,\n  \"investigations_from\": 5");
  put(dir.path() / "b" / "manifest.json", text);
  put(dir.path() / "b" / "exchanges" / "0001.json", exchange_text());
  auto bundle = read_bundle(dir.path() / "b");
  ASSERT_FALSE(bundle.ok());
  EXPECT_NE(bundle.error().message.find("\"investigations_from\" must be an exchange's seq (1 to exchange_count 1), got 5"),
            std::string::npos)
      << bundle.error().message;
}

}  // namespace
}  // namespace recorder
