// Routing for the replay server, free of any HTTP library: which API a path belongs to, how a request
// is checked before it reaches the Matcher, and error bodies in each API's own shape.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/bundle.hpp"
#include "recorder/http.hpp"
#include "replay/matcher.hpp"

namespace replay::detail {

// The API a request path belongs to: /graphql and /<prefix>/graphql dagster; /v2/ logging; /v3/
// monitoring; /v1beta1/ error_reporting; /v1/.../clusters container; /token (and /oauth2/.../token)
// oauth; /computeMetadata/ (and "/" carrying Metadata-Flavor, the detection ping) metadata.
recorder::Service detect_service(std::string_view path, const recorder::Headers& headers);

// The Dagster GraphQL paths recorded in a bundle. OSS serves /graphql, Dagster+ both /graphql (with
// Dagster-Cloud-* headers) and /<deployment>/graphql; a client may use either form, so a GraphQL path
// the bundle does not hold is mapped to one it does (the matcher ignores hosts, not paths).
class DagsterPaths {
 public:
  explicit DagsterPaths(const recorder::Bundle& bundle);
  // `path` itself when recorded (or when nothing was recorded); else /<Dagster-Cloud-Deployment>/graphql
  // when that was recorded; else the most used recorded path.
  std::string normalise(std::string_view path, const recorder::Headers& headers) const;

 private:
  std::vector<std::string> m_paths;  // distinct recorded paths, most used first
};

// nullopt when the request may go to the Matcher; otherwise the answer the real API would give a
// malformed request: 400 for a GraphQL POST whose body is not a JSON object with a string `query`,
// 400 for a Google API POST whose body is not JSON, 403 for the metadata server without
// `Metadata-Flavor: Google`. Never throws.
std::optional<recorder::HttpResponse> check_request(recorder::Service service, std::string_view method,
                                                    std::string_view path, const recorder::Headers& headers,
                                                    std::string_view body);

// An error response with `status` and `message` in `service`'s shape: GraphQL {"errors":[{"message"}]}
// for dagster, OAuth {"error","error_description"} for oauth, plain text for metadata, and
// google.rpc.Status {"error":{"code","message","status"}} for the rest.
recorder::HttpResponse error_response(recorder::Service service, int status, std::string_view message);

}  // namespace replay::detail
