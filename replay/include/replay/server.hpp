// The replay server: serves a bundle as the Dagster GraphQL endpoint (open-source /graphql and the
// Dagster+ forms), Cloud Logging, Monitoring, Error Reporting, GKE, the OAuth token endpoint and the
// metadata server, with the real APIs' JSON conventions and error shapes. Loopback by default; an
// admin endpoint returns the replay report. Used by `day2 replay serve` and by tests.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "recorder/base/command.hpp"
#include "replay/fault.hpp"
#include "replay/matcher.hpp"

namespace replay {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  // Event loops serving the connections; 0: two per CPU this process may run on (2 to 32).
  std::size_t threads = 0;
  // Faults injected into the API requests (not /__day2/); null: none. A reset closes the connection
  // without a response; truncate and invalid_json send a complete response with a spoiled body.
  std::shared_ptr<replay::FaultInjector> faults = nullptr;
  // Latency faults: called with the delay (a test's fake clock); empty: the answer waits on a timer,
  // holding up no thread and no other connection.
  std::function<void(std::chrono::milliseconds)> sleep = nullptr;
};

class Server {
 public:
  Server(std::shared_ptr<replay::Matcher> matcher, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds (a busy port is an error, never shared) and serves on a few background threads (event loops,
  // not a thread per connection); returns the bound port, or an Error naming host:port and the cause.
  recorder::Result<int> start();
  // Closes the listener and every connection, idle keep-alive ones included, and joins the threads;
  // returns promptly. Idempotent; a stopped Server cannot start again.
  void stop();
  int port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

// `day2 replay serve DIR [--host H] [--port N] [--faults FILE] [--fault SPEC]...`.
std::vector<recorder::Command> commands();

}  // namespace replay
