#include "replay/server.hpp"

#include <fmt/format.h>

#include <sched.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "recorder/server/event_server.hpp"
#include "recorder/base/log.hpp"
#include "routes.hpp"

namespace replay {

namespace {

using recorder::Service;

constexpr std::size_t k_max_body_bytes = 64u << 20;

// The CPUs this process may run on (its affinity mask: `taskset`, a container's cpuset), not all
// the machine's.
unsigned usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return static_cast<unsigned>(CPU_COUNT(&set));
  return std::max(std::thread::hardware_concurrency(), 1u);
}

// A connection costs no thread, so a few event loops serve any number of keep-alive clients, and
// latency faults wait on timers. By default two loops per usable CPU (2 to 32): a loop whose thread
// is preempted (by the load generator or another process) stalls only its share of the connections.
// Counting the machine's CPUs instead of the usable ones oversubscribes a pinned server, whose loops
// then preempt each other: under wrk at 64 connections on a 2-core VM (tools/bench-replay), unpinned
// 4 loops gave p99 3.4-4.7 ms and 2 loops 4.5-6.2 ms; pinned to one CPU 1 loop gave 3.2 ms, 2 loops
// 6.4 ms and 4 loops 15.1 ms.
recorder::EventServerSettings server_settings(std::size_t threads) {
  recorder::EventServerSettings settings;
  settings.threads = threads > 0 ? threads : std::clamp(2 * usable_cpus(), 2u, 32u);
  settings.max_body_bytes = k_max_body_bytes;
  return settings;
}

Service service_of_target(const std::string& target) {
  return detail::detect_service(recorder::split_target(target).first, {});
}

recorder::HttpResponse json_ok(std::string body) {
  return recorder::HttpResponse{200, {{"Content-Type", "application/json"}}, std::move(body)};
}

}  // namespace

struct Server::Impl {
  Impl(std::shared_ptr<replay::Matcher> matcher_, ServerOptions options_)
      : matcher(std::move(matcher_)),
        options(std::move(options_)),
        dagster_paths(matcher->bundle()),
        server(server_settings(options.threads), handlers()) {}

  recorder::EventHandlers handlers();
  recorder::Outcome handle(const recorder::IncomingRequest& req);
  std::optional<recorder::HttpResponse> refuse(const recorder::IncomingRequest& req, const std::string& path,
                                               const recorder::Headers& headers, Service service);
  recorder::HttpRequest to_request(const recorder::IncomingRequest& req, const std::string& path,
                                   const std::string& query, Service service) const;
  recorder::Outcome answer(const recorder::HttpRequest& request, const std::string& path);
  recorder::Answer finish(recorder::Result<recorder::HttpResponse> answered, const recorder::HttpRequest& request,
                        const std::string& path) const;

  std::shared_ptr<replay::Matcher> matcher;
  ServerOptions options;
  detail::DagsterPaths dagster_paths;
  std::mutex mutex;  // start() and stop()
  // Request bodies already checked and found valid: clients repeat requests (polling, load), and
  // parsing a body again costs more than answering it. Bounded.
  std::mutex checked_mutex;
  std::unordered_set<std::string> checked_bodies;
  static constexpr std::size_t k_max_checked_bodies = 4096;
  static constexpr std::size_t k_max_checked_body_bytes = 64 * 1024;  // larger bodies are checked every time
  recorder::EventServer server;  // last: stopped and destroyed before what its handlers use
};

recorder::EventHandlers Server::Impl::handlers() {
  recorder::EventHandlers result;
  result.handle = [this](const recorder::IncomingRequest& req) { return handle(req); };
  // Requests refused before routing (malformed HTTP, an unsupported method, a body over the limit)
  // get a JSON body in the API's shape too.
  result.refuse = [](int status, const recorder::IncomingRequest& req, const std::string& why) {
    auto message = fmt::format("replay: HTTP {}: the request could not be handled ({} {}): {}", status, req.method,
                               req.target, why);
    return detail::error_response(service_of_target(req.target), status, message);
  };
  // A throwing handler is a bug in replay or the matcher, not bad input: 500 in the API's shape.
  result.internal_error = [](const recorder::IncomingRequest& req, std::exception_ptr thrown) {
    auto what = recorder::exception_text(thrown);
    recorder::log::info("replay: internal error on {} {}: {}", req.method, recorder::split_target(req.target).first,
                        what);
    return detail::error_response(service_of_target(req.target), 500, "replay: internal error: " + what);
  };
  return result;
}

recorder::Outcome Server::Impl::handle(const recorder::IncomingRequest& req) {
  auto [path, query] = recorder::split_target(req.target);
  if (req.method == "GET" && path == "/__day2/report") return json_ok(replay_report_json(matcher->report()));
  if (req.method == "GET" && path == "/__day2/health") return json_ok("{\"ok\":true}");
  auto service = detail::detect_service(path, req.headers);
  if (auto refused = refuse(req, path, req.headers, service)) {
    recorder::HttpRequest request;
    request.service = service;
    request.method = req.method;
    return finish(std::move(*refused), request, path);
  }
  return answer(to_request(req, path, query, service), path);
}

std::optional<recorder::HttpResponse> Server::Impl::refuse(const recorder::IncomingRequest& req, const std::string& path,
                                                           const recorder::Headers& headers, Service service) {
  if (path.starts_with("/__day2/")) {
    return detail::error_response(Service::other, 404,
                                  fmt::format("replay: unknown admin endpoint {} {}; there are GET /__day2/report "
                                              "and GET /__day2/health",
                                              req.method, path));
  }
  if (service == Service::metadata || req.body.empty() || req.body.size() > k_max_checked_body_bytes) {
    return detail::check_request(service, req.method, path, headers, req.body);
  }
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

recorder::HttpRequest Server::Impl::to_request(const recorder::IncomingRequest& req, const std::string& path,
                                               const std::string& query, Service service) const {
  recorder::HttpRequest request;
  request.service = service;
  request.method = req.method;
  auto matched_path = service == Service::dagster ? dagster_paths.normalise(path, req.headers) : path;
  request.url = fmt::format("http://{}:{}{}{}{}", recorder::url_host(options.host), server.port(), matched_path,
                            query.empty() ? "" : "?", query);
  request.headers = req.headers;
  request.body = req.body;
  return request;
}

// The recorded answer, through the faults when there are any. A latency fault waits on a timer of
// the server (no thread waits), or calls options.sleep when a test injects its own clock.
recorder::Outcome Server::Impl::answer(const recorder::HttpRequest& request, const std::string& path) {
  if (!options.faults) return finish(matcher->answer(request), request, path);
  auto plan = options.faults->plan(request);
  auto apply = [this, plan, request, path]() {
    return finish(options.faults->apply(plan, request, [&]() -> recorder::Result<recorder::HttpResponse> {
      return matcher->answer(request);
    }), request, path);
  };
  if (plan.delay.count() <= 0) return apply();
  if (!options.sleep) return recorder::Deferred{plan.delay, apply};
  options.sleep(plan.delay);
  return apply();
}

// What is sent for `answered`: nothing for an Error (a reset fault); else the response, with
// Metadata-Flavor on metadata answers and a 500 for a recorded status that is not an HTTP status.
recorder::Answer Server::Impl::finish(recorder::Result<recorder::HttpResponse> answered,
                                    const recorder::HttpRequest& request, const std::string& path) const {
  if (!answered) {
    recorder::log::debug("replay: {} {} -> connection reset (fault)", request.method, path);
    return std::nullopt;
  }
  auto& response = *answered;
  if (request.service == Service::metadata && !recorder::find_header(response.headers, "Metadata-Flavor")) {
    response.headers.emplace_back("Metadata-Flavor", "Google");
  }
  if (response.status < 100 || response.status > 599) {
    auto message = fmt::format("replay: the recorded status {} is not an HTTP status", response.status);
    response = detail::error_response(request.service, 500, message);
  }
  recorder::log::debug("replay: {} {} -> {}", request.method, path, response.status);
  return std::move(response);
}

Server::Server(std::shared_ptr<replay::Matcher> matcher, ServerOptions options)
    : m_impl(std::make_unique<Impl>(std::move(matcher), std::move(options))) {}

Server::~Server() { stop(); }

recorder::Result<int> Server::start() {
  std::lock_guard lock(m_impl->mutex);
  auto& impl = *m_impl;
  if (impl.server.stopped()) return recorder::make_error("replay: the server was stopped; a Server serves only once");
  return impl.server.start(impl.options.host, impl.options.port);
}

void Server::stop() {
  if (!m_impl) return;
  std::lock_guard lock(m_impl->mutex);
  m_impl->server.stop();
}

int Server::port() const { return m_impl->server.port(); }

}  // namespace replay
