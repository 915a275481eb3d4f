#include "analyzer/cli.hpp"
#include "analyzer/delivery.hpp"

#include <fmt/format.h>
#include <unistd.h>

// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Boost's
// typed_value<std::vector<std::string>>::notify (--fault); the location is the Boost header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/program_options.hpp>
#pragma GCC diagnostic pop
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <functional>

#include "analyzer/collect.hpp"
#include "analyzer/config.hpp"
#include "analyzer/night_metrics.hpp"
#include "analyzer/nights.hpp"
#include "analyzer/runbook.hpp"
#include "analyzer/gcp_auth.hpp"
#include "analyzer/gcp_client.hpp"
#include "analyzer/investigate.hpp"
#include "analyzer/regress.hpp"
#include "analyzer/reclassify.hpp"
#include "analyzer/report.hpp"
#include "analyzer/rules.hpp"
#include "analyzer/simulate.hpp"
#include "analyzer/summarize.hpp"
#include "recorder/bundle.hpp"
#include "recorder/command.hpp"
#include "recorder/fault.hpp"
#include "recorder/log.hpp"
#include "recorder/matcher.hpp"
#include "recorder/record.hpp"
#include "recorder/shift.hpp"
#include "recorder/time.hpp"
#include "recorder/transport.hpp"
#include "investigate_options.hpp"
#include "steps.hpp"
#include "recorder/secrets.hpp"

namespace analyzer {

namespace po = boost::program_options;

namespace {

using recorder::UsageError;

constexpr std::string_view k_exit_codes =
    "Exit codes: 0 ok, 1 error (see stderr), 2 bad usage or input file, 3 internal error.\n";

// ---- collect ---------------------------------------------------------------------------------

po::options_description collect_options() {
  po::options_description options("Options");
  options.add_options()
      ("help,h", "show this help")
      ("config", po::value<std::string>(), "deployment settings (JSON with comments); flags override it")
      ("dagster-url", po::value<std::string>(), "Dagster GraphQL endpoint (default http://127.0.0.1:3000/graphql)")
      ("flavor", po::value<std::string>(), "oss or plus (default oss)")
      ("organization", po::value<std::string>(), "Dagster+ organization")
      ("deployment", po::value<std::string>(), "Dagster+ deployment (default prod)")
      ("hours", po::value<double>(), "window: the N hours before now")
      ("since", po::value<std::string>(), "window: from 17:00 (report zone) on YYYY-MM-DD to now")
      ("now", po::value<std::string>(), "freeze the clock at this RFC 3339 instant")
      ("tz", po::value<std::string>(), "report zone, any IANA name (default America/New_York)")
      ("out", po::value<std::string>()->default_value("day2.json"), "artifact path (written atomically)")
      ("rules", po::value<std::string>(), "classification rules file (default: the built-in rules)")
      ("concurrency", po::value<int>(), "requests in flight at once (default 16)")
      ("timeout", po::value<double>(), "seconds per HTTP request (default 30)")
      ("retries", po::value<int>(), "retries per request on 429, 5xx and connection errors (default 3)")
      ("gcp-access-token-env", po::value<std::string>()->value_name("NAME"),
       "environment variable holding a Google access token (default GOOGLE_OAUTH_ACCESS_TOKEN); without it, "
       "Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, gcloud's ADC file, the metadata "
       "server, gcloud auth print-access-token")
      ("gcp-api-root", po::value<std::string>()->value_name("URL"),
       "send every Google Cloud API request to this root (a replay server; overrides gcp.api_root)")
      ("record", po::value<std::string>(), "also write every exchange (redacted) as a scenario bundle to DIR")
      ("replay", po::value<std::string>(), "answer from the bundle in DIR instead of the network (its now, window and zone)")
      ("shift", po::value<std::string>(), "with --replay: move every timestamp of the bundle by DURATION (24h, -3d, 1d12h)")
      ("faults", po::value<std::string>(), "with --replay: inject the faults of this fault file (docs/bundle.md, \"Faults\")")
      ("fault", po::value<std::vector<std::string>>()->composing(),
       "with --replay: inject a fault, e.g. 'dagster:RunsInWindow=status:503,p=0.5' (repeatable)")
      ("metrics", po::value<std::string>()->value_name("FILE"),
       "also write the night as Prometheus metrics to FILE (atomically; node-exporter's textfile collector; docs/metrics.md)")
      ("pushgateway", po::value<std::string>()->value_name("URL"),
       "also push those metrics to the Pushgateway at URL (job metrics.job, instance metrics.instance or the deployment)")
      ("record-dir", po::value<std::string>()->value_name("DIR"),
       "record this night into DIR/<deployment>/<date>/ (bundle, artifact, settings; docs/scenarios.md)")
      ("keep", po::value<int>()->value_name("N"), "with --record-dir: keep the newest N nights of the deployment")
      ("quiet,q", "no progress lines on stderr")
      ("verbose,v", "log every request on stderr");
  return options;
}

constexpr CommandHelp k_collect_help{
    "day2 collect [options]",
    "Collects every Dagster signal of a window into one JSON artifact and classifies each failed run.\n"
    "Default window: from 17:00 in the report zone on the previous business day to now\n"
    "(a Monday run starts Friday 17:00). Secrets come only from the environment:\n"
    "DAGSTER_CLOUD_API_TOKEN (or the variable named by dagster.token_env) for Dagster+.",
    "day2 collect --dagster-url http://127.0.0.1:3000/graphql --hours 12 --out day2.json",
    "Exit codes: 0 artifact written with no step errors, 1 written but some steps hold errors or items\n"
    "could not be read (or it, the recorded night or the metrics could not be written or pushed),\n"
    "2 bad usage or input file, 3 internal error.\n"};

recorder::Window build_window(const po::variables_map& vm, const recorder::Zone& zone, recorder::Instant now) {
  if (vm.count("hours") && vm.count("since")) throw UsageError{"--hours and --since cannot be combined"};
  if (vm.count("hours")) {
    double hours = vm["hours"].as<double>();
    if (!(hours > 0 && hours <= 24 * 366)) throw UsageError{fmt::format("--hours: {} is not in (0, 8784]", hours)};
    return recorder::window_hours(hours, now);
  }
  if (vm.count("since")) {
    auto date = recorder::parse_civil_date(vm["since"].as<std::string>());
    if (!date) throw UsageError{"--since: " + date.error().message};
    auto window = recorder::window_since(*date, now, zone);
    if (window.start >= window.end) {
      throw UsageError{fmt::format("--since: {} 17:00 {} is not before now ({})", vm["since"].as<std::string>(),
                                   zone.name(), recorder::format_rfc3339_utc(now))};
    }
    return window;
  }
  return recorder::default_window(now, zone);
}

// Answers every request with one error: the Google Cloud steps' transport when no credentials
// could be found, so those steps say why and the others are unaffected.
class FailingTransport : public recorder::Transport {
 public:
  explicit FailingTransport(std::string message) : m_message(std::move(message)) {}
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest&) override {
    return recorder::make_error(m_message);
  }

 private:
  std::string m_message;
};

// Prints the replay report; false when a request found no recorded answer (the artifact is suspect).
bool report_replay(const recorder::ReplayReport& report, std::ostream& err) {
  for (const auto& warning : report.warnings) err << "day2 collect: replay warning: " << warning << '\n';
  for (const auto& miss : report.misses) err << "day2 collect: replay miss: " << miss << '\n';
  if (!report.unused.empty()) {
    err << fmt::format("day2 collect: replay: {} recorded exchange(s) never used: {}\n", report.unused.size(),
                       fmt::join(report.unused, ", "));
  }
  return report.misses.empty();
}

// With a recording, after the collection: each failed run's detail and run group, the requests
// `day2 run|logs|steps|compare --replay` send besides the event log collect already read (at the
// same page size), so a recorded night is a whole post-mortem. Returns the first seq they took
// (manifest.investigations_from), 0 when none was recorded. A failure is logged, never fatal.
int record_investigations(const DagsterClient& client, const rapidjson::Value& artifact,
                          const recorder::RecordingTransport& recording, int concurrency) {
  std::size_t before = recording.size();
  const auto* step = recorder::get_object(artifact, step_key(StepId::failed_runs));
  const auto* failures = step ? recorder::get_array(*step, "failures") : nullptr;
  if (failures == nullptr) return 0;
  std::vector<std::string> ids;
  for (const auto& failure : failures->GetArray()) {
    auto run_id = recorder::get_string(failure, "runId");
    if (run_id && !run_id->empty()) ids.push_back(*run_id);
  }
  // As many at once as the collection sends (the transport's limit still holds).
  (void)parallel_for(ids.size(), concurrency, [&](std::size_t i) -> recorder::Result<void> {
    if (auto run = fetch_run(client, ids[i]); !run) recorder::log::info("day2: run {}: {}", ids[i], run.error().message);
    if (auto group = fetch_run_group(client, ids[i]); !group) {
      recorder::log::info("day2: run {}: {}", ids[i], group.error().message);
    }
    return {};
  });
  return recording.size() > before ? static_cast<int>(before) + 1 : 0;
}

// Writes `text` to --metrics (atomically) and pushes it to --pushgateway (over the network even when
// replaying: the gateway is where the night is charted). False when either failed (said on `err`);
// the file is written whatever the push does.
bool deliver_metrics(const po::variables_map& vm, const Config& config, const std::string& text, std::ostream& out,
                     std::ostream& err, std::string_view command) {
  bool ok = true;
  if (vm.count("metrics")) {
    auto path = vm["metrics"].as<std::string>();
    if (auto written = write_metrics_file(path, text); !written) {
      err << fmt::format("day2 {}: error: --metrics: {}\n", command, written.error().message);
      ok = false;
    } else {
      out << path << '\n';
    }
  }
  if (vm.count("pushgateway")) {
    auto http = recorder::make_http_transport();
    const auto& instance = config.metrics.instance.empty() ? config.dagster.deployment : config.metrics.instance;
    if (auto pushed = push_metrics(*http, vm["pushgateway"].as<std::string>(), config.metrics.job, instance, text); !pushed) {
      err << fmt::format("day2 {}: error: --pushgateway: {}\n", command, pushed.error().message);
      ok = false;
    }
  }
  return ok;
}

int run_collect(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto options = collect_options();
  auto vm = parse_args(args, options, {});
  if (print_help_if_asked(vm, k_collect_help, options, out)) return 0;
  Config config = build_config(vm);
  if (vm.count("record") && vm.count("replay")) throw UsageError{"--record and --replay cannot be combined"};
  if (vm.count("shift") && !vm.count("replay")) throw UsageError{"--shift: only with --replay (it moves a bundle in time)"};
  if (vm.count("record-dir") && (vm.count("replay") || vm.count("record"))) {
    throw UsageError{fmt::format("--record-dir and --{} cannot be combined", vm.count("replay") ? "replay" : "record")};
  }
  if (vm.count("keep") && !vm.count("record-dir")) throw UsageError{"--keep: only with --record-dir (it prunes recorded nights)"};
  if (vm.count("keep") && vm["keep"].as<int>() < 1) throw UsageError{fmt::format("--keep: {} is not 1 or more", vm["keep"].as<int>())};
  if (vm.count("record-dir")) {
    if (auto problem = check_deployment_name(config.dagster.deployment); !problem.empty()) {
      throw UsageError{"--record-dir: the deployment (--deployment, dagster.deployment) names its folder: " + problem};
    }
  }
  std::shared_ptr<recorder::Matcher> replay;
  if (vm.count("replay")) {
    auto bundle = recorder::read_bundle(vm["replay"].as<std::string>());
    if (!bundle) throw UsageError{"--replay: " + bundle.error().message};
    if (vm.count("shift")) {
      auto by = recorder::parse_duration(vm["shift"].as<std::string>());
      if (!by) throw UsageError{"--shift: " + by.error().message};
      *bundle = recorder::shift_bundle(std::move(*bundle), *by);
    }
    replay = std::make_shared<recorder::Matcher>(std::move(*bundle));
    // Replaying a bundle: its clock, window, zone and Dagster endpoint, unless flags say otherwise.
    adopt_bundle(replay->bundle(), vm.count("tz") > 0, vm.count("dagster-url") > 0, config);
  }
  std::shared_ptr<recorder::FaultInjector> faults;
  if (vm.count("faults") || vm.count("fault")) {
    if (!replay) {
      throw UsageError{fmt::format("--{}: faults are injected only with --replay", vm.count("faults") ? "faults" : "fault")};
    }
    auto loaded = recorder::load_faults(
        vm.count("faults") ? std::optional(vm["faults"].as<std::string>()) : std::nullopt,
        vm.count("fault") ? vm["fault"].as<std::vector<std::string>>() : std::vector<std::string>{});
    if (!loaded) throw UsageError{loaded.error().message};
    faults = std::make_shared<recorder::FaultInjector>(std::move(*loaded));
  }
  auto zone = recorder::Zone::find(config.timezone);
  if (!zone) throw UsageError{(vm.count("tz") ? "--tz: " : config.source + ": report.timezone: ") + zone.error().message};
  const recorder::Instant clock = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  recorder::Instant now = clock;
  if (replay) now = replay->bundle().manifest.now;
  if (vm.count("now")) {
    auto frozen = recorder::parse_rfc3339(vm["now"].as<std::string>());
    if (!frozen) throw UsageError{"--now: " + frozen.error().message};
    now = *frozen;
  }
  bool window_flags = vm.count("hours") || vm.count("since");
  auto window = replay && !window_flags && !vm.count("now") ? replay->bundle().manifest.window
                                                            : build_window(vm, *zone, now);

  std::optional<RuleSet> custom_rules;
  if (vm.count("rules")) {
    auto loaded = load_rules(vm["rules"].as<std::string>());
    if (!loaded) throw UsageError{"--rules: " + loaded.error().message};
    custom_rules = std::move(*loaded);
  }

  std::string token;
  if (config.dagster.flavor == Flavor::plus && !replay) {  // a replay needs no credentials
    const char* value = std::getenv(config.dagster.token_env.c_str());
    if (!value || !*value) {
      err << fmt::format("day2 collect: error: {} is not set; Dagster+ needs an API token in the environment\n",
                         config.dagster.token_env);
      return 1;
    }
    token = value;
    recorder::hold_secret(token);  // never printed or written, even when an upstream echoes it
  }

  bool quiet = vm.count("quiet") || !::isatty(STDERR_FILENO);
  recorder::log::set_level(vm.count("verbose") ? recorder::log::Level::debug
                                               : quiet ? recorder::log::Level::quiet : recorder::log::Level::info);
  auto stack = make_transport_stack(config, replay, faults, vm.count("record") || vm.count("record-dir") ? Record::yes : Record::no);
  auto transport = stack.transport;
  auto recording = stack.recording;
  auto timeout = std::chrono::milliseconds(static_cast<long long>(config.timeout_seconds * 1000));
  DagsterClient client(transport, config.dagster, token, timeout);

  CollectRequest request;
  // Error Reporting's periods end at the real now: live, that is the clock even with --now in the
  // past (which only places the window); replaying, the recording's.
  request.now = replay ? now : clock;
  if (vm.count("gcp-api-root")) request.google_api_root = vm["gcp-api-root"].as<std::string>();
  if (!config.gcp.project.empty()) {
    if (replay) {
      request.google = transport;  // offline: the recorded answers need no credentials
    } else {
      GcpAuthOptions auth_options;
      if (vm.count("gcp-access-token-env")) auth_options.access_token_env = vm["gcp-access-token-env"].as<std::string>();
      auto authed = make_gcp_auth_transport(transport, auth_options);
      if (authed) {
        recorder::log::info("day2: Google Cloud credentials: {}", (*authed)->credentials().description());
        request.google = *authed;
      } else {  // the Google Cloud steps fail with this reason; the Dagster steps still run
        request.google = std::make_shared<FailingTransport>("Google Cloud credentials: " + authed.error().message);
      }
    }
  }
  request.config = config;
  request.window = window;
  request.timezone = zone->name();
  request.rules = custom_rules ? &*custom_rules : nullptr;
  request.progress = quiet && !vm.count("verbose") ? Progress::quiet : Progress::lines;
  std::map<StepId, double> step_seconds;
  request.step_seconds = &step_seconds;
  auto artifact = collect(client, request);
  auto path = vm["out"].as<std::string>();
  if (auto written = recorder::write_file_atomic(path, recorder::write_json(artifact, recorder::Pretty::yes)); !written) {
    err << "day2 collect: error: " << written.error().message << '\n';
    return 1;
  }
  out << path << '\n';
  int investigations_from = recording ? record_investigations(client, artifact, *recording, config.concurrency) : 0;
  if (recording) {
    recorder::Manifest manifest;
    manifest.investigations_from = investigations_from;
    manifest.now = request.now;
    manifest.window = window;
    manifest.timezone = zone->name();
    manifest.source = recorder::BundleSource::live;
    manifest.day2_version = DAY2_VERSION;
    if (vm.count("record-dir")) {
      auto date = zone->local_date(window.end);
      Night night{config.dagster.deployment, fmt::format("{:04}-{:02}-{:02}", date.year, date.month, date.day), window,
                  zone->name()};
      std::optional<std::string> config_text;
      if (vm.count("config")) {  // already read once by load_config
        auto text = recorder::read_file(vm["config"].as<std::string>());
        if (!text) throw UsageError{"--config: " + text.error().message};
        config_text = std::move(*text);
      }
      auto written = write_night(vm["record-dir"].as<std::string>(), night, recording->bundle(manifest),
                                 recorder::write_json(artifact, recorder::Pretty::yes), config_text);
      if (!written) {
        err << "day2 collect: error: " << written.error().message << '\n';
        return 1;
      }
      out << *written << '\n';
      if (vm.count("keep")) {
        auto removed = prune_nights(std::filesystem::path(*written).parent_path().string(), vm["keep"].as<int>(), *written);
        if (!removed) {
          err << "day2 collect: error: " << removed.error().message << '\n';
          return 1;
        }
        for (const auto& dir : *removed) err << "day2 collect: --keep: removed " << dir << '\n';
      }
    }
  }
  if (recording && vm.count("record")) {
    recorder::Manifest manifest;
    manifest.investigations_from = investigations_from;
    manifest.now = request.now;  // what the recorded requests were computed from
    manifest.window = window;
    manifest.timezone = zone->name();
    manifest.source = recorder::BundleSource::live;
    manifest.day2_version = DAY2_VERSION;
    auto dir = vm["record"].as<std::string>();
    if (auto written = recorder::write_bundle(dir, recording->bundle(manifest)); !written) {
      err << "day2 collect: error: --record: " << written.error().message << '\n';
      return 1;
    }
    out << dir << '\n';
  }
  bool delivered = true;
  if (vm.count("metrics") || vm.count("pushgateway")) {
    CollectFacts facts;
    facts.step_seconds = step_seconds;
    facts.now = std::chrono::duration<double>(request.now.time_since_epoch()).count();
    if (vm.count("metrics")) facts.previous_success = previous_success(vm["metrics"].as<std::string>());
    auto text = collect_metrics(artifact, custom_rules ? *custom_rules : default_rules(), config.metrics, facts).text();
    delivered = deliver_metrics(vm, config, text, out, err, "collect");
  }
  if (faults) err << "day2 collect: " << faults->summary() << '\n';
  if (replay && !report_replay(replay->report(), err)) return 1;
  if (!delivered) return 1;
  auto errors = error_steps(artifact);
  if (!errors.empty()) {
    err << fmt::format("day2 collect: {} step(s) hold errors (their signals are missing): {}\n", errors.size(),
                       fmt::join(errors, ", "));
  }
  auto items = unreadable_items(artifact);
  if (!items.empty()) {
    err << fmt::format("day2 collect: {} item(s) could not be read (their signals are missing): {}\n",
                       items.size(), fmt::join(items, ", "));
  }
  return errors.empty() && items.empty() ? 0 : 1;
}

// ---- summarize -------------------------------------------------------------------------------

constexpr CommandHelp k_summarize_help{
    "day2 summarize [--details | --json] [--tz ZONE] [FILE]", "Per-step counts and the error gate of an artifact written by `day2 collect`.",
    "day2 summarize --details day2.json",
    "Exit codes: 0 no step holds an error, 1 some step holds an error,\n"
    "2 the file is missing, truncated or not an artifact.\n"};

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

// ---- report ----------------------------------------------------------------------------------

constexpr CommandHelp k_report_help{
    "day2 report [--out-dir DIR | --out FILE|-] [--format md|json|html] [--tz ZONE] [--deployment NAME]\n"
    "            [--reclassify FILE] [--runbook FILE] [--config FILE] [--metrics FILE]\n"
    "            [--notify slack] [--upload gs://BUCKET/PREFIX [--upload-bundle DIR]] [FILE]",
    "The incident report of an artifact (docs/report.md); prints the path it wrote.",
    "day2 report day2.json --out-dir build/demo", k_exit_codes};

int run_report(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("Options");
  options.add_options()
      ("help,h", "show this help")
      ("out-dir", po::value<std::string>()->default_value("."), "write day2-report-<YYYY-MM-DD>.md (.json, .html) here (atomically)")
      ("out", po::value<std::string>()->value_name("FILE"), "write the report to FILE instead (atomically); - prints it on stdout")
      ("deployment", po::value<std::string>()->value_name("NAME"), "name the file day2-report-<NAME>-<YYYY-MM-DD>.md: several deployments share a folder")
      ("runbook", po::value<std::string>()->value_name("FILE"), "runbook entries added to the built-in ones (analyzer/rules/runbook.json)")
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
  po::positional_options_description positional;
  positional.add("file", 1);
  auto vm = parse_args(args, options, positional);
  if (print_help_if_asked(vm, k_report_help, options, out)) return 0;
  ReportOptions report;
  report.out_dir = vm["out-dir"].as<std::string>();
  const auto& format = vm["format"].as<std::string>();
  if (format != "md" && format != "json" && format != "html") {
    throw UsageError{"--format: \"" + format + "\" is not md, json or html"};
  }
  report.format = format == "json" ? ReportFormat::json : format == "html" ? ReportFormat::html : ReportFormat::markdown;
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
  return write_report(vm["file"].as<std::string>(), report, out, err);
}

// ---- rules -----------------------------------------------------------------------------------

constexpr CommandHelp k_rules_help{
    "day2 rules [--rules FILE] [--print-default]",
    "Checks a classification rules file and lists its rules in order (first match wins).",
    "day2 rules --rules my.rules.json", k_exit_codes};

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
  for (const auto& rule : rules.rules) out << fmt::format("  {:<36} {}\n", rule.id, to_string(rule.category));
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

}  // namespace

std::vector<recorder::Command> commands() {
  std::vector<recorder::Command> all{
      {"collect", "collect every signal of a window into day2.json and classify failed runs", run_collect},
      {"summarize", "per-step counts and the error gate of an artifact", run_summarize},
      {"report", "the incident report of an artifact (Markdown, JSON or HTML)", run_report},
      {"rules", "check and list classification rules", run_rules},
      {"regress", "replay every scenario and compare classifications and findings with expectations", run_regress},
      {"simulate", "render a scenario spec (an incident world) into a scenario bundle", run_simulate},
      {"scenario", "turn a night recorded by collect --record-dir into a regression scenario", run_scenario},
  };
  for (auto& command : investigate_commands()) all.push_back(std::move(command));
  return all;
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return recorder::run_commands(commands(), args, out, err);
}

}  // namespace analyzer
