// Loading reclassify rules (analyzer/rules/reclassify.rules.json and --reclassify files): JSON with
// comments read with positions (rules_json.hpp), every predicate and argument checked against the
// closed set, so that each error names "file:line".
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <utility>

#include "analyzer/classify/reclassify.hpp"
#include "recorder/base/json.hpp"
#include "analyzer/classify/rules_json.hpp"

namespace analyzer {

// Generated at build time from analyzer/rules/reclassify.rules.json (tools/embed.cmake).
extern const std::string_view k_reclassify_rules_text;

namespace {

using namespace rules_json;
using recorder::Result;

constexpr std::array<std::string_view, 9> k_predicate_names = {
    "podEvent",  "agentError",       "runFailureMessage", "engineEvent", "stepError",
    "materializations", "logsCapturedAbsentForFailingStep", "errorClass",  "tag",
};
constexpr std::array<std::string_view, 2> k_top_level_keys = {"version", "rules"};
constexpr std::array<std::string_view, 7> k_rule_keys = {"id", "from", "to", "description", "guidance", "when", "unless"};
constexpr std::int64_t k_version = 1;

// The arguments each predicate takes: name, type, required.
enum class ArgType { string, pattern, string_list, boolean };
struct ArgSpec {
  std::string_view name;
  ArgType type;
  bool required;
};

std::vector<ArgSpec> args_of(Predicate predicate) {
  switch (predicate) {
    case Predicate::pod_event: return {{"reason", ArgType::string_list, true}};
    case Predicate::agent_error:
    case Predicate::run_failure_message:
    case Predicate::engine_event:
    case Predicate::step_error: return {{"pattern", ArgType::pattern, true}};
    case Predicate::materializations: return {{"present", ArgType::boolean, true}};
    case Predicate::logs_captured_absent: return {};
    case Predicate::error_class: return {{"equals", ArgType::string, true}};
    case Predicate::tag: return {{"key", ArgType::string, true}, {"value", ArgType::string, false}};
  }
  return {};
}

std::string_view type_name(ArgType type) {
  switch (type) {
    case ArgType::string: return "a non-empty string";
    case ArgType::pattern: return "a non-empty RE2 pattern string";
    case ArgType::string_list: return "a non-empty array of non-empty strings";
    case ArgType::boolean: return "true or false";
  }
  return "?";
}

const std::array<std::string_view, k_category_count>& category_names() {
  static const auto names = [] {
    std::array<std::string_view, k_category_count> out{};
    for (int i = 0; i < k_category_count; ++i) out.at(static_cast<std::size_t>(i)) = to_string(static_cast<Category>(i));
    return out;
  }();
  return names;
}

std::optional<Predicate> parse_predicate(std::string_view name) {
  for (std::size_t i = 0; i < k_predicate_names.size(); ++i) {
    if (k_predicate_names.at(i) == name) return static_cast<Predicate>(i);
  }
  return std::nullopt;
}

class Parser : FileParser {
 public:
  using FileParser::FileParser;

  Result<ReclassifyRules> parse() {
    return parse_file<ReclassifyRules>([this](const Node& root, ReclassifyRules& rules) { return parse_top_level(root, rules); });
  }

 private:
  Result<void> check_object(const Node& node, std::string_view what) const {
    if (node.kind != Kind::object) {
      return error_at(node.offset, fmt::format("{} must be an object, got {}", what, describe(node)));
    }
    return check_unique_keys(node);
  }

  Result<void> parse_top_level(const Node& root, ReclassifyRules& rules) {
    if (auto object = check_object(root, "a reclassify rules file"); !object) return object;
    const Node* version = nullptr;
    const Node* list = nullptr;
    for (const Node& member : root.children) {
      if (member.key == "version") {
        version = &member;
      } else if (member.key == "rules") {
        list = &member;
      } else {
        return error_at(member.key_offset, unknown_name("key", member.key, k_top_level_keys));
      }
    }
    if (version == nullptr || version->kind != Kind::number || !version->is_integer || version->integer != k_version) {
      return error_at(version ? version->offset : root.offset,
                      fmt::format("unsupported or missing \"version\" (this day2 reads version {})", k_version));
    }
    if (list == nullptr || list->kind != Kind::array) {
      return error_at(list ? list->offset : root.offset, "\"rules\" must be an array");
    }
    for (const Node& item : list->children) {
      auto rule = parse_rule(item);
      if (!rule) return rule.error();
      rules.rules.push_back(std::move(*rule));
    }
    return {};
  }

  Result<ReclassifyRule> parse_rule(const Node& node) {
    if (auto object = check_object(node, "a rule"); !object) return object.error();
    ReclassifyRule rule;
    rule.source = where(node);
    std::map<std::string_view, bool> seen;
    for (const Node& member : node.children) {
      Result<void> step;
      if (member.key == "id") {
        step = parse_id(member, rule.id);
      } else if (member.key == "from") {
        step = parse_from(member, rule.from);
      } else if (member.key == "to") {
        step = parse_category_name(member, rule.to);
      } else if (member.key == "description") {
        step = expect_string(member, rule.description, Empty::refused);
      } else if (member.key == "guidance") {
        step = expect_string(member, rule.guidance, Empty::refused);
      } else if (member.key == "when") {
        step = parse_predicates(member, rule.when);
      } else if (member.key == "unless") {
        step = parse_predicates(member, rule.unless);
      } else {
        step = error_at(member.key_offset, unknown_name("rule key", member.key, k_rule_keys));
      }
      if (!step) return step.error();
      seen[member.key] = true;
    }
    for (std::string_view key : {"id", "from", "to", "description", "guidance", "when"}) {
      if (!seen.contains(key)) {
        return error_at(node.offset, fmt::format("rule {} has no {}", quote(rule.id), quote(key)));
      }
    }
    return rule;
  }

  Result<void> parse_id(const Node& member, std::string& id) {
    if (auto is_string = expect_string(member, id, Empty::refused); !is_string) return is_string;
    return check_rule_id(member, id);
  }

  Result<void> parse_category_name(const Node& member, Category& out) const {
    std::string name;
    if (auto is_string = expect_string(member, name, Empty::refused); !is_string) return is_string;
    auto category = parse_category(name);
    if (!category) return error_at(member.offset, unknown_name("category", name, category_names()));
    out = *category;
    return {};
  }

  Result<void> parse_from(const Node& member, std::vector<Category>& out) const {
    if (member.kind != Kind::array || member.children.empty()) {
      return error_at(member.offset, fmt::format("\"from\" must be a non-empty array of categories, got {}",
                                                 describe(member)));
    }
    for (const Node& item : member.children) {
      Category category = Category::unclassified;
      if (auto parsed = parse_category_name(item, category); !parsed) return parsed;
      out.push_back(category);
    }
    return {};
  }

  Result<void> parse_predicates(const Node& member, std::vector<PredicateCall>& out) const {
    std::string what = fmt::format("{} (predicate: arguments)", quote(member.key));
    if (auto object = check_object(member, what); !object) return object;
    if (member.key == "when" && member.children.empty()) {
      return error_at(member.key_offset, "\"when\" is empty; a rule needs at least one predicate");
    }
    for (const Node& entry : member.children) {
      auto predicate = parse_predicate(entry.key);
      if (!predicate) return error_at(entry.key_offset, unknown_name("predicate", entry.key, k_predicate_names));
      auto call = parse_arguments(entry, *predicate);
      if (!call) return call.error();
      out.push_back(std::move(*call));
    }
    return {};
  }

  Result<PredicateCall> parse_arguments(const Node& entry, Predicate predicate) const {
    std::string what = fmt::format("the arguments of {}", quote(entry.key));
    if (auto object = check_object(entry, what); !object) return object.error();
    PredicateCall call;
    call.predicate = predicate;
    auto specs = args_of(predicate);
    std::vector<std::string_view> names;
    for (const auto& spec : specs) names.push_back(spec.name);
    for (const Node& argument : entry.children) {
      auto spec = std::find_if(specs.begin(), specs.end(), [&](const ArgSpec& s) { return s.name == argument.key; });
      if (spec == specs.end()) {
        std::string message = names.empty()
                                  ? fmt::format("unknown argument {} of {}; it takes none", quote(argument.key), quote(entry.key))
                                  : unknown_name(fmt::format("argument of {}:", quote(entry.key)), argument.key, names);
        return error_at(argument.key_offset, message);
      }
      if (auto set = set_argument(entry.key, argument, *spec, call); !set) return set.error();
    }
    for (const auto& spec : specs) {
      bool given = std::any_of(entry.children.begin(), entry.children.end(),
                               [&](const Node& argument) { return argument.key == spec.name; });
      if (spec.required && !given) {
        return error_at(entry.key_offset, fmt::format("{} needs argument {} ({})", quote(entry.key), quote(spec.name),
                                                      type_name(spec.type)));
      }
    }
    return call;
  }

  Result<void> set_argument(std::string_view predicate, const Node& argument, const ArgSpec& spec,
                            PredicateCall& call) const {
    auto wrong = [&] {
      return error_at(argument.offset, fmt::format("argument {} of {} must be {}, got {}", quote(spec.name),
                                                   quote(predicate), type_name(spec.type), describe(argument)));
    };
    switch (spec.type) {
      case ArgType::boolean:
        if (argument.kind != Kind::boolean) return wrong();
        call.present = argument.boolean;
        return {};
      case ArgType::string_list:
        if (argument.kind != Kind::array || argument.children.empty()) return wrong();
        for (const Node& item : argument.children) {
          if (item.kind != Kind::string || item.text.empty()) return wrong();
          call.reasons.push_back(item.text);
        }
        return {};
      case ArgType::string:
        if (argument.kind != Kind::string || argument.text.empty()) return wrong();
        if (spec.name == "value") {
          call.value = argument.text;
        } else {
          call.name = argument.text;
        }
        return {};
      case ArgType::pattern: {
        if (argument.kind != Kind::string || argument.text.empty()) return wrong();
        auto compiled = compile_pattern(argument, predicate);
        if (!compiled) return compiled.error();
        call.pattern = argument.text;
        call.compiled = std::move(*compiled);
        return {};
      }
    }
    return wrong();
  }
};

}  // namespace

std::string_view to_string(Predicate predicate) {
  auto index = static_cast<std::size_t>(predicate);
  return index < k_predicate_names.size() ? k_predicate_names.at(index) : "unknown";
}

recorder::Result<ReclassifyRules> parse_reclassify_rules(std::string_view text, std::string_view source) {
  return Parser(text, source).parse();
}

recorder::Result<ReclassifyRules> load_reclassify_rules(const std::string& path) {
  return rules_json::load_file(path, parse_reclassify_rules);
}

std::string_view default_reclassify_rules_text() { return k_reclassify_rules_text; }

const ReclassifyRules& default_reclassify_rules() {
  static const ReclassifyRules rules = rules_json::parse_embedded(k_reclassify_rules_text, "reclassify.rules.json",
                                                                  "reclassify rules", parse_reclassify_rules);
  return rules;
}

}  // namespace analyzer
