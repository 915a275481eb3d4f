// The one table of which host and which path is which API (docs/bundle.md, "Services"). The Google
// clients take their default roots from it, the recording proxy names an upstream's service by its
// host, and replay (and the simulator) tell a request's service by its path, when every API is
// served from one root (`--gcp-api-root`).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "recorder/http.hpp"

namespace recorder {

struct ApiEndpoint {
  Service service;
  std::string_view host;         // the production host, e.g. "logging.googleapis.com"
  std::string_view path_prefix;  // every path of the API starts with it, e.g. "/v2/"; "" when none is fixed
  std::string_view title;        // "Cloud Logging", for messages
};

// Cloud Logging (/v2/), Cloud Monitoring (/v3/), Error Reporting (/v1beta1/), GKE (/v1/.../clusters),
// OAuth 2.0 token endpoints and the metadata server, in that order.
std::span<const ApiEndpoint> google_endpoints();

// The endpoint row of `service`; nullptr for dagster and other.
const ApiEndpoint* endpoint_of(Service service);

// "https://logging.googleapis.com": the production root of a Google API (empty for dagster, other).
std::string default_root(Service service);

// The service of a host: Google's API hosts (and accounts.google.com for OAuth, the metadata
// server by name or address) by the table; another *.googleapis.com host is `other`; anything else
// is Dagster (a GraphQL endpoint can live on any host).
Service service_of_host(std::string_view host);

// The service of a request path when every API shares one root (replay, the simulator): a path
// ending in "graphql" is Dagster; the metadata server's paths (or "/" with a Metadata-Flavor
// header), the token paths ("/token", "/oauth2/.../token") and each Google API's prefix; else other.
Service service_of_path(std::string_view path, const Headers& headers);

}  // namespace recorder
