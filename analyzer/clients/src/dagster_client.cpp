#include "analyzer/clients/dagster_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "recorder/base/text.hpp"

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

// About the first 200 bytes of `body` on one line. The message ends up in the artifact, which must
// stay valid UTF-8: a character is never cut in two, and bytes that are not UTF-8 become '?'.
std::string snippet(std::string_view body) {
  std::string text;
  std::size_t i = 0;
  while (i < body.size() && text.size() < 200) {
    std::size_t n = recorder::utf8_length(body.substr(i));
    if (n == 0) {
      text += '?';
      n = 1;
    } else if (body[i] == '\n' || body[i] == '\r') {
      text += ' ';
    } else {
      text += body.substr(i, n);
    }
    i += n;
  }
  return i < body.size() ? text + "..." : text;
}

std::string join_messages(const rapidjson::Value& errors) {
  std::string messages;
  for (const auto& error : errors.GetArray()) {
    auto message = recorder::get_string(error, "message").value_or("(no message)");
    messages += messages.empty() ? message : "; " + message;
  }
  return messages;
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
    // Dagster answers document errors (an unknown field, a bad variable) with 400 and a JSON body.
    if (auto rejected = recorder::parse_json(response->body, "response"); rejected && rejected->IsObject()) {
      if (const auto* errors = recorder::get_array(*rejected, "errors"); errors && !errors->Empty()) {
        return make_error(fmt::format("{}: GraphQL error (HTTP {}): {}", operation, response->status,
                                      join_messages(*errors)));
      }
    }
    return make_error(fmt::format("{}: HTTP {} from {}: {}", operation, response->status, m_endpoint,
                                  snippet(response->body)));
  }
  auto document = recorder::parse_json(response->body, fmt::format("{} response", operation));
  if (!document) return make_error(fmt::format("{}: invalid JSON: {}", operation, document.error().message));
  if (!document->IsObject()) return make_error(fmt::format("{}: response is not a JSON object", operation));
  if (const auto* errors = recorder::get_array(*document, "errors"); errors && !errors->Empty()) {
    return make_error(fmt::format("{}: GraphQL error: {}", operation, join_messages(*errors)));
  }
  auto data = document->FindMember("data");
  if (data == document->MemberEnd() || !data->value.IsObject()) {
    return make_error(fmt::format("{}: response has no data", operation));
  }
  rapidjson::Document out;
  out.CopyFrom(data->value, out.GetAllocator());
  return out;
}

bool is_permanent_graphql_error(const recorder::HttpRequest& request, const recorder::HttpResponse& response) {
  if (request.service != recorder::Service::dagster) return false;
  auto document = recorder::parse_json(response.body, "response");
  if (!document || !document->IsObject()) return false;
  const auto* errors = recorder::get_array(*document, "errors");
  if (!errors || errors->Empty()) return false;
  // graphql-core's wording of validation and coercion errors, and Dagster's own limit check.
  static constexpr std::string_view k_query_errors[] = {
      "cannot represent",      "Cannot return null for non-nullable field",
      "Cannot query field",    "Unknown argument",
      "Unknown type",          "Unknown fragment",
      "Syntax Error",          "Variable '$",
      "Variable \"$",          "Expected value of type",
      "must have a selection", "must not have a selection",
      "of required type",      "is too large. Max is",
  };
  for (const auto& error : errors->GetArray()) {
    auto message = error.IsObject() ? recorder::get_string(error, "message").value_or("") : "";
    bool known = std::any_of(std::begin(k_query_errors), std::end(k_query_errors),
                             [&](std::string_view pattern) { return message.find(pattern) != std::string::npos; });
    if (!known) return false;
  }
  return true;
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
