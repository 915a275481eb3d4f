// Where answers come from, for `collect` and the investigation commands: the transport stack
// (replay, recording, retries, limit), the deployment settings of the command line, and the
// session an investigation command runs in.
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "analyzer/session/session.hpp"
#include "recorder/bundle.hpp"
#include "recorder/base/command.hpp"
#include "recorder/base/log.hpp"
#include "recorder/base/options.hpp"
#include "replay/shift.hpp"
#include "recorder/base/secrets.hpp"

namespace analyzer {

using recorder::UsageError;

TransportStack make_transport_stack(const Config& config, std::shared_ptr<replay::Matcher> replay,
                                    std::shared_ptr<replay::FaultInjector> faults, Record record) {
  recorder::RetryPolicy policy;
  policy.max_attempts = config.retries + 1;
  policy.permanent = is_permanent_graphql_error;
  TransportStack stack;
  std::shared_ptr<recorder::Transport> base;
  recorder::RetryingTransport::Sleep sleep;
  if (replay) {
    base = std::make_shared<replay::ReplayTransport>(replay);
    sleep = [](std::chrono::milliseconds) {};  // the clock is frozen: retries replay at once
    if (faults) base = std::make_shared<replay::FaultTransport>(base, faults);  // latency really waits
  } else if (record == Record::yes) {
    stack.recording =
        std::make_shared<recorder::RecordingTransport>(recorder::make_http_transport(), recorder::Redactor());
    base = stack.recording;
  } else {
    base = recorder::make_http_transport();
  }
  // The limit sits under the retries, so a request waiting out a backoff holds no slot.
  base = std::make_shared<recorder::LimitingTransport>(base, config.concurrency);
  // Pacing sits under the retries too, so every attempt of a paced read is paced, and a 429 holds
  // the other reads of its quota as well. Replaying, the pacers schedule but never sleep, and so
  // never stop a read at a step's deadline.
  auto pacer = [&replay](int per_minute) {
    return replay ? std::make_shared<Pacer>(per_minute, 5, Pacer::Clock{}, [](std::chrono::milliseconds) {})
                  : std::make_shared<Pacer>(per_minute);
  };
  stack.pacers = Pacers{pacer(config.gcp.logging_reads_per_minute), pacer(config.gcp.error_reporting_reads_per_minute),
                        pacer(config.gcp.error_reporting_reads_per_minute)};
  base = std::make_shared<PacedTransport>(base, stack.pacers, /*bounded=*/!replay);
  // Retries sit above the recorder, so a bundle holds every attempt and replays them in order. They
  // are the only retries: no client retries again above them.
  stack.transport = std::make_shared<recorder::RetryingTransport>(base, policy, 0x5eed, sleep);
  return stack;
}

void adopt_bundle(const recorder::Bundle& bundle, bool keep_zone, bool keep_url, Config& config) {
  if (!bundle.manifest.recovered.empty()) {
    recorder::log::info("--replay: this bundle was recovered from a recorder's journal ({}); requests it never "
                        "saw answer as misses",
                        bundle.manifest.recovered);
  }
  if (!keep_zone) config.timezone = bundle.manifest.timezone;
  if (keep_url) return;
  // The matcher ignores hosts but not paths: ask where the recording asked.
  for (const auto& exchange : bundle.exchanges) {
    if (exchange.service != recorder::Service::dagster) continue;
    for (const auto& endpoint : bundle.manifest.endpoints) {
      if (endpoint.service == recorder::Service::dagster) config.dagster.url = endpoint.origin + exchange.path;
    }
    return;
  }
}

namespace {

// --dagster-url, --flavor, --organization and --deployment over the config's dagster settings.
void apply_dagster_options(const po::variables_map& vm, Config& config) {
  if (vm.count("dagster-url")) {
    auto url = recorder::parse_url(vm["dagster-url"].as<std::string>());
    if (!url) throw UsageError{"--dagster-url: " + url.error().message};
    config.dagster.url = vm["dagster-url"].as<std::string>();
  }
  if (vm.count("flavor")) {
    auto flavor = vm["flavor"].as<std::string>();
    if (flavor != "oss" && flavor != "plus") throw UsageError{fmt::format("--flavor: \"{}\" is not oss or plus", flavor)};
    config.dagster.flavor = flavor == "plus" ? Flavor::plus : Flavor::oss;
  }
  if (vm.count("organization")) config.dagster.organization = vm["organization"].as<std::string>();
  if (vm.count("deployment")) config.dagster.deployment = vm["deployment"].as<std::string>();
}

// --concurrency, --timeout and --retries, each checked against its range.
void apply_request_options(const po::variables_map& vm, Config& config) {
  if (vm.count("concurrency")) {
    int n = vm["concurrency"].as<int>();
    if (n < 1 || n > 64) throw UsageError{fmt::format("--concurrency: {} is not in 1-64", n)};
    config.concurrency = n;
  }
  if (vm.count("timeout")) {
    double t = vm["timeout"].as<double>();
    if (!(t > 0 && t <= 3600)) throw UsageError{fmt::format("--timeout: {} is not in (0, 3600] seconds", t)};
    config.timeout_seconds = t;
  }
  if (vm.count("retries")) {
    int n = vm["retries"].as<int>();
    if (n < 0 || n > 20) throw UsageError{fmt::format("--retries: {} is not in 0-20", n)};
    config.retries = n;
  }
}

}  // namespace

Config build_config(const po::variables_map& vm) {
  Config config;
  if (vm.count("config")) {
    auto loaded = load_config(vm["config"].as<std::string>());
    if (!loaded) throw UsageError{"--config: " + loaded.error().message};
    config = *loaded;
  }
  apply_dagster_options(vm, config);
  if (vm.count("tz")) config.timezone = vm["tz"].as<std::string>();
  apply_request_options(vm, config);
  if (config.dagster.flavor == Flavor::plus && config.dagster.organization.empty()) {
    throw UsageError{"--flavor plus needs --organization (or \"dagster/organization\" in --config)"};
  }
  return config;
}

po::options_description source_options() {
  po::options_description options("Where and how");
  options.add_options()
      ("help,h", "show this help")
      ("url", po::value<std::string>()->value_name("URL"), "Dagster GraphQL endpoint (default http://127.0.0.1:3000/graphql)")
      ("dagster-url", po::value<std::string>()->value_name("URL"), "the same as --url (as in day2 collect)")
      ("config", po::value<std::string>(), "deployment settings (JSON with comments); flags override it")
      ("flavor", po::value<std::string>(), "oss or plus (default oss)")
      ("organization", po::value<std::string>(), "Dagster+ organization")
      ("deployment", po::value<std::string>(), "Dagster+ deployment (default prod)")
      ("replay", po::value<std::string>()->value_name("DIR"), "answer from the bundle in DIR instead of the network (its now and zone)")
      ("now", po::value<std::string>(), "freeze the clock at this RFC 3339 instant (default: now, or the bundle's)")
      ("tz", po::value<std::string>(), "report zone for times, any IANA name (default America/New_York)")
      ("timeout", po::value<double>(), "seconds per HTTP request (default 30)")
      ("retries", po::value<int>(), "retries per request on 429, 5xx and connection errors (default 3)")
      ("json", "print JSON (docs/investigate.md) instead of text")
      ("verbose,v", "log every request on stderr");
  return options;
}

std::unique_ptr<Session> open_session(const po::variables_map& vm, std::string_view command, std::ostream& err) {
  if (vm.count("url") && vm.count("dagster-url")) throw UsageError{"--url and --dagster-url cannot be combined"};
  auto session = std::make_unique<Session>();
  session->command = command;
  session->config = build_config(vm);
  if (vm.count("url")) {
    auto url = recorder::parse_url(vm["url"].as<std::string>());
    if (!url) throw UsageError{"--url: " + url.error().message};
    session->config.dagster.url = vm["url"].as<std::string>();
  }
  if (vm.count("replay")) {
    auto bundle = recorder::read_bundle(vm["replay"].as<std::string>());
    if (!bundle) throw UsageError{"--replay: " + bundle.error().message};
    session->replay = std::make_shared<replay::Matcher>(std::move(*bundle));
    adopt_bundle(session->replay->bundle(), vm.count("tz") > 0, vm.count("url") || vm.count("dagster-url"),
                 session->config);
  }
  auto zone = recorder::Zone::find(session->config.timezone);
  if (!zone) throw UsageError{(vm.count("tz") ? "--tz: " : "report zone: ") + zone.error().message};
  session->zone = *zone;
  session->now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  if (session->replay) session->now = session->replay->bundle().manifest.now;
  if (vm.count("now")) {
    auto frozen = recorder::parse_rfc3339(vm["now"].as<std::string>());
    if (!frozen) throw UsageError{"--now: " + frozen.error().message};
    session->now = *frozen;
  }
  session->json = vm.count("json") > 0;
  recorder::log::set_level(vm.count("verbose") ? recorder::log::Level::debug : recorder::log::Level::quiet);

  std::string token;
  if (session->config.dagster.flavor == Flavor::plus && !session->replay) {
    const char* value = std::getenv(session->config.dagster.token_env.c_str());
    if (value) recorder::hold_secret(value);  // never printed or written, even when echoed
    if (!value || !*value) {
      err << fmt::format("day2 {}: error: {} is not set; Dagster+ needs an API token in the environment\n", command,
                         session->config.dagster.token_env);
      return nullptr;
    }
    token = value;
  }
  auto stack = make_transport_stack(session->config, session->replay, nullptr, Record::no);
  auto timeout = std::chrono::milliseconds(static_cast<long long>(session->config.timeout_seconds * 1000));
  session->client = std::make_unique<DagsterClient>(stack.transport, session->config.dagster, token, timeout);
  return session;
}

std::string Session::deployment() const {
  if (config.dagster.flavor == Flavor::plus) return config.dagster.organization + "/" + config.dagster.deployment;
  return client ? client->endpoint() : config.dagster.url;
}

std::string Session::local_time(double seconds) const {
  if (seconds <= 0) return "-";
  return zone.format(recorder::from_epoch_seconds(seconds));
}

std::string Session::both_times(double seconds) const {
  if (seconds <= 0) return "-";
  auto instant = recorder::from_epoch_seconds(seconds);
  auto whole = std::chrono::time_point_cast<std::chrono::seconds>(instant);
  return fmt::format("{} ({})", zone.format(instant), recorder::format_rfc3339_utc(whole));
}

int finish(const Session& session, int code, std::ostream& err) {
  if (!session.replay) return code;
  auto report = session.replay->report();
  for (const auto& warning : report.warnings) err << "day2 " << session.command << ": replay warning: " << warning << '\n';
  for (const auto& miss : report.misses) err << "day2 " << session.command << ": replay miss: " << miss << '\n';
  return report.misses.empty() ? code : std::max(code, 1);
}

int fail(const Session& session, std::string_view message, std::ostream& err) {
  err << "day2 " << session.command << ": error: " << message << '\n';
  return finish(session, 1, err);
}

int run_not_found(const Session& session, const std::string& run_id, std::ostream& err) {
  return fail(session, fmt::format("no run {} in {}", run_id, session.deployment()), err);
}

po::variables_map parse_args(const std::vector<std::string>& args, const po::options_description& options,
                             const po::positional_options_description& positional) {
  return recorder::parse_options(args, options, &positional);
}

po::variables_map parse_run_args(const std::vector<std::string>& args, po::options_description& options) {
  options.add_options()("run-id", po::value<std::string>(), "the run (positional)");
  po::positional_options_description positional;
  positional.add("run-id", 1);
  return parse_args(args, options, positional);
}

std::string required_run_id(const po::variables_map& vm, std::string_view command) {
  if (!vm.count("run-id")) throw UsageError{fmt::format("RUN_ID is required (see day2 {} --help)", command)};
  return vm["run-id"].as<std::string>();
}

void print_help(const CommandHelp& help, const po::options_description& options, std::ostream& out) {
  out << "usage: " << help.usage << "\n\n" << help.about << "\n\n" << options << "\nExample:\n  " << help.example
      << "\n\n" << help.exit_codes;
}

bool print_help_if_asked(const po::variables_map& vm, const CommandHelp& help, const po::options_description& options,
                         std::ostream& out) {
  if (!vm.count("help")) return false;
  print_help(help, options, out);
  return true;
}

rapidjson::Value time_json(const Session& session, double seconds, rapidjson::Document::AllocatorType& a) {
  if (seconds <= 0) return rapidjson::Value();
  rapidjson::Value out(rapidjson::kObjectType);
  auto instant = recorder::from_epoch_seconds(seconds);
  out.AddMember("epoch", seconds, a);
  out.AddMember("utc", recorder::json_string(recorder::format_rfc3339_utc(instant), a), a);
  out.AddMember("local", recorder::json_string(session.zone.format(instant, "%FT%T%z"), a), a);
  return out;
}

void print_json(const rapidjson::Value& value, std::ostream& out) {
  out << recorder::write_json(value, recorder::Pretty::yes);
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0)) return "-";
  auto total = static_cast<long long>(std::llround(seconds));
  if (total < 60) return seconds < 10 ? fmt::format("{:.1f}s", seconds) : fmt::format("{}s", total);
  long long h = total / 3600, m = total / 60 % 60, s = total % 60;
  if (h == 0) return fmt::format("{}m {:02}s", m, s);
  if (h < 48) return fmt::format("{}h {:02}m {:02}s", h, m, s);
  return fmt::format("{}d {:02}h {:02}m", h / 24, h % 24, m);
}

double parse_seconds_option(const std::string& option, const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (!text.empty() && end && *end == '\0') {
    if (!(value > 0 && value < 1e9)) throw UsageError{fmt::format("--{}: {} is not a positive number of seconds", option, text)};
    return value;
  }
  auto duration = replay::parse_duration(text);
  if (!duration || duration->count() <= 0) {
    throw UsageError{fmt::format("--{}: \"{}\" is not a duration (600, 90s, 10m, 1h30m)", option, text)};
  }
  return static_cast<double>(duration->count());
}

}  // namespace analyzer
