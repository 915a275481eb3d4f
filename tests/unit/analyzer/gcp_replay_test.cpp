// The Google Cloud clients over real HTTP against the replay server (127.0.0.1, any port), serving a
// bundle built here: lists of several pages, an empty page with a token among them, and an error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "analyzer/collect/collect.hpp"
#include "analyzer/clients/gcp_client.hpp"
#include "recorder/bundle.hpp"
#include "replay/matcher.hpp"
#include "replay/server.hpp"
#include "support/captured_dagster.hpp"
#include "support/gcp_fake.hpp"
#include "support/json_access.hpp"

namespace analyzer {
namespace {

using day2test::gcp_data;
using recorder::Exchange;
using recorder::Service;

Exchange exchange(int seq, Service service, std::string method, std::string path, std::string query, std::string body,
                  std::string response, int status = 200) {
  Exchange out;
  out.seq = seq;
  out.service = service;
  out.method = std::move(method);
  out.path = std::move(path);
  out.query = std::move(query);
  if (!body.empty()) out.request_headers = {{"content-type", "application/json"}};
  out.request_body = std::move(body);
  out.status = status;
  out.response_headers = {{"content-type", "application/json; charset=UTF-8"}};
  out.response_body = std::move(response);
  return out;
}

std::string entries_request(const std::string& token) {
  std::string body = R"j({"filter":"log_id(\"events\")","orderBy":"timestamp asc","pageSize":1000,)j";
  if (!token.empty()) body += R"("pageToken":")" + token + R"(",)";
  return body + R"("resourceNames":["projects/my-proj"]})";
}

recorder::Bundle google_bundle() {
  recorder::Bundle bundle;
  int seq = 0;
  auto add = [&](Exchange e) { bundle.exchanges.push_back(std::move(e)); };
  add(exchange(++seq, Service::logging, "POST", "/v2/entries:list", "", entries_request(""), gcp_data("pod_events.page1")));
  add(exchange(++seq, Service::logging, "POST", "/v2/entries:list", "", entries_request("pods-2"), gcp_data("pod_events.page2")));
  add(exchange(++seq, Service::logging, "POST", "/v2/entries:list", "", entries_request("pods-3"), gcp_data("pod_events.page3")));
  const std::string stats = "/v1beta1/projects/my-proj/groupStats";
  const std::string query = "timeRange.period=PERIOD_1_DAY&order=LAST_SEEN_DESC";
  add(exchange(++seq, Service::error_reporting, "GET", stats, query, "", gcp_data("group_stats.page1")));
  add(exchange(++seq, Service::error_reporting, "GET", stats, query + "&pageToken=gs-2", "", gcp_data("group_stats.page2")));
  add(exchange(++seq, Service::error_reporting, "GET", stats, query + "&pageToken=gs-3", "", gcp_data("group_stats.page3")));
  add(exchange(++seq, Service::monitoring, "GET", "/v3/projects/my-proj/alerts", "pageSize=1000", "",
               R"({"error": {"code": 403, "message": "Permission monitoring.alerts.list denied on resource 'projects/my-proj'", "status": "PERMISSION_DENIED"}})",
               403));
  bundle.manifest.exchange_count = static_cast<int>(bundle.exchanges.size());
  return bundle;
}

class GcpReplay : public ::testing::Test {
 protected:
  void SetUp() override {
    m_matcher = std::make_shared<replay::Matcher>(google_bundle());
    m_server = std::make_unique<replay::Server>(m_matcher, replay::ServerOptions{"127.0.0.1", 0});
    auto port = m_server->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    m_client = std::make_unique<GcpClient>(std::shared_ptr<recorder::Transport>(recorder::make_http_transport()),
                                           GcpEndpoints::all("http://127.0.0.1:" + std::to_string(*port)),
                                           std::chrono::milliseconds(5000));
  }
  void TearDown() override {
    m_client.reset();  // closes the keep-alive connections, so that stop() need not wait them out
    if (m_server) m_server->stop();
  }

  std::shared_ptr<replay::Matcher> m_matcher;
  std::unique_ptr<replay::Server> m_server;
  std::unique_ptr<GcpClient> m_client;
};

TEST_F(GcpReplay, LogEntriesArePagedToTheEndOverHttp) {
  auto entries = m_client->list_log_entries("my-proj", "log_id(\"events\")");
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_EQ(entries->Size(), 4u);
  auto report = m_matcher->report();
  EXPECT_EQ(report.served, 3);
  EXPECT_TRUE(report.misses.empty()) << report.misses.front();
}

TEST_F(GcpReplay, GroupStatsArePagedToTheEndOverHttp) {
  auto groups = m_client->list_group_stats("my-proj", {{"timeRange.period", "PERIOD_1_DAY"}, {"order", "LAST_SEEN_DESC"}});
  ASSERT_TRUE(groups.ok()) << groups.error().message;
  ASSERT_EQ(groups->Size(), 5u);
  EXPECT_EQ(recorder::get_string((*groups)[4], "count"), "2");  // int64 stays a string
  EXPECT_TRUE(m_matcher->report().misses.empty());
}

TEST_F(GcpReplay, ARefusalIsAnErrorNamingTheMethodAndStatus) {
  auto alerts = m_client->list_alerts("my-proj");
  ASSERT_FALSE(alerts.ok());
  EXPECT_EQ(alerts.error().message,
            "monitoring projects.alerts.list: HTTP 403 PERMISSION_DENIED: Permission monitoring.alerts.list denied on "
            "resource 'projects/my-proj'");
}

TEST_F(GcpReplay, AnUnrecordedRequestIsAnErrorNotACrash) {
  auto series = m_client->list_time_series("my-proj", {{"filter", "metric.type=\"x\""}});
  ASSERT_FALSE(series.ok());
  EXPECT_THAT(series.error().message, testing::StartsWith("monitoring projects.timeSeries.list: HTTP 404 NOT_FOUND: "));
}

// Records what the inner transport answered, to become a bundle.
class Tee : public recorder::Transport {
 public:
  explicit Tee(std::shared_ptr<recorder::Transport> inner) : m_inner(std::move(inner)) {}
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override {
    auto response = m_inner->send(request);
    std::lock_guard lock(m_mutex);
    auto url = recorder::parse_url(request.url);
    if (response && url) {
      m_bundle.exchanges.push_back(exchange(static_cast<int>(m_bundle.exchanges.size()) + 1, request.service, request.method,
                                            url->path, url->query, request.body, response->body, response->status));
    }
    return response;
  }
  recorder::Bundle bundle() {
    std::lock_guard lock(m_mutex);
    m_bundle.manifest.exchange_count = static_cast<int>(m_bundle.exchanges.size());
    return m_bundle;
  }

 private:
  std::shared_ptr<recorder::Transport> m_inner;
  std::mutex m_mutex;
  recorder::Bundle m_bundle;
};

rapidjson::Document collect_with(std::shared_ptr<recorder::Transport> google, const std::string& root) {
  Config config;
  config.retries = 0;
  config.gcp.project = "my-proj";
  config.gcp.cluster = "prod";
  config.gcp.location = "us-central1";
  auto dagster = std::make_shared<day2test::FakeTransport>();
  day2test::answer_captured(*dagster);
  DagsterClient client(dagster, config.dagster, "", std::chrono::milliseconds(2000));
  CollectRequest request{config, day2test::captured_window()};
  request.google = std::move(google);
  request.google_api_root = root;
  request.now = *recorder::parse_rfc3339("2026-11-22T05:30:00Z");
  return collect(client, request);
}

// Every Google step, collected over HTTP from the replay server, equals the in-process collection
// whose exchanges the bundle holds: the clients page, parse and fail the same way over the wire.
TEST(GcpReplayCollect, EveryGoogleStepComesOutTheSameOverHttp) {
  auto tee = std::make_shared<Tee>(day2test::gcp_fixture());
  auto direct = collect_with(tee, "http://127.0.0.1:9");
  auto matcher = std::make_shared<replay::Matcher>(tee->bundle());
  replay::Server server(matcher, replay::ServerOptions{"127.0.0.1", 0});
  auto port = server.start();
  ASSERT_TRUE(port.ok()) << port.error().message;
  rapidjson::Document served;
  {
    std::shared_ptr<recorder::Transport> http = recorder::make_http_transport();
    served = collect_with(http, "http://127.0.0.1:" + std::to_string(*port));
  }
  server.stop();
  for (const char* key : {"/step_08_agent_pod_churn", "/step_10_gke_events", "/step_11_alerts", "/step_12_error_groups",
                          "/step_13_oom_metrics"}) {
    EXPECT_EQ(day2test::json_at(served, key), day2test::json_at(direct, key)) << key;
    EXPECT_EQ(day2test::find_at(served, std::string(key) + "/error"), nullptr) << day2test::json_at(served, key);
  }
  auto report = matcher->report();
  EXPECT_TRUE(report.misses.empty()) << report.misses.front();
  EXPECT_TRUE(report.unused.empty());
  EXPECT_GE(report.served, 20);
}

}  // namespace
}  // namespace analyzer
