// The endpoint table: which host and which path is which API, for the clients, the proxy and replay.
#include "recorder/endpoints.hpp"

#include <gtest/gtest.h>

namespace recorder {
namespace {

TEST(Endpoints, EveryGoogleHostNamesItsService) {
  for (const auto& endpoint : google_endpoints()) {
    EXPECT_EQ(service_of_host(endpoint.host), endpoint.service) << endpoint.host;
    EXPECT_EQ(endpoint_of(endpoint.service), &endpoint);
  }
  EXPECT_EQ(service_of_host("LOGGING.googleapis.com"), Service::logging);
  EXPECT_EQ(service_of_host("accounts.google.com"), Service::oauth);
  EXPECT_EQ(service_of_host("169.254.169.254"), Service::metadata);
  EXPECT_EQ(service_of_host("storage.googleapis.com"), Service::other);
  EXPECT_EQ(service_of_host("dagster.example.internal"), Service::dagster);
}

TEST(Endpoints, DefaultRootsAreTheProductionHosts) {
  EXPECT_EQ(default_root(Service::logging), "https://logging.googleapis.com");
  EXPECT_EQ(default_root(Service::monitoring), "https://monitoring.googleapis.com");
  EXPECT_EQ(default_root(Service::error_reporting), "https://clouderrorreporting.googleapis.com");
  EXPECT_EQ(default_root(Service::container), "https://container.googleapis.com");
  EXPECT_EQ(default_root(Service::metadata), "http://metadata.google.internal");
  EXPECT_EQ(default_root(Service::dagster), "");
  EXPECT_EQ(endpoint_of(Service::other), nullptr);
}

// The paths day2's clients send (analyzer/clients/src/gcp_client.cpp) and Google's clients send.
TEST(Endpoints, APathSharingOneRootIsToldByItsPrefix) {
  Headers none;
  EXPECT_EQ(service_of_path("/v2/entries:list", none), Service::logging);
  EXPECT_EQ(service_of_path("/v3/projects/p/timeSeries", none), Service::monitoring);
  EXPECT_EQ(service_of_path("/v3/projects/p/alerts", none), Service::monitoring);
  EXPECT_EQ(service_of_path("/v1beta1/projects/p/groupStats", none), Service::error_reporting);
  EXPECT_EQ(service_of_path("/v1/projects/p/locations/l/clusters/c/nodePools", none), Service::container);
  EXPECT_EQ(service_of_path("/v1/projects/p/zones", none), Service::other);
  EXPECT_EQ(service_of_path("/token", none), Service::oauth);
  EXPECT_EQ(service_of_path("/oauth2/v4/token", none), Service::oauth);
  EXPECT_EQ(service_of_path("/computeMetadata/v1/instance/service-accounts/default/token", none), Service::metadata);
  EXPECT_EQ(service_of_path("/", none), Service::other);
  EXPECT_EQ(service_of_path("/", Headers{{"Metadata-Flavor", "Google"}}), Service::metadata);
  EXPECT_EQ(service_of_path("/graphql", none), Service::dagster);
  EXPECT_EQ(service_of_path("/prod/graphql", none), Service::dagster);
}

}  // namespace
}  // namespace recorder
