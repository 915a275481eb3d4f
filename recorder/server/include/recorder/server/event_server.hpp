// The one HTTP server of day2 (Boost.Asio + Beast inside, our types outside), serving the replay
// server (`day2 replay serve`) and the recording proxy (`day2 record`): a few threads, each running
// its own event loop, one asynchronous session per connection, so that an open keep-alive connection
// costs no thread and a delayed answer blocks nobody; work that blocks (an upstream call) runs on a
// worker pool, off the event loops.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <utility>

#include "recorder/http.hpp"
#include "recorder/base/result.hpp"

namespace recorder {

// A request as the client sent it: the target undecoded, the headers in their order and case, the
// body de-chunked.
struct IncomingRequest {
  std::string method;
  std::string target;
  Headers headers;
  std::string body;
};

// What to send for a request: a response, or nothing (the connection is reset: the client sees an
// RST or EOF and no response).
using Answer = std::optional<HttpResponse>;

// An answer that is computed after `delay` has passed on a timer (no thread waits meanwhile).
struct Deferred {
  std::chrono::milliseconds delay{0};
  std::function<Answer()> answer;
};

// An answer computed on the server's worker pool (EventServerSettings::workers threads), for work that
// blocks, such as a call to an upstream API; the connection waits without holding an event loop.
struct Offloaded {
  std::function<Answer()> answer;
};

using Outcome = std::variant<Answer, Deferred, Offloaded>;

struct EventHandlers {
  // Answers a complete request. Called on a server thread, concurrently for different connections.
  std::function<Outcome(const IncomingRequest&)> handle;
  // The answer to a request the server refuses before handling it: `status` 400 (malformed HTTP),
  // 405 (a method other than GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS), 413 (body over the
  // limit), 415 (a compressed request body) or 431 (headers too large); `why` says which. `request`
  // holds what could be parsed.
  std::function<HttpResponse(int status, const IncomingRequest& request, const std::string& why)> refuse;
  // The answer when `handle` (or a Deferred's answer) throws: a bug, answered with a 500.
  std::function<HttpResponse(const IncomingRequest& request, std::exception_ptr thrown)> internal_error;
};

struct EventServerSettings {
  std::size_t threads = 2;
  std::size_t max_body_bytes = 64u << 20;
  std::size_t max_header_bytes = 64u << 10;
  std::chrono::seconds idle_timeout{5};  // an idle keep-alive connection is closed after this
  // Reading a request body or writing a response must end within this: a client that stalls in the
  // body is closed then (a client on a slow link needs that long for 64 MiB).
  std::chrono::milliseconds transfer_timeout{60000};
  std::size_t workers = 0;                // threads for Offloaded answers (0: none; an Offloaded answer resets)
  // Connections served with the normal deadlines. Past it a new connection is still served (a health
  // check is answered) but must send its whole request within `crowded_deadline` and is then closed,
  // so clients that stall cannot hold every descriptor of the process.
  std::size_t max_connections = 512;
  std::chrono::milliseconds crowded_deadline{1000};
};

class EventServer {
 public:
  EventServer(const EventServerSettings& settings, EventHandlers handlers);
  ~EventServer();  // stop()
  EventServer(const EventServer&) = delete;
  EventServer& operator=(const EventServer&) = delete;

  // Binds `host`:`port` (0: any free port; SO_REUSEADDR, never SO_REUSEPORT) and serves on
  // settings.threads background threads. Returns the bound port, or an Error naming host:port and
  // the cause ("cannot listen on 127.0.0.1:8080: Address already in use"); a bind failure may be
  // retried. Once started, returns the port again. Not synchronised with stop(): callers serialise.
  Result<int> start(const std::string& host, int port);
  // Refuses new requests, waits for the Offloaded answers being computed (so that what they do, such
  // as recording an exchange, is done), then closes the listener and every connection (requests in
  // flight get no answer) and joins the threads. Idempotent; a stopped server stays stopped.
  void stop();
  bool started() const;
  bool stopped() const;
  int port() const;  // the bound port; 0 before start()
  std::size_t connections() const;  // connections open now

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// `host` as it is written in a URL: an IPv6 address in brackets.
std::string url_host(const std::string& host);

// Whether `host` is a loopback address or "localhost" (what --listen and --host accept without
// --allow-remote).
bool is_loopback(const std::string& host);

// Path and raw query of a request target as the client wrote it (undecoded). An absolute-form target
// (http://host/path?q) keeps only its path and query.
std::pair<std::string, std::string> split_target(std::string_view target);

// What an exception caught by a server's handler says: its what(), or a note that it is not a
// std::exception. Never throws.
std::string exception_text(std::exception_ptr thrown);

}  // namespace recorder
