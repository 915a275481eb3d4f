// `day2 record`: the recording reverse proxy as a command. Records until SIGINT or SIGTERM (or
// --max-exchanges / --duration), then writes the bundle atomically and exits 0.
#include "recorder/proxy/cli.hpp"

#include <fmt/format.h>

// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Boost's
// typed_value<std::string>::notify (a std::string assignment); the location is the Boost header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/program_options.hpp>
#pragma GCC diagnostic pop
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <thread>

#include "recorder/bundle.hpp"
#include "recorder/server/event_server.hpp"
#include "recorder/base/checked_json.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/log.hpp"
#include "recorder/journal.hpp"
#include "recorder/base/options.hpp"
#include "recorder/proxy/proxy.hpp"
#include "recorder/redact.hpp"
#include "recorder/base/signals.hpp"
#include "recorder/base/time.hpp"

namespace recorder {

namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;

constexpr const char* k_usage =
    "usage: day2 record --upstream [NAME=]URL --out DIR [--listen 127.0.0.1:PORT] [options]\n"
    "       day2 record --recover DIR";

po::options_description record_options() {
  po::options_description options("Options");
  options.add_options()
      ("help,h", "show this help")
      ("listen", po::value<std::string>()->default_value("127.0.0.1:0")->value_name("HOST:PORT"),
       "address to listen on (loopback unless --allow-remote); port 0 picks a free one (printed on stdout)")
      ("upstream", po::value<std::vector<std::string>>()->value_name("[NAME=]URL"),
       "where requests go; repeat for several APIs: the first takes every path, another NAME takes the paths "
       "under /NAME/ (prefix removed). NAME: dagster, logging, monitoring, error_reporting, container, oauth, "
       "metadata, other (-2, -3 for more origins of one); without NAME it is guessed from the host")
      ("out", po::value<std::string>()->value_name("DIR"), "the bundle directory to write (must not exist)")
      ("overwrite", "replace the bundle already in DIR (and discard an unfinished recording's journal)")
      ("recover", po::value<std::string>()->value_name("DIR"),
       "write the bundle DIR from the journal a killed recorder left beside it, marked incomplete")
      ("redact", po::value<std::string>()->value_name("FILE"),
       "redaction settings: JSON {\"patterns\": [{\"name\", \"pattern\"}], \"json_paths\": [...]} "
       "(see docs/bundle.md); the built-in secret handling always applies")
      ("max-exchanges", po::value<std::string>()->value_name("N"),
       "stop after recording N exchanges (later requests get a 503)")
      ("duration", po::value<std::string>()->value_name("S"), "stop after S seconds")
      ("timeout", po::value<std::string>()->default_value("120")->value_name("S"),
       "seconds to wait for each upstream response")
      ("now", po::value<std::string>()->value_name("TIME"),
       "the recorded \"now\", RFC 3339 (default: when recording started)")
      ("tz", po::value<std::string>()->default_value("America/New_York")->value_name("ZONE"),
       "report zone of the manifest (its window is the default report window ending at now)")
      ("allow-remote", "allow a --listen address that is not a loopback address")
      ("verbose,v", "log every forwarded request on stderr");
  return options;
}

void record_help(std::ostream& out) {
  out << k_usage
      << "\n\nA recording reverse proxy: forwards every request to its upstream API and returns the response\n"
         "unchanged, so that any client (the Dagster UI, scripts, Google's client libraries) can be recorded.\n"
         "Each exchange is redacted as `day2 collect --record` redacts it: credentials (Authorization,\n"
         "Dagster-Cloud-Api-Token, ...) are forwarded but never recorded. A request that gets no upstream\n"
         "response is answered 502 and not recorded. On Ctrl-C or SIGTERM (or --max-exchanges, --duration)\n"
         "the proxy stops and writes the bundle to DIR atomically. Until then every exchange is also kept,\n"
         "durably, in a journal beside DIR (.DIR.recording): if the proxy is killed, `day2 record --recover DIR`\n"
         "writes what it had recorded as a bundle whose manifest says it is incomplete (\"recovered\").\n\n"
      << record_options()
      << "\nExamples:\n"
         "  day2 record --upstream http://127.0.0.1:3000 --out scenarios/ui/bundle --listen 127.0.0.1:3333\n"
         "  day2 record --upstream dagster=https://acme.dagster.cloud/prod \\\n"
         "              --upstream logging=https://logging.googleapis.com --out bundle\n"
         "    (clients use http://127.0.0.1:PORT/graphql and http://127.0.0.1:PORT/logging/v2/...)\n\n"
         "  day2 record --recover scenarios/ui/bundle\n\n"
         "Exit codes: 0 bundle written, 1 the port could not be bound or the bundle not written (or recovered),\n"
         "2 bad usage or redaction file, 3 internal error.\n";
}

int parse_port(const std::string& text) {
  int port = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || end != text.data() + text.size() || port < 0 || port > 65535) return -1;
  return port;
}

// "HOST:PORT" or "[IPv6]:PORT".
void parse_listen(const std::string& text, ProxyOptions& options) {
  auto bad = [&] { return UsageError{fmt::format("--listen: \"{}\" is not HOST:PORT (e.g. 127.0.0.1:3333)", text)}; };
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == std::string::npos) throw bad();
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) throw bad();
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) throw bad();
  options.host = host;
  options.port = parse_port(port);
  if (options.port < 0) throw UsageError{fmt::format("--listen: {} is not a port (0-65535)", port)};
}

double parse_seconds(const std::string& option, const std::string& text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value) || value <= 0 || value > 1e7) {
    throw UsageError{fmt::format("--{}: {} is not a number of seconds > 0", option, text)};
  }
  return value;
}

// Reads the redaction settings file: {"patterns": [{"name", "pattern"}...], "json_paths": [...]}.
// An Error names the file and the line of a mistyped value or an unknown key (a misspelt
// "json_paths" would otherwise leave its secrets unredacted without a word).
Result<RedactionSettings> read_redaction_settings(const std::string& path) {
  auto file = CheckedJson::load(path, Comments::allowed);
  if (!file) return file.error();
  const auto& doc = file->root();
  const JsonAt root;
  if (!doc.IsObject()) return file->error_at(root, "must be a JSON object with \"patterns\" and \"json_paths\"");
  constexpr std::array<std::string_view, 2> k_keys{"patterns", "json_paths"};
  constexpr std::array<std::string_view, 2> k_pattern_keys{"name", "pattern"};
  if (auto closed = file->closed_keys(doc, root, k_keys, "key"); !closed) return closed.error();
  RedactionSettings settings;
  // Each list is optional, but present means a list: null is no way to say "none".
  auto list = [&](const char* key) { return doc.HasMember(key) ? file->required(doc, root, key, JsonKind::array) : nullptr; };
  if (const auto* patterns = list("patterns")) {
    for (rapidjson::SizeType i = 0; i < patterns->Size(); ++i) {
      const auto& entry = (*patterns)[i];
      auto at = root / "patterns" / std::size_t{i};
      auto name = entry.IsObject() ? get_string(entry, "name") : std::nullopt;
      auto pattern = entry.IsObject() ? get_string(entry, "pattern") : std::nullopt;
      if (auto closed = file->closed_keys(entry, at, k_pattern_keys, "key"); !closed) return closed.error();
      if (!name || !pattern) return file->error_at(at, "each pattern is {\"name\": string, \"pattern\": string}");
      settings.patterns.push_back({*name, *pattern});
    }
  }
  if (const auto* paths = list("json_paths")) {
    for (rapidjson::SizeType i = 0; i < paths->Size(); ++i) {
      if (!(*paths)[i].IsString()) {
        return file->error_at(root / "json_paths" / std::size_t{i}, "a JSON path is a string (\"/data/agents/*/metadata\")");
      }
      settings.json_paths.emplace_back((*paths)[i].GetString(), (*paths)[i].GetStringLength());
    }
  }
  if (file->failed()) return file->error();
  return settings;
}

struct RecordArgs {
  std::optional<std::string> recover;
  ProxyOptions proxy;
  std::string out_dir;
  Overwrite overwrite = Overwrite::no;
  Redactor redactor;
  std::optional<Instant> now;
  std::string tz;
  std::optional<double> duration;
  bool verbose = false;
  bool help = false;
};

void check_out_dir(const std::string& dir, Overwrite overwrite) {
  if (auto journal = find_journal(dir)) {
    if (journal->live) {
      throw UsageError{fmt::format("--out: a day2 record is recording into {} now (its journal {})", dir,
                                   journal->dir.string())};
    }
    if (overwrite == Overwrite::no) {
      throw UsageError{fmt::format(
          "--out: {} has an unfinished recording of {} exchange(s) (its journal {}): `day2 record --recover {}` "
          "writes it as a bundle; --overwrite discards it",
          dir, journal->exchanges, journal->dir.string(), dir)};
    }
  }
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (overwrite == Overwrite::no) {
    throw UsageError{fmt::format("--out: {} already exists; pass --overwrite to replace the bundle in it", dir)};
  }
  bool replaceable =
      fs::is_directory(dir, ec) && (fs::is_empty(dir, ec) || fs::exists(fs::path(dir) / "manifest.json", ec));
  if (!replaceable) {
    throw UsageError{fmt::format("--out: {} is not a bundle directory; --overwrite replaces only a bundle", dir)};
  }
}

void parse_upstreams(const std::vector<std::string>& values, ProxyOptions& options) {
  for (const auto& value : values) {
    auto upstream = parse_upstream(value);
    if (!upstream) throw UsageError{"--upstream: " + upstream.error().message};
    for (const auto& other : options.upstreams) {
      if (other.alias == upstream->alias) {
        throw UsageError{fmt::format("--upstream: two upstreams named {}; name the second {}-2=URL", other.alias,
                                     other.alias)};
      }
    }
    options.upstreams.push_back(std::move(*upstream));
  }
}

// --recover DIR, which comes alone.
std::string recover_dir(const po::variables_map& vm) {
  for (const char* other : {"upstream", "out", "overwrite", "redact", "max-exchanges", "duration", "now"}) {
    if (vm.count(other)) throw UsageError{fmt::format("--recover takes no --{}; {}", other, k_usage)};
  }
  return vm["recover"].as<std::string>();
}

int parse_count(const std::string& text) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < 1) {
    throw UsageError{fmt::format("--max-exchanges: {} is not a positive integer", text)};
  }
  return n;
}

RecordArgs parse_record(const std::vector<std::string>& args) {
  po::variables_map vm;
  try {
    vm = parse_options(args, record_options());
  } catch (const po::error& e) {
    throw UsageError{fmt::format("{} (see day2 record --help)", e.what())};
  }
  catch (const UsageError& e) {  // an unknown option
    throw UsageError{fmt::format("{} (see day2 record --help)", e.message)};
  }
  RecordArgs parsed;
  if (vm.count("help")) {
    parsed.help = true;
    return parsed;
  }
  if (vm.count("recover")) {
    parsed.recover = recover_dir(vm);
    return parsed;
  }
  if (!vm.count("upstream")) throw UsageError{"--upstream is required; " + std::string(k_usage)};
  if (!vm.count("out")) throw UsageError{"--out is required; " + std::string(k_usage)};
  parse_upstreams(vm["upstream"].as<std::vector<std::string>>(), parsed.proxy);
  parse_listen(vm["listen"].as<std::string>(), parsed.proxy);
  if (!is_loopback(parsed.proxy.host) && !vm.count("allow-remote")) {
    throw UsageError{fmt::format(
        "--listen: {} is not a loopback address; the proxy would open its upstreams to anyone who can reach "
        "this machine, so pass --allow-remote to listen beyond it",
        parsed.proxy.host)};
  }
  parsed.out_dir = vm["out"].as<std::string>();
  parsed.overwrite = vm.count("overwrite") ? Overwrite::yes : Overwrite::no;
  check_out_dir(parsed.out_dir, parsed.overwrite);
  if (vm.count("redact")) {
    auto settings = read_redaction_settings(vm["redact"].as<std::string>());
    if (!settings) throw UsageError{"--redact: " + settings.error().message};
    auto redactor = Redactor::make(std::move(*settings));
    if (!redactor) {
      throw UsageError{fmt::format("--redact: {}: {}", vm["redact"].as<std::string>(), redactor.error().message)};
    }
    parsed.redactor = std::move(*redactor);
  }
  if (vm.count("max-exchanges")) parsed.proxy.max_exchanges = parse_count(vm["max-exchanges"].as<std::string>());
  if (vm.count("duration")) parsed.duration = parse_seconds("duration", vm["duration"].as<std::string>());
  auto timeout = parse_seconds("timeout", vm["timeout"].as<std::string>());
  parsed.proxy.timeout = std::chrono::milliseconds(static_cast<long long>(std::ceil(timeout * 1000)));
  if (vm.count("now")) {
    auto now = parse_rfc3339(vm["now"].as<std::string>());
    if (!now) throw UsageError{"--now: " + now.error().message};
    parsed.now = *now;
  }
  parsed.tz = vm["tz"].as<std::string>();
  parsed.verbose = vm.count("verbose") > 0;
  return parsed;
}

// Waits for a reason to stop and names it.
std::string wait_for_stop(const Proxy& proxy, std::optional<double> duration) {
  auto started = std::chrono::steady_clock::now();
  while (true) {
    if (stop_requested()) return "a signal";
    if (proxy.done()) return "--max-exchanges";
    if (duration && std::chrono::steady_clock::now() - started >= std::chrono::duration<double>(*duration)) {
      return "--duration";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int record(RecordArgs args, std::ostream& out, std::ostream& err) {
  auto zone = Zone::find(args.tz);
  if (!zone) throw UsageError{"--tz: " + zone.error().message};
  log::set_level(args.verbose ? log::Level::debug : log::Level::info);
  Manifest manifest;
  manifest.now = args.now ? *args.now
                          : std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  manifest.window = default_window(manifest.now, *zone);
  manifest.timezone = zone->name();
  manifest.source = BundleSource::live;
  manifest.day2_version = DAY2_VERSION;

  StopSignals signals;
  auto upstreams = args.proxy.upstreams;
  auto host = args.proxy.host;
  Proxy proxy(make_http_transport(), args.redactor, std::move(args.proxy));
  // The journal first: a recorder killed from now on leaves what it recorded (recorder/journal.hpp).
  if (args.overwrite == Overwrite::yes && find_journal(args.out_dir)) {
    std::error_code ec;
    fs::remove_all(journal_dir(args.out_dir), ec);
  }
  auto journal = Journal::create(args.out_dir, proxy.bundle(manifest).manifest);
  if (!journal) {
    err << "day2 record: error: --out: " << journal.error().message << '\n';
    return 1;
  }
  std::shared_ptr<Journal> kept = std::move(*journal);
  proxy.journal_to(kept, manifest);
  auto port = proxy.start();
  if (!port) {
    kept->remove();
    err << "day2 record: error: " << port.error().message << '\n';
    return 1;
  }
  std::string routes;
  for (std::size_t i = 0; i < upstreams.size(); ++i) {
    routes += fmt::format("{}{} {} on {}", i ? ", " : "", upstreams[i].alias,
                          upstreams[i].url.origin() + upstreams[i].url.path, i ? "/" + upstreams[i].alias + "/" : "/");
  }
  out << fmt::format("record: listening on http://{}:{} ({})\n", url_host(host), *port, routes) << std::flush;
  auto reason = wait_for_stop(proxy, args.duration);
  proxy.stop();
  auto bundle = proxy.bundle(std::move(manifest));
  if (auto written = write_bundle(args.out_dir, bundle, args.overwrite); !written) {
    err << "day2 record: error: --out: " << written.error().message << '\n';
    if (proxy.journal_error().empty()) {
      err << fmt::format("day2 record: the journal {} keeps the {} exchange(s): `day2 record --recover {}` once the "
                         "problem is fixed\n",
                         kept->dir().string(), bundle.exchanges.size(), args.out_dir);
    }
    return 1;
  }
  kept->remove();
  err << fmt::format("record: stopped by {}; {} exchange(s) written\n", reason, bundle.exchanges.size());
  out << args.out_dir << '\n' << std::flush;
  return 0;
}

// `day2 record --recover DIR`: the bundle from the journal a killed recorder left.
int recover(const std::string& dir, std::ostream& out, std::ostream& err) {
  auto bundle = recover_journal(dir);
  if (!bundle) {
    err << "day2 record: error: --recover: " << bundle.error().message << '\n';
    return 1;
  }
  err << fmt::format("record: recovered {} exchange(s) into {}; its manifest says it is incomplete (\"recovered\")\n",
                     bundle->exchanges.size(), dir);
  out << dir << '\n' << std::flush;
  return 0;
}

int run_record(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto parsed = parse_record(args);
  if (parsed.help) {
    record_help(out);
    return 0;
  }
  if (parsed.recover) return recover(*parsed.recover, out, err);
  return record(std::move(parsed), out, err);
}

}  // namespace

std::vector<Command> commands() {
  return {{"record", "record what any client says to its APIs, through a proxy, as a scenario bundle", run_record}};
}

}  // namespace recorder
