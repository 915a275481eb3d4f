// Redaction (recorder/redact.hpp): the Redactor, and what it does to bodies (JSON members and paths,
// token endpoint values), headers and queries. What counts as a secret, the text patterns and the
// placeholders: redact_patterns.cpp.
#include "recorder/redact.hpp"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>

#include "recorder/base/secrets.hpp"
#include "recorder/base/text.hpp"
#include "redact_detail.hpp"

namespace recorder {

using redact_detail::compile;
using redact_detail::is_secret_member;
using redact_detail::is_secret_number_member;

namespace {

using rapidjson::Value;

// What a token endpoint may say in clear.
bool is_token_field_kept(std::string_view name) {
  return name == "grant_type" || name == "token_type" || name == "scope" || name == "expires_in" || name == "error" ||
         name == "error_description";
}

std::string_view text_of(const Value& value) { return {value.GetString(), value.GetStringLength()}; }

std::vector<std::string> pointer_segments(std::string_view pointer) {
  std::vector<std::string> segments;
  std::size_t start = 1;
  while (start <= pointer.size()) {
    auto end = pointer.find('/', start);
    if (end == std::string_view::npos) end = pointer.size();
    std::string segment;
    for (std::size_t i = start; i < end; ++i) {
      if (pointer[i] == '~' && i + 1 < end && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
        segment.push_back(pointer[++i] == '0' ? '~' : '/');
      } else {
        segment.push_back(pointer[i]);
      }
    }
    segments.push_back(std::move(segment));
    start = end + 1;
  }
  return segments;
}

bool valid_rule_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '_' || c == '.' || c == '-';
  });
}

}  // namespace

// The secrets the process holds (recorder/secrets.hpp) become known ones: once per exchange or
// text, not per string of a body.
void Redactor::Impl::learn_held() {
  for (const auto& held : held_secrets()) learn(held);
}

bool Redactor::Impl::at_json_path(const std::vector<std::string>& path) const {
  return std::any_of(json_paths.begin(), json_paths.end(), [&](const JsonPath& p) {
    if (p.segments.size() != path.size()) return false;
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (p.segments[i] != "*" && p.segments[i] != path[i]) return false;
    }
    return true;
  });
}

// The placeholder of a JSON value; only strings are remembered as secrets (a number would be
// replaced inside every other number).
std::string Redactor::Impl::placeholder_of(const std::string& kind, const Value& value) {
  return value.IsString() ? placeholder(kind, text_of(value)) : placeholder(kind, write_json(value), false);
}

// Depth is bounded: bodies come from parse_body_json.
void Redactor::Impl::json(Value& value, Allocator& a, std::vector<std::string>& path) {
  if (value.IsString() && is_clean_placeholder(text_of(value))) return;
  if (!path.empty() && at_json_path(path)) {
    set_string(value, placeholder_of("json", value), a);
  } else if (value.IsString()) {
    auto redacted = text(text_of(value));
    if (redacted != text_of(value)) set_string(value, redacted, a);
  } else if (value.IsObject()) {
    for (auto& member : value.GetObject()) {
      std::string name(text_of(member.name));
      bool secret_value = (member.value.IsString() && is_secret_member(name)) ||
                          (member.value.IsNumber() && is_secret_number_member(name));
      if (secret_value && !(member.value.IsString() && is_clean_placeholder(text_of(member.value)))) {
        set_string(member.value, placeholder_of("token", member.value), a);
      } else {
        path.push_back(name);
        json(member.value, a, path);
        path.pop_back();
      }
      auto redacted_name = text(name);
      if (redacted_name != name) member.name = json_string(redacted_name, a);
    }
  } else if (value.IsArray()) {
    std::size_t index = 0;
    for (auto& element : value.GetArray()) {
      path.push_back(std::to_string(index++));
      json(element, a, path);
      path.pop_back();
    }
  }
}

std::string Redactor::Impl::body(std::string_view input) {
  if (auto doc = parse_body_json(input)) {
    std::vector<std::string> path;
    json(*doc, doc->GetAllocator(), path);
    return write_json(*doc);
  }
  return text(input);
}

// Token endpoint values in JSON: every string not under a kept member.
void Redactor::Impl::token_json(Value& value, Allocator& a, bool kept) {
  if (value.IsString()) {
    if (!kept && !is_clean_placeholder(text_of(value))) set_string(value, placeholder("token", text_of(value)), a);
  } else if (value.IsObject()) {
    for (auto& member : value.GetObject()) token_json(member.value, a, is_token_field_kept(text_of(member.name)));
  } else if (value.IsArray()) {
    for (auto& element : value.GetArray()) token_json(element, a, kept);
  }
}

std::string Redactor::Impl::token_body(std::string_view input) {
  if (input.empty() || is_clean_placeholder(input)) return std::string(input);
  if (auto doc = parse_body_json(input)) {
    token_json(*doc, doc->GetAllocator(), false);
    return write_json(*doc);
  }
  if (input.find('=') == std::string_view::npos || input.find_first_of(" \r\n\t") != std::string_view::npos) {
    return placeholder("token", input);
  }
  // A form body: names stay, values go (unless kept); placeholders are written unencoded.
  std::string out;
  for (const auto& [name, value] : parse_query(input)) {
    if (!out.empty()) out.push_back('&');
    std::string redacted = is_token_field_kept(name)   ? url_encode(value)
                           : is_clean_placeholder(value) ? value
                                                         : placeholder("token", value);
    out += url_encode(name) + "=" + redacted;
  }
  return out;
}

// A value day2 or a client sent as a credential: remembered, so that any echo of it is replaced.
void Redactor::Impl::learn(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.size() >= 6 && !is_clean_placeholder(value)) placeholder("credential", value);
}

// The credentials of secret headers ("Bearer X", "Basic X", cookie values, a token header's
// value) and of secret query parameters, before they are dropped.
void Redactor::Impl::learn_headers(const Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (!is_secret_header(name)) continue;
    auto n = lower(name);
    std::string_view v(value);
    if (n == "cookie" || n == "set-cookie") {
      while (!v.empty()) {
        auto end = v.find(';');
        auto pair = v.substr(0, end);
        auto eq = pair.find('=');
        if (eq != std::string_view::npos) learn(pair.substr(eq + 1));
        if (end == std::string_view::npos || n == "set-cookie") break;  // Set-Cookie: attributes follow
        v = v.substr(end + 1);
      }
      continue;
    }
    auto space = v.find(' ');
    if ((n == "authorization" || n == "proxy-authorization") && space != std::string_view::npos) {
      learn(v.substr(space + 1));
    }
    learn(v);
  }
}

void Redactor::Impl::learn_query(std::string_view input) {
  for (const auto& [name, value] : parse_query(input)) {
    if (is_secret_query_param(name)) learn(value);
  }
}

std::string Redactor::Impl::query(std::string_view input) {
  std::string out;
  for (const auto& [name, value] : parse_query(input)) {
    if (is_secret_query_param(name)) continue;
    if (!out.empty()) out.push_back('&');
    out += url_encode(text(name)) + "=" + url_encode(text(value));
  }
  return out;
}

void Redactor::Impl::headers(Headers& headers) {
  headers.erase(std::remove_if(headers.begin(), headers.end(), [](const auto& h) { return is_secret_header(h.first); }),
                headers.end());
  for (auto& header : headers) header.second = text(header.second);
}

Redactor::Redactor() : m_impl(std::make_shared<Impl>()) {}

Result<Redactor> Redactor::make(RedactionSettings settings) {
  Redactor redactor;
  auto& impl = *redactor.m_impl;
  for (auto& rule : settings.patterns) {
    if (!valid_rule_name(rule.name)) {
      return make_error(fmt::format("redaction rule \"{}\": a name may only hold letters, digits, space, '_', '.' "
                                    "and '-'",
                                    rule.name));
    }
    auto re = compile(rule.pattern);
    if (!re->ok()) {
      return make_error(fmt::format("redaction rule \"{}\": bad pattern \"{}\": {}", rule.name, rule.pattern, re->error()));
    }
    if (RE2::FullMatch("", *re)) {
      return make_error(fmt::format("redaction rule \"{}\": pattern \"{}\" matches the empty string", rule.name,
                                    rule.pattern));
    }
    impl.rules.push_back({std::move(rule.name), std::move(re)});
  }
  for (auto& path : settings.json_paths) {
    if (path.empty() || path.front() != '/') {
      return make_error(fmt::format("redaction json path \"{}\": must start with '/' (a JSON pointer)", path));
    }
    impl.json_paths.push_back({path, pointer_segments(path)});
  }
  return redactor;
}

void Redactor::redact(Exchange& exchange) const {
  auto& impl = *m_impl;
  // The credentials the client sent first, so that an echo anywhere in the exchange is replaced.
  impl.learn_held();
  impl.learn_headers(exchange.request_headers);
  impl.learn_query(exchange.query);
  // Bodies next: the secrets they hold become known before the URL and headers are looked at.
  if (is_token_endpoint(exchange.service, exchange.path)) {
    exchange.request_body = impl.token_body(exchange.request_body);
    exchange.response_body = impl.token_body(exchange.response_body);
  }
  exchange.request_body = impl.body(exchange.request_body);
  exchange.response_body = impl.body(exchange.response_body);
  exchange.path = impl.text(exchange.path);
  exchange.query = impl.query(exchange.query);
  impl.headers(exchange.request_headers);
  impl.headers(exchange.response_headers);
}

std::string Redactor::redact_text(std::string_view text) const {
  m_impl->learn_held();
  return m_impl->text(text);
}

void Redactor::add_secret(std::string_view value) const { m_impl->learn(value); }

void Redactor::learn_credentials(const Headers& headers) const { m_impl->learn_headers(headers); }

std::vector<std::string> Redactor::learnt_since(std::size_t& cursor) const {
  std::lock_guard lock(m_impl->mutex);
  const auto& order = m_impl->known_order;
  std::vector<std::string> values(order.begin() + static_cast<std::ptrdiff_t>(std::min(cursor, order.size())),
                                  order.end());
  cursor = order.size();
  return values;
}

std::string safe_url(std::string_view url) {
  std::string out;
  auto scheme = url.find("://");
  std::string_view rest = url;
  if (scheme != std::string_view::npos) {
    out += url.substr(0, scheme + 3);
    rest = url.substr(scheme + 3);
    auto authority_end = rest.find_first_of("/?#");
    auto at = rest.substr(0, authority_end).rfind('@');
    if (at != std::string_view::npos) {
      out += "<redacted>@";
      rest = rest.substr(at + 1);
    }
  }
  auto question = rest.find('?');
  out += rest.substr(0, question);
  if (question == std::string_view::npos) return out;
  auto query = rest.substr(question + 1);
  auto hash = query.find('#');
  auto fragment = hash == std::string_view::npos ? std::string_view{} : query.substr(hash);
  query = query.substr(0, hash);
  out.push_back('?');
  bool first = true;
  while (true) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (!first) out.push_back('&');
    first = false;
    auto parsed = eq == std::string_view::npos ? QueryParams{} : parse_query(pair);
    if (!parsed.empty() && is_secret_query_param(parsed.front().first)) {
      out += pair.substr(0, eq);
      out += "=<redacted>";
    } else {
      out += pair;
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  out += fragment;
  return out;
}

std::vector<std::string> Redactor::names() const {
  std::vector<std::string> names = {"Authorization header",
                                    "Cookie and Set-Cookie headers",
                                    "Dagster-Cloud-Api-Token header",
                                    "headers naming a token, secret, password or API key",
                                    "token query parameters (access_token, key, token, ...)",
                                    "OAuth token endpoint bodies",
                                    "secret JSON members (names holding token, secret, password, api key, access key, "
                                    "private key, signature or credential, any case or separator)",
                                    "signed-URL and credential query parameters (key, sig, X-Amz-Signature, code, ...)",
                                    "private keys (PEM)",
                                    "bearer tokens", "JWTs", "HTTP Basic credentials", "passwords in URLs",
                                    "credentials known by their prefix (AIza, ya29., ghp_, xox?-, AKIA, user:…)",
                                    "the credentials day2 and its clients send, wherever echoed"};
  for (const auto& rule : m_impl->rules) names.push_back("pattern " + rule.name);
  for (const auto& path : m_impl->json_paths) names.push_back("json path " + path.text);
  return names;
}

}  // namespace recorder
