// The event-driven server under replay and the proxy: its bounds on connections that stall. Raw
// connections on 127.0.0.1; every wait gives up after a few seconds.
#include "recorder/server/event_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "unit/replay/raw_http.hpp"

namespace recorder {
namespace {

using day2test::RawConnection;
using namespace std::chrono_literals;

EventHandlers answer_ok() {
  EventHandlers handlers;
  handlers.handle = [](const IncomingRequest&) -> Outcome {
    return Answer(HttpResponse{200, {{"Content-Type", "text/plain"}}, "ok"});
  };
  handlers.refuse = [](int status, const IncomingRequest&, const std::string& why) {
    return HttpResponse{status, {{"Content-Type", "text/plain"}}, why};
  };
  handlers.internal_error = [](const IncomingRequest&, std::exception_ptr) {
    return HttpResponse{500, {{"Content-Type", "text/plain"}}, "internal"};
  };
  return handlers;
}

bool wait_for_connections(const EventServer& server, std::size_t count) {
  for (int i = 0; i < 500; ++i) {
    if (server.connections() == count) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

constexpr const char* k_partial_request = "GET /health HTTP/1.1\r\nHost: day2\r\n";  // headers never end
constexpr const char* k_request = "GET /health HTTP/1.1\r\nHost: day2\r\n\r\n";

TEST(EventServer, PastTheConnectionCapRequestsAreAnsweredAndStalledClientsClosedAtOnce) {
  EventServerSettings settings;
  settings.threads = 1;
  settings.max_connections = 2;
  settings.crowded_deadline = 300ms;
  EventServer server(settings, answer_ok());
  auto port = server.start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.error().message;

  std::vector<std::unique_ptr<RawConnection>> stalled;  // within the cap: the normal 5 s for headers
  for (int i = 0; i < 2; ++i) {
    stalled.push_back(std::make_unique<RawConnection>(*port));
    ASSERT_TRUE(stalled.back()->send(k_partial_request));
  }
  ASSERT_TRUE(wait_for_connections(server, 2));

  RawConnection health(*port);  // past the cap: answered, then closed
  ASSERT_TRUE(health.send(k_request));
  auto answer = health.read_response();
  ASSERT_TRUE(answer) << "no answer past the connection cap";
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "ok");
  EXPECT_EQ(answer->header("Connection"), "close");
  EXPECT_TRUE(health.closed_by_peer());

  RawConnection slow(*port, 3s);  // past the cap and stalling: closed after the crowded deadline
  ASSERT_TRUE(slow.send(k_partial_request));
  EXPECT_TRUE(slow.closed_by_peer()) << "a stalled connection past the cap was kept";
  EXPECT_TRUE(wait_for_connections(server, 2)) << server.connections();
  server.stop();
}

TEST(EventServer, ABodyThatStallsIsClosedAtTheTransferDeadline) {
  EventServerSettings settings;
  settings.threads = 1;
  settings.transfer_timeout = 300ms;
  EventServer server(settings, answer_ok());
  auto port = server.start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.error().message;
  RawConnection stalled(*port, 3s);
  ASSERT_TRUE(stalled.send("POST /graphql HTTP/1.1\r\nHost: day2\r\nContent-Length: 100\r\n\r\n{\"query\":"));
  EXPECT_TRUE(stalled.closed_by_peer()) << "a connection stalled in its body was kept";
  EXPECT_TRUE(wait_for_connections(server, 0)) << server.connections();

  RawConnection next(*port);  // and the server keeps serving
  ASSERT_TRUE(next.send(k_request));
  auto answer = next.read_response();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  server.stop();
}

}  // namespace
}  // namespace recorder
