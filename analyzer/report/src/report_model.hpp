// Private to report: the incident report as data (built from an artifact by report_build.cpp) and
// its two renderings (report_render.cpp). Every time is already formatted in the report zone.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "analyzer/artifact/artifact.hpp"
#include "analyzer/config/config.hpp"
#include "analyzer/metrics/metrics.hpp"
#include "analyzer/classify/reclassify.hpp"
#include "analyzer/report/platform_causes.hpp"
#include "analyzer/report/runbook.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/time.hpp"
#include "analyzer/artifact/fields.hpp"

namespace analyzer::report {

using summary::Json;

struct StepNote {
  std::string step;     // a step_key(), or "<step key> (run <id>)" for one unreadable item
  std::string message;  // the error, or the reason it was skipped
};

// "2 step(s) hold an error", "1 item(s) could not be read", or both joined by "; ", for the notes of
// `missing` (an item's note names its step and the item in parentheses).
std::string missing_summary(const std::vector<StepNote>& missing);

// A reference to one item of the artifact that a classification or finding rests on.
struct Evidence {
  std::string kind;     // run, run_event, pod_event, cluster_event, log_entry, agent, agent_error, agent_churn, tick, retry,
                        // alert, error_group, asset_check, degraded_asset, daemon, backfill, queued_run
  std::string pointer;  // RFC 6901 JSON pointer into the artifact: "/step_10_gke_events/podEvents/3"
  std::string summary;  // one line, for the reader
  std::optional<double> epoch;
  std::string url = {};  // where to see it: the Dagster UI or the Cloud console (report_links.cpp), or empty
};

struct TimelineRow {
  std::optional<double> epoch;  // for sorting; rows without a time sort last
  std::string time;             // in the report zone, "-" when the signal has no time
  std::string signal;
  std::string source;
  std::string kind;             // as Evidence::kind; the HTML timeline's marker type
  std::string pointer;          // the artifact item, as Evidence::pointer; may be empty
  std::string url = {};         // where to see it (report_links.cpp), or empty
};

// A step of a failed run for the HTML report's run section (the artifact's failures[].steps).
struct StepRow {
  std::string step_key;
  std::optional<double> start;
  std::optional<double> end;
  std::string status;
};

// A failed run's retry chain (step 02), oldest link first, and what its last run says: a chain's
// outcome is its last run.
struct RetryChain {
  std::string text;          // "retry <id>: FAILURE; re-execution <id> (manual): SUCCESS", or empty
  std::string outcome;       // the last run's status ("SUCCESS", "FAILURE", ...), empty without a chain
  bool last_manual = false;  // the last run is a re-execution someone launched, not Dagster's retry
  bool empty() const { return text.empty(); }
};

struct RunEvidence {
  std::string run_id;
  std::string job;
  std::string location;
  std::string repository;       // the run's repository ("__repository__" for Definitions)
  std::string url;              // the run in the Dagster UI, or empty
  std::string job_url;          // its job in the Dagster UI, or empty
  std::string ended;            // report zone
  std::optional<double> end_epoch;
  std::string error_class;
  std::string first_step_error; // "step: the user exception", or "-"
  std::string step_key;         // the failing step shown, or empty
  std::vector<StepRow> steps = {};                 // its steps by start (HTML run section)
  std::vector<std::string> error_lines = {};       // the failing step's error and cause chain, one line each
  std::vector<std::string> captured_steps = {};    // steps whose logs were captured (logsCapturedSteps)
  std::string log_stream = {};                     // capturedLog.stream of the failing step ("stderr"), or empty
  std::vector<std::string> log_lines = {};         // its last lines (capturedLog.lines)
  int log_total_lines = 0;                         // capturedLog.totalLines
  std::string log_error = {};                      // capturedLog.error: why they could not be read
  std::string run_message;      // the RunFailureEvent message, first line
  RetryChain retry;             // its retry chain (empty: none recorded)
  std::vector<std::string> pod_events;  // pod events of the run's pods no rule cited, each saying if it passes the overlap gate
  std::optional<double> start_epoch;    // null for a run that never started
  std::string category;                 // its final category (after reclassification)
  std::string rule_id;                  // ... and the rule that gave it ("-" when none)
  std::string collected_category;       // the category `collect` gave (before reclassification)
  bool reclassified = false;            // a reclassify rule (docs/report.md "Reclassification") fired
  std::string guidance;                 // the reclassification row's guidance, or empty
  std::vector<Evidence> evidence;       // what the classification rests on (the run first)
  int pod_events_during = 0;            // uncited pod events of the run's pods that pass the overlap gate
  int pod_events_outside = 0;           // ... and those that do not
  int pod_events_corroborating = 0;     // pod events during the run that bear out its category (cited as evidence)
};

enum class Action { escalate, investigate, monitor, no_action };

// An effect linked to a platform cause: it passed the overlap gate with the cause's extent (and lies
// in the cause's location when it has one).
struct Effect {
  std::string kind;                // "tickFailure", "runFailure", "queuedRun"
  std::string summary;             // one line
  std::string why;                 // the two extents that overlap
  std::vector<Evidence> evidence;  // the effect's items (a burst: its first and last tick)
  std::vector<std::string> covers = {};  // the pointer of every item it links (each tick of a burst)
};

// A root cause that is a platform incident (report_platform.cpp, analyzer/rules/causes.json).
struct PlatformIncident {
  std::string id;        // the cause's rule id
  std::string source;    // "infraPod", ...
  std::string title;
  std::string meaning;
  std::string scope;     // the location of a location's cause, else ""
  std::string span;      // "02:00–02:07 EST": the incident's signals
  double start = 0;      // its extent (epoch seconds)
  double end = 0;
  Action action = Action::investigate;
  std::string rationale;
  bool claims_runs = true;
  std::string error;                   // an error group's exception class ("KeyError"), or ""
  std::vector<Evidence> signals;       // what the incident is
  std::vector<Effect> effects;         // what it explains, each through the gate
  std::vector<std::string> supersedes; // finding kinds whose action rows this cause's replaces
};

struct Cause {
  std::string category;
  std::string rule_id;  // "-" when no rule matched
  std::vector<RunEvidence> runs;
  std::string narrative;  // links the signals behind the group (only links that pass the overlap gate)
  std::optional<RunbookEntry> runbook = {};  // the runbook's entry for its category
  std::vector<std::string> next = {};        // its commands, filled for the cause's first run
  std::optional<PlatformIncident> platform = {};  // set for a platform cause (category = its title,
                                                   // rule_id = its id; runs keep their own category)
};

// A bulleted line of Impact / Emerging Issues: "**label:** summary" plus sub-items.
struct Finding {
  std::string label;
  std::string summary;
  std::vector<std::string> items;
  std::string rule_id;             // the rule that produced it (docs/report.md), or empty
  std::vector<Evidence> evidence;  // what it rests on
  std::optional<RunbookEntry> runbook = {};  // the runbook's entry for its kind
  std::vector<std::string> next = {};        // its commands, filled
  std::vector<std::string> covers = {};      // the pointers of all its items (failed ticks, alerts, load failures):
                                             // when platform causes are or explain every one, their rows are its action
};

struct ActionRow {
  Action action = Action::monitor;
  std::string item;
  std::string rationale;
  std::string topic = {};   // what the runbook knows it by: a category ("Code error") or a finding kind
  std::string run_id = {};  // the first run of a run row, for the commands' {run}
  std::size_t runs = 0;     // how many runs a run row names
  std::string next = {};    // the first command to run (report_next.cpp), or empty
  std::vector<std::string> run_ids = {};  // every run the row names (full ids)
  std::vector<std::string> readings = {}; // findings about the same runs folded in: "<label> (`<kind>`): <rationale>"
  bool chain_succeeded = false;           // a run row whose runs' retry chains ended in SUCCESS (No action)
  // The rationale with the folded readings ("; " between): what the table shows.
  std::string full_rationale() const;
};

// The bases of the report's links (report_links.cpp): the Dagster UI (an OSS webserver or
// https://<org>.dagster.cloud/<deployment>) and the Cloud console of the project. Each URL is empty
// when its base is unknown (no Dagster URL in the artifact, no gcp.project in --config).
struct Links {
  std::string dagster_base;
  std::string console = "https://console.cloud.google.com";
  std::string project;
  std::string cluster;
  std::string dagster(std::string_view path) const;
  std::string run(std::string_view run_id) const;
  std::string job(std::string_view repository, std::string_view location, std::string_view job) const;
  // kind: "sensors" or "schedules"; the location's Definitions repository.
  std::string instigator(std::string_view kind, std::string_view location, std::string_view name) const;
  // Logs Explorer with `query` over [start, end] (epoch seconds).
  std::string logs(std::string_view query, double start, double end) const;
  std::string error_group(std::string_view group_id) const;
  std::string incident(std::string_view alert_name) const;
  // The page of the artifact item at `pointer` of evidence kind `kind`, or empty.
  std::string for_item(const summary::Json& artifact, std::string_view kind, std::string_view pointer) const;
};

struct Report {
  Links links;
  std::string zone;
  std::string zone_label;    // the headings' short zone name: "ET", "UTC", "CET/CEST" (zone_label())
  std::string headline;      // the night's verdict in one line (report_headline.cpp)
  std::string counts;        // the counts under it: failed (when, by category), succeeded, canceled, actions
  std::string window_start;  // report zone
  std::string window_end;
  std::string utc_start;     // as in the artifact
  std::string utc_end;
  std::string failed = "?";
  std::string succeeded = "?";
  std::string canceled = "?";
  std::vector<StepNote> missing;       // steps holding "error" (or malformed)
  std::vector<StepNote> not_collected; // skipped steps
  std::vector<TimelineRow> timeline;
  std::vector<Cause> causes;
  std::vector<Finding> impact;
  std::vector<Finding> emerging;
  std::vector<ActionRow> actions;
};

// Shared by the builders. The payload of step `key` when it holds one (not an error, not skipped,
// an object), else nullptr.
const Json* step_payload(const Json& artifact, const char* key);
// Why step `key`'s signals are missing ("`step_10_gke_events` holds an error: …", "… was not
// collected: …", "… is absent"), or "" when its payload is there. Missing is not absent: a finding
// that would read "0 found" says this instead.
std::string missing_reason(const Json& artifact, const char* key);
// A time field: float epoch seconds or an RFC 3339 string; nullopt when absent or unreadable.
std::optional<double> epoch_of(const Json& object, const char* key);
// `epoch` in `zone` as "2026-03-30 00:11:58 EDT"; "-" when absent.
std::string when(const recorder::Zone& zone, std::optional<double> epoch);
// The first line of the string `object[key]`, cleaned and cut to `limit` characters ("…" added);
// "-" when absent, "?" for another type.
std::string brief(const Json& object, const char* key, std::size_t limit = 160);
// `text` cut to `limit` bytes, never inside a UTF-8 sequence ("…" added when cut).
std::string cut(std::string text, std::size_t limit = 160);
// Array member `key` of `object`, or an empty array.
const Json& array_of(const Json& object, const char* key);
// The first 8 characters of a run id.
std::string short_id(const std::string& run_id);

// The narrative of a root cause: its runs, the linked signals and why the links hold, retries, and
// the pod events not linked (report_narrative.cpp).
std::string narrative(const Cause& cause);
// The guidance of a root cause: its runs share the final category and rule, so the first
// reclassified run's; "" when none has any (report_narrative.cpp).
std::string cause_guidance(const Cause& cause);

// The platform causes of the night (report_platform.cpp): each incident of `causes` found in the
// artifact becomes a root cause, its effects linked through the overlap gate; the runs a cause claims
// move from their category's cause to it. Runs after root_causes, before the actions.
void add_platform_causes(const Json& artifact, const recorder::Zone& zone, const Config& config, const PlatformCauses& causes,
                         Report& report);
// Whether a step 07 agent error is a read timeout to *.agent.dagster.cloud (report_findings.cpp).
bool agent_read_timeout(const Json& error);
// Whether `alert` (a step 11 item) is a configured self-resolving one (report_findings.cpp).
bool self_resolving_alert(const Json& alert, const Config& config);
// Whether a platform cause replaces `finding`'s action row: the finding's kind is one it supersedes
// and the finding rests on the cause's signals or effects (or on nothing of its own).
bool superseded(const Finding& finding, const Report& report);

// Adds the timeline rows, Impact and Emerging Issues (report_sections.cpp).
void add_sections(const Json& artifact, const recorder::Zone& zone, Report& report);
// Error Reporting's groups: the in-window ones triaged by category (auto-mute candidates, preemption
// artifacts joined to their pod event's timeline row, unclassified), the stale open ones
// (report_error_groups.cpp); called by add_sections after the pod events' rows.
void add_error_groups(const Json& artifact, const recorder::Zone& zone, Report& report);
// Asset checks (ERROR checks of a failed run folded into its timeline row) and degraded assets
// (clusters verified against step 01) (report_findings_assets.cpp); called by add_sections.
void add_asset_sections(const Json& artifact, const recorder::Zone& zone, Report& report);

// The seed's reasoning rules as findings with a rule id and evidence (docs/report.md "Reasoning
// rules"): agent topology, tick UNAVAILABLE bursts, known self-resolving alerts
// (report_findings.cpp); never-started runs, top-of-hour fan-out, dbt retries
// (report_findings_runs.cpp). Runs after add_sections, before add_actions.
void add_findings(const Json& artifact, const recorder::Zone& zone, const Config& config, Report& report);
void add_run_findings(const Json& artifact, const recorder::Zone& zone, const Config& config, Report& report);

// `key` as one RFC 6901 pointer token ('~' → "~0", '/' → "~1").
using recorder::pointer_token;

// The zone's usual short name for headings: "ET" for America/New_York (EST/EDT), its one
// abbreviation when it has no daylight time ("UTC", "JST"), both when they do not pair up
// ("CET/CEST"), and its IANA name when the database has no abbreviation ("+03").
std::string zone_label(const recorder::Zone& zone, recorder::Instant at);
// An evidence kind in words: "pod_event" -> "pod event", "agent_churn" -> "agent churn".
std::string evidence_kind_name(std::string_view kind);
// The link bases of `artifact` and `config` (null: no --config).
Links make_links(const Json& artifact, const Config* config);
// Sets the URL of every timeline row, run, job and evidence that has a page.
void add_links(const Json& artifact, const Links& links, Report& report);
// The runbook's entries and the filled commands of every cause, finding and action row
// (report_next.cpp); runs after add_actions.
void add_next_steps(const Runbook& runbook, const Config& config, Report& report);
// Sets report.headline and report.counts from the actions and causes (runs after add_actions).
void add_headline(const recorder::Zone& zone, Report& report);

// Adds the Actions table by the rules documented in report_actions.cpp and docs/report.md. Reads
// `report.causes` and `report.missing`, so it runs last.
void add_actions(const Json& artifact, Report& report);

// The report of `artifact` (an object with a "window" object, already checked) in `zone`.
// `config` supplies the reasoning rules' settings (thresholds, agent pod prefix, self-resolving alerts).
// `reclassify_rules` reclassify the failed runs before they are grouped into root causes.
Report build_report(const Json& artifact, const recorder::Zone& zone, const Config& config = Config{},
                    const ReclassifyRules& reclassify_rules = default_reclassify_rules(),
                    const Runbook& runbook = default_runbook(),
                    const PlatformCauses& causes = default_platform_causes());

std::string_view action_name(Action action);
// A finding's name in metrics: its rule id, else its label as a slug ("Tick failures" -> "tick-failures").
std::string finding_kind(const Finding& finding);
// The action rules 7-10 give `finding` (report_actions.cpp); nullopt when the run rows cover it.
std::optional<Action> finding_action(const Finding& finding);
// Every kind finding_kind can return: the closed set of the metrics' finding label.
std::set<std::string> finding_kinds();
// The report as metrics (report_metrics.cpp): day2_findings{finding,action}, day2_actions{action},
// day2_root_causes{category}, day2_platform_causes{cause} (every cause of `causes`, 0 included),
// day2_report_failed_runs{category,rule}.
metrics::Registry report_metrics(const Report& report, const ReclassifyRules& reclassify,
                                 const PlatformCauses& causes);
std::string render_markdown(const Report& report);
std::string render_json(const Report& report);
// One self-contained HTML page (report_html.cpp): inline CSS, no script, no external resource; every
// section of the Markdown form plus the SVG timeline of render_timeline_svg. Artifact text is escaped.
std::string render_html(const Report& report, const recorder::Zone& zone);
// The SVG timeline (report_svg.cpp): hour ticks in `zone` over the window (widened to what is drawn),
// one bar per failed run with a time (`class="run-bar"`, coloured by category), one marker per timed
// timeline row that is not a run failure (`class="marker"`, one lane per kind, else source), a legend
// of exactly the categories and kinds drawn; each bar and marker has a <title> with its evidence.
std::string render_timeline_svg(const Report& report, const recorder::Zone& zone);
// `text` escaped for HTML text and attribute values (& < > " ').
std::string html_escape(std::string_view text);

}  // namespace analyzer::report
