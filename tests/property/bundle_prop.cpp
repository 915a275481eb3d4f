#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "recorder/bundle.hpp"
#include "support/temp_dir.hpp"

namespace recorder {
namespace {

namespace fs = std::filesystem;
using day2_test::TempDir;

// ---- generators --------------------------------------------------------------------------------

const std::vector<Service> k_services = {Service::dagster, Service::logging, Service::monitoring,
                                         Service::error_reporting, Service::container, Service::oauth,
                                         Service::metadata, Service::other};

rc::Gen<std::string> gen_text() {
  return rc::gen::oneOf(rc::gen::arbitrary<std::string>(),
                        rc::gen::elementOf(std::vector<std::string>{"", "a", "x y", "100%", "é", "<redacted:email:1>"}));
}

// A JSON body: objects and arrays of scalars and small nested values.
rc::Gen<std::string> gen_json_body() {
  return rc::gen::exec([] {
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    auto members = *rc::gen::inRange(0, 5);
    for (int i = 0; i < members; ++i) {
      auto key = *gen_text();
      switch (*rc::gen::inRange(0, 6)) {
        case 0: doc.AddMember(json_string(key, a), json_string(*gen_text(), a), a); break;
        case 1: doc.AddMember(json_string(key, a), rapidjson::Value(*rc::gen::arbitrary<int>()), a); break;
        case 2: doc.AddMember(json_string(key, a), rapidjson::Value(*rc::gen::inRange(-1000000, 1000000) / 64.0), a); break;
        case 3: doc.AddMember(json_string(key, a), rapidjson::Value(rapidjson::kNullType), a); break;
        case 4: {
          rapidjson::Value array(rapidjson::kArrayType);
          for (const auto& s : *rc::gen::container<std::vector<std::string>>(gen_text())) array.PushBack(json_string(s, a), a);
          doc.AddMember(json_string(key, a), array, a);
          break;
        }
        default: doc.AddMember(json_string(key, a), rapidjson::Value(*rc::gen::arbitrary<bool>()), a); break;
      }
    }
    return write_json(doc, *rc::gen::arbitrary<bool>() ? Pretty::yes : Pretty::no);
  });
}

rc::Gen<std::string> gen_body() {
  return rc::gen::oneOf(gen_text(), gen_json_body(),
                        rc::gen::map(gen_json_body(), [](std::string body) {
                          // A GraphQL POST body, stored as "graphql" when the exchange is Dagster's.
                          auto doc = parse_body_json(body);
                          rapidjson::Document graphql(rapidjson::kObjectType);
                          auto& a = graphql.GetAllocator();
                          graphql.AddMember("query", "query Q { x }", a);
                          graphql.AddMember("operationName", "Q", a);
                          graphql.AddMember("variables", rapidjson::Value(*doc, a), a);
                          return write_json(graphql);
                        }));
}

rc::Gen<Headers> gen_headers() {
  return rc::gen::container<Headers>(rc::gen::pair(gen_text(), gen_text()));
}

rc::Gen<std::string> gen_query() {
  return rc::gen::map(rc::gen::container<std::vector<std::pair<std::string, std::string>>>(
                          rc::gen::pair(gen_text(), gen_text())),
                      [](const std::vector<std::pair<std::string, std::string>>& params) {
                        std::string query;
                        for (const auto& [name, value] : params) {
                          if (!query.empty()) query += "&";
                          query += url_encode(name) + "=" + url_encode(value);
                        }
                        return query;
                      });
}

rc::Gen<Exchange> gen_exchange() {
  return rc::gen::exec([] {
    Exchange x;
    x.service = *rc::gen::elementOf(k_services);
    x.method = *rc::gen::oneOf(rc::gen::elementOf(std::vector<std::string>{"GET", "POST", "DELETE"}),
                               rc::gen::nonEmpty(rc::gen::arbitrary<std::string>()));
    x.path = "/" + *gen_text();
    x.query = *gen_query();
    x.request_headers = *gen_headers();
    x.request_body = *gen_body();
    x.status = *rc::gen::arbitrary<int>();
    x.response_headers = *gen_headers();
    x.response_body = *gen_body();
    return x;
  });
}

Instant gen_instant() {
  // 1900-01-01 .. 2200-01-01, microseconds.
  return Instant{std::chrono::microseconds{*rc::gen::inRange<std::int64_t>(-2208988800LL * 1000000, 7258118400LL * 1000000)}};
}

rc::Gen<Bundle> gen_bundle() {
  return rc::gen::exec([] {
    Bundle b;
    b.manifest.now = gen_instant();
    auto start = gen_instant();
    auto end = gen_instant();
    b.manifest.window = {std::min(start, end), std::max(start, end)};
    b.manifest.timezone = *gen_text();
    b.manifest.source = *rc::gen::elementOf(std::vector<BundleSource>{BundleSource::live, BundleSource::generated});
    std::set<std::string> aliases;
    for (const auto& alias : *rc::gen::container<std::vector<std::string>>(rc::gen::nonEmpty(gen_text()))) {
      if (aliases.insert(alias).second) b.manifest.endpoints.push_back({alias, *rc::gen::elementOf(k_services), *gen_text()});
    }
    b.manifest.day2_version = *gen_text();
    b.manifest.redactions = *rc::gen::container<std::vector<std::string>>(gen_text());
    b.exchanges = *rc::gen::resize(20, rc::gen::container<std::vector<Exchange>>(gen_exchange()));
    return b;
  });
}

// ---- what the reader gives back: the canonical form of what was written --------------------------

std::string canonical_body(const std::string& body) {
  auto json = parse_body_json(body);
  return json ? write_json(*json) : body;
}

Headers canonical_headers(const Headers& headers) {
  std::map<std::string, std::string> merged;
  for (const auto& [name, value] : headers) {
    std::string key = name;
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto& slot = merged[key];
    slot += slot.empty() ? value : ", " + value;
  }
  return Headers(merged.begin(), merged.end());
}

void check_same(const Bundle& expected, const Bundle& actual) {
  const auto& m = expected.manifest;
  const auto& r = actual.manifest;
  RC_ASSERT(r.format_version == k_format_version);
  RC_ASSERT(r.now == m.now);
  RC_ASSERT(r.window.start == m.window.start);
  RC_ASSERT(r.window.end == m.window.end);
  RC_ASSERT(r.timezone == m.timezone);
  RC_ASSERT(r.source == m.source);
  auto endpoints = m.endpoints;
  std::sort(endpoints.begin(), endpoints.end(), [](const auto& a, const auto& b) { return a.alias < b.alias; });
  RC_ASSERT(r.endpoints.size() == endpoints.size());
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    RC_ASSERT(r.endpoints[i].alias == endpoints[i].alias);
    RC_ASSERT(r.endpoints[i].service == endpoints[i].service);
    RC_ASSERT(r.endpoints[i].origin == endpoints[i].origin);
  }
  RC_ASSERT(r.day2_version == m.day2_version);
  RC_ASSERT(r.redactions == m.redactions);
  RC_ASSERT(r.exchange_count == static_cast<int>(expected.exchanges.size()));
  RC_ASSERT(actual.exchanges.size() == expected.exchanges.size());
  for (std::size_t i = 0; i < expected.exchanges.size(); ++i) {
    const auto& x = expected.exchanges[i];
    const auto& y = actual.exchanges[i];
    RC_ASSERT(y.seq == static_cast<int>(i) + 1);
    RC_ASSERT(y.service == x.service);
    RC_ASSERT(y.method == x.method);
    RC_ASSERT(y.path == x.path);
    RC_ASSERT(y.query == canonical_query(x.query));
    RC_ASSERT(y.request_headers == canonical_headers(x.request_headers));
    RC_ASSERT(y.request_body == canonical_body(x.request_body));
    RC_ASSERT(y.status == x.status);
    RC_ASSERT(y.response_headers == canonical_headers(x.response_headers));
    RC_ASSERT(y.response_body == canonical_body(x.response_body));
  }
}

void put(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// A small valid bundle on disk whose file `name` is then replaced by `text`.
void check_reader_survives(const std::string& name, const std::string& text) {
  TempDir dir("day2-bundle-prop");
  auto path = dir.path() / "b";
  Bundle bundle;
  Exchange x;
  x.method = "GET";
  x.path = "/";
  x.status = 200;
  bundle.exchanges = {x};
  RC_ASSERT(write_bundle(path, bundle).ok());
  put(path / name, text);
  auto read = read_bundle(path);  // must return, whatever the bytes
  if (!read) RC_ASSERT(!read.error().message.empty());
}

// Valid file text with a few bytes changed, inserted or cut: near-misses the reader must survive.
std::string mutated(std::string text) {
  static const char k_bytes[] = "{}[]\",:\\0123456789-.eE tfn\n\x80\0";
  auto edits = *rc::gen::inRange(1, 6);
  for (int i = 0; i < edits && !text.empty(); ++i) {
    auto at = *rc::gen::inRange<std::size_t>(0, text.size());
    switch (*rc::gen::inRange(0, 3)) {
      case 0: text[at] = *rc::gen::elementOf(std::string(k_bytes, sizeof k_bytes - 1)); break;
      case 1: text.insert(at, *rc::gen::arbitrary<std::string>()); break;
      default: text.erase(at, *rc::gen::inRange<std::size_t>(1, 20)); break;
    }
  }
  return text;
}

// ---- properties --------------------------------------------------------------------------------

RC_GTEST_PROP(BundleProp, WriteThenReadRoundTrips, ()) {
  auto bundle = *gen_bundle();
  TempDir dir("day2-bundle-prop");
  auto written = write_bundle(dir.path() / "b", bundle);
  RC_ASSERT(written.ok());
  auto read = read_bundle(dir.path() / "b");
  if (!read) RC_FAIL(read.error().message);
  check_same(bundle, *read);
}

RC_GTEST_PROP(BundleProp, ArbitraryBytesAsManifestNeverCrash, (const std::string& text)) {
  check_reader_survives("manifest.json", text);
}

RC_GTEST_PROP(BundleProp, ArbitraryBytesAsExchangeNeverCrash, (const std::string& text)) {
  check_reader_survives("exchanges/0001.json", text);
}

const char* const k_manifest =
    "{\"day2_version\":\"0.1.0\",\"endpoints\":{\"dagster\":{\"origin\":\"http://h:1\",\"service\":\"dagster\"}},"
    "\"exchange_count\":1,\"format_version\":1,\"now\":\"2026-03-30T13:00:00Z\",\"redactions\":[\"x\"],"
    "\"source\":\"live\",\"timezone\":\"UTC\",\"window\":{\"end\":\"2026-03-30T13:00:00Z\",\"start\":"
    "\"2026-03-27T21:00:00Z\"}}";
const char* const k_exchange =
    "{\"request\":{\"graphql\":{\"operationName\":\"Q\",\"query\":\"query Q { x }\",\"variables\":{\"a\":[1]}},"
    "\"headers\":{\"content-type\":\"application/json\"},\"method\":\"POST\",\"path\":\"/graphql\",\"query\":{\"a\":"
    "[\"1\"]}},\"response\":{\"body\":{\"data\":null},\"headers\":{\"retry-after\":\"1\"},\"status\":200},\"seq\":1,"
    "\"service\":\"dagster\"}";

RC_GTEST_PROP(BundleProp, MutatedManifestNeverCrashes, ()) { check_reader_survives("manifest.json", mutated(k_manifest)); }

RC_GTEST_PROP(BundleProp, MutatedExchangeNeverCrashes, ()) {
  check_reader_survives("exchanges/0001.json", mutated(k_exchange));
}

TEST(BundleProp, UnmutatedSamplesLoad) {
  TempDir dir("day2-bundle-prop");
  fs::create_directories(dir.path() / "exchanges");
  put(dir.path() / "manifest.json", k_manifest);
  put(dir.path() / "exchanges" / "0001.json", k_exchange);
  auto read = read_bundle(dir.path());
  ASSERT_TRUE(read.ok()) << read.error().message;
}

}  // namespace
}  // namespace recorder
