// What the parts of the redactor share: Redactor::Impl, whose text rules and placeholders are in
// redact_patterns.cpp and whose handling of bodies, headers and queries is in redact.cpp, and the
// helpers both use. Private to recorder/src/redact*.cpp.
#pragma once

#include <re2/re2.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recorder/base/json.hpp"
#include "recorder/redact.hpp"

namespace recorder {

namespace redact_detail {

inline constexpr std::string_view k_placeholder_open = "<redacted:";

bool is_placeholder(std::string_view text);
// Members whose value is a credential wherever they appear: strings of the families (and
// "assertion"), and numbers too under the OAuth names.
bool is_secret_member(std::string_view name);
bool is_secret_number_member(std::string_view name);
// `pattern` compiled quietly (a bad one is reported by ok()).
std::unique_ptr<RE2> compile(std::string_view pattern);

}  // namespace redact_detail

struct Redactor::Impl {
  using Value = rapidjson::Value;
  using Allocator = rapidjson::Document::AllocatorType;

  struct Rule {
    std::string name;
    std::unique_ptr<RE2> re;
  };
  struct JsonPath {
    std::string text;
    std::vector<std::string> segments;
  };
  // What replace_matches replaces: the whole match (the configured rules) or its first group.
  enum class Part { whole, group };

  Impl();

  std::vector<Rule> rules;
  std::vector<JsonPath> json_paths;
  // Built-in text rules (Impl()); the first group of each is the secret.
  std::shared_ptr<const RE2> private_key;
  std::shared_ptr<const RE2> bearer;
  std::shared_ptr<const RE2> token_pair;
  std::shared_ptr<const RE2> url_param;
  std::shared_ptr<const RE2> jwt;
  std::shared_ptr<const RE2> basic;
  std::shared_ptr<const RE2> userinfo;
  std::shared_ptr<const RE2> prefixed;

  std::mutex mutex;
  std::map<std::pair<std::string, std::string>, std::string> placeholders;  // (kind, value) -> placeholder
  std::map<std::string, int> counts;                                         // kind -> last number
  std::map<std::string, std::string> known;                                  // secret value -> placeholder
  std::vector<std::string> known_order;                                      // known's values, as learnt

  // Placeholders and text (redact_patterns.cpp).
  std::string placeholder(const std::string& kind, std::string_view value, bool secret = true);
  template <class Replace>
  static std::string outside_placeholders(std::string_view text, Replace replace);
  std::string replace_matches(std::string_view text, const RE2& re, const std::string& kind, Part which, bool secret,
                              bool (*accept)(std::string_view) = nullptr);
  std::string replace_known(std::string_view text);
  bool is_clean_placeholder(std::string_view text);
  std::string text(std::string_view input);

  // Bodies, credentials, queries and headers (redact.cpp).
  void learn_held();
  bool at_json_path(const std::vector<std::string>& path) const;
  static void set_string(Value& value, std::string_view text, Allocator& a) { value = json_string(text, a); }
  std::string placeholder_of(const std::string& kind, const Value& value);
  void json(Value& value, Allocator& a, std::vector<std::string>& path);
  std::string body(std::string_view input);
  void token_json(Value& value, Allocator& a, bool kept);
  std::string token_body(std::string_view input);
  void learn(std::string_view value);
  void learn_headers(const Headers& headers);
  void learn_query(std::string_view input);
  std::string query(std::string_view input);
  void headers(Headers& headers);
};

}  // namespace recorder
