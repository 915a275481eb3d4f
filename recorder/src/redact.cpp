#include "recorder/redact.hpp"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <set>

#include "recorder/base/secrets.hpp"
#include "recorder/base/text.hpp"

namespace recorder {

namespace {

using rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

constexpr std::string_view k_placeholder_open = "<redacted:";

bool is_placeholder(std::string_view text) {
  return text.starts_with(k_placeholder_open) && text.back() == '>' && text.find('>') == text.size() - 1;
}

// A name as the families compare it: lower case, without '_', '-', '.' and spaces, so that apiKey,
// api_key, API-Key and "api key" are one name.
std::string squeezed(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '_' || c == '-' || c == '.' || c == ' ') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

// The key-name families of credentials, case- and separator-insensitive: a name holding token,
// secret, password, passwd, apikey, accesskey, privatekey, signature or credential, or one of
// `exact`. Not the names that only point at one (secretName, tokenRef), nor pagination
// (pageToken), nor token_type.
bool in_secret_family(std::string_view name, std::initializer_list<std::string_view> exact) {
  auto n = squeezed(name);
  if (n.empty() || n.ends_with("pagetoken") || n == "tokentype" || n.ends_with("name") || n.ends_with("ref") ||
      n.ends_with("path") || n.ends_with("file") || n.ends_with("uri")) {
    return false;
  }
  for (auto word : exact) {
    if (n == word) return true;
  }
  for (std::string_view part : {"token", "secret", "password", "passwd", "apikey", "accesskey", "privatekey",
                                "signature", "credential"}) {
    if (contains(n, part)) return true;
  }
  return false;
}

// Members whose value is a credential wherever they appear: strings of the families (and
// "assertion"), and numbers too under the OAuth names.
bool is_secret_member(std::string_view name) { return in_secret_family(name, {"assertion", "pwd", "sessionid"}); }
bool is_secret_number_member(std::string_view name) {
  static const std::set<std::string, std::less<>> k_names = {
      "access_token", "accessToken", "refresh_token", "refreshToken", "id_token", "idToken",
      "client_secret", "clientSecret", "private_key", "privateKey", "password", "assertion", "token"};
  return k_names.count(name) > 0;
}

// Base64 of "user:password" (HTTP Basic credentials)?
bool is_basic_credential(std::string_view text) {
  static constexpr std::string_view k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string decoded;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    auto at = k_alphabet.find(c);
    if (at == std::string_view::npos) return false;
    buffer = (buffer << 6) | static_cast<unsigned>(at);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  auto colon = decoded.find(':');
  return colon != std::string::npos && colon > 0 &&
         std::all_of(decoded.begin(), decoded.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// What a token endpoint may say in clear.
bool is_token_field_kept(std::string_view name) {
  return name == "grant_type" || name == "token_type" || name == "scope" || name == "expires_in" || name == "error" ||
         name == "error_description";
}

std::string_view text_of(const Value& value) { return {value.GetString(), value.GetStringLength()}; }

std::unique_ptr<RE2> compile(std::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  return std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
}

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

bool is_secret_header(std::string_view name) {
  auto n = lower(name);
  return n == "authorization" || n == "proxy-authorization" || n == "cookie" || n == "set-cookie" ||
         in_secret_family(name, {"xgoogapikey", "xapikey"});
}

bool is_secret_query_param(std::string_view name) {
  // Google's key, signed URLs' sig / X-Amz-Signature / X-Goog-Signature, OAuth's code.
  return in_secret_family(name, {"key", "sig", "code", "assertion", "pwd"});
}

bool is_token_endpoint(Service service, std::string_view path) {
  if (service == Service::oauth || path.ends_with("/token")) return true;
  if (path.ends_with(":generateAccessToken") || path.ends_with(":generateIdToken")) return true;
  return path.starts_with("/computeMetadata/v1/instance/service-accounts/") && path.ends_with("/identity");
}

struct Redactor::Impl {
  struct Rule {
    std::string name;
    std::unique_ptr<RE2> re;
  };
  struct JsonPath {
    std::string text;
    std::vector<std::string> segments;
  };

  std::vector<Rule> rules;
  std::vector<JsonPath> json_paths;
  // Built-in text rules; the first group of each is the secret.
  std::unique_ptr<RE2> private_key =
      compile(R"((-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)))");
  std::unique_ptr<RE2> bearer = compile(R"((?i)\bbearer\s+([A-Za-z0-9._~+/=-]{8,}))");
  std::unique_ptr<RE2> token_pair = compile(
      R"((?i)\b(?:access_token|refresh_token|id_token|client_secret|assertion|api_key|apikey|api-key|password|passwd|)"
      R"(secret|token|session_token|access_key|secret_access_key)=([^&\s"'<>]{4,}))");
  // A query parameter of a URL inside a text: the families of is_secret_query_param.
  std::unique_ptr<RE2> url_param = compile(
      R"((?i)[?&](?:key|sig|signature|code|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|)"
      R"(x-goog-credential|x-goog-api-key|api-key|apikey|api_key|access_key|accesskey|secret|password|token|)"
      R"(access_token|id_token|refresh_token)=([^&\s"'<>#\\]{4,}))");
  // JWTs (a JSON header and payload, base64url): "eyJ….eyJ….…".
  std::unique_ptr<RE2> jwt = compile(R"(\b(eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*))");
  // HTTP Basic credentials (kept only when they decode to "user:password").
  std::unique_ptr<RE2> basic = compile(R"(\b[Bb]asic\s+([A-Za-z0-9+/]{6,}={0,2}))");
  // The password of a URL's userinfo: "scheme://user:PASSWORD@host".
  std::unique_ptr<RE2> userinfo = compile(R"((?i)\b[a-z][a-z0-9+.-]*://[^\s/:@"'<>]*:([^\s/@"'<>]+)@)");
  // Credentials known by their prefix: Google API keys and OAuth tokens, GitHub, Slack, AWS, Stripe,
  // GitLab, Dagster+ user and agent tokens.
  std::unique_ptr<RE2> prefixed = compile(
      R"(\b((?:AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{16,}|1//0[0-9A-Za-z_-]{20,}|gh[pousr]_[0-9A-Za-z]{30,}|)"
      R"(github_pat_[0-9A-Za-z_]{22,}|xox[abprs]-[0-9A-Za-z-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}|sk_live_[0-9A-Za-z]{16,}|)"
      R"(glpat-[0-9A-Za-z_-]{20,}|(?:user|agent):(?:[A-Za-z0-9-]+:)?[0-9a-f]{32,})))");

  std::mutex mutex;
  std::map<std::pair<std::string, std::string>, std::string> placeholders;  // (kind, value) -> placeholder
  std::map<std::string, int> counts;                                         // kind -> last number
  std::map<std::string, std::string> known;                                  // secret value -> placeholder

  std::string placeholder(const std::string& kind, std::string_view value, bool secret = true) {
    std::lock_guard lock(mutex);
    auto key = std::make_pair(kind, std::string(value));
    auto it = placeholders.find(key);
    if (it == placeholders.end()) {
      it = placeholders.emplace(key, fmt::format("<redacted:{}:{}>", kind, ++counts[kind])).first;
    }
    // Short values would be replaced everywhere they happen to occur; they are not remembered.
    if (secret && value.size() >= 6) known.emplace(std::string(value), it->second);
    return it->second;
  }

  // Applies `replace` to the parts of `text` outside placeholders, so a placeholder is never
  // redacted again.
  template <class Replace>
  static std::string outside_placeholders(std::string_view text, Replace replace) {
    std::string out;
    while (!text.empty()) {
      auto open = text.find(k_placeholder_open);
      auto close = open == std::string_view::npos ? open : text.find('>', open);
      if (close == std::string_view::npos) {
        out += replace(text);
        break;
      }
      out += replace(text.substr(0, open));
      out += text.substr(open, close + 1 - open);
      text = text.substr(close + 1);
    }
    return out;
  }

  // Replaces every match of `re` (or of its first group, for the built-in rules) by a placeholder
  // of `kind`; a `secret` value is remembered and replaced wherever it occurs later.
  enum class Part { whole, group };
  std::string replace_matches(std::string_view text, const RE2& re, const std::string& kind, Part which, bool secret,
                              bool (*accept)(std::string_view) = nullptr) {
    return outside_placeholders(text, [&](std::string_view part) {
      std::string out;
      int group = which == Part::group ? 1 : 0;
      re2::StringPiece input(part.data(), part.size());
      re2::StringPiece found[2];
      std::size_t pos = 0;
      while (pos <= part.size() && re.Match(input, pos, part.size(), RE2::UNANCHORED, found, group + 1)) {
        auto begin = static_cast<std::size_t>(found[group].data() - part.data());
        auto end = begin + found[group].size();
        auto whole_end = static_cast<std::size_t>(found[0].data() - part.data()) + found[0].size();
        out += part.substr(pos, begin - pos);
        std::string_view value(found[group].data(), found[group].size());
        if (found[group].empty()) {
        } else if (accept && !accept(value)) {
          out += value;
        } else {
          out += placeholder(kind, value, secret);
        }
        out += part.substr(end, whole_end - end);
        if (whole_end == pos) {  // an empty match: step over one character
          if (pos < part.size()) out.push_back(part[pos]);
          ++pos;
        } else {
          pos = whole_end;
        }
      }
      if (pos < part.size()) out += part.substr(pos);
      return out;
    });
  }

  // Replaces every known secret in one left-to-right pass (the longest at a position wins), so a
  // replacement is never searched again.
  std::string replace_known(std::string_view text) {
    std::lock_guard lock(mutex);
    if (known.empty()) return std::string(text);
    return outside_placeholders(text, [&](std::string_view part) {
      std::string out;
      std::size_t pos = 0;
      while (pos < part.size()) {
        std::size_t best_at = std::string_view::npos;
        const std::pair<const std::string, std::string>* best = nullptr;
        for (const auto& entry : known) {
          auto at = part.find(entry.first, pos);
          if (at < best_at || (at == best_at && at != std::string_view::npos && entry.first.size() > best->first.size())) {
            best_at = at;
            best = &entry;
          }
        }
        if (best == nullptr) break;
        out += part.substr(pos, best_at - pos);
        out += best->second;
        pos = best_at + best->first.size();
      }
      if (pos < part.size()) out += part.substr(pos);
      return out;
    });
  }

  // The secrets the process holds (recorder/secrets.hpp) become known ones: once per exchange or
  // text, not per string of a body.
  void learn_held() {
    for (const auto& held : held_secrets()) learn(held);
  }

  // Any text: known secrets, private keys, bearer tokens and token=... pairs, then the patterns.
  std::string text(std::string_view input) {
    auto out = replace_known(input);
    out = replace_matches(out, *private_key, "private key", Part::group, true);
    out = replace_matches(out, *bearer, "token", Part::group, true);
    out = replace_matches(out, *token_pair, "token", Part::group, true);
    out = replace_matches(out, *url_param, "token", Part::group, true);
    out = replace_matches(out, *jwt, "token", Part::group, true);
    out = replace_matches(out, *basic, "token", Part::group, true, is_basic_credential);
    out = replace_matches(out, *userinfo, "password", Part::group, true);
    out = replace_matches(out, *prefixed, "token", Part::group, true);
    for (const auto& rule : rules) out = replace_matches(out, *rule.re, rule.name, Part::whole, false);
    return out;
  }

  bool at_json_path(const std::vector<std::string>& path) const {
    return std::any_of(json_paths.begin(), json_paths.end(), [&](const JsonPath& p) {
      if (p.segments.size() != path.size()) return false;
      for (std::size_t i = 0; i < path.size(); ++i) {
        if (p.segments[i] != "*" && p.segments[i] != path[i]) return false;
      }
      return true;
    });
  }

  static void set_string(Value& value, std::string_view text, Allocator& a) { value = json_string(text, a); }

  // The placeholder of a JSON value; only strings are remembered as secrets (a number would be
  // replaced inside every other number).
  std::string placeholder_of(const std::string& kind, const Value& value) {
    return value.IsString() ? placeholder(kind, text_of(value)) : placeholder(kind, write_json(value), false);
  }

  // Depth is bounded: bodies come from parse_body_json.
  void json(Value& value, Allocator& a, std::vector<std::string>& path) {
    if (value.IsString() && is_placeholder(text_of(value))) return;
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
        if (secret_value && !(member.value.IsString() && is_placeholder(text_of(member.value)))) {
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

  std::string body(std::string_view input) {
    if (auto doc = parse_body_json(input)) {
      std::vector<std::string> path;
      json(*doc, doc->GetAllocator(), path);
      return write_json(*doc);
    }
    return text(input);
  }

  // Token endpoint values in JSON: every string not under a kept member.
  void token_json(Value& value, Allocator& a, bool kept) {
    if (value.IsString()) {
      if (!kept && !is_placeholder(text_of(value))) set_string(value, placeholder("token", text_of(value)), a);
    } else if (value.IsObject()) {
      for (auto& member : value.GetObject()) token_json(member.value, a, is_token_field_kept(text_of(member.name)));
    } else if (value.IsArray()) {
      for (auto& element : value.GetArray()) token_json(element, a, kept);
    }
  }

  std::string token_body(std::string_view input) {
    if (input.empty() || is_placeholder(input)) return std::string(input);
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
      std::string redacted = is_token_field_kept(name) ? url_encode(value)
                             : is_placeholder(value)   ? value
                                                       : placeholder("token", value);
      out += url_encode(name) + "=" + redacted;
    }
    return out;
  }

  // A value day2 or a client sent as a credential: remembered, so that any echo of it is replaced.
  void learn(std::string_view value) {
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (value.size() >= 6 && !is_placeholder(value)) placeholder("credential", value);
  }

  // The credentials of secret headers ("Bearer X", "Basic X", cookie values, a token header's
  // value) and of secret query parameters, before they are dropped.
  void learn_headers(const Headers& headers) {
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

  void learn_query(std::string_view input) {
    for (const auto& [name, value] : parse_query(input)) {
      if (is_secret_query_param(name)) learn(value);
    }
  }

  std::string query(std::string_view input) {
    std::string out;
    for (const auto& [name, value] : parse_query(input)) {
      if (is_secret_query_param(name)) continue;
      if (!out.empty()) out.push_back('&');
      out += url_encode(text(name)) + "=" + url_encode(text(value));
    }
    return out;
  }

  void headers(Headers& headers) {
    headers.erase(std::remove_if(headers.begin(), headers.end(), [](const auto& h) { return is_secret_header(h.first); }),
                  headers.end());
    for (auto& header : headers) header.second = text(header.second);
  }
};

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
