// Rules: loading a rules file (JSON with comments) into compiled RE2 conditions, and classifying
// FailureRecords with them. Every error names the file and the line of the offending key or value,
// so the JSON is read with a SAX handler that remembers where each value was.
#include "analyzer/rules.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <stdexcept>
#include <utility>

#include "recorder/json.hpp"
#include "rules_json.hpp"

namespace analyzer {

// Generated at build time from analyzer/rules/default.rules.json (tools/embed.cmake).
extern const std::string_view k_default_rules_text;

namespace {

using recorder::Error;
using recorder::Result;

constexpr std::array<std::string_view, k_category_count> k_category_names = {
    "Preemption/Interrupt", "Node OOM/eviction", "Scheduling failure", "K8s API failure",
    "Backoff limit",        "Step preempt-hang", "Network/SSH",        "Connection failure",
    "Code error",           "Infra timeout",     "Agent API timeout",  "K8s API timeout",
    "Slow-query timeout (dbt)", "K8s pre-start kill", "Unclassified",
};

constexpr std::array<std::string_view, 11> k_field_names = {
    "runFailureMessage", "failureReason", "stepFailureMessage", "errorClass",
    "errorMessage",      "errorSource",   "engineEvent",        "anyMessage",
    "jobName",           "location",      "tags",
};

constexpr std::array<std::string_view, 2> k_top_level_keys = {"version", "rules"};
constexpr std::array<std::string_view, 5> k_rule_keys = {"id", "category", "description", "when", "unless"};
constexpr std::int64_t k_rules_version = 1;
constexpr std::size_t k_max_depth = 32;      // a rules file needs 4 levels; deeper is not a rules file
constexpr std::size_t k_shown_chars = 60;    // longer offending values are cut in messages

}  // namespace

namespace rules_json {

// ---- Messages ----------------------------------------------------------------------------------

// `text` in double quotes, escaped and cut, so that arbitrary input gives a one-line message.
std::string quote(std::string_view text) {
  std::string out = "\"";
  std::size_t shown = 0;
  for (char c : text) {
    if (shown++ == k_shown_chars) {
      out += "...";
      break;
    }
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Case-insensitive optimal-string-alignment distance (a transposition counts as one edit).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

// `unknown <what> "x"; expected one of: a, b; did you mean "a"?` (the hint only when close).
std::string unknown_name(std::string_view what, std::string_view name, std::span<const std::string_view> known) {
  std::string message = fmt::format("unknown {} {}; expected one of: {}", what, quote(name),
                                    fmt::join(known, ", "));
  if (name.size() > 2 * k_shown_chars) return message;
  std::string_view best;
  std::size_t best_distance = SIZE_MAX;
  for (auto candidate : known) {
    std::size_t distance = edit_distance(name, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  std::size_t allowed = best.size() <= 3 ? 1 : best.size() <= 10 ? 2 : 3;
  if (best_distance <= allowed) message += fmt::format("; did you mean {}?", quote(best));
  return message;
}

// ---- JSON with positions -----------------------------------------------------------------------

namespace {

// rapidjson SAX handler building a Node tree; refuses nesting deeper than k_max_depth so that
// neither the parser's recursion nor the tree can grow without bound.
class TreeBuilder {
 public:
  explicit TreeBuilder(const rapidjson::MemoryStream& stream) : m_stream(stream) {}

  bool Null() { return add(make(Kind::null)); }
  bool Bool(bool value) {
    Node node = make(Kind::boolean);
    node.boolean = value;
    return add(std::move(node));
  }
  bool Int(int value) { return integer(value); }
  bool Uint(unsigned value) { return integer(value); }
  bool Int64(std::int64_t value) { return integer(value); }
  bool Uint64(std::uint64_t value) {
    if (value > static_cast<std::uint64_t>(INT64_MAX)) return Double(static_cast<double>(value));
    return integer(static_cast<std::int64_t>(value));
  }
  bool Double(double value) {
    Node node = make(Kind::number);
    node.number = value;
    return add(std::move(node));
  }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }  // not requested
  bool String(const char* text, rapidjson::SizeType length, bool) {
    Node node = make(Kind::string);
    node.text.assign(text, length);
    return add(std::move(node));
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    m_key.assign(text, length);
    m_key_offset = m_stream.Tell();
    return true;
  }
  bool StartObject() { return open(Kind::object); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(Kind::array); }
  bool EndArray(rapidjson::SizeType) { return close(); }

  // Where the bracket that went too deep is, if that is why parsing stopped.
  std::optional<std::size_t> too_deep_at() const { return m_too_deep_at; }
  Node take_root() { return std::move(m_root); }

 private:
  Node make(Kind kind) {
    Node node;
    node.kind = kind;
    node.offset = m_stream.Tell();
    if (!m_stack.empty() && m_stack.back().kind == Kind::object) {
      node.key = std::move(m_key);
      node.key_offset = m_key_offset;
      m_key.clear();
    }
    return node;
  }
  bool integer(std::int64_t value) {
    Node node = make(Kind::number);
    node.is_integer = true;
    node.integer = value;
    node.number = static_cast<double>(value);
    return add(std::move(node));
  }
  bool add(Node node) {
    if (m_stack.empty()) {
      m_root = std::move(node);
    } else {
      m_stack.back().children.push_back(std::move(node));
    }
    return true;
  }
  bool open(Kind kind) {
    if (m_stack.size() >= k_max_depth) {
      m_too_deep_at = m_stream.Tell() - 1;
      return false;
    }
    m_stack.push_back(make(kind));
    return true;
  }
  bool close() {
    Node node = std::move(m_stack.back());
    m_stack.pop_back();
    return add(std::move(node));
  }

  const rapidjson::MemoryStream& m_stream;
  std::vector<Node> m_stack;
  Node m_root;
  std::string m_key;
  std::size_t m_key_offset = 0;
  std::optional<std::size_t> m_too_deep_at;
};

}  // namespace

// Parses `text` like recorder::parse_json with Comments::allowed (same flags, same error shape
// "source:line:column: message"), keeping positions. UTF-8 is validated so RE2 gets valid patterns.
Result<Node> parse_located(std::string_view text, std::string_view source) {
  constexpr unsigned flags = rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag |
                             rapidjson::kParseValidateEncodingFlag;
  rapidjson::MemoryStream stream(text.data(), text.size());
  TreeBuilder builder(stream);
  rapidjson::Reader reader;
  if (reader.Parse<flags>(stream, builder)) return builder.take_root();
  auto deep = builder.too_deep_at();
  auto position = recorder::position_of(text, deep ? *deep : reader.GetErrorOffset());
  std::string what = deep ? fmt::format("values are nested deeper than {} levels", k_max_depth)
                          : std::string(rapidjson::GetParseError_En(reader.GetParseErrorCode()));
  return recorder::make_error(fmt::format("{}:{}:{}: {}", source, position.line, position.column, what));
}

std::string describe(const Node& node) {
  switch (node.kind) {
    case Kind::null: return "null";
    case Kind::boolean: return node.boolean ? "true" : "false";
    case Kind::number: return node.is_integer ? fmt::format("{}", node.integer) : fmt::format("{}", node.number);
    case Kind::string: return quote(node.text);
    case Kind::array: return "an array";
    case Kind::object: return "an object";
  }
  return "a value";
}

}  // namespace rules_json

namespace {

using namespace rules_json;

// ---- Rules file --------------------------------------------------------------------------------

class RulesParser {
 public:
  RulesParser(std::string_view text, std::string_view source) : m_text(text), m_source(source) {}

  Result<RuleSet> parse() {
    auto root = parse_located(m_text, m_source);
    if (!root) return root.error();
    RuleSet rules;
    rules.source = m_source;
    if (auto checked = parse_top_level(*root, rules); !checked) return checked.error();
    return rules;
  }

 private:
  std::size_t line_of(std::size_t offset) const { return recorder::position_of(m_text, offset).line; }
  Error error_at(std::size_t offset, const std::string& what) const {
    return recorder::make_error(fmt::format("{}:{}: {}", m_source, line_of(offset), what));
  }

  // The first key that repeats an earlier one, if any.
  Result<void> check_unique_keys(const Node& object) const {
    std::map<std::string_view, std::size_t> seen;
    for (const Node& member : object.children) {
      auto [it, inserted] = seen.emplace(member.key, member.key_offset);
      if (!inserted) {
        return error_at(member.key_offset, fmt::format("duplicate key {} (first at line {})", quote(member.key),
                                                       line_of(it->second)));
      }
    }
    return {};
  }

  Result<void> parse_top_level(const Node& root, RuleSet& rules) {
    if (root.kind != Kind::object) {
      return error_at(root.offset, fmt::format("expected an object with \"version\" and \"rules\", got {}",
                                               describe(root)));
    }
    if (auto unique = check_unique_keys(root); !unique) return unique;
    // The version first: a newer file may use keys this day2 does not know.
    auto version = std::find_if(root.children.begin(), root.children.end(),
                                [](const Node& member) { return member.key == "version"; });
    if (version == root.children.end()) {
      return error_at(root.offset, fmt::format("missing \"version\" (this day2 reads version {})", k_rules_version));
    }
    if (version->kind != Kind::number || !version->is_integer || version->integer != k_rules_version) {
      return error_at(version->offset, fmt::format("unsupported version {} (this day2 reads version {})",
                                                   describe(*version), k_rules_version));
    }
    const Node* rule_list = nullptr;
    for (const Node& member : root.children) {
      if (member.key == "rules") {
        rule_list = &member;
      } else if (member.key != "version") {
        return error_at(member.key_offset, unknown_name("key", member.key, k_top_level_keys));
      }
    }
    if (rule_list == nullptr) return error_at(root.offset, "missing \"rules\"");
    if (rule_list->kind != Kind::array) {
      return error_at(rule_list->offset, fmt::format("\"rules\" must be an array, got {}", describe(*rule_list)));
    }
    for (const Node& item : rule_list->children) {
      auto rule = parse_rule(item);
      if (!rule) return rule.error();
      rules.rules.push_back(std::move(*rule));
    }
    return {};
  }

  Result<Rule> parse_rule(const Node& node) {
    if (node.kind != Kind::object) {
      return error_at(node.offset, fmt::format("a rule must be an object, got {}", describe(node)));
    }
    if (auto unique = check_unique_keys(node); !unique) return unique.error();
    Rule rule;
    rule.source = fmt::format("{}:{}", m_source, line_of(node.offset));
    bool has_id = false, has_category = false, has_when = false;
    for (const Node& member : node.children) {
      Result<void> step;
      if (member.key == "id") {
        step = parse_id(member, rule);
        has_id = true;
      } else if (member.key == "category") {
        step = parse_category_value(member, rule);
        has_category = true;
      } else if (member.key == "description") {
        step = expect_string(member, rule.description);
      } else if (member.key == "when") {
        step = parse_conditions(member, rule.when);
        has_when = true;
      } else if (member.key == "unless") {
        step = parse_conditions(member, rule.unless);
      } else {
        step = error_at(member.key_offset, unknown_name("rule key", member.key, k_rule_keys));
      }
      if (!step) return step.error();
    }
    if (!has_id) return error_at(node.offset, "rule has no \"id\"");
    if (!has_category) return error_at(node.offset, fmt::format("rule {} has no \"category\"", quote(rule.id)));
    if (!has_when) return error_at(node.offset, fmt::format("rule {} has no \"when\"", quote(rule.id)));
    return rule;
  }

  Result<void> expect_string(const Node& member, std::string& out) const {
    if (member.kind != Kind::string) {
      return error_at(member.offset, fmt::format("{} must be a string, got {}", quote(member.key), describe(member)));
    }
    out = member.text;
    return {};
  }

  Result<void> parse_id(const Node& member, Rule& rule) {
    if (auto is_string = expect_string(member, rule.id); !is_string) return is_string;
    bool valid = !rule.id.empty() && std::all_of(rule.id.begin(), rule.id.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
             c == '_' || c == '.';
    });
    if (!valid) {
      return error_at(member.offset, fmt::format("rule id {} must be letters, digits, '-', '_' or '.'",
                                                 quote(rule.id)));
    }
    auto [it, inserted] = m_ids.emplace(rule.id, member.offset);
    if (!inserted) {
      return error_at(member.offset, fmt::format("duplicate rule id {} (first at line {})", quote(rule.id),
                                                 line_of(it->second)));
    }
    return {};
  }

  Result<void> parse_category_value(const Node& member, Rule& rule) const {
    std::string name;
    if (auto is_string = expect_string(member, name); !is_string) return is_string;
    auto category = parse_category(name);
    if (!category) return error_at(member.offset, unknown_name("category", name, k_category_names));
    rule.category = *category;
    return {};
  }

  Result<void> parse_conditions(const Node& member, std::vector<Condition>& out) const {
    if (member.kind != Kind::object) {
      return error_at(member.offset, fmt::format("{} must be an object of field: pattern, got {}",
                                                 quote(member.key), describe(member)));
    }
    if (auto unique = check_unique_keys(member); !unique) return unique;
    if (member.key == "when" && member.children.empty()) {
      return error_at(member.key_offset, "\"when\" is empty; a rule needs at least one condition");
    }
    for (const Node& entry : member.children) {
      auto field = parse_field(entry.key);
      if (!field) return error_at(entry.key_offset, unknown_name("field", entry.key, k_field_names));
      if (entry.kind != Kind::string) {
        return error_at(entry.offset, fmt::format("pattern for {} must be a string, got {}", quote(entry.key),
                                                  describe(entry)));
      }
      if (entry.text.empty()) {
        return error_at(entry.offset, fmt::format("pattern for {} is empty", quote(entry.key)));
      }
      RE2::Options options;
      options.set_log_errors(false);
      auto compiled = std::make_shared<const RE2>(entry.text, options);
      if (!compiled->ok()) {
        return error_at(entry.offset, fmt::format("invalid pattern {} for {}: {}", quote(entry.text),
                                                  quote(entry.key), compiled->error()));
      }
      out.push_back(Condition{*field, entry.text, std::move(compiled)});
    }
    return {};
  }

  std::string_view m_text;
  std::string m_source;
  std::map<std::string, std::size_t> m_ids;  // rule id -> offset of its first definition
};

// ---- Matching ----------------------------------------------------------------------------------

// Field values of one record, computed on first use: a rule set asks for the same fields often.
class FieldCache {
 public:
  explicit FieldCache(const FailureRecord& record) : m_record(record) {}
  const std::vector<std::string>& values(Field field) {
    auto index = static_cast<std::size_t>(field);
    if (!m_values.at(index)) m_values.at(index) = field_values(m_record, field);
    return *m_values.at(index);
  }

 private:
  const FailureRecord& m_record;
  std::array<std::optional<std::vector<std::string>>, k_field_names.size()> m_values;
};

bool matches(const Condition& condition, FieldCache& cache) {
  std::shared_ptr<const RE2> regex = std::static_pointer_cast<const RE2>(condition.compiled);
  if (!regex) {  // a hand-built Condition: compile it now
    RE2::Options options;
    options.set_log_errors(false);
    regex = std::make_shared<const RE2>(condition.pattern, options);
  }
  if (!regex->ok()) return false;
  const auto& values = cache.values(condition.field);
  return std::any_of(values.begin(), values.end(),
                     [&](const std::string& value) { return RE2::PartialMatch(value, *regex); });
}

bool rule_matches(const Rule& rule, FieldCache& cache) {
  if (rule.when.empty()) return false;
  auto holds = [&](const Condition& condition) { return matches(condition, cache); };
  return std::all_of(rule.when.begin(), rule.when.end(), holds) &&
         std::none_of(rule.unless.begin(), rule.unless.end(), holds);
}

}  // namespace

std::string_view to_string(Category category) {
  auto index = static_cast<std::size_t>(category);
  return index < k_category_names.size() ? k_category_names.at(index) : "Unclassified";
}

std::optional<Category> parse_category(std::string_view name) {
  for (std::size_t i = 0; i < k_category_names.size(); ++i) {
    if (k_category_names.at(i) == name) return static_cast<Category>(i);
  }
  return std::nullopt;
}

std::string_view to_string(Field field) {
  auto index = static_cast<std::size_t>(field);
  return index < k_field_names.size() ? k_field_names.at(index) : "unknown";
}

std::optional<Field> parse_field(std::string_view name) {
  for (std::size_t i = 0; i < k_field_names.size(); ++i) {
    if (k_field_names.at(i) == name) return static_cast<Field>(i);
  }
  return std::nullopt;
}

std::vector<std::string> field_values(const FailureRecord& record, Field field) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& value) {
    if (!value.empty()) out.push_back(value);
  };
  auto add_error_messages = [&] {
    add(record.run_failure_error_message);
    for (const auto& error : record.step_errors) {
      add(error.error_message);
      for (const auto& link : error.cause_chain) add(link.message);
    }
  };
  switch (field) {
    case Field::run_failure_message:
      add(record.run_failure_message);
      add(record.run_failure_error_message);
      break;
    case Field::failure_reason:
      if (auto it = record.tags.find("dagster/failure_reason"); it != record.tags.end()) add(it->second);
      break;
    case Field::step_failure_message:
      for (const auto& error : record.step_errors) add(error.message);
      break;
    case Field::error_class:
      add(record.run_failure_error_class);
      for (const auto& error : record.step_errors) {
        add(error.error_class);
        for (const auto& link : error.cause_chain) add(link.class_name);
      }
      break;
    case Field::error_message: add_error_messages(); break;
    case Field::error_source:
      for (const auto& error : record.step_errors) add(error.error_source);
      break;
    case Field::engine_event:
      for (const auto& event : record.engine_events) add(event);
      break;
    case Field::any_message:
      add(record.run_failure_message);
      for (const auto& error : record.step_errors) add(error.message);
      add_error_messages();
      for (const auto& event : record.engine_events) add(event);
      break;
    case Field::job_name: add(record.job_name); break;
    case Field::location: add(record.location); break;
    case Field::tags:
      for (const auto& [key, value] : record.tags) out.push_back(key + "=" + value);
      break;
  }
  return out;
}

recorder::Result<RuleSet> parse_rules(std::string_view text, std::string_view source) {
  return RulesParser(text, source).parse();
}

recorder::Result<RuleSet> load_rules(const std::string& path) {
  auto text = recorder::read_file(path);
  if (!text) return text.error();
  return parse_rules(*text, path);
}

std::string_view default_rules_text() { return k_default_rules_text; }

const RuleSet& default_rules() {
  static const RuleSet rules = [] {
    auto parsed = parse_rules(k_default_rules_text, "default.rules.json");
    if (!parsed) throw std::logic_error("the embedded default rules are invalid: " + parsed.error().message);
    return std::move(parsed).value();
  }();
  return rules;
}

Classification classify(const RuleSet& rules, const FailureRecord& record) {
  FieldCache cache(record);
  for (const Rule& rule : rules.rules) {
    if (rule_matches(rule, cache)) return Classification{rule.category, rule.id};
  }
  return Classification{};
}

}  // namespace analyzer
