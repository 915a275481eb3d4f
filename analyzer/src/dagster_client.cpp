#include "analyzer/dagster_client.hpp"

#include <fmt/format.h>

#include <utility>

namespace analyzer {

extern const std::pair<std::string_view, std::string_view> k_queries[];
extern const int k_query_count;

using recorder::make_error;
using recorder::Result;

std::string_view query_text(std::string_view operation) {
  for (int i = 0; i < k_query_count; ++i) {
    if (k_queries[i].first == operation) return k_queries[i].second;
  }
  return {};
}

namespace {

std::string endpoint_for(const DagsterSettings& settings) {
  if (settings.flavor == Flavor::plus && settings.url.empty()) {
    return fmt::format("https://{}.dagster.cloud/graphql", settings.organization);
  }
  return settings.url;
}

std::string snippet(std::string_view body) {
  std::string text(body.substr(0, 200));
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return body.size() > 200 ? text + "..." : text;
}

}  // namespace

DagsterClient::DagsterClient(std::shared_ptr<recorder::Transport> transport, DagsterSettings settings,
                             std::string token, std::chrono::milliseconds timeout)
    : m_transport(std::move(transport)),
      m_settings(std::move(settings)),
      m_token(std::move(token)),
      m_endpoint(endpoint_for(m_settings)),
      m_timeout(timeout) {}

Result<rapidjson::Document> DagsterClient::query(std::string_view operation) const {
  rapidjson::Value empty(rapidjson::kObjectType);
  return query(operation, empty);
}

Result<rapidjson::Document> DagsterClient::query(std::string_view operation,
                                                 const rapidjson::Value& variables) const {
  auto text = query_text(operation);
  if (text.empty()) throw std::logic_error(fmt::format("no embedded GraphQL document {}", operation));

  rapidjson::Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("operationName", recorder::json_string(operation, a), a);
  body.AddMember("query", recorder::json_string(text, a), a);
  rapidjson::Value vars;
  vars.CopyFrom(variables, a);
  body.AddMember("variables", vars, a);

  recorder::HttpRequest request;
  request.service = recorder::Service::dagster;
  request.method = "POST";
  request.url = m_endpoint;
  request.timeout = m_timeout;
  request.body = recorder::write_json(body);
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  if (m_settings.flavor == Flavor::plus) {
    if (!m_token.empty()) request.headers.emplace_back("Dagster-Cloud-Api-Token", m_token);
    request.headers.emplace_back("Dagster-Cloud-Organization", m_settings.organization);
    request.headers.emplace_back("Dagster-Cloud-Deployment", m_settings.deployment);
  }

  auto response = m_transport->send(request);
  if (!response) return make_error(fmt::format("{}: {}", operation, response.error().message));
  if (response->status != 200) {
    return make_error(fmt::format("{}: HTTP {} from {}: {}", operation, response->status, m_endpoint,
                                  snippet(response->body)));
  }
  auto document = recorder::parse_json(response->body, fmt::format("{} response", operation));
  if (!document) return make_error(fmt::format("{}: invalid JSON: {}", operation, document.error().message));
  if (!document->IsObject()) return make_error(fmt::format("{}: response is not a JSON object", operation));
  if (const auto* errors = recorder::get_array(*document, "errors"); errors && !errors->Empty()) {
    std::string messages;
    for (const auto& error : errors->GetArray()) {
      auto message = recorder::get_string(error, "message").value_or("(no message)");
      messages += messages.empty() ? message : "; " + message;
    }
    return make_error(fmt::format("{}: GraphQL error: {}", operation, messages));
  }
  auto data = document->FindMember("data");
  if (data == document->MemberEnd() || !data->value.IsObject()) {
    return make_error(fmt::format("{}: response has no data", operation));
  }
  rapidjson::Document out;
  out.CopyFrom(data->value, out.GetAllocator());
  return out;
}

std::string python_error_text(const rapidjson::Value& error) {
  auto message = recorder::get_string(error, "message").value_or("");
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

Result<void> check_union(const rapidjson::Value& value, std::string_view operation,
                         std::string_view expected_typename) {
  if (!value.IsObject()) return make_error(fmt::format("{}: result is null", operation));
  auto type = recorder::get_string(value, "__typename").value_or("");
  if (type == expected_typename) return {};
  auto message = python_error_text(value);
  if (message.empty()) message = "(no message)";
  return make_error(fmt::format("{}: {}: {}", operation, type.empty() ? "unexpected result" : type, message));
}

}  // namespace analyzer
