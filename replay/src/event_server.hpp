// An event-driven HTTP/1.1 server for the replay server (Boost.Asio + Beast inside, our types outside):
// a few threads, each running its own event loop, one asynchronous session per connection, so that
// an open keep-alive connection costs no thread and a delayed answer blocks nobody.
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

#include "recorder/http.hpp"
#include "recorder/base/result.hpp"

namespace replay::detail {

// A request as the client sent it: the target undecoded, the headers in their order and case, the
// body de-chunked.
struct IncomingRequest {
  std::string method;
  std::string target;
  recorder::Headers headers;
  std::string body;
};

// What to send for a request: a response, or nothing (the connection is reset: the client sees an
// RST or EOF and no response).
using Answer = std::optional<recorder::HttpResponse>;

// An answer that is computed after `delay` has passed on a timer (no thread waits meanwhile).
struct Deferred {
  std::chrono::milliseconds delay{0};
  std::function<Answer()> answer;
};

using Outcome = std::variant<Answer, Deferred>;

struct EventHandlers {
  // Answers a complete request. Called on a server thread, concurrently for different connections.
  std::function<Outcome(const IncomingRequest&)> handle;
  // The answer to a request the server refuses before handling it: `status` 400 (malformed HTTP),
  // 405 (a method other than GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS), 413 (body over the
  // limit), 415 (a compressed request body) or 431 (headers too large); `why` says which. `request`
  // holds what could be parsed.
  std::function<recorder::HttpResponse(int status, const IncomingRequest& request, const std::string& why)> refuse;
  // The answer when `handle` (or a Deferred's answer) throws: a bug, answered with a 500.
  std::function<recorder::HttpResponse(const IncomingRequest& request, std::exception_ptr thrown)> internal_error;
};

struct EventServerSettings {
  std::size_t threads = 2;
  std::size_t max_body_bytes = 64u << 20;
  std::size_t max_header_bytes = 64u << 10;
  std::chrono::seconds idle_timeout{5};  // an idle keep-alive connection is closed after this
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
  recorder::Result<int> start(const std::string& host, int port);
  // Closes the listener and every connection (requests in flight get no answer) and joins the
  // threads; returns promptly whatever the clients do. Idempotent; a stopped server stays stopped.
  void stop();
  bool started() const;
  bool stopped() const;
  int port() const;  // the bound port; 0 before start()

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace replay::detail
