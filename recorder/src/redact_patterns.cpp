// What the redactor takes for a secret (recorder/redact.hpp): the credential name families of
// headers, query parameters and JSON members, the built-in text patterns, and the replacement of
// their matches and of known secrets by numbered placeholders. Bodies, headers, queries and the
// Redactor itself: redact.cpp.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "recorder/base/text.hpp"
#include "redact_detail.hpp"

namespace recorder {

using redact_detail::compile;
using redact_detail::k_placeholder_open;

namespace {

// The built-in text rules; the first group of each is the secret.
constexpr std::string_view k_private_key =
    R"((-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)))";
constexpr std::string_view k_bearer = R"((?i)\bbearer\s+([A-Za-z0-9._~+/=-]{8,}))";
constexpr std::string_view k_token_pair =
    R"((?i)\b(?:access_token|refresh_token|id_token|client_secret|assertion|api_key|apikey|api-key|password|passwd|)"
    R"(secret|token|session_token|access_key|secret_access_key)=([^&\s"'<>]{4,}))";
// A query parameter of a URL inside a text: the families of is_secret_query_param.
constexpr std::string_view k_url_param =
    R"((?i)[?&](?:key|sig|signature|code|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|)"
    R"(x-goog-credential|x-goog-api-key|api-key|apikey|api_key|access_key|accesskey|secret|password|token|)"
    R"(access_token|id_token|refresh_token)=([^&\s"'<>#\\]{4,}))";
// JWTs (a JSON header and payload, base64url): "eyJ….eyJ….…".
constexpr std::string_view k_jwt = R"(\b(eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*))";
// HTTP Basic credentials (kept only when they decode to "user:password").
constexpr std::string_view k_basic = R"(\b[Bb]asic\s+([A-Za-z0-9+/]{6,}={0,2}))";
// The password of a URL's userinfo: "scheme://user:PASSWORD@host".
constexpr std::string_view k_userinfo = R"((?i)\b[a-z][a-z0-9+.-]*://[^\s/:@"'<>]*:([^\s/@"'<>]+)@)";
// Credentials known by their prefix: Google API keys and OAuth tokens, GitHub, Slack, AWS, Stripe,
// GitLab, Dagster+ user and agent tokens.
constexpr std::string_view k_prefixed =
    R"(\b((?:AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{16,}|1//0[0-9A-Za-z_-]{20,}|gh[pousr]_[0-9A-Za-z]{30,}|)"
    R"(github_pat_[0-9A-Za-z_]{22,}|xox[abprs]-[0-9A-Za-z-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}|sk_live_[0-9A-Za-z]{16,}|)"
    R"(glpat-[0-9A-Za-z_-]{20,}|(?:user|agent):(?:[A-Za-z0-9-]+:)?[0-9a-f]{32,})))";

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

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

// The length of the placeholder at the start of `text` ("<redacted:<kind>:<n>>": a kind of printable
// characters other than <, >, " and \, then a number), or 0. Only that shape is a placeholder: text
// that merely opens with "<redacted:" (a fuzzer's, or anyone's) is redacted like any other.
std::size_t placeholder_length(std::string_view text) {
  constexpr std::size_t k_longest = 120;
  if (!text.starts_with(k_placeholder_open)) return 0;
  auto close = text.find('>', k_placeholder_open.size());
  if (close == std::string_view::npos || close > k_longest) return 0;
  auto body = text.substr(k_placeholder_open.size(), close - k_placeholder_open.size());
  auto colon = body.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == body.size()) return 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(body[i]);
    bool digit = c >= '0' && c <= '9';
    if (i > colon ? !digit : (c < 0x20 || c > 0x7e || c == '<' || c == '"' || c == '\\')) return 0;
  }
  return close + 1;
}

}  // namespace

namespace redact_detail {

bool is_placeholder(std::string_view text) { return !text.empty() && placeholder_length(text) == text.size(); }

// Members whose value is a credential wherever they appear: strings of the families (and
// "assertion"), and numbers too under the OAuth names.
bool is_secret_member(std::string_view name) { return in_secret_family(name, {"assertion", "pwd", "sessionid"}); }
bool is_secret_number_member(std::string_view name) {
  static const std::set<std::string, std::less<>> k_names = {
      "access_token", "accessToken", "refresh_token", "refreshToken", "id_token", "idToken",
      "client_secret", "clientSecret", "private_key", "privateKey", "password", "assertion", "token"};
  return k_names.count(name) > 0;
}

std::unique_ptr<RE2> compile(std::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  return std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
}

}  // namespace redact_detail

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

namespace {

// The built-in patterns, compiled once per process (a Redactor is made per night, per test, per fuzz
// input); RE2 objects are safe to share between threads.
struct BuiltinPatterns {
  std::shared_ptr<const RE2> private_key = compile(k_private_key);
  std::shared_ptr<const RE2> bearer = compile(k_bearer);
  std::shared_ptr<const RE2> token_pair = compile(k_token_pair);
  std::shared_ptr<const RE2> url_param = compile(k_url_param);
  std::shared_ptr<const RE2> jwt = compile(k_jwt);
  std::shared_ptr<const RE2> basic = compile(k_basic);
  std::shared_ptr<const RE2> userinfo = compile(k_userinfo);
  std::shared_ptr<const RE2> prefixed = compile(k_prefixed);
};

const BuiltinPatterns& builtin_patterns() {
  static const BuiltinPatterns patterns;
  return patterns;
}

}  // namespace

Redactor::Impl::Impl()
    : private_key(builtin_patterns().private_key),
      bearer(builtin_patterns().bearer),
      token_pair(builtin_patterns().token_pair),
      url_param(builtin_patterns().url_param),
      jwt(builtin_patterns().jwt),
      basic(builtin_patterns().basic),
      userinfo(builtin_patterns().userinfo),
      prefixed(builtin_patterns().prefixed) {}

std::string Redactor::Impl::placeholder(const std::string& kind, std::string_view value, bool secret) {
  std::lock_guard lock(mutex);
  auto key = std::make_pair(kind, std::string(value));
  auto it = placeholders.find(key);
  if (it == placeholders.end()) {
    it = placeholders.emplace(key, fmt::format("<redacted:{}:{}>", kind, ++counts[kind])).first;
  }
  // Short values would be replaced everywhere they happen to occur; they are not remembered.
  if (secret && value.size() >= 6 && known.emplace(std::string(value), it->second).second) {
    known_order.emplace_back(value);
  }
  return it->second;
}

// Applies `replace` to the parts of `text` outside placeholders, so a placeholder is never
// redacted again.
template <class Replace>
std::string Redactor::Impl::outside_placeholders(std::string_view text, Replace replace) {
  std::string out;
  std::size_t from = 0;  // where the search for the next placeholder starts
  while (from <= text.size()) {
    auto open = text.find(k_placeholder_open, from);
    if (open == std::string_view::npos) break;
    auto length = placeholder_length(text.substr(open));
    if (length == 0) {
      from = open + 1;  // not a placeholder: part of the text to redact
      continue;
    }
    out += replace(text.substr(0, open));
    out += text.substr(open, length);
    text = text.substr(open + length);
    from = 0;
  }
  if (!text.empty()) out += replace(text);
  return out;
}

// Replaces every match of `re` (or of its first group, for the built-in rules) by a placeholder
// of `kind`; a `secret` value is remembered and replaced wherever it occurs later.
std::string Redactor::Impl::replace_matches(std::string_view text, const RE2& re, const std::string& kind, Part which,
                                            bool secret, bool (*accept)(std::string_view)) {
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
// replacement is never searched again. Placeholders are searched too: text shaped like one
// ("<redacted:SECRET:1>") may hold a secret. Each secret's next occurrence is remembered and searched
// again only once the pass has moved past it: one scan of the text per secret, however many
// occurrences.
std::string Redactor::Impl::replace_known(std::string_view text) {
  std::lock_guard lock(mutex);
  if (known.empty()) return std::string(text);
  using Entry = std::pair<const std::string, std::string>;
  std::vector<const Entry*> entries;
  std::vector<std::size_t> next;
  for (const auto& entry : known) {
    entries.push_back(&entry);
    next.push_back(text.find(entry.first));
  }
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t best = entries.size();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (next[i] == std::string_view::npos) continue;
      if (best == entries.size() || next[i] < next[best] ||
          (next[i] == next[best] && entries[i]->first.size() > entries[best]->first.size())) {
        best = i;
      }
    }
    if (best == entries.size()) break;
    out += text.substr(pos, next[best] - pos);
    out += entries[best]->second;
    pos = next[best] + entries[best]->first.size();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (next[i] != std::string_view::npos && next[i] < pos) next[i] = text.find(entries[i]->first, pos);
    }
  }
  if (pos < text.size()) out += text.substr(pos);
  return out;
}

// A placeholder this redactor may leave as it is: the placeholder shape, holding no known secret.
bool Redactor::Impl::is_clean_placeholder(std::string_view text) {
  if (!redact_detail::is_placeholder(text)) return false;
  std::lock_guard lock(mutex);
  return std::none_of(known.begin(), known.end(),
                      [&](const auto& entry) { return text.find(entry.first) != std::string_view::npos; });
}

// Any text: known secrets, private keys, bearer tokens and token=... pairs, then the patterns.
std::string Redactor::Impl::text(std::string_view input) {
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

}  // namespace recorder
