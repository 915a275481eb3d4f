#include "support/fake_transport.hpp"

#include <rapidjson/pointer.h>

#include <stdexcept>

namespace day2test {

std::string dagster_data_path(std::string_view name) {
  return std::string(DAY2_TEST_DATA) + "/dagster/" + std::string(name) + ".json";
}

std::string dagster_data_text(std::string_view name) {
  auto text = recorder::read_file(dagster_data_path(name));
  if (!text) throw std::runtime_error("test data: " + text.error().message);
  return std::move(*text);
}

rapidjson::Document dagster_data(std::string_view name) {
  auto document = recorder::read_json_file(dagster_data_path(name));
  if (!document) throw std::runtime_error("test data: " + document.error().message);
  return std::move(*document);
}

Answer Answer::file(std::string_view name) { return body(dagster_data_text(name)); }

Answer Answer::body(std::string text, int status) {
  Answer answer;
  answer.http_status = status;
  answer.http_body = std::move(text);
  return answer;
}

Answer Answer::json(const rapidjson::Value& value) { return body(recorder::write_json(value)); }

Answer Answer::status_code(int status, std::string text) { return body(std::move(text), status); }

Answer Answer::error(std::string message) {
  Answer answer;
  answer.no_response = true;
  answer.error_message = std::move(message);
  return answer;
}

namespace {

const rapidjson::Value* value_at(const rapidjson::Value& variables, const char* pointer) {
  return rapidjson::Pointer(pointer).Get(variables);
}

}  // namespace

VariablesMatch where(const char* pointer, std::string value) {
  return [pointer, value = std::move(value)](const rapidjson::Value& variables) {
    const auto* found = value_at(variables, pointer);
    return found && found->IsString() && value == found->GetString();
  };
}

VariablesMatch where_null(const char* pointer) {
  return [pointer](const rapidjson::Value& variables) {
    const auto* found = value_at(variables, pointer);
    return !found || found->IsNull();
  };
}

const rapidjson::Value& Request::variables() const {
  static const rapidjson::Value empty(rapidjson::kObjectType);
  if (!body || !body->IsObject()) return empty;
  const auto* vars = recorder::get_object(*body, "variables");
  return vars ? *vars : empty;
}

FakeTransport& FakeTransport::on(std::string operation, Answer answer) {
  return on(std::move(operation), VariablesMatch{}, std::move(answer));
}

FakeTransport& FakeTransport::on(std::string operation, VariablesMatch match, Answer answer) {
  std::lock_guard lock(m_mutex);
  m_rules.push_back({std::move(operation), std::move(match), std::move(answer)});
  return *this;
}

recorder::Result<recorder::HttpResponse> FakeTransport::send(const recorder::HttpRequest& request) {
  Request recorded;
  recorded.http = request;
  auto body = std::make_shared<rapidjson::Document>();
  if (auto parsed = recorder::parse_json(request.body, "request body")) {
    *body = std::move(*parsed);
    recorded.operation = recorder::get_string(*body, "operationName").value_or("");
    recorded.query = recorder::get_string(*body, "query").value_or("");
  }
  recorded.body = body;
  const auto& variables = recorded.variables();

  std::lock_guard lock(m_mutex);
  m_requests.push_back(recorded);
  for (auto rule = m_rules.rbegin(); rule != m_rules.rend(); ++rule) {
    if (rule->operation != recorded.operation || (rule->match && !rule->match(variables))) continue;
    const auto& answer = rule->answer;
    if (answer.no_response) return recorder::make_error(answer.error_message);
    return recorder::HttpResponse{answer.http_status, {{"Content-Type", "application/json"}}, answer.http_body};
  }
  auto line = (recorded.operation.empty() ? "(not a GraphQL request)" : recorded.operation) + " " +
              recorder::write_json(variables);
  m_unanswered.push_back(line);
  return recorder::make_error("FakeTransport: no answer for " + line);
}

std::vector<Request> FakeTransport::requests() const {
  std::lock_guard lock(m_mutex);
  return m_requests;
}

std::vector<Request> FakeTransport::requests(std::string_view operation) const {
  std::lock_guard lock(m_mutex);
  std::vector<Request> out;
  for (const auto& request : m_requests) {
    if (request.operation == operation) out.push_back(request);
  }
  return out;
}

std::size_t FakeTransport::count(std::string_view operation) const { return requests(operation).size(); }

std::vector<std::string> FakeTransport::unanswered() const {
  std::lock_guard lock(m_mutex);
  return m_unanswered;
}

}  // namespace day2test
