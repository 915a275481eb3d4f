// A cpp-httplib server serving on a background thread: the listening part that the recording proxy
// (`day2 record`) and the replay server (`day2 replay serve`) share, and the small helpers around it.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "recorder/base/result.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace recorder {

struct HttpServerSettings {
  std::size_t worker_threads = 32;  // each open keep-alive connection holds one
  std::size_t keep_alive_max_requests = 1000;
  std::chrono::seconds keep_alive_timeout{2};  // an idle keep-alive connection holds stop() this long
  std::size_t max_request_bytes = 64u << 20;
};

class HttpServer {
 public:
  // Applies `settings`, TCP_NODELAY, and SO_REUSEADDR without cpp-httplib's SO_REUSEPORT, so that
  // a busy port is an error rather than a port shared with another server.
  explicit HttpServer(const HttpServerSettings& settings);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The cpp-httplib server, for routes and handlers; set them before start().
  httplib::Server& http();
  // Routes every path of GET, POST, PUT, PATCH, DELETE and OPTIONS to `handler` (after any route set before).
  void handle_every_request(std::function<void(const httplib::Request&, httplib::Response&)> handler);

  // Binds `host`:`port` (0: any free port), raises the listen backlog and serves on a background
  // thread; blocks until the listener runs. Returns the bound port, or an Error naming host:port and
  // the cause ("cannot listen on 127.0.0.1:8080: Address already in use"); a bind failure may be
  // retried, a listener that does not start leaves the server stopped(). Once started, returns the
  // port again. Not synchronised with stop(): callers serialise the two.
  Result<int> start(const std::string& host, int port);
  // Stops accepting requests, lets the worker pool finish those in flight and joins the thread.
  // Idempotent; a server stopped after it started cannot start again (cpp-httplib serves once).
  void stop();
  bool started() const;
  bool stopped() const;
  int port() const;  // the bound port; 0 before start()

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// `host` as it is written in a URL: an IPv6 address in brackets.
std::string url_host(const std::string& host);

// Whether `host` is a loopback address or "localhost" (what --listen and --host accept without
// --allow-remote).
bool is_loopback(const std::string& host);

// Path and raw query of the target of `req` as the client wrote them (undecoded). An absolute-form
// target (http://host/path) keeps only its path and query.
std::pair<std::string, std::string> split_target(const httplib::Request& req);

// What an exception caught by a server's exception handler says: its what(), or a note that it is
// not a std::exception. Never throws.
std::string exception_text(std::exception_ptr thrown);

}  // namespace recorder
