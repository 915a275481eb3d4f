// `day2 summarize`, `report` and `rules`, and the table of the analysis commands.
#include "analyzer/commands/commands.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "analyzer/classify/reclassify.hpp"
#include "analyzer/classify/rules.hpp"
#include "analyzer/clients/delivery.hpp"
#include "analyzer/commands/nights.hpp"
#include "analyzer/config/config.hpp"
#include "analyzer/report/report.hpp"
#include "analyzer/report/platform_causes.hpp"
#include "analyzer/report/runbook.hpp"
#include "analyzer/session/session.hpp"
#include "analyzer/summarize/summarize.hpp"
#include "recorder/base/command.hpp"

namespace analyzer {

namespace po = boost::program_options;

namespace {

using recorder::UsageError;

constexpr std::string_view k_exit_codes =
    "Exit codes: 0 ok, 1 error (see stderr), 2 bad usage or input file, 3 internal error.\n";
// ---- summarize -------------------------------------------------------------------------------

constexpr CommandHelp k_summarize_help{
    "day2 summarize [--details | --json] [--tz ZONE] [FILE]", "Per-step counts and the error gate of an artifact written by `day2 collect`.",
    "day2 summarize --details day2.json",
    "Exit codes: 0 no step holds an error, 1 some step holds an error,\n"
    "2 the file is missing, truncated or not an artifact.\n"};

}  // namespace

int run_summarize(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("Options");
  options.add_options()
      ("help,h", "show this help")
      ("details", "add the failure / retry / asset-check / degraded-asset dump")
      ("json", "print one JSON object: the window, each step, the run counts, the gate")
      ("tz", po::value<std::string>()->value_name("ZONE"), "print times in this IANA zone, as the report does (default: UTC)")
      ("file", po::value<std::string>()->default_value("day2.json"), "the artifact (positional)");
  po::positional_options_description positional;
  positional.add("file", 1);
  auto vm = parse_args(args, options, positional);
  if (print_help_if_asked(vm, k_summarize_help, options, out)) return 0;
  SummarizeOptions summary;
  summary.details = vm.count("details") ? Details::yes : Details::no;
  summary.format = vm.count("json") ? SummaryFormat::json : SummaryFormat::text;
  if (vm.count("json") && vm.count("details")) throw UsageError{"--json and --details cannot be combined"};
  if (vm.count("tz")) summary.timezone = vm["tz"].as<std::string>();
  return summarize(vm["file"].as<std::string>(), summary, out, err);
}

namespace {

// ---- report ----------------------------------------------------------------------------------

constexpr CommandHelp k_report_help{
    "day2 report [--out-dir DIR | --out FILE|-] [--format md|json|html] [--tz ZONE] [--deployment NAME]\n"
    "            [--reclassify FILE] [--runbook FILE] [--causes FILE] [--config FILE] [--metrics FILE]\n"
    "            [--notify slack] [--upload gs://BUCKET/PREFIX [--upload-bundle DIR]] [FILE]",
    "The incident report of an artifact (docs/report.md); prints the path it wrote.",
    "day2 report day2.json --out-dir build/demo", k_exit_codes};

po::options_description report_options() {
  po::options_description options("Options");
  options.add_options()
      ("help,h", "show this help")
      ("out-dir", po::value<std::string>()->default_value("."), "write day2-report-<YYYY-MM-DD>.md (.json, .html) here (atomically)")
      ("out", po::value<std::string>()->value_name("FILE"), "write the report to FILE instead (atomically); - prints it on stdout")
      ("deployment", po::value<std::string>()->value_name("NAME"), "name the file day2-report-<NAME>-<YYYY-MM-DD>.md: several deployments share a folder")
      ("runbook", po::value<std::string>()->value_name("FILE"), "runbook entries added to the built-in ones (analyzer/rules/runbook.json)")
      ("causes", po::value<std::string>()->value_name("FILE"),
       "platform causes added to the built-in ones, or replacing them by id (analyzer/rules/causes.json)")
      ("format", po::value<std::string>()->default_value("md"), "md, json or html (self-contained, SVG timeline)")
      ("tz", po::value<std::string>(), "report zone, any IANA name (default: the artifact's, else America/New_York)")
      ("reclassify", po::value<std::string>(), "reclassify rules file (default: the built-in reclassify.rules.json)")
      ("config", po::value<std::string>(), "deployment settings (docs/day2.example.json): agent replicas, thresholds, self-resolving alerts")
      ("metrics", po::value<std::string>()->value_name("FILE"),
       "also add the report's findings and actions to the Prometheus textfile FILE (docs/metrics.md)")
      ("notify", po::value<std::string>()->value_name("slack"),
       "post the headline and the actions to Slack (incoming webhook URL from $DAY2_SLACK_WEBHOOK_URL)")
      ("upload", po::value<std::string>()->value_name("gs://BUCKET/PREFIX"),
       "upload the written report to Cloud Storage (Application Default Credentials)")
      ("upload-bundle", po::value<std::string>()->value_name("DIR"),
       "with --upload: also every file under DIR (a night of collect --record-dir) as PREFIX/<DIR name>/...")
      ("report-url", po::value<std::string>()->value_name("URL"), "the Slack message's link to the full report (default: the uploaded file)")
      ("gcp-api-root", po::value<std::string>()->value_name("URL"), "send the Cloud Storage requests to this root instead")
      ("gcp-access-token-env", po::value<std::string>()->value_name("NAME"),
       "take the Google access token from this environment variable instead of ADC")
      ("file", po::value<std::string>()->default_value("day2.json"), "the artifact (positional)");
  return options;
}

ReportFormat format_option(const po::variables_map& vm) {
  const auto& format = vm["format"].as<std::string>();
  if (format != "md" && format != "json" && format != "html") {
    throw UsageError{"--format: \"" + format + "\" is not md, json or html"};
  }
  return format == "json" ? ReportFormat::json : format == "html" ? ReportFormat::html : ReportFormat::markdown;
}

// Where and how the report is written: --out-dir, --format, --tz, --metrics, --out, --deployment.
void apply_output_options(const po::variables_map& vm, ReportOptions& report) {
  report.out_dir = vm["out-dir"].as<std::string>();
  report.format = format_option(vm);
  if (vm.count("tz")) report.timezone = vm["tz"].as<std::string>();
  if (vm.count("metrics")) report.metrics_path = vm["metrics"].as<std::string>();
  if (vm.count("out")) {
    if (vm["out"].as<std::string>().empty()) throw UsageError{"--out: an empty path (use - for stdout)"};
    if (!vm["out-dir"].defaulted()) throw UsageError{"--out and --out-dir cannot be combined"};
    report.out = vm["out"].as<std::string>();
  }
  if (vm.count("deployment")) {
    if (auto problem = check_deployment_name(vm["deployment"].as<std::string>()); !problem.empty()) {
      throw UsageError{"--deployment: " + problem};
    }
    report.deployment = vm["deployment"].as<std::string>();
  }
}

// The files the report reads besides the artifact: --runbook, --causes, --reclassify, --config.
void apply_input_options(const po::variables_map& vm, ReportOptions& report) {
  if (vm.count("causes")) {
    auto causes = load_platform_causes(vm["causes"].as<std::string>());
    if (!causes) throw UsageError{"--causes: " + causes.error().message};
    report.causes = std::make_shared<const PlatformCauses>(merge_platform_causes(default_platform_causes(), *causes));
  }
  if (vm.count("runbook")) {
    auto runbook = load_runbook(vm["runbook"].as<std::string>());
    if (!runbook) throw UsageError{"--runbook: " + runbook.error().message};
    report.runbook = std::make_shared<const Runbook>(merge_runbooks(default_runbook(), *runbook));
  }
  if (vm.count("reclassify")) {
    auto rules = load_reclassify_rules(vm["reclassify"].as<std::string>());
    if (!rules) throw UsageError{"--reclassify: " + rules.error().message};
    report.reclassify_rules = std::make_shared<const ReclassifyRules>(std::move(*rules));
  }
  if (vm.count("config")) {
    auto config = load_config(vm["config"].as<std::string>());
    if (!config) throw UsageError{"--config: " + config.error().message};
    report.config = std::make_shared<const Config>(std::move(*config));
  }
}

// Where the written report goes next: --notify, --upload, --upload-bundle and their settings.
void apply_delivery_options(const po::variables_map& vm, ReportOptions& report) {
  if (vm.count("notify")) {
    if (vm["notify"].as<std::string>() != "slack") throw UsageError{"--notify: \"" + vm["notify"].as<std::string>() + "\" is not slack"};
    report.notify_slack = true;
  }
  if (vm.count("upload")) {
    if (auto location = parse_gcs_location(vm["upload"].as<std::string>()); !location) {
      throw UsageError{"--upload: " + location.error().message};
    }
    report.upload = vm["upload"].as<std::string>();
  }
  if (vm.count("upload-bundle")) {
    if (!report.upload) throw UsageError{"--upload-bundle needs --upload"};
    if (!std::filesystem::is_directory(vm["upload-bundle"].as<std::string>())) {
      throw UsageError{"--upload-bundle: " + vm["upload-bundle"].as<std::string>() + ": not a directory"};
    }
    report.upload_bundle = vm["upload-bundle"].as<std::string>();
  }
  if ((report.notify_slack || report.upload) && report.out && *report.out == "-") {
    throw UsageError{"--notify and --upload deliver a written report: not with --out -"};
  }
  if (vm.count("report-url")) report.report_url = vm["report-url"].as<std::string>();
  if (vm.count("gcp-api-root")) report.gcp_api_root = vm["gcp-api-root"].as<std::string>();
  if (vm.count("gcp-access-token-env")) report.gcp_access_token_env = vm["gcp-access-token-env"].as<std::string>();
}

// The ReportOptions of the command line, checked in the order of the options.
ReportOptions parse_report_options(const po::variables_map& vm) {
  ReportOptions report;
  apply_output_options(vm, report);
  apply_input_options(vm, report);
  apply_delivery_options(vm, report);
  return report;
}

}  // namespace

int run_report(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options = report_options();
  po::positional_options_description positional;
  positional.add("file", 1);
  auto vm = parse_args(args, options, positional);
  if (print_help_if_asked(vm, k_report_help, options, out)) return 0;
  ReportOptions report = parse_report_options(vm);
  return write_report(vm["file"].as<std::string>(), report, out, err);
}

namespace {

// ---- rules -----------------------------------------------------------------------------------

constexpr CommandHelp k_rules_help{
    "day2 rules [--rules FILE] [--print-default]",
    "Checks a classification rules file and lists its rules in order (first match wins).",
    "day2 rules --rules my.rules.json", k_exit_codes};

}  // namespace

int run_rules(const std::vector<std::string>& args, std::ostream& out, std::ostream&) {
  po::options_description options("Options");
  options.add_options()
      ("help,h", "show this help")
      ("rules", po::value<std::string>(), "rules file to check and list (default: the built-in rules)")
      ("print-default", "print the built-in rules file");
  auto vm = parse_args(args, options, {});
  if (print_help_if_asked(vm, k_rules_help, options, out)) return 0;
  if (vm.count("print-default")) {
    out << default_rules_text();
    return 0;
  }
  std::optional<RuleSet> loaded;
  if (vm.count("rules")) {
    auto result = load_rules(vm["rules"].as<std::string>());
    if (!result) throw UsageError{"--rules: " + result.error().message};
    loaded = std::move(*result);
  }
  const RuleSet& rules = loaded ? *loaded : default_rules();
  out << fmt::format("{}: {} rules, first match wins\n", rules.source, rules.rules.size());
  for (const auto& rule : rules.rules) {  // the mechanism when several rules share one (one root cause)
    out << fmt::format("  {:<36} {}{}\n", rule.id, to_string(rule.category),
                       rule.mechanism == rule.id ? "" : fmt::format(" (mechanism {})", rule.mechanism));
  }
  if (!loaded) {  // the built-in reclassification `day2 report` applies after them (docs/report.md)
    const auto& reclassify = default_reclassify_rules();
    out << fmt::format("{} (day2 report): {} rules, first match wins\n", reclassify.source, reclassify.rules.size());
    for (const auto& rule : reclassify.rules) {
      std::vector<std::string_view> from;
      for (auto category : rule.from) from.push_back(to_string(category));
      out << fmt::format("  {:<36} {} -> {}\n", rule.id, fmt::join(from, " / "), to_string(rule.to));
    }
  }
  return 0;
}

std::vector<recorder::Command> analysis_commands() {
  return {
      {"collect", "collect every signal of a window into day2.json and classify failed runs", run_collect},
      {"summarize", "per-step counts and the error gate of an artifact", run_summarize},
      {"report", "the incident report of an artifact (Markdown, JSON or HTML)", run_report},
      {"rules", "check and list classification rules", run_rules},
  };
}

int run_analysis(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return recorder::run_commands(analysis_commands(), args, out, err);
}

}  // namespace analyzer
