// `day2 summarize`: reads the artifact `day2 collect` wrote (day2.json) and prints per-step counts,
// an optional detail dump and the error gate that tells operators which signals are missing.
#pragma once

#include <iosfwd>
#include <string>

namespace analyzer {

enum class Details { no, yes };
enum class SummaryFormat { text, json };

struct SummarizeOptions {
  Details details = Details::no;
  SummaryFormat format = SummaryFormat::text;
  std::string timezone;  // --tz: times in this IANA zone ("" = UTC, RFC 3339)
};

// Reads the artifact at `path` and prints per-step counts and the error gate to `out`.
// Returns 0 when no step_NN_* key holds "error", 1 when any does (listing each with its message),
// 2 when the file is missing, truncated, not JSON, or not an artifact (message to `err` naming the file
// and, for JSON errors, line:column). Never throws on bad input: a step or field of the wrong type is
// reported as "malformed" or printed as "?". Details::yes adds the failure / retry / pod event /
// error-group / asset-check / degraded-asset dump. Reads one file; output is deterministic.
int summarize(const std::string& path, Details details, std::ostream& out, std::ostream& err);
// The same with a format and a zone. SummaryFormat::json prints one JSON object (sorted keys): the
// window, each step (key, state, headline, note, itemErrors), the run counts of step 01 as numbers
// and the gate (pass, the steps with errors, the unreadable items); the exit code is the same. An
// unknown --tz is exit 2.
int summarize(const std::string& path, const SummarizeOptions& options, std::ostream& out, std::ostream& err);

}  // namespace analyzer
