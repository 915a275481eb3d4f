// `day2 scenario add NIGHT_DIR SCENARIO_DIR`: a night recorded by `collect --record-dir` becomes a
// regression scenario (docs/scenarios.md "From a recorded night to a scenario").
#include <fmt/format.h>
#include <fmt/ranges.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/program_options.hpp>
#pragma GCC diagnostic pop
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "analyzer/commands/nights.hpp"
#include "analyzer/regress/regress.hpp"
#include "analyzer/session/session.hpp"
#include "scratch_dir.hpp"
#include "recorder/bundle.hpp"
#include "recorder/base/command.hpp"
#include "recorder/base/json.hpp"
#include "recorder/redact.hpp"

namespace analyzer {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

using recorder::UsageError;

constexpr CommandHelp k_scenario_help{
    "day2 scenario add NIGHT_DIR SCENARIO_DIR",
    "Turns a night recorded by `day2 collect --record-dir` into a regression scenario: its bundle\n"
    "(redaction checked again), config.json from the night's settings, expected.json from today's\n"
    "outcome marked as needing review, and a README stub with the night's headline. `day2 regress`\n"
    "passes on it at once; review expected.json, then delete its \"review\" key.",
    "day2 scenario add nights/prod/2026-12-05 scenarios/agent-storm-2026-12-05",
    "Exit codes: 0 scenario written, 1 it could not be written or replayed, 2 bad usage or a night\n"
    "directory that is not one.\n"};

// The bundle again through the built-in redaction; how many exchanges it changed.
int redact_again(recorder::Bundle& bundle) {
  recorder::Redactor redactor;
  int changed = 0;
  for (auto& exchange : bundle.exchanges) {
    auto before = std::tie(exchange.query, exchange.request_headers, exchange.request_body, exchange.response_headers,
                           exchange.response_body);
    auto copy = exchange;
    redactor.redact(exchange);
    if (std::tie(copy.query, copy.request_headers, copy.request_body, copy.response_headers, copy.response_body) != before) {
      ++changed;
    }
  }
  return changed;
}

// "6 failed runs: 4 Code error, 1 Connection failure, 1 Infra timeout; findings: backfill-failed, ..."
std::string headline(const regress::Outcome& outcome) {
  std::map<std::string, int> by_category;
  for (const auto& [id, run] : outcome.runs) ++by_category[run.category];
  std::vector<std::string> parts;
  for (const auto& [category, n] : by_category) parts.push_back(fmt::format("{} {}", n, category));
  std::string text = outcome.runs.empty() ? "No failed run"
                                          : fmt::format("{} failed run(s): {}", outcome.runs.size(), fmt::join(parts, ", "));
  text += outcome.findings.empty() ? "; no finding" : fmt::format("; findings: {}", fmt::join(outcome.findings, ", "));
  return text;
}

// night.json's window.start / window.end, or "?".
std::string window_end(const rapidjson::Value& meta, const char* which) {
  const auto* window = recorder::get_object(meta, "window");
  return window ? recorder::get_string(*window, which).value_or("?") : "?";
}

// The night's config.json, when it has one, copied into the scenario.
recorder::Result<void> copy_night_config(const fs::path& night, const fs::path& staging) {
  std::error_code ec;
  if (!fs::is_regular_file(night / "config.json", ec)) return {};
  auto text = recorder::read_file((night / "config.json").string());
  if (!text) return text.error();
  return recorder::write_file_atomic((staging / "config.json").string(), *text);
}

// expected.json's "review" note: regress says "needs review" until someone deletes it.
std::string review_note(const std::string& date, const std::string& deployment) {
  return fmt::format(
      "written by day2 {} from its own outcome of the night {} of {}: confirm each run's category and rule and "
      "each finding against what really happened, add the findings that must not appear to findings.absent, "
      "then delete this key",
      DAY2_VERSION, date, deployment);
}

std::string scenario_readme(const std::string& scenario, const std::string& date, const std::string& deployment,
                            const rapidjson::Value& meta, const regress::Outcome& outcome) {
  std::string name = fs::path(scenario).filename().string();
  return fmt::format(
      "# {}\n\n"
      "Recorded night {} of deployment `{}` (window {} to {}, {}), added with `day2 scenario add`.\n\n"
      "**Headline (day2 {}, before review):** {}.\n\n"
      "## Review before relying on it\n"
      "`expected.json` was written from day2's own outcome and carries a `review` note; `day2 regress` passes\n"
      "and prints \"needs review\" until someone has:\n"
      "- checked each failed run's category and rule against what really happened (the incident ticket,\n"
      "  the pods' events, the run's logs) and corrected `expected.json` where day2 was wrong;\n"
      "- listed under `findings.absent` the findings that must not appear (the close case this night guards);\n"
      "- written here what the night shows and why the expected answer is right;\n"
      "- deleted the `review` key.\n",
      name, date, deployment, window_end(meta, "start"), window_end(meta, "end"),
      recorder::get_string(meta, "timezone").value_or("?"), DAY2_VERSION, headline(outcome));
}

int add(const std::string& night_dir, const std::string& scenario, std::ostream& out, std::ostream& err) {
  fs::path night(night_dir);
  auto meta = recorder::read_json_file((night / "night.json").string());
  if (!meta) {
    throw UsageError{fmt::format("{}: not a night recorded by collect --record-dir ({})", night_dir, meta.error().message)};
  }
  auto deployment = recorder::get_string(*meta, "deployment").value_or("?");
  auto date = recorder::get_string(*meta, "date").value_or("?");
  auto bundle = recorder::read_bundle(night / "bundle");
  if (!bundle) throw UsageError{fmt::format("{}: {}", night_dir, bundle.error().message)};
  std::error_code ec;
  if (fs::exists(scenario, ec) && !fs::is_empty(scenario, ec)) {
    throw UsageError{fmt::format("{}: exists and is not empty; a scenario is never overwritten", scenario)};
  }
  int redacted = redact_again(*bundle);
  // Built in a scratch directory beside nothing else, then moved into place: a failed add leaves
  // no half scenario that regress would pick up.
  fs::path parent = fs::absolute(scenario).parent_path();
  fs::create_directories(parent, ec);
  fs::path staging = parent / fmt::format(".{}.partial", fs::path(scenario).filename().string());
  fs::remove_all(staging, ec);
  auto fail = [&](const std::string& message) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    err << "day2 scenario: error: " << message << '\n';
    return 1;
  };
  if (auto written = recorder::write_bundle(staging / "bundle", *bundle); !written) return fail(written.error().message);
  if (auto copied = copy_night_config(night, staging); !copied) return fail(copied.error().message);
  ScratchDir scratch("day2-scenario");
  auto outcome = regress::replay(staging.string(), regress::RuleFiles{}, scratch.path().string());
  if (!outcome) return fail(outcome.error().message);
  regress::Expectation review;
  review.review = review_note(date, deployment);
  if (auto written = regress::write_expectation(staging.string(), *outcome, review); !written) {
    return fail(written.error().message);
  }
  std::string readme = scenario_readme(scenario, date, deployment, *meta, *outcome);
  if (auto written = recorder::write_file_atomic((staging / "README.md").string(), readme); !written) {
    return fail(written.error().message);
  }
  if (fs::exists(scenario, ec)) fs::remove(scenario, ec);  // empty (checked above)
  fs::rename(staging, scenario, ec);
  if (ec) return fail(fmt::format("{}: cannot move the scenario into place: {}", scenario, ec.message()));
  if (redacted > 0) {
    err << fmt::format("day2 scenario: redaction changed {} exchange(s) of {} again; the scenario holds the redacted form\n",
                       redacted, night_dir);
  }
  out << fmt::format("{}: {}\n{}: needs review (see its README.md)\n", scenario, headline(*outcome),
                     (fs::path(scenario) / "expected.json").string());
  return 0;
}

}  // namespace

int run_scenario(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("Options");
  options.add_options()("help,h", "show this help")("words", po::value<std::vector<std::string>>(), "add NIGHT_DIR SCENARIO_DIR");
  po::positional_options_description positional;
  positional.add("words", -1);
  auto vm = parse_args(args, options, positional);
  if (print_help_if_asked(vm, k_scenario_help, options, out)) return 0;
  auto words = vm.count("words") ? vm["words"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (words.empty() || words[0] != "add") {
    throw UsageError{words.empty() ? "a subcommand is required: add NIGHT_DIR SCENARIO_DIR"
                                   : fmt::format("unknown subcommand \"{}\" (day2 scenario add NIGHT_DIR SCENARIO_DIR)", words[0])};
  }
  if (words.size() != 3) throw UsageError{"add takes NIGHT_DIR and SCENARIO_DIR"};
  return add(words[1], words[2], out, err);
}

}  // namespace analyzer
