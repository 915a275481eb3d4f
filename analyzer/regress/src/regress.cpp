// day2 regress: finding scenarios, replaying them in process, and comparing outcomes with the
// expectations. The command line and the table are in regress_cli.cpp.
#include "analyzer/regress/regress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string_view>

#include "analyzer/collect/collect.hpp"
#include "analyzer/commands/commands.hpp"
#include "recorder/base/durable.hpp"
#include "recorder/base/json.hpp"
#include "regress_json.hpp"

namespace analyzer::regress {

namespace fs = std::filesystem;
using recorder::make_error;
using recorder::Result;

namespace {

bool is_scenario(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "bundle", ec) || fs::is_regular_file(dir / "scenario.json", ec);
}

// How to replay a scenario: its own bundle/, or scenario.json's {"bundle": "<path relative to the
// scenario>", "shift": "<duration>"} (another scenario's bundle moved to another night).
struct Source {
  std::string bundle;
  std::string shift;
};

Result<Source> source_of(const fs::path& scenario) {
  std::error_code ec;
  fs::path spec = scenario / "scenario.json";
  if (!fs::is_regular_file(spec, ec)) return Source{(scenario / "bundle").string(), ""};
  auto doc = recorder::read_json_file(spec.string(), recorder::Comments::allowed);
  if (!doc) return make_error(doc.error().message);
  auto bundle = doc->IsObject() ? recorder::get_string(*doc, "bundle") : std::nullopt;
  if (!bundle || bundle->empty()) return make_error(fmt::format("{}: missing \"bundle\" (a path)", spec.string()));
  Source source{(scenario / *bundle).lexically_normal().string(), ""};
  if (doc->HasMember("shift")) {
    auto shift = recorder::get_string(*doc, "shift");
    if (!shift) return make_error(fmt::format("{}: \"shift\" is not a string", spec.string()));
    source.shift = *shift;
  }
  return source;
}

// The last non-empty line of `text`, trimmed (the path `day2 report` prints).
std::string last_line(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  std::string last;
  while (std::getline(lines, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) last = line;
  }
  return last;
}

// "... : <first line of err>" for a failed step of a replay.
std::string first_error(const std::string& err) {
  std::istringstream lines(err);
  std::string line;
  std::string found;
  while (std::getline(lines, line)) {
    if (line.find("error") != std::string::npos || line.find("miss") != std::string::npos) return line;
    if (found.empty()) found = line;
  }
  return found.empty() ? "(no message)" : found;
}

// Whether collect's exit `code` 1 only says that steps of the recorded night hold errors (a denied
// API, a timeout the bundle recorded: signals missing that night, which the report must say): the
// replay report (`replay_report`, collect --replay-report) holds no miss and the artifact names
// steps or items that hold errors. A replay miss (a request the bundle cannot answer) is not. Read
// from both files, never from collect's messages.
bool signals_missing(int code, const std::string& replay_report, const std::string& artifact) {
  if (code != 1) return false;
  auto report = recorder::read_json_file(replay_report);
  const auto* misses = report ? recorder::get_array(*report, "misses") : nullptr;
  if (misses == nullptr || !misses->Empty()) return false;
  auto doc = recorder::read_json_file(artifact);
  return doc && (!error_steps(*doc).empty() || !unreadable_items(*doc).empty());
}

Result<Outcome> read_outcome(const std::string& report_path) {
  auto doc = recorder::read_json_file(report_path);
  if (!doc) return make_error(doc.error().message);
  Outcome outcome;
  if (const auto* causes = recorder::get_array(*doc, "rootCauses")) {
    for (rapidjson::SizeType index = 0; index < causes->Size(); ++index) {
      const auto& cause = (*causes)[index];
      std::string category = text_or(cause, "category", "Unclassified");
      std::string rule = text_or(cause, "ruleId", "-");
      if (const auto* platform = recorder::get_object(cause, "platform")) outcome.causes.insert(text_or(*platform, "id", "?"));
      const auto* runs = recorder::get_array(cause, "runs");
      if (runs == nullptr) continue;
      for (const auto& run : runs->GetArray()) {  // a run's own category (under a platform cause too)
        outcome.runs[text_or(run, "runId", "?")] =
            RunOutcome{text_or(run, "jobName", "?"), text_or(run, "category", category), text_or(run, "ruleId", rule)};
        outcome.causes_of_run[text_or(run, "runId", "?")].push_back(index);
      }
    }
  }
  if (const auto* actions = recorder::get_array(*doc, "actions")) {
    for (const auto& row : actions->GetArray()) {
      const auto* ids = recorder::get_array(row, "runIds");
      if (ids == nullptr) continue;
      for (const auto& id : ids->GetArray()) {
        if (id.IsString()) outcome.actions_of_run[id.GetString()].push_back(text_or(row, "action", "?"));
      }
    }
  }
  collect_texts(*doc, "", outcome.texts);
  for (const char* section : {"impact", "emergingIssues"}) {
    const auto* findings = recorder::get_array(*doc, section);
    if (findings == nullptr) continue;
    for (const auto& finding : findings->GetArray()) {
      if (!finding.IsObject()) continue;
      auto rule = recorder::get_string(finding, "ruleId");
      if (rule && !rule->empty()) outcome.findings.insert(*rule);
    }
  }
  return outcome;
}

std::string describe(const RunOutcome& run) { return fmt::format("{} ({})", run.category, run.rule); }

}  // namespace

Result<std::vector<std::string>> find_scenarios(const std::vector<std::string>& roots) {
  std::set<std::string> found;
  for (const auto& root : roots) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return make_error(fmt::format("{}: no such directory", root));
    if (is_scenario(root)) {
      found.insert(fs::path(root).lexically_normal().string());
      continue;
    }
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_directory(ec)) continue;
      if (it->path().filename() == "bundle") {
        it.disable_recursion_pending();
        continue;
      }
      if (is_scenario(it->path())) {
        found.insert(it->path().lexically_normal().string());
        it.disable_recursion_pending();
      }
    }
    if (ec) return make_error(fmt::format("{}: {}", root, ec.message()));
  }
  return std::vector<std::string>(found.begin(), found.end());
}

Result<Outcome> replay(const std::string& scenario, const RuleFiles& rules, const std::string& work,
                       const std::vector<InvestigationClaim>& investigations) {
  recorder::ScratchWrites scratch;  // `work` is a scratch directory: atomic writes, no fsync
  std::error_code ec;
  fs::create_directories(work, ec);
  if (ec) return make_error(fmt::format("{}: cannot create {}: {}", scenario, work, ec.message()));
  std::string artifact = (fs::path(work) / "day2.json").string();
  auto source = source_of(scenario);
  if (!source) return make_error(fmt::format("{}: {}", scenario, source.error().message));
  std::string replay_report = (fs::path(work) / "replay-report.json").string();
  std::vector<std::string> collect{"collect", "--replay", source->bundle, "--out", artifact, "--quiet",
                                   "--replay-report", replay_report};
  if (!source->shift.empty()) collect.insert(collect.end(), {"--shift", source->shift});
  if (fs::is_regular_file(fs::path(scenario) / "config.json", ec)) {
    collect.insert(collect.end(), {"--config", (fs::path(scenario) / "config.json").string()});
  }
  if (!rules.rules.empty()) collect.insert(collect.end(), {"--rules", rules.rules});
  std::ostringstream out;
  std::ostringstream err;
  fs::remove(artifact, ec);  // `work` served the previous scenario: its files must not pass for this one's
  fs::remove(replay_report, ec);
  if (int code = run_analysis(collect, out, err); code != 0 && !signals_missing(code, replay_report, artifact)) {
    return make_error(fmt::format("{}: collect --replay exited {}: {}", scenario, code, first_error(err.str())));
  }
  std::vector<std::string> report{"report", artifact, "--format", "json", "--out-dir", work};
  if (!rules.reclassify.empty()) report.insert(report.end(), {"--reclassify", rules.reclassify});
  if (fs::is_regular_file(fs::path(scenario) / "config.json", ec)) {
    report.insert(report.end(), {"--config", (fs::path(scenario) / "config.json").string()});
  }
  std::ostringstream report_out;
  std::ostringstream report_err;
  if (int code = run_analysis(report, report_out, report_err); code != 0) {
    return make_error(fmt::format("{}: report exited {}: {}", scenario, code, first_error(report_err.str())));
  }
  auto report_path = last_line(report_out.str());
  auto outcome = read_outcome(report_path);
  fs::remove(report_path, ec);  // `work` serves the next scenario: only its artifact is overwritten
  if (!outcome) return make_error(fmt::format("{}: {}", scenario, outcome.error().message));
  std::vector<std::string> replay_args{"--replay", source->bundle};  // the investigations take no --shift
  if (fs::is_regular_file(fs::path(scenario) / "config.json", ec)) {
    replay_args.insert(replay_args.end(), {"--config", (fs::path(scenario) / "config.json").string()});
  }
  for (const auto& claim : investigations) {
    outcome->investigations[command_text(claim.command)] = run_investigation(claim.command, replay_args);
  }
  return outcome;
}


namespace {

// Platform causes (Root Causes) as findings are compared: each expected one present, each absent one
// not, and none that expected.json does not name.
void compare_causes(const Expectation& expected, const Outcome& actual, std::vector<std::string>& out) {
  for (const auto& name : expected.causes_present) {
    if (!actual.causes.contains(name)) out.push_back(fmt::format("cause {}: expected, missing", name));
  }
  for (const auto& name : expected.causes_absent) {
    if (actual.causes.contains(name)) out.push_back(fmt::format("cause {}: must not appear, present", name));
  }
  for (const auto& name : actual.causes) {
    if (!expected.causes_present.contains(name) && !expected.causes_absent.contains(name)) {
      out.push_back(fmt::format("cause {}: unexpected", name));
    }
  }
}

// Whatever the expectation: no run under two root causes, no run named by two actions.
void compare_placement(const Outcome& actual, std::vector<std::string>& out) {
  for (const auto& [id, causes] : actual.causes_of_run) {
    if (causes.size() > 1) out.push_back(fmt::format("run {}: under {} root causes (one expected)", id, causes.size()));
  }
  for (const auto& [id, actions] : actual.actions_of_run) {
    if (actions.size() > 1) out.push_back(fmt::format("run {}: {} actions ({}), one expected", id, actions.size(), fmt::join(actions, ", ")));
  }
}

// "actions" and "together" of expected.json.
void compare_actions_and_causes(const Expectation& expected, const Outcome& actual, std::vector<std::string>& out) {
  for (const auto& [id, action] : expected.actions) {
    auto found = actual.actions_of_run.find(id);
    std::string got = found == actual.actions_of_run.end() ? "no action row" : fmt::format("{}", fmt::join(found->second, ", "));
    if (got != action) out.push_back(fmt::format("run {}: action {} -> {}", id, action, got));
  }
  for (const auto& group : expected.together) {
    std::set<std::vector<std::size_t>> placements;
    for (const auto& id : group) {
      auto found = actual.causes_of_run.find(id);
      placements.insert(found == actual.causes_of_run.end() ? std::vector<std::size_t>{} : found->second);
    }
    if (placements.size() != 1 || placements.begin()->size() != 1) {
      out.push_back(fmt::format("runs {}: expected under one root cause, they are not", fmt::join(group, ", ")));
    }
  }
}

// "report": each mention in some string of the report, no omitted text in any.
void compare_report(const Expectation& expected, const Outcome& actual, std::vector<std::string>& out) {
  for (const auto& text : expected.mentions) {
    if (!find_text(actual.texts, text)) out.push_back(fmt::format("report: mentions \"{}\": no text of the report does", text));
  }
  for (const auto& text : expected.omits) {
    if (auto found = find_text(actual.texts, text)) {
      std::string shown = found->second.size() > 160 ? found->second.substr(0, 157) + "..." : found->second;
      out.push_back(fmt::format("report: omits \"{}\": it is in {}: {}", text, found->first, shown));
    }
  }
}

// The previous expectation's "actions" (the runs it named, with today's action) and "together" (the
// groups that still hold), for write_expectation.
void add_placements(const Expectation& previous, const Outcome& outcome, rapidjson::Document& doc) {
  auto& a = doc.GetAllocator();
  if (!previous.actions.empty()) {  // the runs it named, with today's action
    rapidjson::Value actions(rapidjson::kObjectType);
    for (const auto& [id, action] : previous.actions) {
      auto found = outcome.actions_of_run.find(id);
      if (found == outcome.actions_of_run.end() || found->second.size() != 1) continue;
      actions.AddMember(recorder::json_string(id, a), recorder::json_string(found->second.front(), a), a);
    }
    doc.AddMember("actions", actions, a);
  }
  if (!previous.together.empty()) {  // the groups that still hold
    rapidjson::Value together(rapidjson::kArrayType);
    for (const auto& group : previous.together) {
      std::vector<std::string> differences;
      Expectation one;
      one.together = {group};
      compare_actions_and_causes(one, outcome, differences);
      if (!differences.empty()) continue;
      rapidjson::Value ids(rapidjson::kArrayType);
      for (const auto& id : group) ids.PushBack(recorder::json_string(id, a), a);
      together.PushBack(ids, a);
    }
    doc.AddMember("together", together, a);
  }
  std::set<std::string> mentions, omits;  // the wording claims that still hold
  for (const auto& text : previous.mentions) {
    if (find_text(outcome.texts, text)) mentions.insert(text);
  }
  for (const auto& text : previous.omits) {
    if (!find_text(outcome.texts, text)) omits.insert(text);
  }
  if (!mentions.empty() || !omits.empty()) {
    rapidjson::Value report(rapidjson::kObjectType);
    for (auto [key, set] : {std::pair{"mentions", &mentions}, std::pair{"omits", &omits}}) {
      rapidjson::Value texts(rapidjson::kArrayType);
      for (const auto& text : *set) texts.PushBack(recorder::json_string(text, a), a);
      report.AddMember(rapidjson::StringRef(key), texts, a);
    }
    doc.AddMember("report", report, a);
  }
}

}  // namespace

Result<void> write_expectation(const std::string& scenario, const Outcome& outcome,
                               const std::optional<Expectation>& previous) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value runs(rapidjson::kObjectType);
  for (const auto& [id, run] : outcome.runs) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("category", recorder::json_string(run.category, a), a);
    row.AddMember("job", recorder::json_string(run.job, a), a);
    row.AddMember("rule", recorder::json_string(run.rule, a), a);
    runs.AddMember(recorder::json_string(id, a), row, a);
  }
  auto names = [&](const std::set<std::string>& set) {
    rapidjson::Value array(rapidjson::kArrayType);
    for (const auto& name : set) array.PushBack(recorder::json_string(name, a), a);
    return array;
  };
  std::set<std::string> absent, causes_absent;
  if (previous) {
    for (const auto& name : previous->absent) {
      if (!outcome.findings.contains(name)) absent.insert(name);
    }
    for (const auto& name : previous->causes_absent) {
      if (!outcome.causes.contains(name)) causes_absent.insert(name);
    }
  }
  if (!outcome.causes.empty() || !causes_absent.empty()) {
    rapidjson::Value causes(rapidjson::kObjectType);
    causes.AddMember("absent", names(causes_absent), a);
    causes.AddMember("present", names(outcome.causes), a);
    doc.AddMember("causes", causes, a);
  }
  rapidjson::Value findings(rapidjson::kObjectType);
  findings.AddMember("absent", names(absent), a);
  findings.AddMember("present", names(outcome.findings), a);
  doc.AddMember("findings", findings, a);
  if (previous) add_placements(*previous, outcome, doc);
  if (previous) add_investigations(previous->investigations, outcome, doc);
  if (previous && !previous->review.empty()) doc.AddMember("review", recorder::json_string(previous->review, a), a);
  doc.AddMember("runs", runs, a);
  return recorder::write_file_atomic((fs::path(scenario) / "expected.json").string(),
                                     recorder::write_json(doc, recorder::Pretty::yes));
}

std::vector<std::string> compare(const Expectation& expected, const Outcome& actual) {
  std::vector<std::string> out;
  for (const auto& [id, run] : expected.runs) {
    auto found = actual.runs.find(id);
    if (found == actual.runs.end()) {
      out.push_back(fmt::format("run {} `{}`: expected {}, not among the failed runs", id, run.job, describe(run)));
    } else if (found->second.category != run.category || found->second.rule != run.rule) {
      out.push_back(fmt::format("run {} `{}`: {} -> {}", id, run.job, describe(run), describe(found->second)));
    }
  }
  for (const auto& [id, run] : actual.runs) {
    if (!expected.runs.contains(id)) {
      out.push_back(fmt::format("run {} `{}`: unexpected failed run, {}", id, run.job, describe(run)));
    }
  }
  for (const auto& name : expected.present) {
    if (!actual.findings.contains(name)) out.push_back(fmt::format("finding {}: expected, missing", name));
  }
  for (const auto& name : expected.absent) {
    if (actual.findings.contains(name)) out.push_back(fmt::format("finding {}: must not appear, present", name));
  }
  for (const auto& name : actual.findings) {
    if (!expected.present.contains(name) && !expected.absent.contains(name)) {
      out.push_back(fmt::format("finding {}: unexpected", name));
    }
  }
  compare_causes(expected, actual, out);
  compare_placement(actual, out);
  compare_actions_and_causes(expected, actual, out);
  compare_report(expected, actual, out);
  compare_investigations(expected.investigations, actual, out);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> category_changes(const Outcome& baseline, const Outcome& candidate) {
  std::vector<std::string> out;
  for (const auto& [id, before] : baseline.runs) {
    auto after = candidate.runs.find(id);
    if (after == candidate.runs.end()) {
      out.push_back(fmt::format("run {} `{}`: {} -> not a failed run", id, before.job, describe(before)));
    } else if (!(after->second == before)) {
      out.push_back(fmt::format("run {} `{}`: {} -> {}", id, before.job, describe(before), describe(after->second)));
    }
  }
  for (const auto& [id, after] : candidate.runs) {
    if (!baseline.runs.contains(id)) {
      out.push_back(fmt::format("run {} `{}`: not a failed run -> {}", id, after.job, describe(after)));
    }
  }
  return out;
}

Result<std::pair<int, int>> parse_shard(const std::string& text) {
  int index = 0;
  int count = 0;
  char slash = 0;
  std::istringstream in(text);
  if (!(in >> index >> slash >> count) || slash != '/' || !in.eof() || count < 1 || index < 1 || index > count) {
    return make_error(fmt::format("--shard: \"{}\" is not I/N with 1 <= I <= N", text));
  }
  return std::pair{index, count};
}

}  // namespace analyzer::regress
