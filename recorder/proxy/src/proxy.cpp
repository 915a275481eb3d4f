// The recording reverse proxy: the event-driven server (recorder/server) in front of a Transport
// wrapped in a RecordingTransport, so exchanges are kept (redacted) exactly as `collect --record`
// keeps them. Upstream calls block, so they run on the server's worker pool, off its event loops.
#include "recorder/proxy/proxy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "recorder/server/event_server.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/log.hpp"
#include "recorder/endpoints.hpp"
#include "recorder/record.hpp"
#include "recorder/base/text.hpp"

namespace recorder {

namespace {

// Two event loops; up to 32 upstream calls at once (the others queue); an idle keep-alive connection
// holds nothing but is closed after 5 s.
const EventServerSettings k_server_settings{.threads = 2,
                                            .max_body_bytes = 64u << 20,
                                            .max_header_bytes = 64u << 10,
                                            .idle_timeout = std::chrono::seconds(5),
                                            .workers = 32};

// Request headers that describe one hop, not the request: the proxy's own connection, framing it
// recomputes, the client's Host (the upstream gets its own) and encodings (the transport asks for
// what it can decode, and hands back decoded bodies).
bool is_hop_request_header(std::string_view name) {
  auto n = lower(name);
  for (std::string_view hop : {"host", "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te",
                               "trailer", "transfer-encoding", "upgrade", "content-length", "content-encoding",
                               "accept-encoding", "expect"}) {
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

Headers forwarded_headers(const Headers& headers) {
  Headers out;
  for (const auto& [name, value] : headers) {
    if (!is_hop_request_header(name)) out.emplace_back(name, value);
  }
  return out;
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

HttpResponse error_response(int code, std::string_view status, std::string_view message, std::string_view upstream = {}) {
  HttpResponse res;
  res.status = code;
  res.headers.emplace_back("Content-Type", "application/json");
  res.body = error_body(code, status, message, upstream);
  return res;
}

// The upstream's response as the client gets it: status, end-to-end headers, the decoded body (the
// server adds the framing: Content-Length, Connection).
HttpResponse client_response(const HttpResponse& response) {
  HttpResponse res;
  res.status = response.status;
  for (const auto& [name, value] : response.headers) {
    if (!is_hop_response_header(name)) res.headers.emplace_back(name, value);
  }
  if (auto type = find_header(response.headers, "Content-Type")) res.headers.emplace_back("Content-Type", *type);
  res.body = response.body;
  return res;
}

Service guess_service(const Url& url) { return service_of_host(url.host); }  // recorder/endpoints.hpp

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
    if (path == prefix || path.starts_with(prefix + "/")) {
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

  EventHandlers handlers();
  Outcome handle(const IncomingRequest& req);
  HttpResponse forward(const IncomingRequest& req, const std::string& path, const std::string& query);
  bool reserve();

  RecordingTransport recording;
  Redactor redactor;
  ProxyOptions options;
  std::atomic<int> reserved{0};  // exchanges recorded or in flight, against max_exchanges
  std::atomic<int> recorded{0};
  std::mutex mutex;  // start() and stop()
  std::unique_ptr<EventServer> server;  // last: stopped before what its handlers use
};

bool Proxy::Impl::reserve() {
  if (options.max_exchanges <= 0) return true;
  int current = reserved.load();
  while (current < options.max_exchanges) {
    if (reserved.compare_exchange_weak(current, current + 1)) return true;
  }
  return false;
}

Outcome Proxy::Impl::handle(const IncomingRequest& req) {
  auto [path, query] = split_target(req.target);
  if (!reserve()) {
    return error_response(503, "UNAVAILABLE",
                          fmt::format("day2 record: the recording is complete (--max-exchanges {}); nothing is forwarded",
                                      options.max_exchanges));
  }
  // The upstream call blocks: it runs on the worker pool.
  return Offloaded{[this, req, path = std::move(path), query = std::move(query)]() -> Answer {
    return forward(req, path, query);
  }};
}

HttpResponse Proxy::Impl::forward(const IncomingRequest& req, const std::string& path, const std::string& query) {
  auto route = route_request(options.upstreams, path);
  const auto& upstream = options.upstreams[route.upstream];
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
    return error_response(502, "BAD_GATEWAY", message, upstream.alias);
  }
  recorded.fetch_add(1);
  log::debug("record: {} {} -> {} {}", req.method, path, upstream.alias, response->status);
  return client_response(*response);
}

EventHandlers Proxy::Impl::handlers() {
  EventHandlers result;
  result.handle = [this](const IncomingRequest& req) { return handle(req); };
  // What the server refuses before forwarding (malformed HTTP, a method it does not serve, a body over
  // the limit or compressed, headers too large): a JSON error naming the reason; nothing is forwarded.
  result.refuse = [](int status, const IncomingRequest& req, const std::string& why) {
    return error_response(status, "INVALID_ARGUMENT",
                          fmt::format("day2 record: HTTP {}: the request could not be forwarded ({}): {}", status,
                                      req.method.empty() ? "-" : req.method, why));
  };
  // A throwing handler is a bug in the proxy, not bad input: a 500 in JSON, and the proxy keeps serving.
  result.internal_error = [this](const IncomingRequest& req, std::exception_ptr thrown) {
    auto message = redactor.redact_text(fmt::format("day2 record: internal error on {} {}: {}", req.method,
                                                    split_target(req.target).first, exception_text(thrown)));
    log::info("{}", message);
    return error_response(500, "INTERNAL", message);
  };
  return result;
}

Proxy::Proxy(std::shared_ptr<Transport> transport, Redactor redactor, ProxyOptions options)
    : m_impl(std::make_unique<Impl>(std::move(transport), std::move(redactor), std::move(options))) {}

Proxy::~Proxy() { stop(); }

Result<int> Proxy::start() {
  std::lock_guard lock(m_impl->mutex);
  auto& impl = *m_impl;
  if (!impl.server) impl.server = std::make_unique<EventServer>(k_server_settings, impl.handlers());
  if (impl.server->stopped()) return make_error("day2 record: the proxy was stopped; a Proxy serves only once");
  if (impl.server->started()) return impl.server->port();
  if (impl.options.upstreams.empty()) return make_error("day2 record: no upstream to forward to");
  return impl.server->start(impl.options.host, impl.options.port);
}

void Proxy::stop() {
  if (!m_impl) return;
  std::lock_guard lock(m_impl->mutex);
  if (m_impl->server) m_impl->server->stop();  // the upstream calls in flight finish (and are recorded) first
}

int Proxy::port() const { return m_impl->server ? m_impl->server->port() : 0; }

int Proxy::recorded() const { return m_impl->recorded.load(); }

bool Proxy::done() const {
  return m_impl->options.max_exchanges > 0 && m_impl->recorded.load() >= m_impl->options.max_exchanges;
}

Bundle Proxy::bundle(Manifest manifest) const { return m_impl->recording.bundle(std::move(manifest)); }

void Proxy::journal_to(std::shared_ptr<Journal> journal, Manifest manifest) {
  m_impl->recording.journal_to(std::move(journal), std::move(manifest));
}

std::string Proxy::journal_error() const { return m_impl->recording.journal_error(); }

}  // namespace recorder
