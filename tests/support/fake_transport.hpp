// FakeTransport: a recorder::Transport for unit tests that answers Dagster GraphQL POSTs from a
// table (operation name + optional predicate on the variables) and records every request.
// Used by the collect and Dagster client tests; never touches the network.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/http.hpp"
#include "recorder/base/json.hpp"
#include "recorder/transport.hpp"

namespace day2test {

// The absolute path of tests/data/dagster/<name>.json (`name` as "RunEvents.code_error").
std::string dagster_data_path(std::string_view name);
// The text of tests/data/dagster/<name>.json; throws std::runtime_error naming the file if unreadable.
std::string dagster_data_text(std::string_view name);
// The parsed tests/data/dagster/<name>.json; throws std::runtime_error naming the file if invalid.
rapidjson::Document dagster_data(std::string_view name);

// What the fake answers with: an HTTP response (body + status) or a transport Error.
struct Answer {
  int http_status = 200;
  std::string http_body;
  bool no_response = false;      // send() returns Error{error_message}
  std::string error_message;

  // The captured response tests/data/dagster/<name>.json, status 200 (read now; throws if missing).
  static Answer file(std::string_view name);
  // `text` as the body.
  static Answer body(std::string text, int status = 200);
  // A JSON value serialised as the body, status 200.
  static Answer json(const rapidjson::Value& value);
  // An HTTP status with an optional body.
  static Answer status_code(int status, std::string text = "");
  // No HTTP response at all (connection refused, timeout): send() returns Error{`message`}.
  static Answer error(std::string message);
};

// A predicate over the request's `variables` object.
using VariablesMatch = std::function<bool(const rapidjson::Value& variables)>;

// Variables whose value at JSON pointer `pointer` ("/runId", "/filter/updatedAfter") is the string `value`.
VariablesMatch where(const char* pointer, std::string value);
// Variables whose value at `pointer` is null (or absent).
VariablesMatch where_null(const char* pointer);

// One request the fake received, parsed.
struct Request {
  recorder::HttpRequest http;
  std::string operation;  // "" when the body was not a GraphQL POST
  std::string query;
  std::shared_ptr<const rapidjson::Document> body;  // the parsed body (null JSON when not JSON)

  // The request's variables (an empty object when absent).
  const rapidjson::Value& variables() const;
};

class FakeTransport : public recorder::Transport {
 public:
  // Answers requests for `operation` (optionally only those whose variables satisfy `match`).
  // The rule added last that matches wins, so a test can override a default table entry.
  FakeTransport& on(std::string operation, Answer answer);
  FakeTransport& on(std::string operation, VariablesMatch match, Answer answer);

  // Records `request` and answers it from the table. A request no rule answers comes back as
  // Error{"FakeTransport: no answer for <operation> with variables <json>"} and is listed by
  // unanswered(). Thread-safe.
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override;

  // Every request received so far, in arrival order.
  std::vector<Request> requests() const;
  // The requests for `operation`, in arrival order.
  std::vector<Request> requests(std::string_view operation) const;
  // The number of requests for `operation`.
  std::size_t count(std::string_view operation) const;
  // One line per request no rule answered: "<operation> <variables>".
  std::vector<std::string> unanswered() const;

 private:
  struct Rule {
    std::string operation;
    VariablesMatch match;
    Answer answer;
  };
  mutable std::mutex m_mutex;
  std::vector<Rule> m_rules;
  std::vector<Request> m_requests;
  std::vector<std::string> m_unanswered;
};

}  // namespace day2test
