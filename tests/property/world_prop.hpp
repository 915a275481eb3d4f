// Generated incident worlds for world_classify_prop.cpp and world_report_prop.cpp: a rapidcheck
// generator of small nights (1-4 runs with failure modes and their ground truth, pod events, ticks,
// locations, daemons, backfills, optionally Google Cloud), rendered as a scenario spec
// (docs/scenarios.md) for `day2 simulate`, and the round trip simulate -> collect --replay ->
// report --format json, all in process. Agent errors are written into the collected artifact
// before the report (the generator keeps to the spec keys of OSS worlds).
#pragma once

#include <fmt/format.h>
#include <rapidcheck.h>
#include <rapidjson/document.h>

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace day2test::world {

// The failure modes of the generator: the spec's modes, max_runtime split by what its log shows.
enum class Mode {
  user_code_error,
  connection_error,
  max_runtime,   // no materialization, no "Exiting to prevent re-running"
  slow_query,    // max_runtime after a materialization
  preempt_hang,  // max_runtime with the "Exiting to prevent re-running" engine event
  never_started,
  k8s_api_error,
  prestart_kill,
  oom,
  evicted,
  preempted,
  unclassified,
};

struct PodEvent {
  std::int64_t time = 0;  // seconds after the window start
  std::string reason;     // OOMKilling Evicted Preempted Killing BackOff
};

struct Run {
  std::string id;  // a uuid: pod names carry it (dagster-run-<id>-x7k2p)
  std::string job;
  Mode mode = Mode::unclassified;
  std::int64_t start = 0;  // seconds after the window start; never_started: the creation
  std::int64_t end = 0;
  std::vector<PodEvent> pod_events;
};

struct AgentError {
  std::int64_t time = 0;  // seconds after the window start
  std::string class_name;
  std::string message;
};

struct Tick {
  bool sensor = true;
  std::string name;
  std::int64_t time = 0;  // seconds after the window start
  int count = 1;          // failed ticks, a minute apart
};

// A disrupted infrastructure pod (top-level pod events; collected only with Google Cloud): the seed's
// three, each a platform cause (analyzer/rules/causes.json).
enum class InfraPod { agent, secrets, code_server };

struct InfraEvent {
  InfraPod pod = InfraPod::agent;
  std::int64_t time = 0;  // seconds after the window start
  std::string reason;     // Preempted Evicted Killing BackOff
};

struct World {
  std::int64_t start = 0;  // window start, epoch seconds
  std::int64_t hours = 12; // window length; "now" is the window end plus `lag` seconds
  std::int64_t lag = 0;
  bool gcp = false;
  std::vector<Run> runs;
  std::vector<Tick> ticks;
  std::vector<AgentError> agent_errors;
  std::vector<InfraEvent> infra;  // rendered only when gcp
  bool broken_location = false;
  bool unhealthy_daemon = false;
  std::optional<std::int64_t> failed_backfill;  // its end, seconds after the window start
  std::int64_t end() const { return start + hours * 3600; }
};

// A scratch directory for round trips: under /dev/shm when it is writable (the bundle, artifact
// and report writes fsync every file, which costs ~20x the round trip itself on a disk), else
// under the system temp dir. Removed on destruction unless the test failed (its path is printed).
class Scratch {
 public:
  Scratch();
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  std::string file(const std::string& name) const;

 private:
  std::string m_path;
};

// How a world is rendered: every time moved by `shift` seconds, the runs in `order` (indexes; empty
// = as generated), each list of events reversed, and the report zone.
struct Variant {
  std::int64_t shift = 0;
  std::vector<std::size_t> order;
  bool reverse_events = false;
  std::string zone = "America/New_York";
  std::string rules;  // collect --rules FILE ("" = the built-in rules)
};

// The category and rule a failed run must end with after the report's reclassification.
struct Truth {
  std::string category;
  std::string rule;  // "-" for none
  bool operator==(const Truth&) const = default;
};

// The report zones the variants use: DST in both hemispheres, half-hour and 45-minute offsets.
const std::vector<std::string>& zones();

// The ground truth of every failed run, by run id, from the generator's model of the rules:
// collect's category for the mode, then the reclassification the world's other signals justify
// (an agent error of the agent-API timeout shape, an OOMKilling/Evicted pod event of the run's pod
// in the window with Google Cloud configured), each only through the overlap gate.
std::map<std::string, Truth> ground_truth(const World& world);

// The scenario spec of `world` rendered as `variant` says (the zone is the report's, not the
// spec's: the spec keeps America/New_York).
std::string spec_text(const World& world, const Variant& variant = {});

// A world of 1-4 runs in a 6-24 hour window around a random day of 2024-2030.
rc::Gen<World> gen_world();
// A shift: any duration within three years, or one landing the window's middle on a night of
// America/New_York's spring-forward (2nd Sunday of March) or fall-back (1st Sunday of November).
rc::Gen<std::int64_t> gen_shift(const World& world);

// The report (JSON form) and the artifact of one round trip. RC_FAILs with the step and its
// stderr when simulate, collect or report fails. `extra` signals are added to the artifact like
// the world's agent errors: agent errors (step 07) and closed alerts (step 11, [open, close)).
struct RoundTrip {
  rapidjson::Document artifact;
  rapidjson::Document report;
  std::string artifact_path;
};
struct Extra {
  std::vector<AgentError> agent_errors;
  std::vector<std::pair<std::int64_t, std::int64_t>> alerts;  // seconds after the window start
};
RoundTrip round_trip(const World& world, const Variant& variant, const std::string& work, const Extra& extra = {});

// Reports an artifact already on disk again in `zone`.
rapidjson::Document report_again(const std::string& artifact_path, const std::string& zone, const std::string& work);

// What the report concluded for every failed run (this and the assert_* checks below are in
// world_report_prop.cpp): run id -> (category, rule), and how many times
// each run id appears across the root causes.
std::map<std::string, Truth> classifications(const rapidjson::Value& report);
std::map<std::string, int> run_mentions(const rapidjson::Value& report);

// Properties of one report (world_report_prop.cpp), each RC_FAILing with what it found:
// every failed run of step 01 is listed under exactly one root cause, and no other run is;
void assert_one_category_each(const RoundTrip& trip);
// the timeline is in the order of its artifact items' instants (untimed rows last), and every time
// printed in `zone` (timeline rows, the window, each run's end) converts back to its source instant;
void assert_timeline(const RoundTrip& trip, const rapidjson::Value& report, const std::string& zone);
// every pod event or agent error cited as a run's evidence passes the overlap gate with the run.
void assert_cited_signals_overlap(const RoundTrip& trip);
// The platform causes (ids) the world's incidents must give: a broken location, an unhealthy daemon,
// control-plane ReadTimeouts while the agent runs, each disrupted infrastructure pod (with Google
// Cloud). An alert becomes a cause only with a correlated failure, so it is not listed here.
std::set<std::string> platform_truth(const World& world);
// Root causes across the night: every cause of `truth` is a platform cause of the report and no
// other one is (alerts aside); every effect a platform cause links passes the overlap gate with the
// cause's extent (ticks as their burst, runs by their lifetime, queued runs from `since` on); a run a
// cause claims is not also listed elsewhere; no failed run is named by two action rows.
void assert_platform_causes(const RoundTrip& trip, const std::set<std::string>& truth);

// Counterexamples print as the spec `day2 simulate` reads, plus the injected agent errors
// (rapidcheck finds this by argument-dependent lookup).
void showValue(const World& world, std::ostream& os);

}  // namespace day2test::world
