// `day2 replay serve DIR`: the replay server as a command, serving until SIGINT or SIGTERM.
#include <fmt/format.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Boost's
// typed_value<std::string>::notify (a std::string assignment); the location is the Boost header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/program_options.hpp>
#pragma GCC diagnostic pop
#include <charconv>
#include <chrono>
#include <thread>

#include "recorder/bundle.hpp"
#include "recorder/server/event_server.hpp"
#include "recorder/base/log.hpp"
#include "replay/matcher.hpp"
#include "recorder/base/options.hpp"
#include "replay/shift.hpp"
#include "recorder/base/signals.hpp"
#include "replay/server.hpp"

namespace replay {

namespace {

namespace po = boost::program_options;
using recorder::UsageError;

constexpr const char* k_usage =
    "usage: day2 replay serve DIR [--host 127.0.0.1] [--port N] [--allow-remote] [--threads N] [--faults FILE] [--fault SPEC]... [--shift DURATION] [--repeat] [-v]";

po::options_description serve_options() {
  po::options_description options("Options");
  options.add_options()
      ("help,h", "show this help")
      ("host", po::value<std::string>()->default_value("127.0.0.1")->value_name("HOST"),
       "address to listen on (loopback unless --allow-remote)")
      ("port", po::value<std::string>()->default_value("0")->value_name("N"),
       "port to listen on; 0 picks a free one (printed on stdout)")
      ("allow-remote", "allow a --host that is not a loopback address")
      ("threads", po::value<std::string>()->value_name("N"),
       "event loops serving the connections (1-256); default two per CPU this process may run on (2 to 32)")
      ("faults", po::value<std::string>()->value_name("FILE"),
       "inject the faults of this fault file (JSON; see docs/bundle.md, \"Faults\")")
      ("fault", po::value<std::vector<std::string>>()->composing()->value_name("SPEC"),
       "inject a fault, e.g. 'dagster:RunEvents=reset,p=0.1' (repeatable)")
      ("shift", po::value<std::string>()->value_name("DURATION"),
       "move every timestamp of the bundle by DURATION (24h, -3d, 1d12h) before serving it")
      ("repeat", "answer a request asked more often than recorded with its last recorded response again "
                 "(for clients that poll, such as the Dagster UI, and load tests) instead of a miss")
      ("verbose,v", "log every request on stderr")
      ("bundle", po::value<std::string>()->value_name("DIR"), "the scenario bundle directory (positional DIR)");
  return options;
}

void serve_help(std::ostream& out) {
  out << k_usage
      << "\n\nServes the scenario bundle in DIR as the Dagster GraphQL API (/graphql and the Dagster+ form\n"
         "/<deployment>/graphql) and the Google Cloud APIs (Logging, Monitoring, Error Reporting, GKE, the\n"
         "OAuth token endpoint, the metadata server), answering each request with its recorded response.\n"
         "Nothing is forwarded anywhere: a request the bundle does not hold gets the API's own error shape\n"
         "naming the closest recorded request. GET /__day2/report returns the replay report as JSON and\n"
         "GET /__day2/health returns {\"ok\":true}. Serves until Ctrl-C or SIGTERM, then prints the report\n"
         "(misses, unused exchanges) on stderr.\n\n"
      << serve_options()
      << "\nExample:\n  day2 replay serve scenarios/overnight/bundle --port 8765\n"
         "  day2 replay serve scenarios/overnight/bundle --fault 'dagster:RunEvents=reset,p=0.2,seed=1'\n"
         "  day2 collect --dagster-url http://127.0.0.1:8765/graphql\n\n"
         "Exit codes: 0 served without a miss, 1 some request missed (or the port could not be bound),\n"
         "2 bad usage or unreadable bundle, 3 internal error.\n";
}

void replay_help(std::ostream& out) {
  out << "usage: day2 replay serve DIR [options]\n\n"
         "commands:\n  serve    serve a scenario bundle as the Dagster and Google Cloud APIs\n\n"
         "`day2 replay serve --help` describes the options.\n";
}

int parse_port(const std::string& text) {
  int port = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || end != text.data() + text.size() || port < 0 || port > 65535) {
    throw UsageError{fmt::format("--port: {} is not a port (1-65535)", text)};
  }
  return port;
}

std::size_t parse_threads(const std::string& text) {
  std::size_t threads = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), threads);
  if (ec != std::errc{} || end != text.data() + text.size() || threads < 1 || threads > 256) {
    throw UsageError{fmt::format("--threads: {} is not a number of event loops (1-256)", text)};
  }
  return threads;
}

struct ServeArgs {
  std::string dir;
  ServerOptions server;
  bool verbose = false;
  bool help = false;
  bool repeat = false;
  std::chrono::seconds shift{0};
};

ServeArgs parse_serve(const std::vector<std::string>& args) {
  po::positional_options_description positional;
  positional.add("bundle", 1);
  po::variables_map vm;
  try {
    vm = recorder::parse_options(args, serve_options(), &positional);
  } catch (const po::error& e) {
    throw UsageError{fmt::format("{} (see day2 replay serve --help)", e.what())};
  }
  catch (const UsageError& e) {  // an unknown option
    throw UsageError{fmt::format("{} (see day2 replay serve --help)", e.message)};
  }
  ServeArgs parsed;
  if (vm.count("help")) {
    parsed.help = true;
    return parsed;
  }
  if (!vm.count("bundle")) throw UsageError{"serve needs the bundle directory DIR; " + std::string(k_usage)};
  parsed.dir = vm["bundle"].as<std::string>();
  parsed.server.host = vm["host"].as<std::string>();
  parsed.server.port = parse_port(vm["port"].as<std::string>());
  parsed.verbose = vm.count("verbose") > 0;
  parsed.repeat = vm.count("repeat") > 0;
  if (vm.count("threads")) parsed.server.threads = parse_threads(vm["threads"].as<std::string>());
  if (vm.count("shift")) {
    auto by = replay::parse_duration(vm["shift"].as<std::string>());
    if (!by) throw UsageError{"--shift: " + by.error().message};
    parsed.shift = *by;
  }
  if (vm.count("faults") || vm.count("fault")) {
    auto faults = replay::load_faults(
        vm.count("faults") ? std::optional(vm["faults"].as<std::string>()) : std::nullopt,
        vm.count("fault") ? vm["fault"].as<std::vector<std::string>>() : std::vector<std::string>{});
    if (!faults) throw UsageError{faults.error().message};
    parsed.server.faults = std::make_shared<replay::FaultInjector>(std::move(*faults));
  }
  if (!recorder::is_loopback(parsed.server.host) && !vm.count("allow-remote")) {
    throw UsageError{fmt::format(
        "--host: {} is not a loopback address; replay serves recorded data without authentication, so pass "
        "--allow-remote to serve it beyond this machine",
        parsed.server.host)};
  }
  return parsed;
}

int serve(const ServeArgs& args, std::ostream& out, std::ostream& err) {
  auto bundle = recorder::read_bundle(args.dir);
  if (!bundle) throw UsageError{bundle.error().message};
  if (args.verbose) recorder::log::set_level(recorder::log::Level::debug);
  auto exchanges = bundle->exchanges.size();
  if (!bundle->manifest.recovered.empty()) {
    err << "replay: " << args.dir << " was recovered from a recorder's journal (" << bundle->manifest.recovered
        << "); requests it never saw answer as misses\n";
  }
  if (args.shift.count() != 0) *bundle = replay::shift_bundle(std::move(*bundle), args.shift);
  auto matcher = std::make_shared<replay::Matcher>(std::move(*bundle),
                                                     args.repeat ? replay::Repeat::last : replay::Repeat::no);
  recorder::StopSignals signals;
  Server server(matcher, args.server);
  // Request bodies up to 64 MiB come and go on several event-loop threads. glibc's adaptive mmap
  // threshold would move such buffers into per-thread heaps that are never given back (5 MB requests
  // left ~90 MB resident); a fixed threshold keeps every buffer over 1 MiB in its own mapping, returned
  // on free. Measured: 30 misses of 5 MB, RSS 10 -> 16 MB instead of 10 -> 96 MB.
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
  auto port = server.start();
  if (!port) {
    err << "day2 replay: error: " << port.error().message << '\n';
    return 1;
  }
  out << fmt::format("replay: serving {} on http://{}:{} ({} exchanges)\n", args.dir,
                     recorder::url_host(args.server.host), *port, exchanges)
      << std::flush;
  while (!recorder::stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server.stop();
  auto report = matcher->report();
  err << replay::format_replay_report(report, matcher->bundle());
  if (args.server.faults) err << args.server.faults->summary() << '\n';
  return report.misses.empty() ? 0 : 1;
}

int run_replay(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) throw UsageError{"missing subcommand; " + std::string(k_usage)};
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    replay_help(out);
    return 0;
  }
  if (args[0] != "serve") {
    throw UsageError{fmt::format("unknown subcommand \"{}\"; the one there is: serve; {}", args[0], k_usage)};
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  auto parsed = parse_serve(rest);
  if (parsed.help) {
    serve_help(out);
    return 0;
  }
  return serve(parsed, out, err);
}

}  // namespace

std::vector<recorder::Command> commands() {
  return {{"replay", "serve a scenario bundle as the Dagster and Google Cloud APIs", run_replay}};
}

}  // namespace replay
