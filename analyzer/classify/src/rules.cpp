// Rules: loading a rules file (JSON with comments) into compiled RE2 conditions, and classifying
// FailureRecords with them. Every error names the file and the line of the offending key or value
// (the JSON is read with positions, rules_json.hpp).
#include "analyzer/classify/rules.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "recorder/base/json.hpp"
#include "analyzer/classify/rules_json.hpp"

namespace analyzer {

// Generated at build time from analyzer/rules/default.rules.json (tools/embed.cmake).
extern const std::string_view k_default_rules_text;

namespace {

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
constexpr std::array<std::string_view, 6> k_rule_keys = {"id", "category", "description", "mechanism", "when", "unless"};
constexpr std::int64_t k_rules_version = 1;

using namespace rules_json;

// ---- Rules file --------------------------------------------------------------------------------

class RulesParser : FileParser {
 public:
  using FileParser::FileParser;

  Result<RuleSet> parse() {
    return parse_file<RuleSet>([this](const Node& root, RuleSet& rules) { return parse_top_level(root, rules); });
  }

 private:
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
    rule.source = where(node);
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
        step = expect_string(member, rule.description, Empty::allowed);
      } else if (member.key == "mechanism") {
        step = parse_mechanism(member, rule);
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
    if (rule.mechanism.empty()) rule.mechanism = rule.id;
    return rule;
  }

  Result<void> parse_mechanism(const Node& member, Rule& rule) const {
    if (auto is_string = expect_string(member, rule.mechanism, Empty::allowed); !is_string) return is_string;
    bool valid = !rule.mechanism.empty() && std::all_of(rule.mechanism.begin(), rule.mechanism.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
    if (!valid) {
      return error_at(member.offset,
                      fmt::format("mechanism {} must be lower-case letters, digits and '-'", quote(rule.mechanism)));
    }
    return {};
  }

  Result<void> parse_id(const Node& member, Rule& rule) {
    if (auto is_string = expect_string(member, rule.id, Empty::allowed); !is_string) return is_string;
    return check_rule_id(member, rule.id);
  }

  Result<void> parse_category_value(const Node& member, Rule& rule) const {
    std::string name;
    if (auto is_string = expect_string(member, name, Empty::allowed); !is_string) return is_string;
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
      auto compiled = compile_pattern(entry, entry.key);
      if (!compiled) return compiled.error();
      out.push_back(Condition{*field, entry.text, std::move(*compiled)});
    }
    return {};
  }
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

namespace {

// ---- Field values ------------------------------------------------------------------------------

using Values = std::vector<std::string>;

// Empty texts are absent ones: a rule never matches them.
void add_value(Values& out, const std::string& value) {
  if (!value.empty()) out.push_back(value);
}

void add_run_failure_message(const FailureRecord& record, Values& out) {
  add_value(out, record.run_failure_message);
  add_value(out, record.run_failure_error_message);
}

void add_failure_reason(const FailureRecord& record, Values& out) {
  if (auto it = record.tags.find("dagster/failure_reason"); it != record.tags.end()) add_value(out, it->second);
}

void add_step_failure_messages(const FailureRecord& record, Values& out) {
  for (const auto& error : record.step_errors) add_value(out, error.message);
}

void add_error_classes(const FailureRecord& record, Values& out) {
  add_value(out, record.run_failure_error_class);
  for (const auto& error : record.step_errors) {
    add_value(out, error.error_class);
    for (const auto& link : error.cause_chain) add_value(out, link.class_name);
  }
}

void add_error_messages(const FailureRecord& record, Values& out) {
  add_value(out, record.run_failure_error_message);
  for (const auto& error : record.step_errors) {
    add_value(out, error.error_message);
    for (const auto& link : error.cause_chain) add_value(out, link.message);
  }
}

void add_error_sources(const FailureRecord& record, Values& out) {
  for (const auto& error : record.step_errors) add_value(out, error.error_source);
}

void add_engine_events(const FailureRecord& record, Values& out) {
  for (const auto& event : record.engine_events) add_value(out, event);
}

void add_any_message(const FailureRecord& record, Values& out) {
  add_value(out, record.run_failure_message);
  add_step_failure_messages(record, out);
  add_error_messages(record, out);
  add_engine_events(record, out);
}

void add_job_name(const FailureRecord& record, Values& out) { add_value(out, record.job_name); }

void add_location(const FailureRecord& record, Values& out) { add_value(out, record.location); }

void add_tags(const FailureRecord& record, Values& out) {
  for (const auto& [key, value] : record.tags) out.push_back(key + "=" + value);
}

using FieldReader = void (*)(const FailureRecord&, Values&);

// What each Field reads, in the order of the enum (and of k_field_names).
constexpr std::array<FieldReader, k_field_names.size()> k_field_readers = {
    add_run_failure_message, add_failure_reason, add_step_failure_messages, add_error_classes,
    add_error_messages,      add_error_sources,  add_engine_events,         add_any_message,
    add_job_name,            add_location,       add_tags,
};

}  // namespace

std::vector<std::string> field_values(const FailureRecord& record, Field field) {
  Values out;
  auto index = static_cast<std::size_t>(field);
  if (index < k_field_readers.size()) k_field_readers.at(index)(record, out);
  return out;
}

recorder::Result<RuleSet> parse_rules(std::string_view text, std::string_view source) {
  return RulesParser(text, source).parse();
}

recorder::Result<RuleSet> load_rules(const std::string& path) { return rules_json::load_file(path, parse_rules); }

std::string_view default_rules_text() { return k_default_rules_text; }

std::string mechanism_of(const RuleSet& rules, std::string_view rule_id) {
  for (const auto& rule : rules.rules) {
    if (rule.id == rule_id) return rule.mechanism;
  }
  return std::string(rule_id);
}

const RuleSet& default_rules() {
  static const RuleSet rules =
      rules_json::parse_embedded(k_default_rules_text, "default.rules.json", "default rules", parse_rules);
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
