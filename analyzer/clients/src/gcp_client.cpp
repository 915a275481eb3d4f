#include "analyzer/clients/gcp_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <thread>

#include "recorder/base/log.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;
using recorder::Service;

namespace {

constexpr int k_max_pages = 10000;

std::string strip_slash(std::string root) {
  while (!root.empty() && root.back() == '/') root.pop_back();
  return root;
}

// About the first 200 bytes of `body` on one line; bytes outside printable ASCII become '?', so
// the message stays valid UTF-8 in the artifact.
std::string snippet(std::string_view body) {
  std::string text;
  for (char ch : body.substr(0, 200)) {
    auto byte = static_cast<unsigned char>(ch);
    text += byte == '\n' || byte == '\r' ? ' ' : (byte < 0x20 || byte >= 0x7f ? '?' : ch);
  }
  return body.size() > 200 ? text + "..." : text;
}

std::string encode_query(const QueryParams& params) {
  std::string query;
  for (const auto& [name, value] : params) {
    query += (query.empty() ? "" : "&") + recorder::url_encode(name) + "=" + recorder::url_encode(value);
  }
  return query;
}

}  // namespace

GcpEndpoints GcpEndpoints::all(std::string root) {
  root = strip_slash(std::move(root));
  return GcpEndpoints{root, root, root, root};
}

// ---- Pacer ----------------------------------------------------------------------------------

Pacer::Pacer(int per_minute, int burst, Clock clock, Sleep sleep)
    : m_clock(std::move(clock)), m_sleep(std::move(sleep)) {
  per_minute = std::max(per_minute, 1);
  burst = std::clamp(burst, 1, per_minute);
  // The burst spends burst-1 slots ahead of schedule, so the steady rate is what is left of the
  // minute's allowance: any 60 s then hold at most per_minute requests.
  m_interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(60)) /
               (per_minute - burst + 1);
  m_tolerance = m_interval * (burst - 1);
}

std::chrono::steady_clock::time_point Pacer::now() const {
  return m_clock ? m_clock() : std::chrono::steady_clock::now();
}

bool Pacer::acquire(std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::chrono::steady_clock::duration wait{};
  {
    std::lock_guard lock(m_mutex);
    auto current = now();
    auto next = std::max(m_next, current);
    auto allowed = next - m_tolerance;
    if (allowed > current) wait = allowed - current;
    if (deadline && wait > std::chrono::steady_clock::duration::zero() && allowed >= *deadline) return false;
    m_next = next + m_interval;  // reserve the slot before sleeping, so concurrent callers queue up
    m_waited += std::chrono::ceil<std::chrono::milliseconds>(wait);
  }
  if (wait <= std::chrono::steady_clock::duration::zero()) return true;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait);
  if (m_sleep) {
    m_sleep(ms);
  } else {
    std::this_thread::sleep_for(ms);
  }
  return true;
}

void Pacer::hold(std::chrono::milliseconds delay) {
  std::lock_guard lock(m_mutex);
  // Nothing goes before now + delay, burst included.
  m_next = std::max(m_next, now() + delay + m_tolerance);
}

std::chrono::milliseconds Pacer::waited() const {
  std::lock_guard lock(m_mutex);
  return m_waited;
}

ReadQuota read_quota_of(const recorder::HttpRequest& request) {
  if (request.service == Service::logging) return ReadQuota::logging;
  if (request.service != Service::error_reporting) return ReadQuota::none;
  // .../v1beta1/projects/<p>/groupStats and .../projects/<p>/events (events.list).
  std::string_view path(request.url);
  path = path.substr(0, path.find('?'));
  auto ends_with = [&path](std::string_view tail) {
    return path.size() >= tail.size() && path.substr(path.size() - tail.size()) == tail;
  };
  if (ends_with("/groupStats")) return ReadQuota::error_groups;
  if (ends_with("/events")) return ReadQuota::error_events;
  return ReadQuota::none;
}

std::shared_ptr<Pacer> Pacers::of(ReadQuota quota) const {
  switch (quota) {
    case ReadQuota::logging: return logging;
    case ReadQuota::error_groups: return error_groups;
    case ReadQuota::error_events: return error_events;
    case ReadQuota::none: break;
  }
  return nullptr;
}

PacedTransport::PacedTransport(std::shared_ptr<recorder::Transport> inner, Pacers pacers, bool bounded)
    : m_inner(std::move(inner)), m_pacers(std::move(pacers)), m_bounded(bounded) {}

PacedTransport::PacedTransport(std::shared_ptr<recorder::Transport> inner, std::shared_ptr<Pacer> logging)
    : PacedTransport(std::move(inner), Pacers{std::move(logging), nullptr, nullptr}) {}

Result<recorder::HttpResponse> PacedTransport::send(const recorder::HttpRequest& request) {
  auto pacer = m_pacers.of(read_quota_of(request));
  if (!pacer) return m_inner->send(request);
  auto deadline = m_bounded ? recorder::current_deadline() : std::nullopt;
  if (!pacer->acquire(deadline ? std::optional(deadline->at) : std::nullopt)) {
    return recorder::make_error(fmt::format("{} {}: {} waiting for the read quota", request.method,
                                            request.url.substr(0, request.url.find('?')),
                                            recorder::deadline_text(*deadline)));
  }
  auto response = m_inner->send(request);
  if (response && response->status == 429) {
    auto now = std::chrono::system_clock::now();
    auto delay = recorder::server_retry_delay(*response, now);
    if (!delay) {  // the per-minute quotas refill at the minute boundary
      auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
      delay = std::chrono::milliseconds((60 - seconds % 60) * 1000);
    }
    recorder::log::debug("{}: 429, holding its quota's reads for {} ms", to_string(request.service), delay->count());
    pacer->hold(*delay);
  }
  return response;
}

// ---- errors -----------------------------------------------------------------------------------

std::string google_error_text(int http_status, std::string_view body) {
  auto parsed = recorder::parse_json(body, "response");
  const rapidjson::Value* error = parsed && parsed->IsObject() ? recorder::get_object(*parsed, "error") : nullptr;
  if (error == nullptr) {
    return body.empty() ? fmt::format("HTTP {}", http_status) : fmt::format("HTTP {}: {}", http_status, snippet(body));
  }
  auto status = recorder::get_string(*error, "status").value_or("");
  auto message = recorder::get_string(*error, "message").value_or("(no message)");
  auto code = recorder::get_number(*error, "code");
  int shown = code ? static_cast<int>(*code) : http_status;
  return fmt::format("HTTP {}{}{}: {}", shown, status.empty() ? "" : " ", status, snippet(message));
}

// ---- client -----------------------------------------------------------------------------------

struct GcpClient::Call {
  Service service;
  std::string method;     // "logging entries.list", for messages
  std::string http_method;
  const char* items_key;  // the list member of each page; null for a single object
};

GcpClient::GcpClient(std::shared_ptr<recorder::Transport> transport, GcpEndpoints endpoints,
                     std::chrono::milliseconds timeout)
    : m_transport(std::move(transport)),
      m_endpoints{strip_slash(endpoints.logging), strip_slash(endpoints.monitoring),
                  strip_slash(endpoints.error_reporting), strip_slash(endpoints.container)},
      m_timeout(timeout) {}

Result<rapidjson::Document> GcpClient::send_json(const Call& call, const std::string& url,
                                                 const std::string& body) const {
  recorder::HttpRequest request;
  request.service = call.service;
  request.method = call.http_method;
  request.url = url;
  request.timeout = m_timeout;
  request.body = body;
  request.headers = {{"Accept", "application/json"}};
  if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");

  auto response = m_transport->send(request);
  if (!response) return make_error(fmt::format("{}: {}", call.method, response.error().message));
  if (response->status != 200) {
    return make_error(fmt::format("{}: {}", call.method, google_error_text(response->status, response->body)));
  }
  auto parsed = recorder::parse_json(response->body, call.method);
  if (!parsed) return make_error(fmt::format("{}: response is not JSON: {}", call.method, snippet(response->body)));
  if (!parsed->IsObject()) return make_error(fmt::format("{}: response is not a JSON object", call.method));
  return std::move(*parsed);
}

namespace {

// Appends the page's `key` array to `items`; a missing list is an empty page.
Result<void> take_items(rapidjson::Document& page, const char* key, const std::string& method,
                        rapidjson::Document& items) {
  if (!page.HasMember(key)) return {};
  auto& list = page[key];
  if (!list.IsArray()) return make_error(fmt::format("{}: \"{}\" is not an array", method, key));
  for (auto& item : list.GetArray()) {
    rapidjson::Value copy;
    copy.CopyFrom(item, items.GetAllocator());
    items.PushBack(copy, items.GetAllocator());
  }
  return {};
}

// The page's nextPageToken; "" on the last page (absent or empty); an Error when not a string.
Result<std::string> next_token(const rapidjson::Document& page, const std::string& method) {
  if (!page.HasMember("nextPageToken")) return std::string();
  if (!page["nextPageToken"].IsString()) {
    return make_error(fmt::format("{}: \"nextPageToken\" is not a string", method));
  }
  return std::string(page["nextPageToken"].GetString(), page["nextPageToken"].GetStringLength());
}

}  // namespace

namespace {

// Follows a list to its end: `fetch(token)` sends one page ("" for the first), and every page's
// items are appended. An empty page that still carries a nextPageToken is not the end (Cloud
// Logging returns those when a search runs out of time), so paging continues; `hint` says what to
// narrow when the list never ends.
Result<rapidjson::Document> follow_pages(const std::string& method, const char* items_key, std::string_view hint,
                                         const std::function<Result<rapidjson::Document>(const std::string&)>& fetch) {
  rapidjson::Document items(rapidjson::kArrayType);
  std::string token;
  for (int page_number = 0; page_number < k_max_pages; ++page_number) {
    auto page = fetch(token);
    if (!page) return page.error();
    if (auto taken = take_items(*page, items_key, method, items); !taken) return taken.error();
    auto next = next_token(*page, method);
    if (!next) return next.error();
    if (next->empty()) return items;
    token = std::move(*next);
  }
  return make_error(fmt::format("{}: more than {} pages; narrow the {}", method, k_max_pages, hint));
}

}  // namespace

Result<rapidjson::Document> GcpClient::list_get(const Call& call, const std::string& url, QueryParams params) const {
  return follow_pages(call.method, call.items_key, "query", [&](const std::string& token) {
    QueryParams query = params;
    if (!token.empty()) query.emplace_back("pageToken", token);
    return send_json(call, url + "?" + encode_query(query), "");
  });
}

Result<rapidjson::Document> GcpClient::list_log_entries(const std::string& project, const std::string& filter) const {
  Call call{Service::logging, "logging entries.list", "POST", "entries"};
  return follow_pages(call.method, call.items_key, "filter", [&](const std::string& token) {
    rapidjson::Document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    rapidjson::Value names(rapidjson::kArrayType);
    names.PushBack(recorder::json_string("projects/" + project, a), a);
    body.AddMember("resourceNames", names, a);
    body.AddMember("filter", recorder::json_string(filter, a), a);
    body.AddMember("orderBy", "timestamp asc", a);
    body.AddMember("pageSize", 1000, a);
    if (!token.empty()) body.AddMember("pageToken", recorder::json_string(token, a), a);
    return send_json(call, m_endpoints.logging + "/v2/entries:list", recorder::write_json(body));
  });
}

Result<rapidjson::Document> GcpClient::list_alerts(const std::string& project) const {
  Call call{Service::monitoring, "monitoring projects.alerts.list", "GET", "alerts"};
  return list_get(call, m_endpoints.monitoring + "/v3/projects/" + project + "/alerts", {{"pageSize", "1000"}});
}

Result<rapidjson::Document> GcpClient::list_time_series(const std::string& project, const QueryParams& params) const {
  Call call{Service::monitoring, "monitoring projects.timeSeries.list", "GET", "timeSeries"};
  return list_get(call, m_endpoints.monitoring + "/v3/projects/" + project + "/timeSeries", params);
}

Result<rapidjson::Document> GcpClient::list_group_stats(const std::string& project, const QueryParams& params) const {
  Call call{Service::error_reporting, "errorreporting projects.groupStats.list", "GET", "errorGroupStats"};
  return list_get(call, m_endpoints.error_reporting + "/v1beta1/projects/" + project + "/groupStats", params);
}

Result<rapidjson::Document> GcpClient::list_error_events(const std::string& project, const std::string& group_id,
                                                         const std::string& period) const {
  Call call{Service::error_reporting, "errorreporting projects.events.list", "GET", "errorEvents"};
  return list_get(call, m_endpoints.error_reporting + "/v1beta1/projects/" + project + "/events",
                  {{"groupId", group_id}, {"timeRange.period", period}, {"pageSize", "100"}});
}

Result<rapidjson::Document> GcpClient::get_cluster(const std::string& project, const std::string& location,
                                                   const std::string& cluster) const {
  Call call{Service::container, "container projects.locations.clusters.get", "GET", nullptr};
  auto url =
      fmt::format("{}/v1/projects/{}/locations/{}/clusters/{}", m_endpoints.container, project, location, cluster);
  return send_json(call, url, "");
}

Result<rapidjson::Document> GcpClient::list_node_pools(const std::string& project, const std::string& location,
                                                       const std::string& cluster) const {
  Call call{Service::container, "container projects.locations.clusters.nodePools.list", "GET", "nodePools"};
  auto url = fmt::format("{}/v1/projects/{}/locations/{}/clusters/{}/nodePools", m_endpoints.container, project,
                         location, cluster);
  auto page = send_json(call, url, "");
  if (!page) return page.error();
  rapidjson::Document items(rapidjson::kArrayType);
  if (auto taken = take_items(*page, call.items_key, call.method, items); !taken) return taken.error();
  return items;
}

}  // namespace analyzer

namespace analyzer {

std::optional<std::string> run_id_from_pod_name(std::string_view pod_name) {
  constexpr std::string_view prefix = "dagster-run-";
  constexpr std::size_t uuid_length = 36;
  if (pod_name.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = pod_name.substr(prefix.size());
  // The uuid must be followed by "-<suffix>": a bare Job name is not a pod.
  if (rest.size() < uuid_length + 2 || rest[uuid_length] != '-') return std::nullopt;
  std::string_view uuid = rest.substr(0, uuid_length);
  for (std::size_t i = 0; i < uuid_length; ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char ch = uuid[i];
    bool hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
    if (dash ? ch != '-' : !hex) return std::nullopt;
  }
  return std::string(uuid);
}

}  // namespace analyzer
