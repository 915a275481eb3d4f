// The recording proxy over real HTTP on 127.0.0.1: a cpp-httplib upstream in the test process, the
// proxy (on the event-driven server) in front of it, a cpp-httplib client.
#include "recorder/proxy/proxy.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "recorder/bundle.hpp"
#include "recorder/base/json.hpp"
#include "replay/matcher.hpp"
#include "support/json_access.hpp"
#include "support/temp_dir.hpp"

namespace recorder {
namespace {

using day2_test::TempDir;
using day2test::number_at;
using day2test::text_at;

constexpr const char* k_canary = "canary-7f3a9c21e5";

// An upstream API: answers every request from `respond` and keeps what it received.
class FakeUpstream {
 public:
  using Respond = std::function<void(const httplib::Request&, httplib::Response&)>;
  explicit FakeUpstream(Respond respond) : m_respond(std::move(respond)) {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(m_mutex);
        m_requests.push_back(req);
      }
      m_respond(req, res);
    };
    m_server.Get(".*", handler);
    m_server.Post(".*", handler);
    m_server.set_tcp_nodelay(true);
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    while (!m_server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeUpstream() {
    m_server.stop();
    m_thread.join();
  }
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  std::vector<httplib::Request> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }

 private:
  Respond m_respond;
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
  mutable std::mutex m_mutex;
  std::vector<httplib::Request> m_requests;
};

Upstream upstream(const std::string& text) {
  auto parsed = parse_upstream(text);
  if (!parsed) throw std::runtime_error(parsed.error().message);
  return *parsed;
}

// A started proxy in front of `upstreams`.
struct RunningProxy {
  explicit RunningProxy(std::vector<Upstream> upstreams, int max_exchanges = 0)
      : proxy(make_http_transport(), Redactor(), [&] {
          ProxyOptions options;
          options.upstreams = std::move(upstreams);
          options.timeout = std::chrono::milliseconds(5000);
          options.max_exchanges = max_exchanges;
          return options;
        }()) {
    auto port = proxy.start();
    if (!port) throw std::runtime_error(port.error().message);
    client = std::make_unique<httplib::Client>("127.0.0.1", *port);
    client->set_read_timeout(10, 0);
  }
  Bundle bundle() {
    client.reset();
    proxy.stop();
    return proxy.bundle(Manifest{});
  }

  Proxy proxy;
  std::unique_ptr<httplib::Client> client;
};

void answer_json(const httplib::Request&, httplib::Response& res) {
  res.status = 201;
  res.set_header("Retry-After", "3");
  res.set_header("X-Goog-Trace", "abc");
  res.set_header("Set-Cookie", std::string("session=") + k_canary);
  res.set_content(R"({"data":{"version":"1.9.0"}})", "application/json; charset=utf-8");
}

std::string everything_in(const std::filesystem::path& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), {});
    all += '\n';
  }
  return all;
}

TEST(RecordingProxy, ForwardsMethodPathQueryBodyAndHeaders) {
  FakeUpstream api(answer_json);
  RunningProxy proxy({upstream(api.url())});
  auto res = proxy.client->Post("/graphql?a=1&b=x%20y", {{"X-Goog-User-Project", "proj"}},
                                R"({"query":"{ version }"})", "application/json");
  ASSERT_TRUE(res);
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/graphql");
  EXPECT_EQ(seen[0].get_param_value("b"), "x y");
  EXPECT_EQ(seen[0].body, R"({"query":"{ version }"})");
  EXPECT_EQ(seen[0].get_header_value("X-Goog-User-Project"), "proj");
  EXPECT_EQ(seen[0].get_header_value("Content-Type"), "application/json");
}

TEST(RecordingProxy, ReturnsTheResponseUnchanged) {
  FakeUpstream api(answer_json);
  RunningProxy proxy({upstream(api.url())});
  auto res = proxy.client->Get("/graphql");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->body, R"({"data":{"version":"1.9.0"}})");
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(res->get_header_value("Retry-After"), "3");
  EXPECT_EQ(res->get_header_value("Set-Cookie"), std::string("session=") + k_canary);
}

TEST(RecordingProxy, RecordsTheExchange) {
  FakeUpstream api(answer_json);
  RunningProxy proxy({upstream("dagster=" + api.url() + "/prod")});
  ASSERT_TRUE(proxy.client->Post("/graphql?a=1", R"({"query":"{ version }"})", "application/json"));
  auto bundle = proxy.bundle();
  ASSERT_EQ(bundle.exchanges.size(), 1u);
  const auto& x = bundle.exchanges[0];
  EXPECT_EQ(x.seq, 1);
  EXPECT_EQ(x.service, Service::dagster);
  EXPECT_EQ(x.method, "POST");
  EXPECT_EQ(x.path, "/prod/graphql");
  EXPECT_EQ(x.query, "a=1");
  EXPECT_EQ(x.request_body, R"({"query":"{ version }"})");
  EXPECT_EQ(x.status, 201);
  EXPECT_EQ(x.response_body, R"({"data":{"version":"1.9.0"}})");
  EXPECT_EQ(x.response_headers,
            (Headers{{"Content-Type", "application/json; charset=utf-8"}, {"Retry-After", "3"},
                     {"X-Goog-Trace", "abc"}}));
  ASSERT_EQ(bundle.manifest.endpoints.size(), 1u);
  EXPECT_EQ(bundle.manifest.endpoints[0].alias, "dagster");
  EXPECT_EQ(bundle.manifest.endpoints[0].origin, api.url());
}

TEST(RecordingProxy, SecretHeadersAreForwardedButNeverWritten) {
  FakeUpstream api(answer_json);
  RunningProxy proxy({upstream(api.url())});
  auto bearer = std::string("Bearer ") + k_canary;
  ASSERT_TRUE(proxy.client->Post("/graphql",
                                 {{"Authorization", bearer},
                                  {"Dagster-Cloud-Api-Token", k_canary},
                                  {"Dagster-Cloud-Deployment", "prod"},
                                  {"Cookie", std::string("s=") + k_canary}},
                                 R"({"query":"{ version }"})", "application/json"));
  auto seen = api.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].get_header_value("Authorization"), bearer);
  EXPECT_EQ(seen[0].get_header_value("Dagster-Cloud-Api-Token"), k_canary);
  EXPECT_EQ(seen[0].get_header_value("Cookie"), std::string("s=") + k_canary);
  TempDir dir("day2-proxy");
  auto out = dir.path() / "bundle";
  ASSERT_TRUE(write_bundle(out, proxy.bundle()).ok());
  auto all = everything_in(out);
  EXPECT_NE(all.find("dagster-cloud-deployment"), std::string::npos) << all;  // routing headers are kept
  EXPECT_EQ(all.find(k_canary), std::string::npos) << all;
}

TEST(RecordingProxy, UnreachableUpstreamGives502NamingItAndKeepsServing) {
  FakeUpstream logging(answer_json);
  RunningProxy proxy({upstream("dagster=http://127.0.0.1:1"), upstream("logging=" + logging.url())});
  auto failed = proxy.client->Post("/graphql", R"({"query":"{ version }"})", "application/json");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 502);
  EXPECT_EQ(failed->get_header_value("Content-Type"), "application/json");
  auto body = parse_json(failed->body, "502 body");
  ASSERT_TRUE(body.ok()) << failed->body;
  EXPECT_EQ(number_at(*body, "/error/code"), 502);
  EXPECT_EQ(text_at(*body, "/error/upstream"), "dagster");
  EXPECT_NE(text_at(*body, "/error/message").find("upstream dagster (http://127.0.0.1:1)"), std::string::npos)
      << failed->body;

  auto served = proxy.client->Get("/logging/v2/entries?pageSize=5");
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 201);
  ASSERT_EQ(logging.requests().size(), 1u);
  EXPECT_EQ(logging.requests()[0].target, "/v2/entries?pageSize=5");
  auto bundle = proxy.bundle();
  ASSERT_EQ(bundle.exchanges.size(), 1u);  // the failure has no response to replay
  EXPECT_EQ(bundle.exchanges[0].service, Service::logging);
  EXPECT_EQ(bundle.exchanges[0].path, "/v2/entries");
}

TEST(RecordingProxy, MaxExchangesStopsForwarding) {
  FakeUpstream api(answer_json);
  RunningProxy proxy({upstream(api.url())}, 1);
  EXPECT_FALSE(proxy.proxy.done());
  ASSERT_TRUE(proxy.client->Get("/graphql"));
  EXPECT_TRUE(proxy.proxy.done());
  auto refused = proxy.client->Get("/graphql");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(api.requests().size(), 1u);
  EXPECT_EQ(proxy.bundle().exchanges.size(), 1u);
}

// An upstream whose answers wait until release(): upstream calls that block for as long as the test wants.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [this] { return m_open; });
  }
  void release() {
    std::lock_guard lock(m_mutex);
    m_open = true;
    m_changed.notify_all();
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  bool m_open = false;
};

void wait_for_requests(const FakeUpstream& upstream, std::size_t count) {
  for (int i = 0; i < 5000 && upstream.requests().size() < count; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_GE(upstream.requests().size(), count) << "the upstream never got the requests";
}

// Upstream calls block on the worker pool, not on the server's two event loops: with four of them
// waiting, the proxy still answers what it answers itself.
TEST(RecordingProxy, BlockedUpstreamCallsLeaveTheEventLoopsFree) {
  Gate gate;
  FakeUpstream api([&](const httplib::Request& req, httplib::Response& res) {
    gate.wait();
    answer_json(req, res);
  });
  RunningProxy proxy({upstream(api.url())});
  auto port = proxy.proxy.port();
  std::vector<std::future<int>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::async(std::launch::async, [port] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(10, 0);
      auto res = client.Get("/graphql");
      return res ? res->status : -1;
    }));
  }
  wait_for_requests(api, 4);
  httplib::Client other("127.0.0.1", port);
  other.set_read_timeout(5, 0);
  auto refused = other.send([] {
    httplib::Request req;
    req.method = "PROPFIND";
    req.path = "/graphql";
    return req;
  }());
  ASSERT_TRUE(refused) << "no answer while four upstream calls were blocked";
  EXPECT_EQ(refused->status, 405);
  EXPECT_NE(refused->body.find("the method PROPFIND is not supported"), std::string::npos) << refused->body;
  gate.release();
  for (auto& status : slow) EXPECT_EQ(status.get(), 201);
  EXPECT_EQ(proxy.bundle().exchanges.size(), 4u);
}

// stop() waits for the upstream calls in flight, so their exchanges are in the bundle.
TEST(RecordingProxy, StopWaitsForTheExchangesInFlight) {
  Gate gate;
  FakeUpstream api([&](const httplib::Request& req, httplib::Response& res) {
    gate.wait();
    answer_json(req, res);
  });
  RunningProxy proxy({upstream(api.url())});
  auto port = proxy.proxy.port();
  auto in_flight = std::async(std::launch::async, [port] {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10, 0);
    return client.Get("/graphql?late=1") ? 1 : 0;
  });
  wait_for_requests(api, 1);
  auto stopped = std::async(std::launch::async, [&] { proxy.proxy.stop(); });
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "stop() returned while an upstream call was in flight";
  gate.release();
  stopped.get();
  in_flight.get();
  auto bundle = proxy.proxy.bundle(Manifest{});
  ASSERT_EQ(bundle.exchanges.size(), 1u);
  EXPECT_EQ(bundle.exchanges[0].path, "/graphql");
}

// An upstream that answers GraphQL by operation and REST by path, so each request has its own answer.
void answer_by_request(const httplib::Request& req, httplib::Response& res) {
  if (req.method == "POST") {
    auto doc = parse_json(req.body, "request");
    auto name = doc ? text_at(*doc, "/operationName") : "?";
    res.set_content(R"({"data":{"op":")" + name + R"("}})", "application/json");
    return;
  }
  res.status = req.path == "/missing" ? 404 : 200;
  res.set_content(R"({"path":")" + req.path + R"(","page":")" + req.get_param_value("pageToken") + R"("})",
                  "application/json");
}

std::string canonical(const std::string& json) {
  auto doc = parse_json(json, "body");
  return doc ? write_json(*doc) : "<not JSON: " + json + ">";
}

TEST(RecordingProxy, RecordedBundleReplaysToTheSameResponses) {
  FakeUpstream api(answer_by_request);
  RunningProxy proxy({upstream(api.url())});
  struct Sent {
    std::string method, target, body;
    int status;
    std::string response;
  };
  std::vector<Sent> sent = {
      {"POST", "/graphql", R"({"operationName":"Runs","query":"query Runs { runs }","variables":{"limit":5}})", 0, ""},
      {"POST", "/graphql", R"({"operationName":"Version","query":"query Version { version }","variables":{}})", 0, ""},
      {"GET", "/v2/entries?pageToken=p2&filter=a%3Db", "", 0, ""},
      {"GET", "/missing", "", 0, ""},
  };
  for (auto& s : sent) {
    auto res = s.method == "POST" ? proxy.client->Post(s.target, s.body, "application/json")
                                  : proxy.client->Get(s.target);
    ASSERT_TRUE(res) << s.target;
    s.status = res->status;
    s.response = res->body;
  }
  TempDir dir("day2-proxy");
  auto out = dir.path() / "bundle";
  ASSERT_TRUE(write_bundle(out, proxy.bundle()).ok());
  auto bundle = read_bundle(out);
  ASSERT_TRUE(bundle.ok()) << bundle.error().message;
  replay::Matcher matcher(std::move(*bundle));
  for (const auto& s : sent) {
    HttpRequest request;
    request.service = Service::dagster;
    request.method = s.method;
    request.url = "http://127.0.0.1:9" + s.target;
    if (!s.body.empty()) request.headers = {{"Content-Type", "application/json"}};
    request.body = s.body;
    auto replayed = matcher.answer(request);
    EXPECT_EQ(replayed.status, s.status) << s.target;
    EXPECT_EQ(canonical(replayed.body), canonical(s.response)) << s.target;  // bundles keep JSON keys sorted
  }
  auto report = matcher.report();
  EXPECT_TRUE(report.misses.empty());
  EXPECT_TRUE(report.unused.empty());
}

TEST(ProxyRoute, FirstUpstreamTakesEveryOtherPath) {
  std::vector<Upstream> upstreams = {upstream("dagster=http://d:3000/prod/"), upstream("logging=http://l:1")};
  auto dagster = route_request(upstreams, "/graphql");
  EXPECT_EQ(dagster.upstream, 0u);
  EXPECT_EQ(dagster.forwarded_path, "/prod/graphql");
  auto logging = route_request(upstreams, "/logging/v2/entries:list");
  EXPECT_EQ(logging.upstream, 1u);
  EXPECT_EQ(logging.forwarded_path, "/v2/entries:list");
  EXPECT_EQ(route_request(upstreams, "/logging").forwarded_path, "/");
  EXPECT_EQ(route_request(upstreams, "/loggingx/a").upstream, 0u);
  EXPECT_EQ(route_request(upstreams, "/dagster/graphql").forwarded_path, "/prod/dagster/graphql");
}

TEST(ParseUpstream, GuessesTheServiceFromTheHost) {
  EXPECT_EQ(upstream("https://logging.googleapis.com").service, Service::logging);
  EXPECT_EQ(upstream("https://logging.googleapis.com").alias, "logging");
  EXPECT_EQ(upstream("http://169.254.169.254").service, Service::metadata);
  EXPECT_EQ(upstream("http://127.0.0.1:3000").service, Service::dagster);
  EXPECT_EQ(upstream("dagster-2=http://127.0.0.1:3001").service, Service::dagster);
  EXPECT_EQ(upstream("dagster-2=http://127.0.0.1:3001").alias, "dagster-2");
}

TEST(ParseUpstream, RejectsUnknownNamesAndQueries) {
  auto unknown = parse_upstream("dagstr=http://127.0.0.1:3000");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message,
            "\"dagstr\" is not a service name (one of dagster, logging, monitoring, error_reporting, container, oauth, "
            "metadata, other, optionally with -2, -3, ...)");
  auto query = parse_upstream("http://127.0.0.1:3000/graphql?x=1");
  ASSERT_FALSE(query.ok());
  EXPECT_EQ(query.error().message, "\"http://127.0.0.1:3000/graphql?x=1\": an upstream URL has no query");
  EXPECT_FALSE(parse_upstream("dagster=ftp://x").ok());
  EXPECT_FALSE(parse_upstream("dagster-0=http://x").ok());
}

}  // namespace
}  // namespace recorder
