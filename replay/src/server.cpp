#include "replay/server.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <netinet/in.h>
#include <system_error>
#include <sys/socket.h>
#include <unordered_set>
#include <thread>

#include "recorder/http_server.hpp"
#include "recorder/log.hpp"
#include "recorder/text.hpp"
#include "routes.hpp"

namespace replay {

namespace {

using recorder::Service;

// Each open keep-alive connection holds a worker, so the pool is sized for many concurrent clients:
// 128, one per keep-alive connection of the 64-connection benchmark and then some.
const recorder::HttpServerSettings k_server_settings{.worker_threads = 128,
                                                     .keep_alive_max_requests = 1000,
                                                     .keep_alive_timeout = std::chrono::seconds(5),
                                                     .max_request_bytes = 64u << 20};

// Pseudo-headers cpp-httplib adds to a request; not sent by the client.
bool is_library_header(std::string_view name) {
  return name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" || name == "LOCAL_PORT";
}

// Response headers the server computes itself (the recorded body is already decoded).
bool is_framing_header(std::string_view name) {
  for (std::string_view framing : {"Content-Type", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
                                   "Content-Encoding"}) {
    if (recorder::iequals(name, framing)) return true;
  }
  return false;
}

recorder::Headers to_headers(const httplib::Headers& headers) {
  recorder::Headers result;
  for (const auto& [name, value] : headers) {
    if (!is_library_header(name)) result.emplace_back(name, value);
  }
  return result;
}

void write_response(const recorder::HttpResponse& response, httplib::Response& res) {
  res.status = response.status;
  for (const auto& [name, value] : response.headers) {
    if (!is_framing_header(name)) res.set_header(name, value);
  }
  auto type = recorder::find_header(response.headers, "Content-Type");
  res.set_content(response.body, type ? *type : "application/json");
}

Service service_of_path(const std::string& target) {
  auto question = target.find('?');
  return detail::detect_service(target.substr(0, question), {});
}

int port_of(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  return -1;
}

// The socket `req` arrived on: the open socket whose own port is the request's local port and whose
// peer's is its remote port (cpp-httplib does not hand the socket to handlers). -1 when not found.
int connection_socket(const httplib::Request& req) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    int fd = -1;
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc{}) continue;
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t local_size = sizeof local;
    socklen_t peer_size = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0) continue;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) continue;
    if (port_of(local) == req.local_port && port_of(peer) == req.remote_port) return fd;
  }
  return -1;
}

// A connection reset: the client gets no response. Lingering 0 makes the close an RST; shutting both
// directions down now sends the client EOF at once, and makes cpp-httplib see a dead socket, so it
// writes nothing (no SIGPIPE) and closes the connection. Without the socket, the response is cut off
// after its headers instead (a content provider that fails).
void abort_connection(const httplib::Request& req, httplib::Response& res) {
  res.status = 500;  // never sent
  int fd = connection_socket(req);
  if (fd < 0) {
    res.set_content_provider(1, "application/json", [](std::size_t, std::size_t, httplib::DataSink&) { return false; });
    return;
  }
  linger abort_on_close{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  ::shutdown(fd, SHUT_RDWR);
}

}  // namespace

struct Server::Impl {
  Impl(std::shared_ptr<recorder::Matcher> matcher_, ServerOptions options_)
      : matcher(std::move(matcher_)), options(std::move(options_)), dagster_paths(matcher->bundle()) {}

  void install_routes();
  void handle(const httplib::Request& req, httplib::Response& res);
  std::optional<recorder::HttpResponse> refuse(const httplib::Request& req, const std::string& path,
                                               const recorder::Headers& headers, Service service);
  recorder::HttpRequest to_request(const httplib::Request& req, const std::string& path, const std::string& query,
                                   const recorder::Headers& headers, Service service) const;
  recorder::Result<recorder::HttpResponse> answer(const recorder::HttpRequest& request);

  std::shared_ptr<recorder::Matcher> matcher;
  ServerOptions options;
  detail::DagsterPaths dagster_paths;
  recorder::HttpServer server{k_server_settings};
  std::mutex mutex;  // start() and stop()
  // Request bodies already checked and found valid: clients repeat requests (polling, load), and
  // parsing a body again costs more than answering it. Bounded.
  std::mutex checked_mutex;
  std::unordered_set<std::string> checked_bodies;
  static constexpr std::size_t k_max_checked_bodies = 4096;
};

void Server::Impl::install_routes() {
  // recorder::HttpServer leaves out cpp-httplib's SO_REUSEPORT, which would let a second replay server
  // share a busy port and split the requests between two bundles: a busy port is an error.
  auto& http = server.http();
  http.Get("/__day2/report", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(detail::report_json(matcher->report()), "application/json");
  });
  http.Get("/__day2/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"ok\":true}", "application/json");
  });
  server.handle_every_request([this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });

  // A throwing handler is a bug in replay or the matcher, not bad input: 500 in the API's shape.
  http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr thrown) {
    auto what = recorder::exception_text(thrown);
    recorder::log::info("replay: internal error on {} {}: {}", req.method, req.path, what);
    write_response(detail::error_response(service_of_path(req.target), 500, "replay: internal error: " + what), res);
  });
  // Errors cpp-httplib answers itself (malformed HTTP, payload too large) get a JSON body too. A routed
  // request (`matches` set) keeps its answer as is: a recorded error may have an empty body.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || !req.matches.empty()) return httplib::Server::HandlerResponse::Unhandled;
    auto message = fmt::format("replay: HTTP {}: the request could not be handled ({} {}): an unsupported method, "
                               "malformed HTTP or a body over {} bytes",
                               res.status, req.method, req.target, k_server_settings.max_request_bytes);
    auto response = detail::error_response(service_of_path(req.target), res.status, message);
    write_response(response, res);
    return httplib::Server::HandlerResponse::Handled;
  }));
}

void Server::Impl::handle(const httplib::Request& req, httplib::Response& res) {
  auto [path, query] = recorder::split_target(req);
  auto headers = to_headers(req.headers);
  auto service = detail::detect_service(path, headers);
  auto refused = refuse(req, path, headers, service);
  auto answered = refused ? recorder::Result<recorder::HttpResponse>(*refused)
                          : answer(to_request(req, path, query, headers, service));
  if (!answered) {
    recorder::log::debug("replay: {} {} -> connection reset (fault)", req.method, path);
    abort_connection(req, res);
    return;
  }
  auto& response = *answered;
  if (service == Service::metadata && !recorder::find_header(response.headers, "Metadata-Flavor")) {
    response.headers.emplace_back("Metadata-Flavor", "Google");
  }
  if (response.status < 100 || response.status > 599) {
    auto message = fmt::format("replay: the recorded status {} is not an HTTP status", response.status);
    response = detail::error_response(service, 500, message);
  }
  write_response(response, res);
  recorder::log::debug("replay: {} {} -> {}", req.method, path, response.status);
}

std::optional<recorder::HttpResponse> Server::Impl::refuse(const httplib::Request& req, const std::string& path,
                                                           const recorder::Headers& headers, Service service) {
  if (path.starts_with("/__day2/")) {
    return detail::error_response(Service::other, 404,
                                  fmt::format("replay: unknown admin endpoint {} {}; there are GET /__day2/report "
                                              "and GET /__day2/health",
                                              req.method, path));
  }
  if (service == Service::metadata || req.body.empty()) return detail::check_request(service, req.method, path, headers, req.body);
  std::string checked = fmt::format("{} {}\n{}", recorder::to_string(service), req.method, req.body);
  {
    std::lock_guard lock(checked_mutex);
    if (checked_bodies.contains(checked)) return std::nullopt;
  }
  auto refused = detail::check_request(service, req.method, path, headers, req.body);
  if (!refused) {
    std::lock_guard lock(checked_mutex);
    if (checked_bodies.size() < k_max_checked_bodies) checked_bodies.insert(std::move(checked));
  }
  return refused;
}

recorder::HttpRequest Server::Impl::to_request(const httplib::Request& req, const std::string& path,
                                               const std::string& query, const recorder::Headers& headers,
                                               Service service) const {
  recorder::HttpRequest request;
  request.service = service;
  request.method = req.method;
  auto matched_path = service == Service::dagster ? dagster_paths.normalise(path, headers) : path;
  request.url = fmt::format("http://{}:{}{}{}{}", recorder::url_host(options.host), server.port(), matched_path,
                            query.empty() ? "" : "?", query);
  request.headers = headers;
  request.body = req.body;
  return request;
}

// The recorded answer, through the faults when there are any; an Error is a connection reset.
recorder::Result<recorder::HttpResponse> Server::Impl::answer(const recorder::HttpRequest& request) {
  if (!options.faults) return matcher->answer(request);
  auto plan = options.faults->plan(request);
  if (plan.delay.count() > 0) {
    if (options.sleep) options.sleep(plan.delay);
    else std::this_thread::sleep_for(plan.delay);
  }
  return options.faults->apply(plan, request,
                               [&]() -> recorder::Result<recorder::HttpResponse> { return matcher->answer(request); });
}

Server::Server(std::shared_ptr<recorder::Matcher> matcher, ServerOptions options)
    : m_impl(std::make_unique<Impl>(std::move(matcher), std::move(options))) {}

Server::~Server() { stop(); }

recorder::Result<int> Server::start() {
  std::lock_guard lock(m_impl->mutex);
  auto& impl = *m_impl;
  if (impl.server.stopped()) return recorder::make_error("replay: the server was stopped; a Server serves only once");
  if (impl.server.started()) return impl.server.port();
  impl.install_routes();
  return impl.server.start(impl.options.host, impl.options.port);
}

void Server::stop() {
  if (!m_impl) return;
  std::lock_guard lock(m_impl->mutex);
  m_impl->server.stop();
}

int Server::port() const { return m_impl->server.port(); }

}  // namespace replay
