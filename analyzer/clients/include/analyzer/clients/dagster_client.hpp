// The Dagster GraphQL client: sends the embedded, validated query documents (analyzer/queries/)
// over a Transport and turns every error layer (HTTP, document `errors`, union error members)
// into an Error naming the operation. Used by `collect` and the investigation commands.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "analyzer/config/config.hpp"
#include "recorder/base/json.hpp"
#include "recorder/transport.hpp"

namespace analyzer {

// The text of the embedded GraphQL document `operation`; empty when there is none.
std::string_view query_text(std::string_view operation);

class DagsterClient {
 public:
  // `token` is the Dagster+ API token ("" for open-source); it is sent only as a header.
  DagsterClient(std::shared_ptr<recorder::Transport> transport, DagsterSettings settings, std::string token,
                std::chrono::milliseconds timeout);

  // Sends `operation` with `variables` (a JSON object) and returns the response's `data` object.
  // Errors name the operation: HTTP failures and non-200 statuses, bodies that are not JSON,
  // a non-empty `errors` array (even with partial data: partial data is not trusted), a missing
  // `data`. Blocks; safe to call from several threads.
  recorder::Result<rapidjson::Document> query(std::string_view operation, const rapidjson::Value& variables) const;
  recorder::Result<rapidjson::Document> query(std::string_view operation) const;

  const std::string& endpoint() const { return m_endpoint; }

 private:
  std::shared_ptr<recorder::Transport> m_transport;
  DagsterSettings m_settings;
  std::string m_token;
  std::string m_endpoint;
  std::chrono::milliseconds m_timeout;
};

// Whether `response` to a Dagster GraphQL `request` is an error about the query itself, which a
// retry would only repeat: a JSON body whose every `errors` message is one of GraphQL's document or
// value errors (an unknown field, a value a type cannot represent, a bad variable, a page limit over
// the server's maximum), whatever the HTTP status (Dagster sends 500 when the error arose while
// resolving or serialising a field). A 5xx without such a body (a proxy's page, a database error
// message) stays retryable.
bool is_permanent_graphql_error(const recorder::HttpRequest& request, const recorder::HttpResponse& response);

// The most events Dagster serves in one page of an event log: 1.11 and 1.12 reject a larger
// `limit` ("Limit of 1001 is too large. Max is 1000"), 1.13 shrinks it, older releases accept it.
inline constexpr int k_max_event_page = 1000;

// For a union result `value` (an object with __typename): an Error naming `operation` and the
// member's message when it is an error member (PythonError, RunNotFoundError, ...), else success.
recorder::Result<void> check_union(const rapidjson::Value& value, std::string_view operation,
                                   std::string_view expected_typename);

// The `message` of a PythonError object, whole, without trailing newlines and spaces (Dagster's
// message usually begins with "module.Class: ", from Python's format_exception_only); empty when absent.
std::string python_error_text(const rapidjson::Value& error);

}  // namespace analyzer
