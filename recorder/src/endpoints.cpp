#include "recorder/endpoints.hpp"

#include <array>

#include "recorder/base/text.hpp"

namespace recorder {

namespace {

constexpr std::array k_google = {
    ApiEndpoint{Service::logging, "logging.googleapis.com", "/v2/", "Cloud Logging"},
    ApiEndpoint{Service::monitoring, "monitoring.googleapis.com", "/v3/", "Cloud Monitoring"},
    ApiEndpoint{Service::error_reporting, "clouderrorreporting.googleapis.com", "/v1beta1/", "Error Reporting"},
    ApiEndpoint{Service::container, "container.googleapis.com", "/v1/", "Google Kubernetes Engine"},
    ApiEndpoint{Service::oauth, "oauth2.googleapis.com", "", "OAuth 2.0 token endpoint"},
    ApiEndpoint{Service::metadata, "metadata.google.internal", "/computeMetadata/", "metadata server"},
};

bool is_graphql_path(std::string_view path) { return path == "/graphql" || path.ends_with("/graphql"); }

bool is_token_path(std::string_view path) {
  return path == "/token" || (path.starts_with("/oauth2/") && path.ends_with("/token"));
}

}  // namespace

std::span<const ApiEndpoint> google_endpoints() { return k_google; }

const ApiEndpoint* endpoint_of(Service service) {
  for (const auto& endpoint : k_google) {
    if (endpoint.service == service) return &endpoint;
  }
  return nullptr;
}

std::string default_root(Service service) {
  const auto* endpoint = endpoint_of(service);
  if (endpoint == nullptr) return {};
  std::string scheme = service == Service::metadata ? "http://" : "https://";  // the metadata server is plain HTTP
  return scheme + std::string(endpoint->host);
}

Service service_of_host(std::string_view host_text) {
  auto host = lower(host_text);
  for (const auto& endpoint : k_google) {
    if (host == endpoint.host) return endpoint.service;
  }
  if (host == "accounts.google.com") return Service::oauth;
  if (host == "169.254.169.254") return Service::metadata;
  if (host.ends_with(".googleapis.com")) return Service::other;
  return Service::dagster;
}

Service service_of_path(std::string_view path, const Headers& headers) {
  if (path == "/computeMetadata" || path.starts_with("/computeMetadata/")) return Service::metadata;
  if (path == "/" && find_header(headers, "Metadata-Flavor")) return Service::metadata;
  if (is_graphql_path(path)) return Service::dagster;
  if (is_token_path(path)) return Service::oauth;
  for (const auto& endpoint : k_google) {
    if (endpoint.service == Service::container) {
      // GKE's v1 paths name clusters; another /v1/ path is not GKE's.
      if (path.starts_with(endpoint.path_prefix) && path.find("/clusters") != std::string_view::npos) {
        return Service::container;
      }
    } else if (!endpoint.path_prefix.empty() && endpoint.service != Service::metadata &&
               path.starts_with(endpoint.path_prefix)) {
      return endpoint.service;
    }
  }
  return Service::other;
}

}  // namespace recorder
