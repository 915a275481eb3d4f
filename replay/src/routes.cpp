#include "routes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "recorder/base/json.hpp"
#include "recorder/endpoints.hpp"

namespace replay::detail {

namespace {

using recorder::Service;

bool is_google_api(Service service) {
  return service == Service::logging || service == Service::monitoring || service == Service::error_reporting ||
         service == Service::container;
}

std::string_view status_name(int status) {
  switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 500: return "INTERNAL";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return status >= 500 ? "UNKNOWN" : "FAILED_PRECONDITION";
  }
}

std::string graphql_error_body(std::string_view message) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value error(rapidjson::kObjectType);
  error.AddMember("message", recorder::json_string(message, a), a);
  rapidjson::Value errors(rapidjson::kArrayType);
  errors.PushBack(error, a);
  doc.AddMember("errors", errors, a);
  return recorder::write_json(doc);
}

std::string google_error_body(int status, std::string_view message) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value error(rapidjson::kObjectType);
  error.AddMember("code", status, a);
  error.AddMember("message", recorder::json_string(message, a), a);
  error.AddMember("status", recorder::json_string(status_name(status), a), a);
  doc.AddMember("error", error, a);
  return recorder::write_json(doc);
}

std::string oauth_error_body(std::string_view message) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("error", "invalid_request", a);
  doc.AddMember("error_description", recorder::json_string(message, a), a);
  return recorder::write_json(doc);
}

std::optional<recorder::HttpResponse> check_graphql(std::string_view method, std::string_view body) {
  if (method != "POST") return std::nullopt;
  auto parsed = recorder::parse_json(body, "request body");
  if (!parsed) {
    return error_response(Service::dagster, 400, "POST body sent invalid JSON: " + parsed.error().message);
  }
  if (!parsed->IsObject()) {
    return error_response(Service::dagster, 400, "POST body must be a JSON object with a \"query\" string");
  }
  if (!recorder::get_string(*parsed, "query")) {
    return error_response(Service::dagster, 400, "Must provide query string.");
  }
  return std::nullopt;
}

}  // namespace

Service detect_service(std::string_view path, const recorder::Headers& headers) {
  return recorder::service_of_path(path, headers);  // the one endpoint table (recorder/endpoints.hpp)
}

DagsterPaths::DagsterPaths(const recorder::Bundle& bundle) {
  std::map<std::string, int> uses;
  for (const auto& exchange : bundle.exchanges) {
    if (exchange.service != Service::dagster) continue;
    if (uses[exchange.path]++ == 0) m_paths.push_back(exchange.path);
  }
  // Most used first; among equals, the first recorded.
  std::stable_sort(m_paths.begin(), m_paths.end(),
                   [&](const std::string& a, const std::string& b) { return uses[a] > uses[b]; });
}

std::string DagsterPaths::normalise(std::string_view path, const recorder::Headers& headers) const {
  if (m_paths.empty() || std::find(m_paths.begin(), m_paths.end(), path) != m_paths.end()) return std::string(path);
  auto deployment = recorder::find_header(headers, "Dagster-Cloud-Deployment");
  if (deployment && !deployment->empty()) {
    auto candidate = "/" + *deployment + "/graphql";
    if (std::find(m_paths.begin(), m_paths.end(), candidate) != m_paths.end()) return candidate;
  }
  return m_paths.front();
}

std::optional<recorder::HttpResponse> check_request(Service service, std::string_view method, std::string_view path,
                                                    const recorder::Headers& headers, std::string_view body) {
  if (service == Service::metadata) {
    auto flavor = recorder::find_header(headers, "Metadata-Flavor");
    if (flavor && *flavor == "Google") return std::nullopt;
    return error_response(Service::metadata, 403,
                          fmt::format("Your client does not have permission to get URL {} from this server. "
                                      "Missing Metadata-Flavor:Google header.",
                                      path));
  }
  if (service == Service::dagster) return check_graphql(method, body);
  if (is_google_api(service) && method == "POST" && !body.empty()) {
    if (auto parsed = recorder::parse_json(body, "request body"); !parsed) {
      return error_response(service, 400, "Invalid JSON payload received. " + parsed.error().message);
    }
  }
  return std::nullopt;
}

recorder::HttpResponse error_response(Service service, int status, std::string_view message) {
  recorder::HttpResponse response;
  response.status = status;
  switch (service) {
    case Service::dagster:
      response.headers = {{"Content-Type", "application/json"}};
      response.body = graphql_error_body(message);
      break;
    case Service::oauth:
      response.headers = {{"Content-Type", "application/json; charset=utf-8"}};
      response.body = oauth_error_body(message);
      break;
    case Service::metadata:
      response.headers = {{"Content-Type", "text/plain; charset=utf-8"}, {"Metadata-Flavor", "Google"}};
      response.body = std::string(message) + "\n";
      break;
    default:
      response.headers = {{"Content-Type", "application/json; charset=UTF-8"}};
      response.body = google_error_body(status, message);
      break;
  }
  return response;
}

}  // namespace replay::detail
