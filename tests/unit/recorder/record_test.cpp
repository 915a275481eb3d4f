#include "recorder/record.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "recorder/base/json.hpp"
#include "support/scripted_transport.hpp"
#include "support/temp_dir.hpp"

namespace recorder {
namespace {

using day2_test::ScriptedTransport;
using day2_test::TempDir;

HttpRequest graphql_request(const std::string& url = "http://127.0.0.1:3000/graphql") {
  HttpRequest r;
  r.service = Service::dagster;
  r.method = "POST";
  r.url = url;
  r.headers = {{"Content-Type", "application/json"}, {"Dagster-Cloud-Api-Token", "user:s3cret-token"},
               {"User-Agent", "day2/0.1"}};
  r.body = R"({"operationName":"Runs","query":"query Runs { runs }","variables":{}})";
  return r;
}

HttpRequest logging_request() {
  HttpRequest r;
  r.service = Service::logging;
  r.method = "GET";
  r.url = "https://logging.googleapis.com/v2/entries?pageSize=5&access_token=s3cret-token";
  r.headers = {{"Authorization", "Bearer s3cret-token"}, {"x-goog-user-project", "proj"}};
  return r;
}

struct Harness {
  std::shared_ptr<ScriptedTransport> inner = std::make_shared<ScriptedTransport>();
  RecordingTransport recording{inner, Redactor()};
};

TEST(RecordingTransport, TeesExchangesNumberedInOrder) {
  Harness h;
  h.inner->respond(200, {{"Content-Type", "application/json"}}, R"({"data":{"runs":[]}})")
      .respond(200, {{"Content-Type", "application/json"}}, R"({"entries":[]})");
  ASSERT_TRUE(h.recording.send(graphql_request()).ok());
  ASSERT_TRUE(h.recording.send(logging_request()).ok());
  auto bundle = h.recording.bundle(Manifest{});
  ASSERT_EQ(bundle.exchanges.size(), 2u);
  const auto& first = bundle.exchanges[0];
  EXPECT_EQ(first.seq, 1);
  EXPECT_EQ(first.service, Service::dagster);
  EXPECT_EQ(first.method, "POST");
  EXPECT_EQ(first.path, "/graphql");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.response_body, R"({"data":{"runs":[]}})");
  const auto& second = bundle.exchanges[1];
  EXPECT_EQ(second.seq, 2);
  EXPECT_EQ(second.path, "/v2/entries");
  EXPECT_EQ(second.query, "pageSize=5");  // access_token dropped
  EXPECT_EQ(bundle.manifest.exchange_count, 2);
}

TEST(RecordingTransport, KeepsOnlyHeadersThatMatterAndNoSecrets) {
  Harness h;
  h.inner->respond(200, {{"Content-Type", "application/json"}, {"Date", "Mon"}, {"Set-Cookie", "s=s3cret-token"}}, "{}")
      .respond(200, {}, "{}");
  ASSERT_TRUE(h.recording.send(graphql_request()).ok());
  ASSERT_TRUE(h.recording.send(logging_request()).ok());
  auto bundle = h.recording.bundle(Manifest{});
  EXPECT_EQ(bundle.exchanges[0].request_headers, (Headers{{"Content-Type", "application/json"}}));
  EXPECT_EQ(bundle.exchanges[0].response_headers, (Headers{{"Content-Type", "application/json"}}));
  EXPECT_EQ(bundle.exchanges[1].request_headers, (Headers{{"x-goog-user-project", "proj"}}));
}

TEST(RecordingTransport, ReturnsTheResponseUnredacted) {
  Harness h;
  h.inner->respond(200, {{"Set-Cookie", "s=1"}}, R"({"access_token":"ya29.abcdefgh"})");
  auto response = h.recording.send(graphql_request());
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->body, R"({"access_token":"ya29.abcdefgh"})");
  EXPECT_EQ(response->headers, (Headers{{"Set-Cookie", "s=1"}}));
  EXPECT_EQ(h.recording.bundle(Manifest{}).exchanges[0].response_body, R"({"access_token":"<redacted:token:1>"})");
}

TEST(RecordingTransport, RecordsErrorStatuses) {
  Harness h;
  h.inner->respond(503, {{"Retry-After", "2"}}, "unavailable");
  auto response = h.recording.send(logging_request());
  ASSERT_TRUE(response.ok());
  auto bundle = h.recording.bundle(Manifest{});
  ASSERT_EQ(bundle.exchanges.size(), 1u);
  EXPECT_EQ(bundle.exchanges[0].status, 503);
  EXPECT_EQ(bundle.exchanges[0].response_headers, (Headers{{"Retry-After", "2"}}));
}

TEST(RecordingTransport, DoesNotRecordTransportErrors) {
  Harness h;
  h.inner->fail("GET https://logging.googleapis.com/v2/entries failed: connection refused").respond(200, {}, "{}");
  auto failed = h.recording.send(logging_request());
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message, "GET https://logging.googleapis.com/v2/entries failed: connection refused");
  ASSERT_TRUE(h.recording.send(logging_request()).ok());
  auto bundle = h.recording.bundle(Manifest{});
  ASSERT_EQ(bundle.exchanges.size(), 1u);
  EXPECT_EQ(bundle.exchanges[0].seq, 1);
}

TEST(RecordingTransport, FillsManifestEndpointsRedactionsAndVersion) {
  Harness h;
  h.inner->respond(200, {}, "{}").respond(200, {}, "{}").respond(200, {}, "{}");
  ASSERT_TRUE(h.recording.send(graphql_request()).ok());
  ASSERT_TRUE(h.recording.send(graphql_request("http://10.0.0.2:3000/graphql")).ok());
  ASSERT_TRUE(h.recording.send(logging_request()).ok());
  Manifest given;
  given.timezone = "Europe/London";
  given.source = BundleSource::generated;
  auto manifest = h.recording.bundle(given).manifest;
  EXPECT_EQ(manifest.timezone, "Europe/London");
  EXPECT_EQ(manifest.source, BundleSource::generated);
  ASSERT_EQ(manifest.endpoints.size(), 3u);
  EXPECT_EQ(manifest.endpoints[0].alias, "dagster");
  EXPECT_EQ(manifest.endpoints[0].origin, "http://10.0.0.2:3000");
  EXPECT_EQ(manifest.endpoints[1].alias, "dagster-2");
  EXPECT_EQ(manifest.endpoints[1].origin, "http://127.0.0.1:3000");
  EXPECT_EQ(manifest.endpoints[2].alias, "logging");
  EXPECT_EQ(manifest.endpoints[2].service, Service::logging);
  EXPECT_EQ(manifest.endpoints[2].origin, "https://logging.googleapis.com:443");
  EXPECT_EQ(manifest.redactions, Redactor().names());
  EXPECT_FALSE(manifest.day2_version.empty());
  EXPECT_EQ(manifest.exchange_count, 3);
}

TEST(RecordingTransport, RedactsSecretsLearntLaterInEarlierExchanges) {
  Harness h;
  h.inner->respond(200, {}, R"({"echo":"my token is ya29.late-secret"})")
      .respond(200, {}, R"({"access_token":"ya29.late-secret"})");
  ASSERT_TRUE(h.recording.send(logging_request()).ok());
  auto token = logging_request();
  token.service = Service::oauth;
  token.url = "https://oauth2.googleapis.com/token";
  ASSERT_TRUE(h.recording.send(token).ok());
  auto bundle = h.recording.bundle(Manifest{});
  EXPECT_EQ(bundle.exchanges[0].response_body, R"({"echo":"my token is <redacted:token:1>"})");
  EXPECT_EQ(bundle.exchanges[1].response_body, R"({"access_token":"<redacted:token:1>"})");
}

TEST(RecordingTransport, RecordsConcurrentRequestsOnceEach) {
  Harness h;
  constexpr int k_threads = 8;
  constexpr int k_each = 20;
  for (int i = 0; i < k_threads * k_each; ++i) h.inner->respond(200, {}, "{}");
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < k_each; ++i) {
        auto request = logging_request();
        request.url = "https://logging.googleapis.com/v2/entries?thread=" + std::to_string(t) + "&i=" + std::to_string(i);
        EXPECT_TRUE(h.recording.send(request).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto bundle = h.recording.bundle(Manifest{});
  ASSERT_EQ(bundle.exchanges.size(), static_cast<std::size_t>(k_threads * k_each));
  std::set<std::string> queries;
  for (std::size_t i = 0; i < bundle.exchanges.size(); ++i) {
    EXPECT_EQ(bundle.exchanges[i].seq, static_cast<int>(i) + 1);
    queries.insert(bundle.exchanges[i].query);
  }
  EXPECT_EQ(queries.size(), bundle.exchanges.size());
}

TEST(RecordingTransport, RecordedBundleWritesAndReadsBack) {
  Harness h;
  h.inner->respond(200, {{"Content-Type", "application/json"}}, R"({"data":{"runs":[]}})");
  ASSERT_TRUE(h.recording.send(graphql_request()).ok());
  TempDir dir;
  auto written = write_bundle(dir.path() / "bundle", h.recording.bundle(Manifest{}));
  ASSERT_TRUE(written.ok()) << written.error().message;
  auto read = read_bundle(dir.path() / "bundle");
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->exchanges.size(), 1u);
  EXPECT_EQ(read->exchanges[0].request_body,
            R"({"operationName":"Runs","query":"query Runs { runs }","variables":{}})");
  EXPECT_EQ(read->manifest.endpoints.size(), 1u);
}

// The journal (recorder/journal.hpp) holds each exchange once send() returns, and never a secret the
// bundle would not: an exchange journaled before its secret was learnt is rewritten redacted.
TEST(RecordingTransport, JournalsEachExchangeAndRewritesOneASecretLearntLaterAppearsIn) {
  TempDir dir("day2-record-journal");
  auto out = dir.path() / "night";
  Harness h;
  auto journal = Journal::create(out, Manifest{});
  ASSERT_TRUE(journal.ok()) << journal.error().message;
  h.recording.journal_to(std::shared_ptr<Journal>(std::move(*journal)), Manifest{});
  h.inner->respond(200, {}, R"({"echo":"the token opaque-late-secret-42 works"})").respond(200, {}, R"({"ok":true})");
  auto plain = graphql_request();
  plain.headers = {{"Content-Type", "application/json"}};
  ASSERT_TRUE(h.recording.send(plain).ok());
  auto first = read_file((journal_dir(out) / "exchanges" / "0001.json").string());
  ASSERT_TRUE(first.ok());
  EXPECT_NE(first->find("opaque-late-secret-42"), std::string::npos);  // not known to be a secret yet
  auto with_token = graphql_request();
  with_token.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer opaque-late-secret-42"}};
  ASSERT_TRUE(h.recording.send(with_token).ok());
  for (const char* name : {"0001.json", "0002.json"}) {
    auto text = read_file((journal_dir(out) / "exchanges" / name).string());
    ASSERT_TRUE(text.ok()) << name;
    EXPECT_EQ(text->find("opaque-late-secret-42"), std::string::npos) << name << ": " << *text;
  }
  auto recovered = [&] {
    auto manifest = read_file((journal_dir(out) / "recording.json").string());
    return manifest.ok() && manifest->find("\"dagster\"") != std::string::npos;
  };
  EXPECT_TRUE(recovered()) << "recording.json names the origin recorded";
  EXPECT_TRUE(h.recording.journal_error().empty());
}

}  // namespace
}  // namespace recorder
