// Bundles (recorder/bundle.hpp), the part writing and reading share: service names, queries, JSON
// bodies and GraphQL requests. Writing: bundle_write.cpp; reading: bundle_read.cpp.
#include "recorder/bundle.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "bundle_detail.hpp"
#include "recorder/base/text.hpp"

namespace recorder {

using rapidjson::Value;
using bundle_detail::encode_query;
using bundle_detail::within_depth;

// ---- shared helpers ----------------------------------------------------------------------------

std::string_view to_string(BundleSource source) {
  switch (source) {
    case BundleSource::live: return "live";
    case BundleSource::generated: return "generated";
  }
  return "live";
}

std::optional<Service> service_from_string(std::string_view name) {
  // Service::other is the last enumerator.
  for (int i = 0; i <= static_cast<int>(Service::other); ++i) {
    auto service = static_cast<Service>(i);
    if (to_string(service) == name) return service;
  }
  return std::nullopt;
}

namespace {

bool is_container(const Value& value) { return value.IsObject() || value.IsArray(); }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode_component(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The operation name in GraphQL text ("query RunEvents($runId: ID!) {...}"); "" for an anonymous one.
std::string operation_name_in(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ',') {
      ++i;
    } else if (text[i] == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else {
      break;
    }
  }
  for (std::string_view keyword : {"query", "mutation", "subscription"}) {
    if (text.substr(i, keyword.size()) != keyword) continue;
    std::size_t j = i + keyword.size();
    if (j < text.size() && is_name_char(text[j])) continue;
    while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    std::size_t start = j;
    while (j < text.size() && is_name_char(text[j])) ++j;
    return std::string(text.substr(start, j - start));
  }
  return "";
}

}  // namespace

namespace bundle_detail {

// Iterative, so that a hostile document cannot overflow the stack here.
bool within_depth(const Value& root, std::size_t limit) {
  std::vector<std::pair<const Value*, std::size_t>> stack{{&root, 1}};
  while (!stack.empty()) {
    auto [value, depth] = stack.back();
    stack.pop_back();
    if (depth > limit) return false;
    if (value->IsObject()) {
      for (const auto& member : value->GetObject()) {
        if (is_container(member.value)) stack.emplace_back(&member.value, depth + 1);
      }
    } else if (value->IsArray()) {
      for (const auto& element : value->GetArray()) {
        if (is_container(element)) stack.emplace_back(&element, depth + 1);
      }
    }
  }
  return true;
}

std::string encode_query(QueryParams params) {
  std::stable_sort(params.begin(), params.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += url_encode(name) + "=" + url_encode(value);
  }
  return out;
}

std::string exchange_file_name(int seq) { return fmt::format("{:04}.json", seq); }

}  // namespace bundle_detail

std::optional<rapidjson::Document> parse_body_json(std::string_view body) {
  auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (body[first] != '{' && body[first] != '[')) return std::nullopt;
  auto parsed = parse_json(body, "body");
  if (!parsed || !is_container(*parsed) || !within_depth(*parsed, k_max_json_depth)) return std::nullopt;
  return std::move(parsed).value();
}

QueryParams parse_query(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    params.emplace_back(decode_component(part.substr(0, eq)),
                        eq == std::string_view::npos ? std::string{} : decode_component(part.substr(eq + 1)));
  }
  return params;
}

std::string canonical_query(std::string_view query) { return encode_query(parse_query(query)); }

std::optional<GraphqlRequest> parse_graphql_request(Service service, std::string_view method, std::string_view path,
                                                    std::string_view body) {
  bool graphql_path = path.size() >= 7 && path.substr(path.size() - 7) == "graphql";
  if (!iequals(method, "POST") || (service != Service::dagster && !graphql_path)) return std::nullopt;
  auto json = parse_body_json(body);
  if (!json || !json->IsObject()) return std::nullopt;
  auto query = get_string(*json, "query");
  if (!query) return std::nullopt;
  GraphqlRequest request;
  request.query = *query;
  request.operation_name = get_string(*json, "operationName").value_or(operation_name_in(*query));
  auto variables = json->FindMember("variables");
  bool none = variables == json->MemberEnd() || variables->value.IsNull();
  request.variables = none ? "{}" : write_json(variables->value);
  return request;
}

}  // namespace recorder
