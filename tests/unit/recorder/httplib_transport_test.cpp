// The real transport against an in-process cpp-httplib server on 127.0.0.1 (port chosen by the OS).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "recorder/transport.hpp"
#include "support/ports.hpp"

namespace recorder {
namespace {

using namespace std::chrono_literals;
using day2test::closed_port;

class HttpTransport : public ::testing::Test {
 protected:
  void SetUp() override {
    m_server.set_keep_alive_timeout(1);
    m_server.Post("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(m_mutex);
        m_received = req;
      }
      res.status = 201;
      res.set_header("X-Reply", "yes");
      res.set_content("echo:" + req.body, "text/plain");
    });
    m_server.Get("/status", [](const httplib::Request& req, httplib::Response& res) {
      res.status = std::stoi(req.get_param_value("code"));
      res.set_content("status " + req.get_param_value("code"), "text/plain");
    });
    m_server.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock lock(m_mutex);
      m_release.wait_for(lock, 10s, [this] { return m_released; });
      res.set_content("late", "text/plain");
    });
    ASSERT_TRUE(start(m_server, "127.0.0.1", m_port, m_thread)) << "cannot bind 127.0.0.1";
  }

  void TearDown() override {
    m_transport.reset();  // closes keep-alive connections so server workers finish
    {
      std::lock_guard lock(m_mutex);
      m_released = true;
    }
    m_release.notify_all();
    m_server.stop();
    if (m_thread.joinable()) m_thread.join();
  }

  // Binds `server` to `host` on a free port and serves it on `thread`; false when binding fails.
  static bool start(httplib::Server& server, const char* host, int& port, std::thread& thread) {
    port = server.bind_to_any_port(host);
    if (port <= 0) return false;
    thread = std::thread([&server] { server.listen_after_bind(); });
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!server.is_running() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(server.is_running()) << "server on " << host << " did not start";
    return true;
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(m_port) + path; }

  httplib::Request received() {
    std::lock_guard lock(m_mutex);
    return m_received;
  }

  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
  std::mutex m_mutex;
  std::condition_variable m_release;
  bool m_released = false;
  httplib::Request m_received;
  std::unique_ptr<Transport> m_transport = make_http_transport();
};

TEST_F(HttpTransport, PostBodyAndHeadersArrive) {
  HttpRequest request;
  request.method = "POST";
  request.url = url("/echo");
  request.headers = {{"Content-Type", "application/json"}, {"X-Day2", "probe"}};
  request.body = R"({"query": "{ version }"})";
  auto response = m_transport->send(request);
  ASSERT_TRUE(response) << response.error().message;
  auto seen = received();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.path, "/echo");
  EXPECT_EQ(seen.body, R"({"query": "{ version }"})");
  EXPECT_EQ(seen.get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(seen.get_header_value("X-Day2"), "probe");
}

TEST_F(HttpTransport, QueryStringArrives) {
  HttpRequest request;
  request.url = url("/status?code=202");
  auto response = m_transport->send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 202);
  EXPECT_EQ(response->body, "status 202");
}

TEST_F(HttpTransport, ResponseStatusHeadersAndBodyComeBack) {
  HttpRequest request;
  request.method = "POST";
  request.url = url("/echo");
  request.body = "hello";
  auto response = m_transport->send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "echo:hello");
  EXPECT_EQ(find_header(response->headers, "x-reply"), "yes");
  EXPECT_EQ(find_header(response->headers, "Content-Type"), "text/plain");
}

TEST_F(HttpTransport, ErrorStatusIsAResponseNotAnError) {
  HttpRequest request;
  request.url = url("/status?code=503");
  auto response = m_transport->send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, "status 503");
}

TEST_F(HttpTransport, UnknownPathIs404) {
  HttpRequest request;
  request.url = url("/nothing-here");
  auto response = m_transport->send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 404);
}

TEST_F(HttpTransport, ConnectionRefusedNamesMethodAndUrl) {
  int port = closed_port();
  HttpRequest request;
  request.method = "POST";
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/graphql";
  request.timeout = 2s;
  auto response = m_transport->send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().message,
            "POST http://127.0.0.1:" + std::to_string(port) + "/graphql failed: connection refused or unreachable");
}

TEST_F(HttpTransport, ErrorsDoNotRepeatTheQueryString) {
  int port = closed_port();
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/x?token=secret";
  auto response = m_transport->send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().message.find("secret"), std::string::npos) << response.error().message;
  EXPECT_NE(response.error().message.find("GET http://127.0.0.1:"), std::string::npos) << response.error().message;
}

TEST_F(HttpTransport, InvalidUrlIsAnError) {
  HttpRequest request;
  request.url = "ftp://127.0.0.1/x";
  auto response = m_transport->send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().message, "\"ftp://127.0.0.1/x\": scheme \"ftp\" is not http or https");
}

TEST_F(HttpTransport, SlowServerTimesOutWithinBoundedTime) {
  HttpRequest request;
  request.url = url("/slow");
  request.timeout = 300ms;
  auto started = std::chrono::steady_clock::now();
  auto response = m_transport->send(request);
  auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(response) << "got status " << response->status;
  EXPECT_EQ(response.error().message, "GET " + url("/slow") + " failed: timed out after 300 ms");
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 3s);
}

TEST_F(HttpTransport, WorksAgainAfterATimeout) {
  HttpRequest slow;
  slow.url = url("/slow");
  slow.timeout = 200ms;
  ASSERT_FALSE(m_transport->send(slow));
  HttpRequest request;
  request.url = url("/status?code=200");
  auto response = m_transport->send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpTransport, ManySequentialRequestsOutliveTheServersKeepAliveLimit) {
  // The server closes a keep-alive connection after 5 requests; the pooled client must reconnect.
  for (int i = 0; i < 12; ++i) {
    HttpRequest request;
    request.url = url("/status?code=200");
    auto response = m_transport->send(request);
    ASSERT_TRUE(response) << "request " << i << ": " << response.error().message;
    EXPECT_EQ(response->status, 200);
  }
}

TEST_F(HttpTransport, IdleConnectionClosedByTheServerIsReplaced) {
  HttpRequest request;
  request.url = url("/status?code=200");
  ASSERT_TRUE(m_transport->send(request));
  std::this_thread::sleep_for(1500ms);  // past the server's 1 s keep-alive timeout
  auto response = m_transport->send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpTransport, ConcurrentSendsFromEightThreadsAllSucceed) {
  constexpr int k_threads = 8;
  constexpr int k_requests = 20;
  std::atomic<int> successes{0};
  std::vector<std::string> failures(k_threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < k_requests; ++i) {
        HttpRequest request;
        request.method = "POST";
        request.url = url("/echo");
        request.timeout = 5s;
        request.body = std::to_string(t) + "-" + std::to_string(i);
        auto response = m_transport->send(request);
        if (response && response->status == 201 && response->body == "echo:" + request.body) {
          ++successes;
        } else if (failures[static_cast<std::size_t>(t)].empty()) {
          failures[static_cast<std::size_t>(t)] = response ? "status " + std::to_string(response->status) + " body " +
                                                                 response->body
                                                           : response.error().message;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(successes.load(), k_threads * k_requests);
  for (int t = 0; t < k_threads; ++t) EXPECT_EQ(failures[static_cast<std::size_t>(t)], "") << "thread " << t;
}

TEST(HttpTransportIpv6, ReachesAServerOnIpv6Loopback) {
  httplib::Server server;
  server.Get("/v", [](const httplib::Request&, httplib::Response& res) { res.set_content("six", "text/plain"); });
  int port = server.bind_to_any_port("::1");
  if (port <= 0) GTEST_SKIP() << "no IPv6 loopback here";
  std::thread thread([&server] { server.listen_after_bind(); });
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!server.is_running() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  {
    auto transport = make_http_transport();
    HttpRequest request;
    request.url = "http://[::1]:" + std::to_string(port) + "/v";
    request.timeout = 2s;
    auto response = transport->send(request);
    EXPECT_TRUE(response) << response.error().message;
    if (response) {
      EXPECT_EQ(response->body, "six");
    }
  }
  server.stop();
  thread.join();
}

}  // namespace
}  // namespace recorder
