// `day2 collect`: parse the options, open the session (where answers come from, the clock, the
// window), collect, then write the artifact, the recordings and the metrics.
#include "analyzer/commands/commands.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "analyzer/classify/rules.hpp"
#include "analyzer/clients/gcp_auth.hpp"
#include "analyzer/collect/collect.hpp"
#include "analyzer/collect/runs.hpp"
#include "analyzer/collect/steps.hpp"
#include "analyzer/commands/nights.hpp"
#include "analyzer/config/config.hpp"
#include "analyzer/report/night_metrics.hpp"
#include "analyzer/session/session.hpp"
#include "recorder/base/log.hpp"
#include "recorder/base/secrets.hpp"
#include "recorder/base/time.hpp"
#include "recorder/bundle.hpp"
#include "recorder/record.hpp"
#include "recorder/transport.hpp"
#include "replay/fault.hpp"
#include "replay/matcher.hpp"
#include "replay/shift.hpp"

namespace analyzer {

namespace po = boost::program_options;

namespace {

using recorder::UsageError;

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
      ("replay-report", po::value<std::string>()->value_name("FILE"),
       "with --replay: also write the replay report (served, misses, warnings, unused) as JSON to FILE (atomically)")
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
bool report_replay(const replay::ReplayReport& report, std::ostream& err) {
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

// ---- the collect command: parse -> open the session -> collect -> write the outputs --------------

// The checks between options that Boost cannot express. Throws UsageError.
// The options that only make sense with --replay.
void check_replay_options(const po::variables_map& vm) {
  if (vm.count("replay")) return;
  if (vm.count("shift")) throw UsageError{"--shift: only with --replay (it moves a bundle in time)"};
  if (vm.count("replay-report")) throw UsageError{"--replay-report: only with --replay"};
  if (vm.count("faults") || vm.count("fault")) {
    throw UsageError{fmt::format("--{}: faults are injected only with --replay", vm.count("faults") ? "faults" : "fault")};
  }
}

void check_collect_options(const po::variables_map& vm, const Config& config) {
  if (vm.count("record") && vm.count("replay")) throw UsageError{"--record and --replay cannot be combined"};
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
  check_replay_options(vm);
}

// --replay (moved by --shift): the matcher, and the bundle's clock, zone and endpoint in `config`
// unless flags say otherwise. Null without --replay.
std::shared_ptr<replay::Matcher> open_replay(const po::variables_map& vm, Config& config) {
  if (!vm.count("replay")) return nullptr;
  auto bundle = recorder::read_bundle(vm["replay"].as<std::string>());
  if (!bundle) throw UsageError{"--replay: " + bundle.error().message};
  if (vm.count("shift")) {
    auto by = replay::parse_duration(vm["shift"].as<std::string>());
    if (!by) throw UsageError{"--shift: " + by.error().message};
    *bundle = replay::shift_bundle(std::move(*bundle), *by);
  }
  auto replay = std::make_shared<replay::Matcher>(std::move(*bundle));
  adopt_bundle(replay->bundle(), vm.count("tz") > 0, vm.count("dagster-url") > 0, config);
  return replay;
}

// --faults and --fault (checked to come with --replay); null without them.
std::shared_ptr<replay::FaultInjector> open_faults(const po::variables_map& vm) {
  if (!vm.count("faults") && !vm.count("fault")) return nullptr;
  auto loaded = replay::load_faults(
      vm.count("faults") ? std::optional(vm["faults"].as<std::string>()) : std::nullopt,
      vm.count("fault") ? vm["fault"].as<std::vector<std::string>>() : std::vector<std::string>{});
  if (!loaded) throw UsageError{loaded.error().message};
  return std::make_shared<replay::FaultInjector>(std::move(*loaded));
}

// Where a collection's answers come from and when it is: everything decided before any request.
struct CollectSession {
  Config config;
  std::shared_ptr<replay::Matcher> replay;
  std::shared_ptr<replay::FaultInjector> faults;
  recorder::Zone zone = recorder::Zone::utc();
  recorder::Instant now{};      // the window's now (--now, the bundle's, else the clock)
  recorder::Instant queried{};  // the instant Error Reporting's periods end at
  recorder::Window window{};
  std::optional<RuleSet> rules;  // --rules; the built-in ones otherwise
  bool quiet = false;
};

CollectSession open_collect_session(const po::variables_map& vm) {
  CollectSession session;
  session.config = build_config(vm);
  check_collect_options(vm, session.config);
  session.replay = open_replay(vm, session.config);
  session.faults = open_faults(vm);
  auto zone = recorder::Zone::find(session.config.timezone);
  if (!zone) throw UsageError{(vm.count("tz") ? "--tz: " : session.config.source + ": report.timezone: ") + zone.error().message};
  session.zone = *zone;
  const recorder::Instant clock = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  session.now = session.replay ? session.replay->bundle().manifest.now : clock;
  if (vm.count("now")) {
    auto frozen = recorder::parse_rfc3339(vm["now"].as<std::string>());
    if (!frozen) throw UsageError{"--now: " + frozen.error().message};
    session.now = *frozen;
  }
  // Error Reporting's periods end at the real now: live, that is the clock even with --now in the
  // past (which only places the window); replaying, the recording's.
  session.queried = session.replay ? session.now : clock;
  bool window_flags = vm.count("hours") || vm.count("since") || vm.count("now");
  session.window = session.replay && !window_flags ? session.replay->bundle().manifest.window
                                                   : build_window(vm, session.zone, session.now);
  if (vm.count("rules")) {
    auto loaded = load_rules(vm["rules"].as<std::string>());
    if (!loaded) throw UsageError{"--rules: " + loaded.error().message};
    session.rules = std::move(*loaded);
  }
  session.quiet = vm.count("quiet") || !::isatty(STDERR_FILENO);
  return session;
}

// The Dagster+ API token from the environment ("" for OSS or a replay, which need none); nullopt
// after saying which variable is missing.
std::optional<std::string> dagster_token(const CollectSession& session, std::ostream& err) {
  const auto& dagster = session.config.dagster;
  if (dagster.flavor != Flavor::plus || session.replay) return std::string{};
  const char* value = std::getenv(dagster.token_env.c_str());
  if (!value || !*value) {
    err << fmt::format("day2 collect: error: {} is not set; Dagster+ needs an API token in the environment\n",
                       dagster.token_env);
    return std::nullopt;
  }
  recorder::hold_secret(value);  // never printed or written, even when an upstream echoes it
  return std::string(value);
}

// The Google Cloud steps' transport: the shared one when replaying (recorded answers need no
// credentials), else it under Google credentials; without credentials, one that fails every step
// with the reason (the Dagster steps still run). Null when no project is configured.
std::shared_ptr<recorder::Transport> google_transport(const po::variables_map& vm, const CollectSession& session,
                                                      const std::shared_ptr<recorder::Transport>& transport) {
  if (session.config.gcp.project.empty()) return nullptr;
  if (session.replay) return transport;
  GcpAuthOptions auth_options;
  if (vm.count("gcp-access-token-env")) auth_options.access_token_env = vm["gcp-access-token-env"].as<std::string>();
  auto authed = make_gcp_auth_transport(transport, auth_options);
  if (!authed) return std::make_shared<FailingTransport>("Google Cloud credentials: " + authed.error().message);
  recorder::log::info("day2: Google Cloud credentials: {}", (*authed)->credentials().description());
  return *authed;
}

// What a written bundle says of its recording.
recorder::Manifest recorded_manifest(const CollectSession& session, int investigations_from) {
  recorder::Manifest manifest;
  manifest.investigations_from = investigations_from;
  manifest.now = session.queried;  // what the recorded requests were computed from
  manifest.window = session.window;
  manifest.timezone = session.zone.name();
  manifest.source = recorder::BundleSource::live;
  manifest.day2_version = DAY2_VERSION;
  return manifest;
}

// --record-dir: the night (bundle, artifact, settings) and --keep's pruning. False after an error.
bool write_recorded_night(const po::variables_map& vm, const CollectSession& session, const recorder::Bundle& bundle,
                          const std::string& artifact_text, std::ostream& out, std::ostream& err) {
  auto date = session.zone.local_date(session.window.end);
  Night night{session.config.dagster.deployment, fmt::format("{:04}-{:02}-{:02}", date.year, date.month, date.day),
              session.window, session.zone.name()};
  std::optional<std::string> config_text;
  if (vm.count("config")) {  // already read once by load_config
    auto text = recorder::read_file(vm["config"].as<std::string>());
    if (!text) throw UsageError{"--config: " + text.error().message};
    config_text = std::move(*text);
  }
  auto written = write_night(vm["record-dir"].as<std::string>(), night, bundle, artifact_text, config_text);
  if (!written) {
    err << "day2 collect: error: " << written.error().message << '\n';
    return false;
  }
  out << *written << '\n';
  if (!vm.count("keep")) return true;
  auto removed = prune_nights(std::filesystem::path(*written).parent_path().string(), vm["keep"].as<int>(), *written);
  if (!removed) {
    err << "day2 collect: error: " << removed.error().message << '\n';
    return false;
  }
  for (const auto& dir : *removed) err << "day2 collect: --keep: removed " << dir << '\n';
  return true;
}

// --record and --record-dir, after the collection (and the investigations' requests). False after an error.
bool write_recordings(const po::variables_map& vm, const CollectSession& session, const DagsterClient& client,
                      const rapidjson::Value& artifact, const recorder::RecordingTransport& recording,
                      std::ostream& out, std::ostream& err) {
  int investigations_from = record_investigations(client, artifact, recording, session.config.concurrency);
  auto bundle = recording.bundle(recorded_manifest(session, investigations_from));
  if (vm.count("record-dir") &&
      !write_recorded_night(vm, session, bundle, recorder::write_json(artifact, recorder::Pretty::yes), out, err)) {
    return false;
  }
  if (!vm.count("record")) return true;
  auto dir = vm["record"].as<std::string>();
  if (auto written = recorder::write_bundle(dir, bundle); !written) {
    err << "day2 collect: error: --record: " << written.error().message << '\n';
    return false;
  }
  out << dir << '\n';
  return true;
}

// --metrics and --pushgateway. False after an error.
bool write_collect_metrics(const po::variables_map& vm, const CollectSession& session, const rapidjson::Value& artifact,
                           const std::map<StepId, double>& step_seconds, std::ostream& out, std::ostream& err) {
  if (!vm.count("metrics") && !vm.count("pushgateway")) return true;
  CollectFacts facts;
  facts.step_seconds = step_seconds;
  facts.now = std::chrono::duration<double>(session.queried.time_since_epoch()).count();
  if (vm.count("metrics")) facts.previous_success = previous_success(vm["metrics"].as<std::string>());
  auto text = collect_metrics(artifact, session.rules ? *session.rules : default_rules(), session.config.metrics, facts).text();
  return deliver_metrics(vm, session.config, text, out, err, "collect");
}

// The end of a replay: the report to stderr (and as JSON to --replay-report); false when a request
// found no recorded answer or the report could not be written.
bool finish_replay(const po::variables_map& vm, const replay::ReplayReport& report, std::ostream& err) {
  if (vm.count("replay-report")) {
    auto written = recorder::write_file_atomic(vm["replay-report"].as<std::string>(), replay::replay_report_json(report));
    if (!written) {
      err << "day2 collect: error: " << written.error().message << '\n';
      return false;
    }
  }
  return report_replay(report, err);
}

// 0 when every step and item was read, else 1 after naming what is missing.
int collect_exit_code(const rapidjson::Value& artifact, std::ostream& err) {
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

}  // namespace

int run_collect(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto options = collect_options();
  auto vm = parse_args(args, options, {});
  if (print_help_if_asked(vm, k_collect_help, options, out)) return 0;
  CollectSession session = open_collect_session(vm);
  auto token = dagster_token(session, err);
  if (!token) return 1;
  recorder::log::set_level(vm.count("verbose") ? recorder::log::Level::debug
                           : session.quiet     ? recorder::log::Level::quiet
                                               : recorder::log::Level::info);
  bool recording = vm.count("record") || vm.count("record-dir");
  auto stack = make_transport_stack(session.config, session.replay, session.faults, recording ? Record::yes : Record::no);
  auto timeout = std::chrono::milliseconds(static_cast<long long>(session.config.timeout_seconds * 1000));
  DagsterClient client(stack.transport, session.config.dagster, *token, timeout);

  CollectRequest request;
  request.now = session.queried;
  if (vm.count("gcp-api-root")) request.google_api_root = vm["gcp-api-root"].as<std::string>();
  request.google = google_transport(vm, session, stack.transport);
  request.config = session.config;
  request.window = session.window;
  request.timezone = session.zone.name();
  request.rules = session.rules ? &*session.rules : nullptr;
  request.progress = session.quiet && !vm.count("verbose") ? Progress::quiet : Progress::lines;
  std::map<StepId, double> step_seconds;
  request.step_seconds = &step_seconds;
  auto artifact = collect(client, request);
  // The replay is over: its bundle is freed before the artifact's text is made (a night of
  // thousands of runs holds its requests, keys and unserved responses until now).
  std::optional<replay::ReplayReport> replayed;
  if (session.replay) replayed = session.replay->finish();

  auto path = vm["out"].as<std::string>();
  if (auto written = recorder::write_json_file_atomic(path, artifact, recorder::Pretty::yes); !written) {
    err << "day2 collect: error: " << written.error().message << '\n';
    return 1;
  }
  out << path << '\n';
  if (stack.recording && !write_recordings(vm, session, client, artifact, *stack.recording, out, err)) return 1;
  bool delivered = write_collect_metrics(vm, session, artifact, step_seconds, out, err);
  if (session.faults) err << "day2 collect: " << session.faults->summary() << '\n';
  if (replayed && !finish_replay(vm, *replayed, err)) return 1;
  if (!delivered) return 1;
  return collect_exit_code(artifact, err);
}

}  // namespace analyzer
