// The replay server's event-driven serving: a latency fault waits on a timer, so delayed requests
// (more of them than the server has threads) hold up neither each other nor other connections; idle
// keep-alive clients do not delay stop(); a handler that throws is a 500 and the server keeps serving.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "replay/fault.hpp"
#include "recorder/base/json.hpp"
#include "replay/server.hpp"
#include "support/json_access.hpp"
#include "unit/replay/raw_http.hpp"

namespace replay {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using day2test::RawConnection;

std::string graphql_body(const std::string& operation) {
  return fmt::format(R"({{"operationName":"{0}","query":"query {0} {{ version }}"}})", operation);
}

recorder::Bundle two_operation_bundle() {
  recorder::Bundle bundle;
  for (std::string operation : {"Slow", "Fast"}) {
    recorder::Exchange exchange;
    exchange.seq = static_cast<int>(bundle.exchanges.size()) + 1;
    exchange.service = recorder::Service::dagster;
    exchange.method = "POST";
    exchange.path = "/graphql";
    exchange.request_body = graphql_body(operation);
    exchange.status = 200;
    exchange.response_headers = {{"content-type", "application/json"}};
    exchange.response_body = fmt::format(R"({{"data":{{"op":"{}"}}}})", operation);
    bundle.exchanges.push_back(exchange);
  }
  bundle.manifest.exchange_count = 2;
  return bundle;
}

std::string post(const std::string& operation) {
  auto body = graphql_body(operation);
  return fmt::format("POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{}", body.size(), body);
}

std::unique_ptr<Server> start_server(ServerOptions options, int& port) {
  auto matcher = std::make_shared<replay::Matcher>(two_operation_bundle(), replay::Repeat::last);
  auto server = std::make_unique<Server>(matcher, std::move(options));
  auto started = server->start();
  EXPECT_TRUE(started.ok()) << started.error().message;
  port = started.ok() ? *started : 0;
  return server;
}

ServerOptions with_fault(const std::string& spec) {
  auto fault = replay::parse_fault_spec(spec);
  EXPECT_TRUE(fault.ok()) << spec;
  ServerOptions options;
  options.faults = std::make_shared<replay::FaultInjector>(std::vector<replay::Fault>{*fault});
  return options;
}

// Sends `operation` on a new connection and returns how long the answer took; -1 ms without one.
std::chrono::milliseconds timed_post(int port, const std::string& operation, std::string& body) {
  auto begin = Clock::now();
  RawConnection connection(port);
  if (!connection.send(post(operation))) return -1ms;
  auto response = connection.read_response();
  if (!response) return -1ms;
  body = response->body;
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin);
}

TEST(ReplayConcurrency, LatencyFaultDoesNotHoldUpAnotherConnection) {
  int port = 0;
  auto server = start_server(with_fault("dagster:Slow=latency:500"), port);
  std::string slow_body;
  std::string fast_body;
  auto slow = std::async(std::launch::async, [&] { return timed_post(port, "Slow", slow_body); });
  std::this_thread::sleep_for(50ms);  // the slow request is waiting on the server
  auto fast = timed_post(port, "Fast", fast_body);
  EXPECT_EQ(fast_body, R"({"data":{"op":"Fast"}})");
  EXPECT_GE(fast, 0ms);
  EXPECT_LT(fast, 250ms);
  auto slow_took = slow.get();
  EXPECT_EQ(slow_body, R"({"data":{"op":"Slow"}})");
  EXPECT_GE(slow_took, 500ms);
  EXPECT_LT(slow_took, 2s);
}

// One event loop (`--threads 1`) still serves a fast request while a slow one waits on its timer.
TEST(ReplayConcurrency, OneEventLoopServesAFastRequestDuringALatencyFault) {
  int port = 0;
  auto options = with_fault("dagster:Slow=latency:500");
  options.threads = 1;
  auto server = start_server(options, port);
  std::string slow_body;
  std::string fast_body;
  auto slow = std::async(std::launch::async, [&] { return timed_post(port, "Slow", slow_body); });
  std::this_thread::sleep_for(50ms);
  auto fast = timed_post(port, "Fast", fast_body);
  EXPECT_EQ(fast_body, R"({"data":{"op":"Fast"}})");
  EXPECT_GE(fast, 0ms);
  EXPECT_LT(fast, 250ms);
  EXPECT_GE(slow.get(), 500ms);
  EXPECT_EQ(slow_body, R"({"data":{"op":"Slow"}})");
}

// If each delayed request held a server thread, 32 delays of 400 ms on the server's event loops (here
// a single one) would take over 12 s; on timers they overlap.
TEST(ReplayConcurrency, ManyDelayedRequestsWaitTogether) {
  int port = 0;
  auto options = with_fault("dagster:Slow=latency:400");
  options.threads = 1;
  auto server = start_server(options, port);
  constexpr int k_requests = 32;
  std::vector<std::string> bodies(k_requests);
  std::vector<std::future<std::chrono::milliseconds>> waits;
  auto begin = Clock::now();
  for (int i = 0; i < k_requests; ++i) {
    waits.push_back(std::async(std::launch::async, [&, i] { return timed_post(port, "Slow", bodies[i]); }));
  }
  for (int i = 0; i < k_requests; ++i) {
    EXPECT_GE(waits[i].get(), 400ms) << "request " << i;
    EXPECT_EQ(bodies[i], R"({"data":{"op":"Slow"}})") << "request " << i;
  }
  EXPECT_LT(Clock::now() - begin, 1500ms);
}

TEST(ReplayConcurrency, InjectedSleepIsCalledInsteadOfATimer) {
  std::vector<std::chrono::milliseconds> slept;
  auto options = with_fault("dagster:Slow=latency:60000");
  options.sleep = [&slept](std::chrono::milliseconds delay) { slept.push_back(delay); };
  int port = 0;
  auto server = start_server(options, port);
  std::string body;
  auto took = timed_post(port, "Slow", body);
  EXPECT_EQ(body, R"({"data":{"op":"Slow"}})");
  EXPECT_GE(took, 0ms);
  EXPECT_LT(took, 5s);
  server->stop();
  EXPECT_EQ(slept, std::vector<std::chrono::milliseconds>{60000ms});
}

TEST(ReplayConcurrency, IdleKeepAliveClientsDoNotDelayStop) {
  int port = 0;
  auto server = start_server(ServerOptions{}, port);
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<RawConnection>(port));
    ASSERT_TRUE(idle.back()->send(post("Fast")));
    ASSERT_TRUE(idle.back()->read_response()) << "client " << i;
  }
  auto begin = Clock::now();
  server->stop();
  EXPECT_LT(Clock::now() - begin, 1s);
  for (auto& connection : idle) EXPECT_TRUE(connection->closed_by_peer());
}

TEST(ReplayConcurrency, StopDuringALatencyFaultReturnsPromptly) {
  int port = 0;
  auto server = start_server(with_fault("dagster:Slow=latency:30000"), port);
  RawConnection waiting(port);
  ASSERT_TRUE(waiting.send(post("Slow")));
  std::this_thread::sleep_for(100ms);
  auto begin = Clock::now();
  server->stop();
  EXPECT_LT(Clock::now() - begin, 1s);
  EXPECT_FALSE(waiting.read_response());
}

TEST(ReplayConcurrency, HandlerExceptionIs500AndTheServerKeepsServing) {
  auto options = with_fault("dagster:Slow=latency:10");
  options.sleep = [](std::chrono::milliseconds) { throw std::runtime_error("the test clock broke"); };
  int port = 0;
  auto server = start_server(options, port);
  RawConnection connection(port);
  ASSERT_TRUE(connection.send(post("Slow")));
  auto failed = connection.read_response();
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 500);
  auto parsed = recorder::parse_json(failed->body, "response");
  ASSERT_TRUE(parsed.ok()) << failed->body;
  EXPECT_EQ(day2test::text_at(*parsed, "/errors/0/message"), "replay: internal error: the test clock broke");
  ASSERT_TRUE(connection.send(post("Fast")));
  auto next = connection.read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, R"({"data":{"op":"Fast"}})");
}

}  // namespace
}  // namespace replay
