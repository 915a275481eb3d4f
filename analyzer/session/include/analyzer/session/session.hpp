// The command-line pieces `collect` and the investigation commands share
// (deployment settings from --config and flags), and the session an investigation command runs in.
#pragma once

// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Boost's
// typed_value<std::vector<std::string>>::notify; the location is the Boost header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/program_options.hpp>
#pragma GCC diagnostic pop

#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/config/config.hpp"
#include "analyzer/clients/dagster_client.hpp"
#include "analyzer/clients/gcp_client.hpp"
#include "replay/fault.hpp"
#include "recorder/record.hpp"
#include "recorder/base/command.hpp"
#include "recorder/base/json.hpp"
#include "replay/matcher.hpp"
#include "recorder/base/time.hpp"

namespace analyzer {

namespace po = boost::program_options;
using Allocator = rapidjson::Document::AllocatorType;

// ---- The transport stack shared by `collect` and the investigation commands ----------------------

enum class Record { no, yes };

struct TransportStack {
  std::shared_ptr<recorder::Transport> transport;           // retrying, paced, limited: what clients use
  std::shared_ptr<recorder::RecordingTransport> recording;  // set with Record::yes
  Pacers pacers;                                            // pace every Logging and Error Reporting attempt
};

// The transport every command sends through: `replay` (in process, optionally under `faults`) or
// the real HTTP transport (teed into a bundle with Record::yes), under the concurrency limit of
// `config`, the read quotas' pacing (config.gcp.*_reads_per_minute) and the one retry layer
// (nothing waits when replaying: the clock is frozen). Does no I/O.
TransportStack make_transport_stack(const Config& config, std::shared_ptr<replay::Matcher> replay,
                                    std::shared_ptr<replay::FaultInjector> faults, Record record);

// Replaying `bundle`: its report zone unless `keep_zone`, and its Dagster endpoint (the matcher
// ignores hosts but not paths) unless `keep_url`.
void adopt_bundle(const recorder::Bundle& bundle, bool keep_zone, bool keep_url, Config& config);


// --config over the defaults, then --dagster-url, --flavor, --organization, --deployment, --tz,
// --concurrency, --timeout, --retries (those present in `vm`). Throws UsageError naming the option.
Config build_config(const po::variables_map& vm);

// The options every investigation command takes: where Dagster is (--url, --config, --flavor, ...),
// --replay DIR, --now, --tz, --json, -v.
po::options_description source_options();

// What an investigation command works with: a client over the shared transport stack, the clock
// (the bundle's when replaying, --now), the report zone and the output form.
struct Session {
  std::string command;  // "run", "logs", ... for messages
  Config config;
  std::shared_ptr<replay::Matcher> replay;
  std::unique_ptr<DagsterClient> client;
  recorder::Instant now{};
  recorder::Zone zone = recorder::Zone::utc();
  bool json = false;

  // The deployment, for messages: the Dagster+ organization/deployment, else the GraphQL endpoint.
  std::string deployment() const;
  // "2026-03-29 21:00:00 EDT (2026-03-30T01:00:00Z)"; "-" for 0.
  std::string both_times(double seconds) const;
  std::string local_time(double seconds) const;  // "-" for 0
};

// Opens the session of `vm` (options of source_options()). Throws UsageError for bad options, a
// bad bundle or zone; returns nullptr after printing an error (exit 1) when a Dagster+ token is missing.
std::unique_ptr<Session> open_session(const po::variables_map& vm, std::string_view command, std::ostream& err);

// The end of a command: replay misses go to stderr and make it exit 1, else `code`.
int finish(const Session& session, int code, std::ostream& err);

// Prints "day2 <command>: error: <message>" and returns 1.
int fail(const Session& session, std::string_view message, std::ostream& err);
// "no run <id> in <deployment>" (exit 1).
int run_not_found(const Session& session, const std::string& run_id, std::ostream& err);

// Parses args; rejects leftovers (throws po errors or UsageError).
po::variables_map parse_args(const std::vector<std::string>& args, const po::options_description& options,
                             const po::positional_options_description& positional);

// Adds the positional RUN_ID (option "run-id", listed last in the help) to `options` and parses `args`.
po::variables_map parse_run_args(const std::vector<std::string>& args, po::options_description& options);
// The RUN_ID of `vm`; throws UsageError "RUN_ID is required (see day2 <command> --help)" without one.
std::string required_run_id(const po::variables_map& vm, std::string_view command);

// A command's --help: "usage: <usage>", <about>, the options, "Example:" <example>, <exit_codes>.
struct CommandHelp {
  std::string_view usage;       // "day2 runs [--job NAME] ..."
  std::string_view about;       // what the command does; lines joined by '\n', no final newline
  std::string_view example;     // one command line
  std::string_view exit_codes;  // "Exit codes: ...\n"
};
void print_help(const CommandHelp& help, const po::options_description& options, std::ostream& out);
// print_help() when `vm` holds --help; returns whether it did (the command then exits 0).
bool print_help_if_asked(const po::variables_map& vm, const CommandHelp& help, const po::options_description& options,
                         std::ostream& out);

// The exit codes of the commands given run ids (run, logs, steps, compare).
inline constexpr std::string_view k_run_exit_codes =
    "Exit codes: 0 ok, 1 error (an unknown run: \"no run <id> in <deployment>\"; Dagster unreachable;\n"
    "a replay miss), 2 bad usage, 3 internal error.\n";

// {"epoch": seconds, "utc": RFC 3339, "local": in the report zone}, or null for 0.
rapidjson::Value time_json(const Session& session, double seconds, rapidjson::Document::AllocatorType& allocator);

// Writes `value` as pretty JSON with sorted keys.
void print_json(const rapidjson::Value& value, std::ostream& out);

// A "2h 03m 04s" style duration.
std::string format_duration(double seconds);

// A positive number of seconds from an option value: "600", "10m", "1h30m". Throws UsageError.
double parse_seconds_option(const std::string& option, const std::string& text);

// An instant from an option: RFC 3339, or a duration before `now` ("24h", "90m"), as epoch seconds.
// Throws UsageError naming --`option` and the value.
double parse_instant_option(const std::string& option, const std::string& text, recorder::Instant now);

// The exit codes of the list commands (runs, agents).
inline constexpr std::string_view k_list_exit_codes =
    "Exit codes: 0 ok, 1 error (Dagster unreachable, a replay miss), 2 bad usage, 3 internal error.\n";

}  // namespace analyzer
