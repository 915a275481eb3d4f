// Loading the platform causes (analyzer/rules/causes.json and --causes files): JSON with comments read
// with positions (rules_json.hpp), every key, source, effect kind, category, rule id and placeholder
// checked against its closed set, so that each error names "file:line".
#include "analyzer/report/platform_causes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>

#include "analyzer/classify/reclassify.hpp"
#include "analyzer/classify/rules.hpp"
#include "analyzer/classify/rules_json.hpp"

namespace analyzer {

// Generated at build time from analyzer/rules/causes.json (tools/embed.cmake).
extern const std::string_view k_causes_text;

namespace {

using rules_json::describe;
using rules_json::Empty;
using rules_json::Kind;
using rules_json::Node;
using rules_json::quote;
using rules_json::unknown_name;
using recorder::Result;

constexpr std::array<std::string_view, 3> k_top_level_keys = {"version", "burstGapMinutes", "causes"};
constexpr std::array<std::string_view, 13> k_cause_keys = {"id",         "source",  "title",      "meaning",    "action",
                                                           "rationale",  "pod",     "reasons",    "claimsRuns", "onlyWithEffects",
                                                           "effects",    "supersedes", "foldsInto"};
constexpr std::array<std::string_view, 5> k_effect_keys = {"kind", "categories", "rules", "pattern", "sameError"};
constexpr std::array<std::string_view, 8> k_source_names = {"agentChurnStorm",     "agentHeartbeatLoss", "agentApiTimeout", "infraPod",
                                                            "locationLoadFailure", "daemonUnhealthy",    "alert",           "errorGroup"};
constexpr std::array<std::string_view, 3> k_effect_names = {"tickFailure", "runFailure", "queuedRun"};
constexpr std::array<std::string_view, 3> k_actions = {"Escalate", "Investigate", "Monitor"};
constexpr std::array<std::string_view, 3> k_placeholders = {"location", "deployment", "agent_deployment"};
// The pod event reasons step 10 reads (analyzer/collect/src/gke_events.cpp), with the node losses it
// gives the pods: a cause waiting for any other reason would never fire.
constexpr std::array<std::string_view, 11> k_pod_reasons = {"Preempted", "Evicted", "Killing", "OOMKilling", "BackOff", "FailedScheduling",
                                                            "NodeNotReady", "TaintManagerEviction", "ScaleDown", "NodePreempted", "NodeShutdown"};

template <std::size_t N>
std::optional<std::size_t> index_of(const std::array<std::string_view, N>& names, std::string_view name) {
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? std::nullopt : std::optional(static_cast<std::size_t>(it - names.begin()));
}

// Every rule id a run's final classification can carry: the built-in rules and reclassify rules.
const std::vector<std::string_view>& known_rule_ids() {
  static const std::vector<std::string_view> ids = [] {
    std::vector<std::string_view> out;
    for (const auto& rule : default_rules().rules) out.push_back(rule.id);
    for (const auto& rule : default_reclassify_rules().rules) out.push_back(rule.id);
    return out;
  }();
  return ids;
}

const std::vector<std::string_view>& category_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (int i = 0; i < k_category_count; ++i) out.push_back(to_string(static_cast<Category>(i)));
    return out;
  }();
  return names;
}

// `pattern` with each known {placeholder} as a sample value: what RE2 must accept once filled.
std::string fill_placeholders(std::string_view pattern) {
  std::string out;
  for (std::size_t at = 0; at < pattern.size();) {
    bool placeholder = std::any_of(k_placeholders.begin(), k_placeholders.end(), [&](std::string_view name) {
      return pattern.substr(at).starts_with(fmt::format("{{{}}}", name));
    });
    if (!placeholder) {
      out += pattern[at++];
      continue;
    }
    out += 'x';
    at = pattern.find('}', at) + 1;
  }
  return out;
}

class Parser : rules_json::FileParser {
 public:
  using FileParser::FileParser;

  Result<PlatformCauses> parse() {
    return parse_file<PlatformCauses>([this](const Node& root, PlatformCauses& causes) { return top_level(root, causes); });
  }

 private:
  Result<void> object(const Node& node, std::string_view what) const {
    if (node.kind != Kind::object) return error_at(node.offset, fmt::format("{} must be an object, got {}", what, describe(node)));
    return check_unique_keys(node);
  }

  Result<void> top_level(const Node& root, PlatformCauses& causes) {
    if (auto checked = object(root, "the causes file"); !checked) return checked;
    bool listed = false;
    for (const auto& member : root.children) {
      Result<void> step;
      if (member.key == "version") {
        if (member.kind != Kind::number || !member.is_integer || member.integer != 1) {
          step = error_at(member.offset, fmt::format("\"version\" must be 1, got {}", describe(member)));
        }
      } else if (member.key == "burstGapMinutes") {
        if (member.kind != Kind::number || member.number <= 0 || member.number > 1440) {
          step = error_at(member.offset, fmt::format("\"burstGapMinutes\" must be a number of minutes in (0, 1440], got {}", describe(member)));
        } else {
          causes.burst_gap_seconds = member.number * 60;
          causes.burst_gap_given = true;
        }
      } else if (member.key == "causes") {
        listed = true;
        step = cause_list(member, causes.causes);
      } else {
        step = error_at(member.key_offset, unknown_name("key", member.key, k_top_level_keys));
      }
      if (!step) return step;
    }
    if (!listed) return error_at(root.offset, "the causes file has no \"causes\" array");
    return {};
  }

  Result<void> cause_list(const Node& node, std::vector<CauseDef>& out) {
    if (node.kind != Kind::array) return error_at(node.offset, fmt::format("\"causes\" must be an array, got {}", describe(node)));
    for (const auto& item : node.children) {
      CauseDef cause;
      cause.where = where(item);
      if (auto checked = parse_cause(item, cause); !checked) return checked;
      out.push_back(std::move(cause));
    }
    // A cause folds into a cause defined before it, so folding follows the file's order.
    for (std::size_t i = 0; i < out.size(); ++i) {
      for (const auto& target : out[i].folds_into) {
        bool earlier = std::any_of(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(i), [&](const CauseDef& c) { return c.id == target; });
        if (!earlier) {
          return error_at(node.children[i].offset, fmt::format("the cause {} folds into {}, which is not a cause defined before it", quote(out[i].id), quote(target)));
        }
      }
    }
    return {};
  }

  Result<void> parse_cause(const Node& node, CauseDef& cause) {
    if (auto checked = object(node, "a cause"); !checked) return checked;
    for (const auto& member : node.children) {
      if (auto step = cause_member(member, cause); !step) return step;
    }
    for (std::string_view key : {"id", "source", "title", "meaning", "action", "rationale", "effects"}) {
      bool present = std::any_of(node.children.begin(), node.children.end(), [&](const Node& m) { return m.key == key; });
      if (!present) return error_at(node.offset, fmt::format("the cause {} has no {}", quote(cause.id), quote(key)));
    }
    bool pod_cause = cause.source == CauseSource::infra_pod;
    if (pod_cause && (cause.pod.empty() || cause.reasons.empty())) {
      return error_at(node.offset, fmt::format("the infraPod cause {} needs \"pod\" and \"reasons\"", quote(cause.id)));
    }
    if (!pod_cause && (!cause.pod.empty() || !cause.reasons.empty())) {
      return error_at(node.offset, fmt::format("\"pod\" and \"reasons\" belong to infraPod causes, not {}", quote(cause.id)));
    }
    bool same_error = std::any_of(cause.effects.begin(), cause.effects.end(), [](const EffectSpec& e) { return e.same_error; });
    if (same_error && cause.source != CauseSource::error_group) {
      return error_at(node.offset, fmt::format("\"sameError\" belongs to errorGroup causes, not {}", quote(cause.id)));
    }
    cause.per_location = cause.source == CauseSource::location_load_failure || cause.source == CauseSource::error_group ||
                         cause.pod.find("{location}") != std::string::npos;
    return {};
  }

  Result<void> cause_member(const Node& member, CauseDef& cause) {
    const std::string& key = member.key;
    if (key == "id") {
      if (auto checked = expect_string(member, cause.id, Empty::refused); !checked) return checked;
      return check_rule_id(member, cause.id);
    }
    if (key == "source") return closed_name(member, k_source_names, "source", [&](std::size_t i) { cause.source = static_cast<CauseSource>(i); });
    if (key == "title") return expect_string(member, cause.title, Empty::refused);
    if (key == "meaning") return expect_string(member, cause.meaning, Empty::refused);
    if (key == "rationale") return expect_string(member, cause.rationale, Empty::refused);
    if (key == "action") return closed_name(member, k_actions, "action", [&](std::size_t i) { cause.action = std::string(k_actions.at(i)); });
    if (key == "pod") return pod_pattern(member, cause.pod);
    if (key == "reasons") return strings(member, cause.reasons, k_pod_reasons, "pod event reason");
    if (key == "supersedes") return strings(member, cause.supersedes, {});
    if (key == "foldsInto") return strings(member, cause.folds_into, {});
    if (key == "claimsRuns" || key == "onlyWithEffects") {
      if (member.kind != Kind::boolean) return error_at(member.offset, fmt::format("{} must be true or false, got {}", quote(key), describe(member)));
      (key == "claimsRuns" ? cause.claims_runs : cause.only_with_effects) = member.boolean;
      return {};
    }
    if (key == "effects") return effect_list(member, cause.effects);
    return error_at(member.key_offset, unknown_name("cause key", key, k_cause_keys));
  }

  template <std::size_t N, typename Set>
  Result<void> closed_name(const Node& member, const std::array<std::string_view, N>& names, std::string_view what, Set&& set) const {
    if (member.kind != Kind::string) return error_at(member.offset, fmt::format("{} must be a string, got {}", quote(member.key), describe(member)));
    auto index = index_of(names, member.text);
    if (!index) return error_at(member.offset, unknown_name(what, member.text, names));
    set(*index);
    return {};
  }

  // A non-empty array of non-empty strings; each in `known` when `known` is not empty.
  Result<void> strings(const Node& node, std::vector<std::string>& out, std::span<const std::string_view> known,
                       std::string_view what = "name") const {
    if (node.kind != Kind::array || node.children.empty()) {
      return error_at(node.offset, fmt::format("{} must be a non-empty array of strings, got {}", quote(node.key), describe(node)));
    }
    for (const auto& item : node.children) {
      if (item.kind != Kind::string || item.text.empty()) {
        return error_at(item.offset, fmt::format("{} holds {}, expected a non-empty string", quote(node.key), describe(item)));
      }
      if (!known.empty() && std::find(known.begin(), known.end(), item.text) == known.end()) {
        return error_at(item.offset, unknown_name(what, item.text, known));
      }
      out.push_back(item.text);
    }
    return {};
  }

  // The pod pattern: its placeholders known, and RE2 once they are filled with sample values.
  Result<void> pod_pattern(const Node& member, std::string& out) const {
    if (auto checked = expect_string(member, out, Empty::refused); !checked) return checked;
    for (std::size_t at = out.find('{'); at != std::string::npos; at = out.find('{', at + 1)) {
      auto end = out.find('}', at);
      if (end == std::string::npos) break;
      auto name = std::string_view(out).substr(at + 1, end - at - 1);
      bool identifier = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
      if (!identifier) continue;  // an RE2 repetition such as {2,3}
      if (!index_of(k_placeholders, name)) return error_at(member.offset, unknown_name("placeholder", name, k_placeholders));
    }
    Node sample = member;
    sample.text = fill_placeholders(out);
    auto compiled = compile_pattern(sample, "pod");
    if (!compiled) return compiled.error();
    return {};
  }

  Result<void> effect_list(const Node& node, std::vector<EffectSpec>& out) {
    if (node.kind != Kind::array) return error_at(node.offset, fmt::format("\"effects\" must be an array, got {}", describe(node)));
    for (const auto& item : node.children) {
      if (auto checked = object(item, "an effect"); !checked) return checked;
      EffectSpec effect;
      bool kinded = false;
      for (const auto& member : item.children) {
        if (member.key == "kind") kinded = true;
        if (auto step = effect_member(member, effect); !step) return step;
      }
      if (!kinded) return error_at(item.offset, "an effect has no \"kind\"");
      bool runs = effect.kind == EffectKind::run_failure;
      if (!runs && (!effect.categories.empty() || !effect.rules.empty())) {
        return error_at(item.offset, "\"categories\" and \"rules\" belong to runFailure effects");
      }
      if (effect.kind != EffectKind::tick_failure && (!effect.pattern.empty() || effect.same_error)) {
        return error_at(item.offset, "\"pattern\" and \"sameError\" belong to tickFailure effects");
      }
      out.push_back(std::move(effect));
    }
    return {};
  }

  Result<void> effect_member(const Node& member, EffectSpec& effect) const {
    if (member.key == "kind") return closed_name(member, k_effect_names, "effect kind", [&](std::size_t i) { effect.kind = static_cast<EffectKind>(i); });
    if (member.key == "categories") return strings(member, effect.categories, category_names(), "category");
    if (member.key == "rules") return strings(member, effect.rules, known_rule_ids(), "rule id");
    if (member.key == "sameError") {
      if (member.kind != Kind::boolean) return error_at(member.offset, fmt::format("\"sameError\" must be true or false, got {}", describe(member)));
      effect.same_error = member.boolean;
      return {};
    }
    if (member.key == "pattern") {
      if (auto checked = expect_string(member, effect.pattern, Empty::refused); !checked) return checked;
      auto compiled = compile_pattern(member, "pattern");
      if (!compiled) return compiled.error();
      effect.compiled = *compiled;
      return {};
    }
    return error_at(member.key_offset, unknown_name("effect key", member.key, k_effect_keys));
  }
};

}  // namespace

std::string_view to_string(CauseSource source) { return k_source_names.at(static_cast<std::size_t>(source)); }

std::string_view to_string(EffectKind kind) { return k_effect_names.at(static_cast<std::size_t>(kind)); }

Result<PlatformCauses> parse_platform_causes(std::string_view text, std::string_view source) { return Parser(text, source).parse(); }

Result<PlatformCauses> load_platform_causes(const std::string& path) { return rules_json::load_file(path, parse_platform_causes); }

const PlatformCauses& default_platform_causes() {
  static const PlatformCauses causes = rules_json::parse_embedded(k_causes_text, "causes.json", "platform causes", parse_platform_causes);
  return causes;
}

PlatformCauses merge_platform_causes(const PlatformCauses& base, const PlatformCauses& extra) {
  PlatformCauses out = base;
  out.source = base.source + " + " + extra.source;
  if (extra.burst_gap_given) out.burst_gap_seconds = extra.burst_gap_seconds;
  for (const auto& cause : extra.causes) {
    auto it = std::find_if(out.causes.begin(), out.causes.end(), [&](const CauseDef& c) { return c.id == cause.id; });
    if (it != out.causes.end()) {
      *it = cause;
    } else {
      out.causes.push_back(cause);
    }
  }
  return out;
}

}  // namespace analyzer
