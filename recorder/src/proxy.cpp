// The recording reverse proxy: a cpp-httplib server in front of a Transport wrapped in a
// RecordingTransport, so exchanges are kept (redacted) exactly as `collect --record` keeps them.
#include "recorder/proxy.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <mutex>
#include <system_error>
#include <thread>

#include "recorder/json.hpp"
#include "recorder/log.hpp"
#include "recorder/record.hpp"

namespace recorder {

namespace {

constexpr std::size_t k_worker_threads = 32;
constexpr std::size_t k_keep_alive_max_requests = 1000;
// An idle keep-alive connection holds stop() for up to this long.
constexpr time_t k_keep_alive_timeout_seconds = 2;
constexpr std::size_t k_max_request_bytes = 64u << 20;

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Request headers that describe one hop, not the request: the proxy's own connection, framing it
// recomputes, the client's Host (the upstream gets its own) and encodings (the transport asks for
// what it can decode, and hands back decoded bodies). cpp-httplib also adds pseudo-headers.
bool is_hop_request_header(std::string_view name) {
  auto n = lower(name);
  for (std::string_view hop : {"host", "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te",
                               "trailer", "transfer-encoding", "upgrade", "content-length", "content-encoding",
                               "accept-encoding", "expect", "remote_addr", "remote_port", "local_addr", "local_port"}) {
    if (n == hop) return true;
  }
  return false;
}

// Response headers the proxy's server computes itself: the body it sends is already decoded.
bool is_hop_response_header(std::string_view name) {
  auto n = lower(name);
  for (std::string_view hop : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
                               "content-length", "content-encoding", "content-type", "trailer"}) {
    if (n == hop) return true;
  }
  return false;
}

Headers forwarded_headers(const httplib::Headers& headers) {
  Headers out;
  for (const auto& [name, value] : headers) {
    if (!is_hop_request_header(name)) out.emplace_back(name, value);
  }
  return out;
}

// Path and raw query of a request target as the client wrote them (undecoded). An absolute-form
// target (http://host/path) keeps only its path and query.
std::pair<std::string, std::string> split_target(const httplib::Request& req) {
  std::string_view target = req.target.empty() ? std::string_view(req.path) : std::string_view(req.target);
  if (!target.empty() && target.front() != '/') {
    if (auto url = parse_url(target)) return {url->path, url->query};
  }
  auto question = target.find('?');
  if (question == std::string_view::npos) return {std::string(target), {}};
  return {std::string(target.substr(0, question)), std::string(target.substr(question + 1))};
}

// {"error": {"code", "message", "status", "upstream"}}: the google.rpc.Status shape, plus the upstream.
std::string error_body(int code, std::string_view status, std::string_view message, std::string_view upstream) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value error(rapidjson::kObjectType);
  error.AddMember("code", code, a);
  error.AddMember("message", json_string(message, a), a);
  error.AddMember("status", json_string(status, a), a);
  if (!upstream.empty()) error.AddMember("upstream", json_string(upstream, a), a);
  doc.AddMember("error", error, a);
  return write_json(doc);
}

void write_error(httplib::Response& res, int code, std::string_view status, std::string_view message,
                 std::string_view upstream = {}) {
  res.status = code;
  res.set_content(error_body(code, status, message, upstream), "application/json");
}

void write_response(const std::string& method, const HttpResponse& response, httplib::Response& res) {
  res.status = response.status;
  for (const auto& [name, value] : response.headers) {
    if (!is_hop_response_header(name)) res.set_header(name, value);
  }
  // A HEAD response has no body but tells the length of the GET one.
  auto length = find_header(response.headers, "Content-Length");
  if (method == "HEAD" && length) res.set_header("Content-Length", *length);
  if (auto type = find_header(response.headers, "Content-Type")) {
    res.set_content(response.body, *type);
  } else {
    res.body = response.body;
  }
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

Service guess_service(const Url& url) {
  auto host = lower(url.host);
  if (host == "logging.googleapis.com") return Service::logging;
  if (host == "monitoring.googleapis.com") return Service::monitoring;
  if (host == "clouderrorreporting.googleapis.com") return Service::error_reporting;
  if (host == "container.googleapis.com") return Service::container;
  if (host == "oauth2.googleapis.com" || host == "accounts.google.com") return Service::oauth;
  if (host == "metadata.google.internal" || host == "169.254.169.254") return Service::metadata;
  if (ends_with(host, ".googleapis.com")) return Service::other;
  return Service::dagster;
}

// "dagster" or "dagster-2": the service and whether the name is well formed.
std::optional<Service> alias_service(std::string_view alias) {
  if (auto service = service_from_string(alias)) return service;
  auto dash = alias.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == alias.size()) return std::nullopt;
  auto number = alias.substr(dash + 1);
  if (!std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      number.front() == '0') {
    return std::nullopt;
  }
  return service_from_string(alias.substr(0, dash));
}

// This build's service names, for messages.
std::string service_names() {
  std::string names;
  for (auto service : {Service::dagster, Service::logging, Service::monitoring, Service::error_reporting,
                       Service::container, Service::oauth, Service::metadata, Service::other}) {
    if (!names.empty()) names += ", ";
    names += to_string(service);
  }
  return names;
}

// cpp-httplib listens with a backlog of 5; a browser opening many connections at once overflows it.
class HttpServer : public httplib::Server {
 public:
  void raise_backlog() const { ::listen(svr_sock_, SOMAXCONN); }
};

}  // namespace

Result<Upstream> parse_upstream(std::string_view text) {
  Upstream upstream;
  std::string_view url_text = text;
  auto equals = text.find('=');
  bool named = equals != std::string_view::npos && text.substr(0, equals).find("://") == std::string_view::npos;
  if (named) {
    upstream.alias = std::string(text.substr(0, equals));
    url_text = text.substr(equals + 1);
    auto service = alias_service(upstream.alias);
    if (!service) {
      return make_error(fmt::format("\"{}\" is not a service name (one of {}, optionally with -2, -3, ...)",
                                    upstream.alias, service_names()));
    }
    upstream.service = *service;
  }
  auto url = parse_url(url_text);
  if (!url) return url.error();
  if (!url->query.empty() || url_text.find('?') != std::string_view::npos) {
    return make_error(fmt::format("\"{}\": an upstream URL has no query", url_text));
  }
  upstream.url = std::move(*url);
  if (!named) {
    upstream.service = guess_service(upstream.url);
    upstream.alias = std::string(to_string(upstream.service));
  }
  return upstream;
}

ProxyRoute route_request(const std::vector<Upstream>& upstreams, std::string_view path) {
  ProxyRoute route;
  std::string_view rest = path;
  for (std::size_t i = 1; i < upstreams.size(); ++i) {
    auto prefix = "/" + upstreams[i].alias;
    if (path == prefix || starts_with(path, prefix + "/")) {
      route.upstream = i;
      rest = path.substr(prefix.size());
      break;
    }
  }
  if (rest.empty()) rest = "/";
  std::string_view base = upstreams[route.upstream].url.path;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  route.forwarded_path = std::string(base) + std::string(rest);
  return route;
}

struct Proxy::Impl {
  Impl(std::shared_ptr<Transport> transport, Redactor redactor_, ProxyOptions options_)
      : recording(std::move(transport), redactor_), redactor(std::move(redactor_)), options(std::move(options_)) {}

  void install_routes();
  void handle(const httplib::Request& req, httplib::Response& res);
  bool reserve();

  RecordingTransport recording;
  Redactor redactor;
  ProxyOptions options;
  HttpServer http;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  std::atomic<int> port{0};
  std::atomic<int> reserved{0};  // exchanges recorded or in flight, against max_exchanges
  std::atomic<int> recorded{0};
  std::mutex mutex;  // start() and stop()
  bool started = false;
  bool stopped = false;
};

bool Proxy::Impl::reserve() {
  if (options.max_exchanges <= 0) return true;
  int current = reserved.load();
  while (current < options.max_exchanges) {
    if (reserved.compare_exchange_weak(current, current + 1)) return true;
  }
  return false;
}

void Proxy::Impl::handle(const httplib::Request& req, httplib::Response& res) {
  auto [path, query] = split_target(req);
  auto route = route_request(options.upstreams, path);
  const auto& upstream = options.upstreams[route.upstream];
  if (!reserve()) {
    write_error(res, 503, "UNAVAILABLE",
                fmt::format("day2 record: the recording is complete (--max-exchanges {}); nothing is forwarded",
                            options.max_exchanges));
    return;
  }
  HttpRequest request;
  request.service = upstream.service;
  request.method = req.method;
  request.url = upstream.url.origin() + route.forwarded_path + (query.empty() ? "" : "?" + query);
  request.headers = forwarded_headers(req.headers);
  request.body = req.body;
  request.timeout = options.timeout;
  auto response = recording.send(request);
  if (!response) {
    if (options.max_exchanges > 0) reserved.fetch_sub(1);
    auto message = redactor.redact_text(fmt::format("day2 record: upstream {} ({}) gave no response: {}",
                                                    upstream.alias, upstream.url.origin(), response.error().message));
    log::info("{}", message);
    write_error(res, 502, "BAD_GATEWAY", message, upstream.alias);
    return;
  }
  recorded.fetch_add(1);
  write_response(req.method, *response, res);
  log::debug("record: {} {} -> {} {}", req.method, path, upstream.alias, response->status);
}

void Proxy::Impl::install_routes() {
  http.new_task_queue = [] { return new httplib::ThreadPool(k_worker_threads); };
  http.set_keep_alive_max_count(k_keep_alive_max_requests);
  http.set_keep_alive_timeout(k_keep_alive_timeout_seconds);
  http.set_payload_max_length(k_max_request_bytes);
  http.set_tcp_nodelay(true);
  // SO_REUSEADDR without cpp-httplib's SO_REUSEPORT: a busy port is an error, not a shared one.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  http.Get(".*", handler);
  http.Post(".*", handler);
  http.Put(".*", handler);
  http.Patch(".*", handler);
  http.Delete(".*", handler);
  http.Options(".*", handler);

  // A throwing handler is a bug in the proxy, not bad input: a 500 in JSON, and the proxy keeps serving.
  http.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr thrown) {
    std::string what = "an exception that is not a std::exception";
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {  // reported below as a 500, not swallowed
    }
    auto message =
        redactor.redact_text(fmt::format("day2 record: internal error on {} {}: {}", req.method, req.path, what));
    log::info("{}", message);
    write_error(res, 500, "INTERNAL", message);
  });
  // Errors cpp-httplib answers itself (malformed HTTP, a body too large) get a JSON body too; a
  // forwarded response (`matches` set) keeps its body as the upstream sent it, even an empty one.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || !req.matches.empty()) return httplib::Server::HandlerResponse::Unhandled;
    write_error(res, res.status, "INVALID_ARGUMENT",
                fmt::format("day2 record: HTTP {}: the request could not be forwarded ({}): an unsupported method, "
                            "malformed HTTP or a body over {} bytes",
                            res.status, req.method, k_max_request_bytes));
    return httplib::Server::HandlerResponse::Handled;
  }));
}

Proxy::Proxy(std::shared_ptr<Transport> transport, Redactor redactor, ProxyOptions options)
    : m_impl(std::make_unique<Impl>(std::move(transport), std::move(redactor), std::move(options))) {}

Proxy::~Proxy() { stop(); }

Result<int> Proxy::start() {
  std::lock_guard lock(m_impl->mutex);
  auto& impl = *m_impl;
  if (impl.stopped) return make_error("day2 record: the proxy was stopped; a Proxy serves only once");
  if (impl.started) return impl.port.load();
  if (impl.options.upstreams.empty()) return make_error("day2 record: no upstream to forward to");
  const auto& host = impl.options.host;
  if (impl.options.port < 0 || impl.options.port > 65535) {
    return make_error(fmt::format("{}: {} is not a port (0-65535)", host, impl.options.port));
  }
  impl.install_routes();
  errno = 0;
  int port = impl.options.port == 0 ? impl.http.bind_to_any_port(host)
                                    : (impl.http.bind_to_port(host, impl.options.port) ? impl.options.port : -1);
  if (port <= 0) {
    int code = errno;
    return make_error(fmt::format("cannot listen on {}:{}: {}", url_host(host), impl.options.port,
                                  code ? std::error_code(code, std::generic_category()).message() : "bind failed"));
  }
  impl.http.raise_backlog();
  impl.port = port;
  impl.thread = std::thread([&impl] {
    impl.http.listen_after_bind();
    impl.listen_returned = true;
  });
  // listen_after_bind sets is_running() first thing, or returns false at once.
  while (!impl.http.is_running() && !impl.listen_returned) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!impl.http.is_running()) {
    impl.thread.join();
    impl.stopped = true;
    return make_error(fmt::format("cannot serve on {}:{}: the listener did not start", url_host(host), port));
  }
  impl.started = true;
  return port;
}

void Proxy::stop() {
  if (!m_impl) return;
  std::lock_guard lock(m_impl->mutex);
  if (m_impl->thread.joinable()) {
    m_impl->http.stop();
    m_impl->thread.join();  // the worker pool finishes the requests in flight first
  }
  m_impl->stopped = m_impl->started || m_impl->stopped;
}

int Proxy::port() const { return m_impl->port.load(); }

int Proxy::recorded() const { return m_impl->recorded.load(); }

bool Proxy::done() const {
  return m_impl->options.max_exchanges > 0 && m_impl->recorded.load() >= m_impl->options.max_exchanges;
}

Bundle Proxy::bundle(Manifest manifest) const { return m_impl->recording.bundle(std::move(manifest)); }

}  // namespace recorder
