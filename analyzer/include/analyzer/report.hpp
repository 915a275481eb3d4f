// `day2 report`: turns the artifact `day2 collect` wrote (day2.json) into the operators' incident
// report (Markdown or JSON) in the seed's structure, every time in the report zone. See docs/report.md.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

namespace analyzer {

enum class ReportFormat { markdown, json };

struct ReportOptions {
  std::string out_dir = ".";                 // report.md / report.json are written here
  ReportFormat format = ReportFormat::markdown;
  std::optional<std::string> timezone;       // IANA name; default: the artifact's window.timezone,
                                             // else America/New_York
};

// Reads the artifact at `path`, writes `report.md` (or `report.json`) into `options.out_dir`
// atomically and prints the written path on `out`. Returns 0 on success; 2 when the file is missing,
// truncated, not JSON or not an artifact, or the zone is unknown (message on `err` naming the file);
// 1 when the report cannot be written. Never throws on bad input: fields of the wrong type render as
// "?". The output is deterministic: sorted rows, no wall-clock time.
int write_report(const std::string& path, const ReportOptions& options, std::ostream& out, std::ostream& err);

}  // namespace analyzer
