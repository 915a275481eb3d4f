// day2 regress: reading a scenario's expected.json (docs/scenarios.md): every key checked, an error
// names the file (with the line, for an unknown key) and the problem.
#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "analyzer/regress/regress.hpp"
#include "recorder/base/checked_json.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/text.hpp"
#include "regress_json.hpp"

namespace analyzer::regress {

namespace fs = std::filesystem;
using recorder::make_error;
using recorder::Result;

namespace {

Result<std::map<std::string, RunOutcome>> read_runs(const rapidjson::Value& runs, const std::string& file) {
  std::map<std::string, RunOutcome> out;
  if (!runs.IsObject()) return make_error(fmt::format("{}: \"runs\" is not an object", file));
  for (const auto& member : runs.GetObject()) {
    std::string id(member.name.GetString(), member.name.GetStringLength());
    const auto& run = member.value;
    if (!run.IsObject() || !recorder::get_string(run, "category")) {
      return make_error(fmt::format("{}: runs.{}: expected an object with \"category\"", file, id));
    }
    out[id] = RunOutcome{text_or(run, "job", "?"), text_or(run, "category", "?"), text_or(run, "rule", "-")};
  }
  return out;
}

Result<std::set<std::string>> read_names(const rapidjson::Value& findings, const char* key, const std::string& file) {
  std::set<std::string> out;
  const auto* names = recorder::get_array(findings, key);
  if (names == nullptr) {
    if (findings.HasMember(key)) return make_error(fmt::format("{}: findings.{} is not an array", file, key));
    return out;
  }
  for (const auto& name : names->GetArray()) {
    if (!name.IsString()) return make_error(fmt::format("{}: findings.{} holds a non-string", file, key));
    out.insert(name.GetString());
  }
  return out;
}

const std::set<std::string> k_actions = {"Escalate", "Investigate", "Monitor", "No action"};

// "actions": {"<runId>": "<action>"}.
Result<std::map<std::string, std::string>> read_actions(const rapidjson::Value& doc, const std::string& file) {
  std::map<std::string, std::string> out;
  if (!doc.HasMember("actions")) return out;
  const auto* actions = recorder::get_object(doc, "actions");
  if (actions == nullptr) return make_error(fmt::format("{}: \"actions\" is not an object (run id -> action)", file));
  for (const auto& member : actions->GetObject()) {
    std::string id = member.name.GetString();
    if (!member.value.IsString() || !k_actions.contains(member.value.GetString())) {
      return make_error(fmt::format("{}: actions.{}: expected one of {}", file, id, fmt::join(k_actions, ", ")));
    }
    out[id] = member.value.GetString();
  }
  return out;
}

// "together": [["<runId>", ...], ...], each list of two runs or more.
Result<std::vector<std::vector<std::string>>> read_together(const rapidjson::Value& doc, const std::string& file) {
  std::vector<std::vector<std::string>> out;
  if (!doc.HasMember("together")) return out;
  const auto* groups = recorder::get_array(doc, "together");
  if (groups == nullptr) return make_error(fmt::format("{}: \"together\" is not an array of run id lists", file));
  for (rapidjson::SizeType i = 0; i < groups->Size(); ++i) {
    const auto& group = (*groups)[i];
    std::vector<std::string> ids;
    for (rapidjson::SizeType j = 0; group.IsArray() && j < group.Size(); ++j) {
      if (group[j].IsString()) ids.push_back(group[j].GetString());
    }
    if (!group.IsArray() || ids.size() != group.Size() || ids.size() < 2) {
      return make_error(fmt::format("{}: together[{}]: expected a list of two run ids or more", file, i));
    }
    out.push_back(std::move(ids));
  }
  return out;
}

// "report": {"mentions": [texts], "omits": [texts]}, each a non-empty string.
Result<void> read_report(const rapidjson::Value& doc, const std::string& file, Expectation& expectation) {
  if (!doc.HasMember("report")) return {};
  const auto* report = recorder::get_object(doc, "report");
  if (report == nullptr) return make_error(fmt::format("{}: \"report\" is not an object (\"mentions\", \"omits\")", file));
  for (const auto& member : report->GetObject()) {
    std::string key = member.name.GetString();
    auto* into = key == "mentions" ? &expectation.mentions : key == "omits" ? &expectation.omits : nullptr;
    if (into == nullptr) {
      constexpr std::array<std::string_view, 2> k_keys{"mentions", "omits"};
      return make_error(fmt::format("{}: report: {}", file, recorder::unknown_name("key", key, k_keys)));
    }
    if (!member.value.IsArray()) return make_error(fmt::format("{}: report.{} is not an array of texts", file, key));
    for (rapidjson::SizeType i = 0; i < member.value.Size(); ++i) {
      const auto& text = member.value[i];
      if (!text.IsString() || text.GetStringLength() == 0) {
        return make_error(fmt::format("{}: report.{}[{}]: expected a non-empty text", file, key, i));
      }
      into->insert(text.GetString());
    }
  }
  return {};
}

}  // namespace

// "findings" / "causes": {"present": [names], "absent": [names]}; absent is no expectation.
Result<void> read_present_absent(const rapidjson::Value& doc, const char* key, const std::string& file, std::set<std::string>& present,
                                 std::set<std::string>& absent) {
  const auto* object = recorder::get_object(doc, key);
  if (object == nullptr) {
    if (doc.HasMember(key)) return make_error(fmt::format("{}: \"{}\" is not an object", file, key));
    return {};
  }
  auto listed = read_names(*object, "present", file);
  if (!listed) return make_error(listed.error().message);
  auto excluded = read_names(*object, "absent", file);
  if (!excluded) return make_error(excluded.error().message);
  present = std::move(*listed);
  absent = std::move(*excluded);
  return {};
}

namespace {

// The keys of expected.json and of its "findings" and "causes" (docs/scenarios.md): a misspelt one
// would be a claim never checked, so it is refused, at its line, with the nearest known key.
constexpr std::array<std::string_view, 8> k_top_keys{"actions", "causes",  "findings", "investigations",
                                                     "report",  "review",  "runs",     "together"};
constexpr std::array<std::string_view, 2> k_list_keys{"absent", "present"};

Result<void> check_keys(const recorder::CheckedJson& file) {
  const recorder::JsonAt root;
  if (auto closed = file.closed_keys(file.root(), root, k_top_keys, "key"); !closed) return closed;
  for (const char* key : {"findings", "causes"}) {
    const auto* lists = recorder::get_object(file.root(), key);
    if (lists == nullptr) continue;
    if (auto closed = file.closed_keys(*lists, root / key, k_list_keys, "key"); !closed) return closed;
  }
  return {};
}

}  // namespace

Result<Expectation> read_expectation(const std::string& scenario) {
  std::string file = (fs::path(scenario) / "expected.json").string();
  auto checked = recorder::CheckedJson::load(file);
  if (!checked) return make_error(checked.error().message);
  const auto* doc = &checked->root();
  if (!doc->IsObject()) return make_error(fmt::format("{}: expected an object", file));
  if (auto keys = check_keys(*checked); !keys) return keys.error();
  Expectation expectation;
  if (!doc->HasMember("runs")) return make_error(fmt::format("{}: missing \"runs\" (an object by run id)", file));
  auto parsed = read_runs((*doc)["runs"], file);
  if (!parsed) return make_error(parsed.error().message);
  expectation.runs = std::move(*parsed);
  for (auto [key, present, absent] : {std::tuple{"findings", &expectation.present, &expectation.absent},
                                      std::tuple{"causes", &expectation.causes_present, &expectation.causes_absent}}) {
    if (auto read = read_present_absent(*doc, key, file, *present, *absent); !read) return make_error(read.error().message);
  }
  auto actions = read_actions(*doc, file);
  if (!actions) return make_error(actions.error().message);
  expectation.actions = std::move(*actions);
  auto together = read_together(*doc, file);
  if (!together) return make_error(together.error().message);
  expectation.together = std::move(*together);
  if (auto report = read_report(*doc, file, expectation); !report) return make_error(report.error().message);
  auto investigations = read_investigations(*doc, file);
  if (!investigations) return investigations.error();
  expectation.investigations = std::move(*investigations);
  if (doc->HasMember("review")) {
    auto review = recorder::get_string(*doc, "review");
    if (!review) return make_error(fmt::format("{}: \"review\" must be a string (what to check before deleting it)", file));
    expectation.review = *review;
  }
  return expectation;
}

}  // namespace analyzer::regress
