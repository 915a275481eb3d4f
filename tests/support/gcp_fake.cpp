#include "support/gcp_fake.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "recorder/base/json.hpp"

namespace day2test {

std::string gcp_data(std::string_view name) {
  std::string path = std::string(DAY2_TEST_DATA) + "/gcp/" + std::string(name) + ".json";
  auto text = recorder::read_file(path);
  if (!text) throw std::runtime_error(text.error().message);
  return *text;
}

namespace {

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

std::string decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string path_of(const std::string& url) {
  auto parsed = recorder::parse_url(url);
  return parsed ? parsed->path : url;
}

}  // namespace

std::string query_param(const std::string& url, std::string_view name) {
  auto parsed = recorder::parse_url(url);
  if (!parsed) return "";
  std::string_view query = parsed->query;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (decode(pair.substr(0, eq)) == name) return eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return "";
}

GcpFake& GcpFake::on(std::string path, std::string token, std::string body, int status, std::string filter_part) {
  std::lock_guard lock(m_mutex);
  m_rules.push_back({std::move(path), std::move(token), std::move(body), status, std::move(filter_part)});
  return *this;
}

recorder::Result<recorder::HttpResponse> GcpFake::send(const recorder::HttpRequest& request) {
  std::string path = path_of(request.url);
  std::string token = query_param(request.url, "pageToken");
  std::string filter = query_param(request.url, "filter");
  if (!request.body.empty()) {
    auto body = recorder::parse_json(request.body, "request");
    if (body && body->IsObject()) {
      token = recorder::get_string(*body, "pageToken").value_or(token);
      filter = recorder::get_string(*body, "filter").value_or(filter);
    }
  }
  std::lock_guard lock(m_mutex);
  m_requests.push_back(request);
  for (auto rule = m_rules.rbegin(); rule != m_rules.rend(); ++rule) {
    if (rule->path == path && rule->token == token &&
        (rule->filter_part.empty() || (filter + ' ' + request.url).find(rule->filter_part) != std::string::npos)) {
      return recorder::HttpResponse{rule->status, {{"Content-Type", "application/json; charset=UTF-8"}}, rule->body};
    }
  }
  std::string miss = fmt::format("{} token={} filter={}", path, token, filter);
  m_unanswered.push_back(miss);
  rapidjson::Document error(rapidjson::kObjectType);
  auto& a = error.GetAllocator();
  rapidjson::Value inner(rapidjson::kObjectType);
  inner.AddMember("code", 404, a);
  inner.AddMember("message", recorder::json_string("GcpFake: no answer for " + miss, a), a);
  inner.AddMember("status", "NOT_FOUND", a);
  error.AddMember("error", inner, a);
  return recorder::HttpResponse{404, {}, recorder::write_json(error)};
}

std::vector<recorder::HttpRequest> GcpFake::requests() const {
  std::lock_guard lock(m_mutex);
  return m_requests;
}

std::vector<recorder::HttpRequest> GcpFake::requests(std::string_view path) const {
  std::lock_guard lock(m_mutex);
  std::vector<recorder::HttpRequest> out;
  for (const auto& request : m_requests) {
    if (path_of(request.url) == path) out.push_back(request);
  }
  return out;
}

std::shared_ptr<GcpFake> gcp_fixture() {
  constexpr const char* k_entries = "/v2/entries:list";
  auto fake = std::make_shared<GcpFake>();
  fake->on(k_entries, "", gcp_data("pod_events.page1"), 200, "resource.type=\"k8s_pod\"")
      .on(k_entries, "pods-2", gcp_data("pod_events.page2"), 200, "resource.type=\"k8s_pod\"")
      .on(k_entries, "pods-3", gcp_data("pod_events.page3"), 200, "resource.type=\"k8s_pod\"")
      .on(k_entries, "", gcp_data("node_events"), 200, "resource.type=\"k8s_node\"")
      .on(k_entries, "", gcp_data("cluster_events"), 200, "involvedObject.kind=\"Job\"")
      .on(k_entries, "", gcp_data("spot_events"), 200, "compute.instances.preempted")
      .on(k_entries, "", gcp_data("agent_creates.page1"), 200, "io.k8s.core.v1.pods.create")
      .on(k_entries, "", gcp_data("step_creates"), 200, "generateName:\"dagster-step-\"")
      .on(k_entries, "churn-2", gcp_data("agent_creates.page2"), 200, "io.k8s.core.v1.pods.create")
      .on(k_entries, "churn-3", gcp_data("agent_creates.page3"), 200, "io.k8s.core.v1.pods.create");
  const std::string stats = "/v1beta1/projects/my-proj/groupStats";
  fake->on(stats, "", gcp_data("group_stats.page1"))
      .on(stats, "gs-2", gcp_data("group_stats.page2"))
      .on(stats, "gs-3", gcp_data("group_stats.page3"));
  const std::string events = "/v1beta1/projects/my-proj/events";
  fake->on(events, "", gcp_data("events.grpA"), 200, "groupId=grpA")
      .on(events, "", gcp_data("events.grpB.page1"), 200, "groupId=grpB")
      .on(events, "ev-2", gcp_data("events.grpB.page2"), 200, "groupId=grpB")
      .on(events, "", gcp_data("events.grpE"), 200, "groupId=grpE");
  const std::string alerts = "/v3/projects/my-proj/alerts";
  fake->on(alerts, "", gcp_data("alerts.page1")).on(alerts, "al-2", gcp_data("alerts.page2"));
  fake->on("/v1/projects/my-proj/locations/us-central1/clusters/prod/nodePools", "", gcp_data("node_pools"));
  const std::string series = "/v3/projects/my-proj/timeSeries";
  fake->on(series, "", gcp_data("restarts"), 200, "restart_count")
      .on(series, "", gcp_data("memory.page1"), 200, "limit_utilization")
      .on(series, "mem-2", gcp_data("memory.page2"), 200, "limit_utilization");
  return fake;
}


std::vector<std::string> GcpFake::unanswered() const {
  std::lock_guard lock(m_mutex);
  return m_unanswered;
}

}  // namespace day2test
