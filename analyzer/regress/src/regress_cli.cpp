// `day2 regress [DIR...] [--rules FILE] [--reclassify FILE] [--baseline FILE] [--baseline-reclassify
// FILE] [--update] [--shard I/N]`: replays every scenario in process, compares its classifications
// and findings with its expected.json, prints a table and exits 1 on any difference.
#include <fmt/format.h>
#include <stdlib.h>

// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Boost's
// typed_value<std::vector<std::string>>::notify; the location is the Boost header (as in cli.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/program_options.hpp>
#pragma GCC diagnostic pop
#include <filesystem>
#include <optional>

#include "analyzer/regress/regress.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/text.hpp"
#include "recorder/base/command.hpp"
#include "analyzer/session/session.hpp"
#include "scratch_dir.hpp"

namespace analyzer {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

using recorder::UsageError;

struct Row {
  std::string scenario;
  std::string runs = "-";
  std::string result;
  std::vector<std::string> details;
};

// Scratch directories of the replays: one per rule set, reused scenario after scenario (a replay
// removes what it wrote; creating a directory per scenario cost more than the replay's own I/O).
class Scratch {
 public:
  std::string dir(std::size_t /*index*/, const char* which) const { return (m_dir.path() / which).string(); }

 private:
  ScratchDir m_dir{"day2-regress"};
};

std::string checked_file(const po::variables_map& vm, const char* option) {
  if (!vm.count(option)) return {};
  auto path = vm[option].as<std::string>();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw UsageError{fmt::format("--{}: {}: no such file", option, path)};
  return path;
}

Row run_one(const std::string& scenario, std::size_t index, const regress::RuleFiles& rules,
            const std::optional<regress::RuleFiles>& baseline, bool update, const Scratch& scratch) {
  Row row{scenario, "-", "", {}};
  std::optional<regress::Expectation> expected;
  if (auto read = regress::read_expectation(scenario)) {
    expected = std::move(*read);
  } else if (!update) {
    row.result = "ERROR";
    row.details.push_back(read.error().message);
    return row;
  }
  auto outcome = regress::replay(scenario, rules, scratch.dir(index, "candidate"),
                                 expected ? expected->investigations : std::vector<regress::InvestigationClaim>{});
  if (!outcome) {
    row.result = "ERROR";
    row.details.push_back(outcome.error().message);
    return row;
  }
  row.runs = std::to_string(outcome->runs.size());
  if (update) {
    auto written = regress::write_expectation(scenario, *outcome, expected);
    row.result = written ? "updated" : "ERROR";
    if (!written) row.details.push_back(written.error().message);
    if (expected) {
      for (auto& line : regress::compare(*expected, *outcome)) row.details.push_back("was: " + line);
    }
  } else {
    row.details = regress::compare(*expected, *outcome);
    row.result = row.details.empty() ? "pass" : "FAIL";
    if (!expected->review.empty()) row.details.push_back("expected.json needs review: " + expected->review);
  }
  if (baseline) {
    auto before = regress::replay(scenario, *baseline, scratch.dir(index, "baseline"));
    if (!before) {
      row.result = "ERROR";
      row.details.push_back("baseline: " + before.error().message);
    } else {
      for (auto& line : regress::category_changes(*before, *outcome)) row.details.push_back("baseline -> rules: " + line);
    }
  }
  return row;
}

// JUnit XML as CI systems read it (Jenkins, GitLab, GitHub annotations): one <testcase> per
// scenario, a <failure> for a difference, an <error> for a scenario that could not be replayed.
std::string junit_xml(const std::vector<Row>& rows) {
  std::size_t failures = 0;
  std::size_t errors = 0;
  for (const auto& row : rows) {
    failures += row.result == "FAIL" ? 1 : 0;
    errors += row.result == "ERROR" ? 1 : 0;
  }
  std::string xml = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"day2 regress\" tests=\"{0}\" failures=\"{1}\" "
      "errors=\"{2}\">\n<testsuite name=\"day2 regress\" tests=\"{0}\" failures=\"{1}\" errors=\"{2}\" skipped=\"0\">\n",
      rows.size(), failures, errors);
  for (const auto& row : rows) {
    xml += fmt::format("  <testcase classname=\"day2.regress\" name=\"{}\">", recorder::markup_escape(row.scenario));
    std::string details = fmt::format("{}", fmt::join(row.details, "\n"));
    if (row.result == "FAIL") {
      xml += fmt::format("<failure message=\"{} difference(s)\">{}</failure>", row.details.size(), recorder::markup_escape(details));
    } else if (row.result == "ERROR") {
      xml += fmt::format("<error message=\"could not be replayed\">{}</error>", recorder::markup_escape(details));
    } else if (!details.empty()) {
      xml += fmt::format("<system-out>{}</system-out>", recorder::markup_escape(details));
    }
    xml += "</testcase>\n";
  }
  xml += "</testsuite>\n</testsuites>\n";
  return xml;
}

std::string results_json(const std::vector<Row>& rows, std::size_t passed, std::size_t failed, std::size_t errors) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value list(rapidjson::kArrayType);
  for (const auto& row : rows) {
    rapidjson::Value item(rapidjson::kObjectType);
    item.AddMember("scenario", recorder::json_string(row.scenario, a), a);
    item.AddMember("failedRuns", row.runs == "-" ? rapidjson::Value() : rapidjson::Value(std::stoi(row.runs)), a);
    item.AddMember("result", recorder::json_string(row.result == "FAIL" ? "fail" : row.result == "ERROR" ? "error" : row.result, a), a);
    rapidjson::Value details(rapidjson::kArrayType);
    for (const auto& line : row.details) details.PushBack(recorder::json_string(line, a), a);
    item.AddMember("details", details, a);
    list.PushBack(item, a);
  }
  doc.AddMember("scenarios", list, a);
  doc.AddMember("passed", static_cast<std::uint64_t>(passed), a);
  doc.AddMember("failed", static_cast<std::uint64_t>(failed), a);
  doc.AddMember("errors", static_cast<std::uint64_t>(errors), a);
  return recorder::write_json(doc, recorder::Pretty::yes);
}

void print_table(const std::vector<Row>& rows, std::ostream& out) {
  std::size_t width = std::string_view("scenario").size();
  for (const auto& row : rows) width = std::max(width, row.scenario.size());
  out << fmt::format("{:<{}}  {:>4}  {:<7}  {}\n", "scenario", width, "runs", "result", "what changed");
  for (const auto& row : rows) {
    std::string first = row.details.empty() ? "-" : row.details.front();
    out << fmt::format("{:<{}}  {:>4}  {:<7}  {}\n", row.scenario, width, row.runs, row.result, first);
    for (std::size_t i = 1; i < row.details.size(); ++i) {
      out << fmt::format("{:<{}}  {:>4}  {:<7}  {}\n", "", width, "", "", row.details[i]);
    }
  }
}

po::options_description regress_options() {
  po::options_description options("Options");
  options.add_options()
      ("help,h", "show this help")
      ("rules", po::value<std::string>(), "classification rules for collect (default: the built-in rules)")
      ("reclassify", po::value<std::string>(), "reclassification rules for the report (default: built in)")
      ("baseline", po::value<std::string>(), "classification rules to compare with: list the runs that change")
      ("baseline-reclassify", po::value<std::string>(), "reclassification rules to compare with")
      ("update", "rewrite every expected.json from this replay (review the diff like code)")
      ("junit", po::value<std::string>()->value_name("FILE"), "also write the results as JUnit XML to FILE (one testcase per scenario)")
      ("json", "print the results as one JSON object instead of the table")
      ("shard", po::value<std::string>(), "I/N: run only every N-th scenario, starting at the I-th")
      ("dir", po::value<std::vector<std::string>>(), "scenario directories (default: scenarios)");
  return options;
}

void print_regress_help(const po::options_description& options, std::ostream& out) {
  out << "usage: day2 regress [DIR...] [--rules FILE] [--reclassify FILE] [--baseline FILE]\n"
         "                    [--baseline-reclassify FILE] [--update] [--shard I/N] [--junit FILE] [--json]\n\n"
         "Replays every scenario (a directory with bundle/ or scenario.json) in process and compares\n"
         "each failed run's category and rule, and the report's findings, with expected.json\n"
         "(docs/scenarios.md). Exits 1 on any difference.\n\n"
      << options
      << "\nExamples:\n  day2 regress scenarios\n  day2 regress --rules my.rules.json --baseline "
         "analyzer/rules/default.rules.json\n\n"
         "Exit codes: 0 every scenario passed, 1 a difference or a scenario that could not be replayed,\n"
         "2 bad usage.\n";
}

// --baseline and --baseline-reclassify; nullopt (no comparison) when neither is given.
std::optional<regress::RuleFiles> baseline_option(const po::variables_map& vm) {
  if (!vm.count("baseline") && !vm.count("baseline-reclassify")) return std::nullopt;
  return regress::RuleFiles{checked_file(vm, "baseline"), checked_file(vm, "baseline-reclassify")};
}

// --shard I/N; 1/1 (every scenario) when not given.
std::pair<int, int> shard_option(const po::variables_map& vm) {
  if (!vm.count("shard")) return {1, 1};
  auto parsed = regress::parse_shard(vm["shard"].as<std::string>());
  if (!parsed) throw UsageError{parsed.error().message};
  return *parsed;
}

std::vector<std::string> shard_scenarios(const std::vector<std::string>& scenarios, std::pair<int, int> shard) {
  std::vector<std::string> mine;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    if (static_cast<int>(i % static_cast<std::size_t>(shard.second)) == shard.first - 1) mine.push_back(scenarios[i]);
  }
  return mine;
}

struct ResultCounts {
  std::size_t passed = 0;
  std::size_t failed = 0;
  std::size_t errors = 0;
};

ResultCounts count_results(const std::vector<Row>& rows) {
  ResultCounts counts;
  for (const auto& row : rows) {
    if (row.result == "pass" || row.result == "updated") ++counts.passed;
    else if (row.result == "FAIL") ++counts.failed;
    else ++counts.errors;
  }
  return counts;
}

}  // namespace

int run_regress(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options = regress_options();
  po::positional_options_description positional;
  positional.add("dir", -1);
  po::variables_map vm = parse_args(args, options, positional);
  if (vm.count("help")) {
    print_regress_help(options, out);
    return 0;
  }
  regress::RuleFiles rules{checked_file(vm, "rules"), checked_file(vm, "reclassify")};
  std::optional<regress::RuleFiles> baseline = baseline_option(vm);
  auto roots = vm.count("dir") ? vm["dir"].as<std::vector<std::string>>() : std::vector<std::string>{"scenarios"};
  auto scenarios = regress::find_scenarios(roots);
  if (!scenarios) throw UsageError{scenarios.error().message};
  std::pair<int, int> shard = shard_option(vm);
  std::vector<std::string> mine = shard_scenarios(*scenarios, shard);
  if (mine.empty()) {
    err << fmt::format("day2 regress: no scenario (a directory with bundle/ or scenario.json) under {}\n",
                       fmt::join(roots, ", "));
    return scenarios->empty() ? 1 : 0;
  }
  Scratch scratch;
  std::vector<Row> rows;
  bool update = vm.count("update") > 0;
  for (std::size_t i = 0; i < mine.size(); ++i) rows.push_back(run_one(mine[i], i, rules, baseline, update, scratch));
  auto [passed, failed, errors] = count_results(rows);
  if (vm.count("junit")) {
    auto path = vm["junit"].as<std::string>();
    if (auto written = recorder::write_file_atomic(path, junit_xml(rows)); !written) {
      err << "day2 regress: error: --junit: " << written.error().message << '\n';
      return 1;
    }
  }
  if (vm.count("json")) {
    out << results_json(rows, passed, failed, errors);
    return failed == 0 && errors == 0 ? 0 : 1;
  }
  print_table(rows, out);
  out << fmt::format("{} scenario(s){}: {} {}, {} failed, {} could not be replayed\n", rows.size(),
                     shard.second > 1 ? fmt::format(" (shard {}/{})", shard.first, shard.second) : "", passed,
                     update ? "updated" : "passed", failed, errors);
  return failed == 0 && errors == 0 ? 0 : 1;
}

}  // namespace analyzer
