// Loading the runbook (analyzer/rules/runbook.json and --runbook files): JSON with comments read with
// positions (rules_json.hpp), so each error names "file:line".
#include "analyzer/report/runbook.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "analyzer/classify/rules.hpp"
#include "report_model.hpp"
#include "analyzer/classify/rules_json.hpp"

namespace analyzer {

// Generated at build time from analyzer/rules/runbook.json (tools/embed.cmake).
extern const std::string_view k_runbook_text;

namespace {

using rules_json::describe;
using rules_json::Empty;
using rules_json::Kind;
using rules_json::Node;
using rules_json::quote;
using rules_json::unknown_name;

constexpr std::string_view k_top_level_keys[] = {"categories", "findings"};
constexpr std::string_view k_entry_keys[] = {"diagnosis", "recovery", "validation", "commands"};

class Parser : rules_json::FileParser {
 public:
  using FileParser::FileParser;

  recorder::Result<Runbook> parse() {
    return parse_file<Runbook>([this](const Node& root, Runbook& runbook) { return top_level(root, runbook); });
  }

 private:
  recorder::Result<void> object(const Node& node, std::string_view what) const {
    if (node.kind != Kind::object) return error_at(node.offset, fmt::format("{} must be an object, got {}", what, describe(node)));
    return check_unique_keys(node);
  }

  recorder::Result<void> top_level(const Node& root, Runbook& runbook) {
    if (auto checked = object(root, "the runbook"); !checked) return checked;
    for (const auto& member : root.children) {
      if (member.key == "categories") {
        if (auto checked = section(member, runbook.categories, true); !checked) return checked;
      } else if (member.key == "findings") {
        if (auto checked = section(member, runbook.findings, false); !checked) return checked;
      } else {
        return error_at(member.key_offset, unknown_name("key", member.key, k_top_level_keys));
      }
    }
    return {};
  }

  recorder::Result<void> section(const Node& node, std::map<std::string, RunbookEntry>& out, bool categories) {
    if (auto checked = object(node, quote(node.key)); !checked) return checked;
    static const auto kinds = [] {  // finding kinds and the built-in platform causes' ids
      auto known = report::finding_kinds();
      for (const auto& cause : default_platform_causes().causes) known.insert(cause.id);
      return known;
    }();
    static const std::vector<std::string_view> kind_names(kinds.begin(), kinds.end());
    std::vector<std::string_view> category_names;
    for (int i = 0; i < k_category_count; ++i) category_names.push_back(to_string(static_cast<Category>(i)));
    for (const auto& member : node.children) {
      if (categories && !parse_category(member.key)) {
        return error_at(member.key_offset, unknown_name("category", member.key, category_names));
      }
      if (!categories && !kinds.count(member.key)) {
        return error_at(member.key_offset, unknown_name("finding kind", member.key, kind_names));
      }
      RunbookEntry entry;
      if (auto checked = parse_entry(member, entry); !checked) return checked;
      out[member.key] = std::move(entry);
    }
    return {};
  }

  recorder::Result<void> parse_entry(const Node& node, RunbookEntry& entry) {
    if (auto checked = object(node, quote(node.key)); !checked) return checked;
    for (const auto& member : node.children) {
      recorder::Result<void> step;
      if (member.key == "diagnosis") {
        step = expect_string(member, entry.diagnosis, Empty::refused);
      } else if (member.key == "recovery") {
        step = expect_string(member, entry.recovery, Empty::refused);
      } else if (member.key == "validation") {
        step = expect_string(member, entry.validation, Empty::refused);
      } else if (member.key == "commands") {
        step = commands(member, entry.commands);
      } else {
        step = error_at(member.key_offset, unknown_name("runbook key", member.key, k_entry_keys));
      }
      if (!step) return step;
    }
    for (const char* key : {"diagnosis", "recovery", "validation"}) {
      bool present = std::any_of(node.children.begin(), node.children.end(), [&](const Node& m) { return m.key == key; });
      if (!present) return error_at(node.offset, fmt::format("{} has no {}", quote(node.key), quote(key)));
    }
    return {};
  }

  recorder::Result<void> commands(const Node& node, std::vector<std::string>& out) {
    if (node.kind != Kind::array) return error_at(node.offset, fmt::format("\"commands\" must be an array of strings, got {}", describe(node)));
    for (const auto& item : node.children) {
      if (item.kind != Kind::string || item.text.empty()) {
        return error_at(item.offset, fmt::format("a command must be a non-empty string, got {}", describe(item)));
      }
      for (std::size_t at = item.text.find('{'); at != std::string::npos; at = item.text.find('{', at + 1)) {
        auto end = item.text.find('}', at);
        if (end == std::string::npos) break;
        auto name = std::string_view(item.text).substr(at + 1, end - at - 1);
        bool known = std::find(std::begin(k_runbook_placeholders), std::end(k_runbook_placeholders), name) !=
                     std::end(k_runbook_placeholders);
        if (!known) return error_at(item.offset, unknown_name("placeholder", name, k_runbook_placeholders));
      }
      out.push_back(item.text);
    }
    return {};
  }
};

}  // namespace

recorder::Result<Runbook> parse_runbook(std::string_view text, std::string_view source) { return Parser(text, source).parse(); }

recorder::Result<Runbook> load_runbook(const std::string& path) { return rules_json::load_file(path, parse_runbook); }

const Runbook& default_runbook() {
  static const Runbook runbook = rules_json::parse_embedded(k_runbook_text, "runbook.json", "runbook", parse_runbook);
  return runbook;
}

Runbook merge_runbooks(const Runbook& base, const Runbook& extra) {
  Runbook out = base;
  out.source = base.source + " + " + extra.source;
  for (const auto& [key, entry] : extra.categories) out.categories[key] = entry;
  for (const auto& [key, entry] : extra.findings) out.findings[key] = entry;
  return out;
}

std::string fill_command(std::string_view command, const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t at = 0;
  while (at < command.size()) {
    auto open = command.find('{', at);
    auto close = open == std::string_view::npos ? open : command.find('}', open);
    if (close == std::string_view::npos) {
      out += command.substr(at);
      break;
    }
    out += command.substr(at, open - at);
    std::string name(command.substr(open + 1, close - open - 1));
    auto found = values.find(name);
    if (found != values.end() && !found->second.empty()) {
      out += found->second;
    } else {
      std::string upper = name;
      std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      out += upper;
    }
    at = close + 1;
  }
  return out;
}

}  // namespace analyzer
