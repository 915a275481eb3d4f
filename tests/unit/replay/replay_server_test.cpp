// The replay server over real HTTP on 127.0.0.1 (port chosen by the OS), serving in-memory bundles.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "recorder/base/json.hpp"
#include "replay/server.hpp"
#include "support/json_access.hpp"

namespace replay {
namespace {

using namespace std::chrono_literals;
using day2test::number_at;
using day2test::text_at;
using recorder::Exchange;
using recorder::Service;

std::string graphql_body(const std::string& operation, const std::string& variables) {
  return fmt::format(R"({{"operationName":"{0}","query":"query {0} {{ version }}","variables":{1}}})", operation,
                     variables);
}

Exchange graphql_exchange(int seq, const std::string& path, const std::string& operation, const std::string& variables,
                          const std::string& response) {
  Exchange exchange;
  exchange.seq = seq;
  exchange.service = Service::dagster;
  exchange.method = "POST";
  exchange.path = path;
  exchange.request_headers = {{"content-type", "application/json"}};
  exchange.request_body = graphql_body(operation, variables);
  exchange.status = 200;
  exchange.response_headers = {{"content-type", "application/json"}};
  exchange.response_body = response;
  return exchange;
}

constexpr const char* k_entries_request =
    R"({"filter":"severity>=ERROR","pageSize":1000,"resourceNames":["projects/p"]})";
constexpr const char* k_entries_response = R"({"entries":[{"insertId":"a1","severity":"ERROR"}]})";
constexpr const char* k_version_response = R"({"data":{"version":"1.9.0"}})";

recorder::Bundle three_exchange_bundle() {
  recorder::Bundle bundle;
  bundle.exchanges.push_back(graphql_exchange(1, "/graphql", "Version", "{}", k_version_response));

  Exchange logging;
  logging.seq = 2;
  logging.service = Service::logging;
  logging.method = "POST";
  logging.path = "/v2/entries:list";
  logging.request_headers = {{"content-type", "application/json"}};
  logging.request_body = k_entries_request;
  logging.status = 200;
  logging.response_headers = {{"content-type", "application/json; charset=UTF-8"}};
  logging.response_body = k_entries_response;
  bundle.exchanges.push_back(logging);

  Exchange metadata;
  metadata.seq = 3;
  metadata.service = Service::metadata;
  metadata.method = "GET";
  metadata.path = "/computeMetadata/v1/project/project-id";
  metadata.status = 200;
  metadata.response_headers = {{"content-type", "application/text"}};
  metadata.response_body = "my-project";
  bundle.exchanges.push_back(metadata);

  bundle.manifest.exchange_count = static_cast<int>(bundle.exchanges.size());
  return bundle;
}

rapidjson::Document parse(const std::string& text) {
  auto parsed = recorder::parse_json(text, "response");
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message) << "\nbody: " << text;
  if (!parsed) return rapidjson::Document(rapidjson::kObjectType);
  return std::move(*parsed);
}

class ReplayServer : public ::testing::Test {
 protected:
  void SetUp() override { start(three_exchange_bundle()); }
  void TearDown() override {
    if (m_server) m_server->stop();
  }

  void start(recorder::Bundle bundle) {
    if (m_server) m_server->stop();
    m_matcher = std::make_shared<replay::Matcher>(std::move(bundle));
    m_server = std::make_unique<Server>(m_matcher, ServerOptions{"127.0.0.1", 0});
    auto port = m_server->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    m_port = *port;
  }

  std::unique_ptr<httplib::Client> client() const {
    auto result = std::make_unique<httplib::Client>("127.0.0.1", m_port);
    result->set_keep_alive(true);
    result->set_tcp_nodelay(true);  // the client writes headers and body separately
    result->set_connection_timeout(5s);
    result->set_read_timeout(10s);
    return result;
  }

  httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& headers = {}) const {
    return client()->Post(path.c_str(), headers, body, "application/json");
  }

  std::shared_ptr<replay::Matcher> m_matcher;
  std::unique_ptr<Server> m_server;
  int m_port = 0;
};

TEST_F(ReplayServer, MatchedGraphqlPostReturnsTheRecordedBody) {
  auto res = post("/graphql", graphql_body("Version", "{}"));
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, k_version_response);
}

TEST_F(ReplayServer, DagsterPlusDeploymentPathMatchesTheRecordedPath) {
  auto res = post("/prod/graphql", graphql_body("Version", "{}"));
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, k_version_response);
}

TEST_F(ReplayServer, DagsterPlusHeaderFormMatchesARecordedDeploymentPath) {
  recorder::Bundle bundle;
  bundle.exchanges.push_back(graphql_exchange(1, "/staging/graphql", "Version", "{}", R"({"data":{"version":"s"}})"));
  bundle.exchanges.push_back(graphql_exchange(2, "/prod/graphql", "Version", "{}", R"({"data":{"version":"p"}})"));
  start(std::move(bundle));
  auto res = post("/graphql", graphql_body("Version", "{}"), {{"Dagster-Cloud-Deployment", "prod"}});
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->body, R"({"data":{"version":"p"}})");
}

TEST_F(ReplayServer, LoggingEntriesListReturnsTheRecordedBody) {
  auto res = post("/v2/entries:list", k_entries_request);
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, k_entries_response);
}

TEST_F(ReplayServer, GraphqlMissAnswersGraphqlErrorsNamingTheNearestRequest) {
  auto res = post("/graphql", graphql_body("Runs", R"({"limit":5})"));
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  auto body = parse(res->body);
  EXPECT_FALSE(text_at(body, "/errors/0/message").empty()) << res->body;
  EXPECT_NE(text_at(body, "/errors/0/message").find("Version"), std::string::npos) << res->body;
  EXPECT_EQ(m_matcher->report().misses.size(), 1u);
}

TEST_F(ReplayServer, GoogleMissAnswersRpcStatusNotFound) {
  auto res = client()->Get("/v3/projects/p/alertPolicies");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 404);
  auto body = parse(res->body);
  EXPECT_EQ(number_at(body, "/error/code"), 404) << res->body;
  EXPECT_EQ(text_at(body, "/error/status"), "NOT_FOUND") << res->body;
  EXPECT_FALSE(text_at(body, "/error/message").empty()) << res->body;
}

TEST_F(ReplayServer, MalformedGraphqlBodyIs400AndTheServerKeepsServing) {
  auto cli = client();
  auto bad = cli->Post("/graphql", "{not json", "application/json");
  ASSERT_TRUE(bad) << httplib::to_string(bad.error());
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(text_at(parse(bad->body), "/errors/0/message").find("invalid JSON"), std::string::npos) << bad->body;

  auto next = cli->Post("/graphql", graphql_body("Version", "{}"), "application/json");
  ASSERT_TRUE(next) << httplib::to_string(next.error());
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, k_version_response);
}

TEST_F(ReplayServer, GraphqlBodyWithoutQueryIs400) {
  auto res = post("/graphql", R"({"variables":{}})");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(text_at(parse(res->body), "/errors/0/message"), "Must provide query string.");
  EXPECT_TRUE(m_matcher->report().misses.empty());
}

TEST_F(ReplayServer, MalformedGoogleBodyIs400InRpcStatusShape) {
  auto res = post("/v2/entries:list", "[1,");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 400);
  auto body = parse(res->body);
  EXPECT_EQ(number_at(body, "/error/code"), 400) << res->body;
  EXPECT_EQ(text_at(body, "/error/status"), "INVALID_ARGUMENT") << res->body;
}

TEST_F(ReplayServer, MetadataWithoutFlavorHeaderIs403) {
  auto res = client()->Get("/computeMetadata/v1/project/project-id");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 403);
  EXPECT_NE(res->body.find("Missing Metadata-Flavor:Google header"), std::string::npos) << res->body;
  EXPECT_TRUE(m_matcher->report().misses.empty());
}

TEST_F(ReplayServer, MetadataWithFlavorHeaderAnswersAndEchoesIt) {
  auto res = client()->Get("/computeMetadata/v1/project/project-id", {{"Metadata-Flavor", "Google"}});
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "my-project");
  EXPECT_EQ(res->get_header_value("Metadata-Flavor"), "Google");
}

TEST_F(ReplayServer, AdminReportListsServedMissesAndUnused) {
  ASSERT_TRUE(post("/graphql", graphql_body("Version", "{}")));
  ASSERT_TRUE(client()->Get("/v3/projects/p/alerts"));
  auto res = client()->Get("/__day2/report");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  auto body = parse(res->body);
  EXPECT_EQ(number_at(body, "/served"), 1) << res->body;
  ASSERT_EQ(day2test::size_at(body, "/misses"), 1u) << res->body;
  EXPECT_NE(text_at(body, "/misses/0").find("/v3/projects/p/alerts"), std::string::npos) << res->body;
  EXPECT_EQ(day2test::json_at(body, "/unused"), "[2,3]") << res->body;
  EXPECT_EQ(day2test::json_at(body, "/warnings"), "[]") << res->body;
}

TEST_F(ReplayServer, AdminHealthIsOk) {
  auto res = client()->Get("/__day2/health");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"ok":true})");
}

TEST_F(ReplayServer, UnknownAdminEndpointIs404AndNotAMiss) {
  auto res = client()->Get("/__day2/reprot");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 404);
  EXPECT_NE(res->body.find("GET /__day2/report"), std::string::npos) << res->body;
  EXPECT_TRUE(m_matcher->report().misses.empty());
}

TEST_F(ReplayServer, SixteenKeepAliveClientsOfFiftyRequestsAllSucceed) {
  constexpr int k_clients = 16;
  constexpr int k_requests = 50;
  recorder::Bundle bundle;
  for (int c = 0; c < k_clients; ++c) {
    for (int r = 0; r < k_requests; ++r) {
      int seq = static_cast<int>(bundle.exchanges.size()) + 1;
      bundle.exchanges.push_back(graphql_exchange(seq, "/graphql", "Page", fmt::format(R"({{"c":{},"r":{}}})", c, r),
                                                  fmt::format(R"({{"data":{{"c":{},"r":{}}}}})", c, r)));
    }
  }
  start(std::move(bundle));

  std::atomic<int> ok{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int c = 0; c < k_clients; ++c) {
    threads.emplace_back([&, c] {
      auto cli = client();
      for (int r = 0; r < k_requests; ++r) {
        auto expected = fmt::format(R"({{"data":{{"c":{},"r":{}}}}})", c, r);
        auto res = cli->Post("/graphql", graphql_body("Page", fmt::format(R"({{"c":{},"r":{}}})", c, r)),
                             "application/json");
        if (res && res->status == 200 && res->body == expected) {
          ++ok;
          continue;
        }
        std::lock_guard lock(failures_mutex);
        auto what = res ? fmt::format("{} {}", res->status, res->body) : httplib::to_string(res.error());
        failures.push_back(fmt::format("client {} request {}: {}", c, r, what));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), k_clients * k_requests) << "first failure: " << (failures.empty() ? "" : failures.front());
  auto report = m_matcher->report();
  EXPECT_EQ(report.served, k_clients * k_requests);
  EXPECT_TRUE(report.misses.empty());
  EXPECT_TRUE(report.unused.empty());
}

TEST_F(ReplayServer, StopIsIdempotentAndClosesThePort) {
  m_server->stop();
  m_server->stop();
  EXPECT_EQ(m_server->port(), m_port);
  auto cli = client();
  cli->set_connection_timeout(1s);
  EXPECT_FALSE(cli->Get("/__day2/health"));
  auto again = m_server->start();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, "replay: the server was stopped; a Server serves only once");
}

TEST_F(ReplayServer, BusyPortIsAnErrorNamingHostAndPort) {
  Server second(m_matcher, ServerOptions{"127.0.0.1", m_port});
  auto port = second.start();
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.error().message, fmt::format("cannot listen on 127.0.0.1:{}: Address already in use", m_port));
  second.stop();
}

TEST(ReplayServerLifetime, DestructorStopsAServerNeverStarted) {
  auto matcher = std::make_shared<replay::Matcher>(three_exchange_bundle());
  Server server(matcher, ServerOptions{});
  server.stop();
  EXPECT_EQ(server.port(), 0);
}

}  // namespace
}  // namespace replay
