// The replay server's HTTP handling over raw loopback connections: pipelining, HTTP/1.0, chunked and
// 100-continue request bodies, and requests refused before routing (malformed HTTP, an unsupported
// method, an oversized body), each answered in the API's JSON shape while the server keeps serving.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recorder/base/json.hpp"
#include "replay/server.hpp"
#include "support/json_access.hpp"
#include "unit/replay/raw_http.hpp"

namespace replay {
namespace {

using day2test::RawConnection;
using day2test::RawResponse;
using day2test::text_at;

constexpr const char* k_version_request = R"({"operationName":"Version","query":"query Version { version }"})";
constexpr const char* k_version_response = R"({"data":{"version":"1.9.0"}})";

recorder::Bundle version_bundle() {
  recorder::Bundle bundle;
  recorder::Exchange exchange;
  exchange.seq = 1;
  exchange.service = recorder::Service::dagster;
  exchange.method = "POST";
  exchange.path = "/graphql";
  exchange.request_headers = {{"content-type", "application/json"}};
  exchange.request_body = k_version_request;
  exchange.status = 200;
  // Framing headers as a recording may hold them: the server computes its own.
  exchange.response_headers = {{"content-type", "application/json"},
                               {"content-length", "999"},
                               {"transfer-encoding", "chunked"},
                               {"x-dagster-call-counts", "{}"}};
  exchange.response_body = k_version_response;
  bundle.exchanges.push_back(exchange);
  recorder::Exchange odd_status = exchange;
  odd_status.seq = 2;
  odd_status.request_body = R"({"operationName":"Odd","query":"query Odd { version }"})";
  odd_status.status = 42;
  bundle.exchanges.push_back(odd_status);
  bundle.manifest.exchange_count = 2;
  return bundle;
}

std::string version_post(std::string_view connection_header = "") {
  return fmt::format("POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{}"
                     "Content-Length: {}\r\n\r\n{}",
                     connection_header, std::string_view(k_version_request).size(), k_version_request);
}

std::string message_of(const RawResponse& response, std::string_view pointer) {
  auto parsed = recorder::parse_json(response.body, "response");
  EXPECT_TRUE(parsed.ok()) << response.head << "\n\n" << response.body;
  return parsed ? text_at(*parsed, pointer) : "";
}

class ReplayHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    m_matcher = std::make_shared<replay::Matcher>(version_bundle(), replay::Repeat::last);
    m_server = std::make_unique<Server>(m_matcher, ServerOptions{"127.0.0.1", 0});
    auto port = m_server->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    m_port = *port;
  }
  void TearDown() override { m_server->stop(); }

  // Sends `request` on a new connection and reads one response; nullopt when none came.
  std::optional<RawResponse> send_one(const std::string& request) const {
    RawConnection connection(m_port);
    if (!connection.send(request)) return std::nullopt;
    return connection.read_response();
  }

  // `request` is refused with `status` and `message` at `pointer` of the JSON body (the API's error
  // shape); the server keeps serving.
  void expect_refused(const std::string& request, int status, std::string_view pointer, const std::string& message) {
    auto response = send_one(request);
    ASSERT_TRUE(response) << "no answer to the refused request";
    EXPECT_EQ(response->status, status);
    EXPECT_EQ(message_of(*response, pointer), message);
    expect_still_serving();
  }

  // The server still answers a well-formed request on a new connection.
  void expect_still_serving() const {
    auto response = send_one(version_post());
    ASSERT_TRUE(response) << "no answer after the refused request";
    EXPECT_EQ(response->body, k_version_response);
  }

  std::shared_ptr<replay::Matcher> m_matcher;
  std::unique_ptr<Server> m_server;
  int m_port = 0;
};

TEST_F(ReplayHttp, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  RawConnection connection(m_port);
  ASSERT_TRUE(connection.send(version_post() + "GET /__day2/health HTTP/1.1\r\nHost: x\r\n\r\n" + version_post()));
  auto first = connection.read_response();
  auto second = connection.read_response();
  auto third = connection.read_response();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->body, k_version_response);
  EXPECT_EQ(second->body, R"({"ok":true})");
  EXPECT_EQ(third->body, k_version_response);
}

TEST_F(ReplayHttp, ResponseCarriesRecordedHeadersWithItsOwnFraming) {
  auto response = send_one(version_post());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("Content-Length"), std::to_string(std::string_view(k_version_response).size()));
  EXPECT_EQ(response->header("Transfer-Encoding"), "");
  EXPECT_EQ(response->header("Content-Type"), "application/json");
  EXPECT_EQ(response->header("x-dagster-call-counts"), "{}");
}

TEST_F(ReplayHttp, Http10RequestIsAnsweredAndTheConnectionClosed) {
  RawConnection connection(m_port);
  ASSERT_TRUE(connection.send("GET /__day2/health HTTP/1.0\r\n\r\n"));
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_TRUE(connection.closed_by_peer());
}

TEST_F(ReplayHttp, Http10KeepAliveKeepsTheConnection) {
  RawConnection connection(m_port);
  std::string request = "GET /__day2/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  ASSERT_TRUE(connection.send(request));
  auto first = connection.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->header("Connection"), "keep-alive");
  ASSERT_TRUE(connection.send(request));
  auto second = connection.read_response();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, R"({"ok":true})");
}

TEST_F(ReplayHttp, ChunkedRequestBodyIsDechunkedBeforeMatching) {
  std::string body = k_version_request;
  auto half = body.size() / 2;
  auto request = fmt::format(
      "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      "{:x}\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
      half, body.substr(0, half), body.size() - half, body.substr(half));
  auto response = send_one(request);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, k_version_response);
}

TEST_F(ReplayHttp, ExpectContinueGets100BeforeTheBodyIsSent) {
  RawConnection connection(m_port);
  ASSERT_TRUE(connection.send(fmt::format(
      "POST /graphql HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
      std::string_view(k_version_request).size())));
  auto interim = connection.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(connection.send(k_version_request));
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, k_version_response);
}

TEST_F(ReplayHttp, HeadSendsTheLengthWithoutTheBody) {
  RawConnection connection(m_port);
  connection.expect_head_only(true);
  ASSERT_TRUE(connection.send("HEAD /v3/projects/p/alertPolicies HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = connection.read_response();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 404);
  EXPECT_NE(head->header("Content-Length"), "0");
  connection.expect_head_only(false);
  ASSERT_TRUE(connection.send("GET /__day2/health HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto next = connection.read_response();
  ASSERT_TRUE(next) << "the HEAD response carried a body";
  EXPECT_EQ(next->body, R"({"ok":true})");
}

TEST_F(ReplayHttp, MalformedHttpIs400JsonAndTheServerKeepsServing) {
  RawConnection connection(m_port);
  ASSERT_TRUE(connection.send("POST /graphql HTTP/1.1\r\nContent-Length: twelve\r\n\r\n"));
  auto response = connection.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_NE(message_of(*response, "/errors/0/message").find("malformed HTTP"), std::string::npos) << response->body;
  EXPECT_TRUE(connection.closed_by_peer());
  expect_still_serving();
}

TEST_F(ReplayHttp, GarbageRequestLineIs400Json) {
  auto response = send_one("\x01\x02 not http at all\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_NE(message_of(*response, "/error/message").find("malformed HTTP"), std::string::npos) << response->body;
  expect_still_serving();
}

TEST_F(ReplayHttp, UnsupportedMethodIs405InTheApiShape) {
  expect_refused("BREW /graphql HTTP/1.1\r\nHost: x\r\n\r\n", 405, "/errors/0/message",
                 "replay: HTTP 405: the request could not be handled (BREW /graphql): the method BREW is not "
                 "supported");
}

TEST_F(ReplayHttp, BodyOverTheLimitIs413InTheApiShape) {
  expect_refused(fmt::format("POST /v2/entries:list HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{{",
                             (64u << 20) + 1),
                 413, "/error/message",
                 "replay: HTTP 413: the request could not be handled (POST /v2/entries:list): the body is over 67108864 "
                 "bytes");
}

TEST_F(ReplayHttp, CompressedRequestBodyIs415NamingTheEncoding) {
  expect_refused("POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\n"
                 "\x1f\x8b\x08",
                 415, "/errors/0/message",
                 "replay: HTTP 415: the request could not be handled (POST /graphql): a request body with "
                 "Content-Encoding gzip is not supported; send it uncompressed");
}

TEST_F(ReplayHttp, RecordedStatusThatIsNotHttpIs500) {
  std::string body = R"({"operationName":"Odd","query":"query Odd { version }"})";
  auto response =
      send_one(fmt::format("POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{}", body.size(), body));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(message_of(*response, "/errors/0/message"), "replay: the recorded status 42 is not an HTTP status");
}

}  // namespace
}  // namespace replay

namespace replay {
namespace {

// A GraphQL request carrying the number that crashed RapidJSON 1.1.0's full-precision parser
// (0.<50 zeros>27E-326) and its neighbours in its variables: each is answered (a miss, in the API's
// shape), and the server answers the next request.
TEST_F(ReplayHttp, TheNumberThatCrashedTheParserIsAMissAndTheServerKeepsServing) {
  const std::string zeros(50, '0');
  for (std::string number : std::vector<std::string>{"0." + zeros + "27E-326", "0." + zeros + "27E-325", "0." + zeros + "27E-400",
                             "-0." + zeros + "27E-326", "0." + zeros + "0027E-326", "0." + std::string(400, '0') + "1",
                             "2.2250738585072011e-308", "1e308"}) {
    std::string body = R"({"operationName":"Version","query":"query Version { version }","variables":{"x":)" + number + "}}";
    auto response = send_one(fmt::format("POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                         "Content-Length: {}\r\n\r\n{}", body.size(), body));
    ASSERT_TRUE(response) << "no answer to " << number;
    EXPECT_EQ(response->status, 200) << number;  // Dagster's shape for a miss: 200 with errors
    EXPECT_NE(message_of(*response, "/errors/0/message"), "") << response->body;
    expect_still_serving();
  }
}

}  // namespace
}  // namespace replay
