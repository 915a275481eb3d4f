#include "replay/fault.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <thread>

#include "recorder/bundle.hpp"
#include "recorder/base/json.hpp"
#include "replay/matcher.hpp"

namespace replay {

using namespace recorder;  // the exchange model, JSON, time: the base this library builds on

namespace {

// ---- decisions -----------------------------------------------------------------------------------

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

// A uniform number in [0, 1) from the decision's inputs; `stream` separates draws for one request.
double unit(std::uint64_t seed, std::size_t index, std::uint64_t key_hash, std::uint64_t occurrence, int stream) {
  std::uint64_t h = mix(seed);
  h = mix(h ^ index);
  h = mix(h ^ key_hash);
  h = mix(h ^ occurrence);
  h = mix(h ^ static_cast<std::uint64_t>(stream));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

std::chrono::milliseconds sample_latency(const Fault& fault, std::size_t index, std::uint64_t key_hash,
                                         std::uint64_t occurrence) {
  if (fault.sigma <= 0) return fault.latency;
  // Box-Muller from two independent draws; 1 - u keeps the logarithm finite.
  double u1 = 1.0 - unit(fault.seed, index, key_hash, occurrence, 1);
  double u2 = unit(fault.seed, index, key_hash, occurrence, 2);
  double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  double ms = static_cast<double>(fault.latency.count()) * std::exp(fault.sigma * z);
  ms = std::clamp(ms, 0.0, static_cast<double>(k_max_fault_latency.count()));
  return std::chrono::milliseconds(std::llround(ms));
}

std::pair<std::string, std::string> path_and_query(std::string_view url) {
  if (url.empty() || url.front() != '/') {
    if (auto parsed = parse_url(url)) return {parsed->path, parsed->query};
  }
  auto question = url.find('?');
  if (question == std::string_view::npos) return {std::string(url), {}};
  return {std::string(url.substr(0, question)), std::string(url.substr(question + 1))};
}

std::string label(const Fault& fault) {
  if (fault.type == FaultType::status) return fmt::format("status {}", fault.status);
  return std::string(to_string(fault.type));
}

std::string json_error_body(std::string_view member, std::string_view message, int status,
                            std::optional<long long> retry_info_ms = std::nullopt) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  if (member == "errors") {  // GraphQL
    rapidjson::Value error(rapidjson::kObjectType);
    error.AddMember("message", json_string(message, a), a);
    rapidjson::Value errors(rapidjson::kArrayType);
    errors.PushBack(error, a);
    doc.AddMember("data", rapidjson::Value(), a);
    doc.AddMember("errors", errors, a);
  } else if (member == "oauth") {
    doc.AddMember("error", rapidjson::StringRef(status == 429 || status >= 500 ? "temporarily_unavailable" : "invalid_request"), a);
    doc.AddMember("error_description", json_string(message, a), a);
  } else {  // google.rpc.Status
    std::string_view name = status == 429 ? "RESOURCE_EXHAUSTED"
                            : status == 500 ? "INTERNAL"
                            : status == 503 ? "UNAVAILABLE"
                            : status >= 500 ? "UNKNOWN"
                                            : "FAILED_PRECONDITION";
    rapidjson::Value error(rapidjson::kObjectType);
    error.AddMember("code", status, a);
    error.AddMember("message", json_string(message, a), a);
    error.AddMember("status", json_string(name, a), a);
    if (retry_info_ms) {
      rapidjson::Value info(rapidjson::kObjectType);
      info.AddMember("@type", "type.googleapis.com/google.rpc.RetryInfo", a);
      info.AddMember("retryDelay", json_string(fmt::format("{}.{:03}s", *retry_info_ms / 1000, *retry_info_ms % 1000), a), a);
      rapidjson::Value details(rapidjson::kArrayType);
      details.PushBack(info, a);
      error.AddMember("details", details, a);
    }
    doc.AddMember("error", error, a);
  }
  return write_json(doc);
}

// The answer of a status fault, in the API's own error shape.
HttpResponse status_response(const Fault& fault, Service service) {
  HttpResponse response;
  response.status = fault.status;
  auto message = fmt::format("day2 fault: HTTP {} injected ({})", fault.status, fault.source);
  if (service == Service::metadata) {
    response.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
    response.body = message + "\n";
  } else {
    response.headers = {{"Content-Type", "application/json"}};
    response.body = json_error_body(service == Service::dagster ? "errors" : service == Service::oauth ? "oauth" : "",
                                    message, fault.status, fault.retry_info_ms);
  }
  if (fault.retry_after) response.headers.emplace_back("Retry-After", std::to_string(*fault.retry_after));
  return response;
}

HttpResponse graphql_errors_response(const Fault& fault) {
  HttpResponse response;
  response.status = 200;
  response.headers = {{"Content-Type", "application/json"}};
  auto message = fault.message.empty() ? fmt::format("day2 fault: GraphQL error injected ({})", fault.source)
                                       : fault.message;
  response.body = json_error_body("errors", message, 200);
  return response;
}

void spoil(const Fault& fault, HttpResponse& response) {
  if (fault.type == FaultType::invalid_json) {
    response.body = fmt::format("<html><body>day2 fault: invalid JSON injected ({})</body></html>\n", fault.source);
    return;
  }
  // Truncated: at most all but the last byte, so the body is always cut.
  auto size = response.body.size();
  auto keep = std::min(fault.keep.value_or(size / 2), size == 0 ? 0 : size - 1);
  response.body.resize(keep);
}

}  // namespace

std::string_view to_string(FaultType type) {
  switch (type) {
    case FaultType::latency: return "latency";
    case FaultType::status: return "status";
    case FaultType::reset: return "reset";
    case FaultType::truncate: return "truncate";
    case FaultType::invalid_json: return "invalid_json";
    case FaultType::graphql_errors: return "graphql_errors";
  }
  return "unknown";
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative wildcard matching with backtracking to the last '*': linear space, no recursion.
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p, ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

FaultInjector::FaultInjector(std::vector<Fault> faults) : m_faults(std::move(faults)) {}

FaultPlan FaultInjector::plan(const HttpRequest& request) {
  auto [path, query] = path_and_query(request.url);
  auto key = match_key(request.service, request.method, path, query, request.body);
  auto graphql = parse_graphql_request(request.service, request.method, path, request.body);
  const std::string& operation = graphql ? graphql->operation_name : path;
  auto key_hash = fnv1a(key);
  std::uint64_t occurrence = 0;
  {
    std::lock_guard lock(m_mutex);
    occurrence = m_occurrences[key]++;
  }
  FaultPlan plan;
  for (std::size_t i = 0; i < m_faults.size(); ++i) {
    const auto& fault = m_faults[i];
    if (fault.service && *fault.service != request.service) continue;
    if (!fault.operation.empty() && !glob_match(fault.operation, operation)) continue;
    if (!fault.contains.empty() && key.find(fault.contains) == std::string::npos) continue;
    bool fires = fault.probability >= 1 ||
                 (fault.probability > 0 && unit(fault.seed, i, key_hash, occurrence, 0) < fault.probability);
    if (!fires) continue;
    if (fault.type == FaultType::latency) {
      plan.delay += sample_latency(fault, i, key_hash, occurrence);
    } else if (!plan.failure) {
      plan.failure = &fault;
      plan.index = static_cast<int>(i);
    }
  }
  if (plan.delay.count() > 0) {
    std::lock_guard lock(m_mutex);
    ++m_delays;
    m_delay_total += plan.delay;
  }
  return plan;
}

Result<HttpResponse> FaultInjector::apply(const FaultPlan& plan, const HttpRequest& request,
                                          const std::function<Result<HttpResponse>()>& answer) {
  if (!plan.failure) return answer();
  const Fault& fault = *plan.failure;
  {
    std::lock_guard lock(m_mutex);
    ++m_injected[label(fault)];
  }
  switch (fault.type) {
    case FaultType::reset:
      return make_error(fmt::format("{} {} failed: connection reset by peer (day2 fault injected by {})",
                                    request.method, request.url, fault.source));
    case FaultType::status: return status_response(fault, request.service);
    case FaultType::graphql_errors: return graphql_errors_response(fault);
    case FaultType::truncate:
    case FaultType::invalid_json: {
      auto response = answer();
      if (response) spoil(fault, *response);
      return response;
    }
    case FaultType::latency: break;  // never a failure
  }
  return answer();
}

int FaultInjector::injected() const {
  std::lock_guard lock(m_mutex);
  int total = 0;
  for (const auto& [name, count] : m_injected) total += count;
  return total;
}

std::string FaultInjector::summary() const {
  std::lock_guard lock(m_mutex);
  int total = 0;
  std::vector<std::string> kinds;
  for (const auto& [name, count] : m_injected) {
    total += count;
    kinds.push_back(fmt::format("{} x{}", name, count));
  }
  auto out = fmt::format("faults: {} injected", total);
  if (!kinds.empty()) out += fmt::format(" ({})", fmt::join(kinds, ", "));
  out += fmt::format(", {} delay{} ({:.2f} s)", m_delays, m_delays == 1 ? "" : "s",
                     static_cast<double>(m_delay_total.count()) / 1000.0);
  return out;
}

FaultTransport::FaultTransport(std::shared_ptr<Transport> inner, std::shared_ptr<FaultInjector> injector, Sleep sleep)
    : m_inner(std::move(inner)), m_injector(std::move(injector)), m_sleep(std::move(sleep)) {
  if (!m_sleep) m_sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

Result<HttpResponse> FaultTransport::send(const HttpRequest& request) {
  auto plan = m_injector->plan(request);
  if (plan.delay.count() > 0) m_sleep(plan.delay);
  return m_injector->apply(plan, request, [&] { return m_inner->send(request); });
}

}  // namespace replay
