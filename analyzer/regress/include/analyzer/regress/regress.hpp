// `day2 regress`: the regression suite of the classification rules. Every scenario (a directory with
// its own `bundle/`, or a `scenario.json` naming another bundle and a `--shift`; its expectations in
// `expected.json`; optionally `config.json`) is replayed in process (`collect --replay`), reported
// (`report --format json`), and its classifications and findings are compared with the expectations.
// See docs/scenarios.md.
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "recorder/base/result.hpp"

namespace analyzer::regress {

// What a scenario's replay concluded: each failed run's final category and rule, and the rule ids of
// the report's findings.
struct RunOutcome {
  std::string job;
  std::string category;
  std::string rule;  // "-" when none
  bool operator==(const RunOutcome&) const = default;
};

// What one investigation command (`day2 steps RUN_ID --json`, `day2 compare RUN_A RUN_B --json`)
// printed in a scenario's replay: its JSON output and every string of it with its JSON pointer, or
// the error it ended with.
struct InvestigationOutput {
  std::string error;  // "" when it exited 0
  std::string json;
  std::vector<std::pair<std::string, std::string>> texts;
};

struct Outcome {
  std::map<std::string, RunOutcome> runs;  // by run id
  std::set<std::string> findings;          // rule ids of findings (Impact, Emerging Issues)
  std::set<std::string> causes;            // rule ids of platform causes (Root Causes)
  // Where each failed run sits: the indexes of the root causes that list it (one, in a sound report)
  // and the actions of the Actions rows that name it (one).
  std::map<std::string, std::vector<std::size_t>> causes_of_run;
  std::map<std::string, std::vector<std::string>> actions_of_run;
  // Every string of the JSON report, with its JSON pointer ("/impact/0/items/1"), for "report".
  std::vector<std::pair<std::string, std::string>> texts;
  // The investigations expected.json makes claims about, by command ("compare A B").
  std::map<std::string, InvestigationOutput> investigations;
};

// A claim of expected.json's "investigations": `command` is {"steps", RUN_ID} or {"compare", RUN_A,
// RUN_B}; its --json output holds each of `values` (JSON pointer -> the value, as canonical JSON
// text), each text of `mentions` in some string and no text of `omits` in any.
struct InvestigationClaim {
  std::vector<std::string> command;
  std::map<std::string, std::string> values;
  std::set<std::string> mentions;
  std::set<std::string> omits;
};

// `expected.json`: {"runs": {"<runId>": {"job", "category", "rule"}}, "findings": {"present": [...],
// "absent": [...]}}. `absent` lists findings that must not appear. Optional: "actions": {"<runId>":
// "Escalate" | "Investigate" | "Monitor" | "No action"} (the one action the report gives the run) and
// "together": [["<runId>", ...], ...] (each list's runs sit under one and the same root cause).
// "review": set while the expectation was written from day2's own outcome (`day2 scenario add`) and
// no one has confirmed it yet; regress passes such a scenario and says it needs review. A person
// deletes the key once each run's category and each finding are checked.
struct Expectation {
  std::map<std::string, RunOutcome> runs;
  std::set<std::string> present;
  std::set<std::string> absent;
  std::set<std::string> causes_present;  // "causes": {"present": [...], "absent": [...]}: platform causes
  std::set<std::string> causes_absent;
  std::map<std::string, std::string> actions;
  std::vector<std::vector<std::string>> together;
  // "report": {"mentions": [...], "omits": [...]}: text some string of the report must contain / no
  // string may contain (a wording claim the rules exist for: "evidence missing", not "0 found").
  std::set<std::string> mentions;
  std::set<std::string> omits;
  // "investigations": [{"command": [...], "values": {...}, "mentions": [...], "omits": [...]}].
  std::vector<InvestigationClaim> investigations;
  std::string review;
};

// The rules a replay is classified with; empty: the built-in ones.
struct RuleFiles {
  std::string rules;       // collect's classification rules (--rules)
  std::string reclassify;  // the report's reclassification rules (--reclassify)
};

// Scenario directories under `roots` (each root is a scenario itself or is searched recursively),
// sorted by path, without duplicates. An Error names a root that does not exist.
recorder::Result<std::vector<std::string>> find_scenarios(const std::vector<std::string>& roots);

// Replays `scenario` in process with `rules`, and the `investigations` (commands of claims) against the
// same bundle; `work` is a scratch directory. An Error names the scenario and says what failed (a
// replay miss, a collect or report error); an investigation's failure is its output's `error`.
recorder::Result<Outcome> replay(const std::string& scenario, const RuleFiles& rules, const std::string& work,
                                 const std::vector<InvestigationClaim>& investigations = {});

// Reads `<scenario>/expected.json`; an Error names the file and the problem.
recorder::Result<Expectation> read_expectation(const std::string& scenario);

// Writes `<scenario>/expected.json` from `outcome`, keeping the `absent` findings of `previous` that
// are still absent, its actions and groups of runs and wording claims that still hold, and its
// `review` note (atomically; sorted keys).
recorder::Result<void> write_expectation(const std::string& scenario, const Outcome& outcome,
                                         const std::optional<Expectation>& previous);

// The differences between an expectation and an outcome, one line each, sorted; empty: it passes.
// Whatever the expectation, a run under two root causes or named by two actions is a difference.
std::vector<std::string> compare(const Expectation& expected, const Outcome& actual);

// The runs whose category or rule differs between two outcomes of the same scenario, one line each.
std::vector<std::string> category_changes(const Outcome& baseline, const Outcome& candidate);

// "I/N" (1 <= I <= N): the scenarios of shard I of N (every N-th, starting at the I-th).
recorder::Result<std::pair<int, int>> parse_shard(const std::string& text);

}  // namespace analyzer::regress

namespace analyzer {
// The `day2 regress` command (regress_cli.cpp).
int run_regress(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The `day2 scenario` command: `day2 scenario add NIGHT_DIR SCENARIO_DIR`.
int run_scenario(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
}  // namespace analyzer
