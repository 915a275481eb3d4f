// `day2 report`: turns the artifact `day2 collect` wrote (day2.json) into the operators' incident
// report (Markdown, JSON or a self-contained HTML page with an SVG timeline) in the seed's structure, every time in the report zone. See docs/report.md.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

namespace analyzer {

struct ReclassifyRules;  // analyzer/reclassify.hpp
struct Runbook;          // analyzer/runbook.hpp
struct PlatformCauses;   // analyzer/report/platform_causes.hpp
struct Config;           // analyzer/config.hpp

enum class ReportFormat { markdown, json, html };

struct ReportOptions {
  std::string out_dir = ".";                 // day2-report-<YYYY-MM-DD>.md (.json, .html) is written here
  ReportFormat format = ReportFormat::markdown;
  std::optional<std::string> timezone;       // IANA name; default: the artifact's window.timezone,
                                             // else America/New_York
  std::shared_ptr<const ReclassifyRules> reclassify_rules;  // --reclassify; default: the built-in rules
  std::optional<std::string> out;           // --out: this file instead of out_dir/<name>; "-" = stdout
  std::string deployment;                   // --deployment: named in the file, day2-report-<deployment>-<date>
  std::shared_ptr<const Runbook> runbook;   // --runbook merged over the built-in one; default: built in
  std::shared_ptr<const PlatformCauses> causes;  // --causes merged over the built-in ones; default: built in
  std::optional<std::string> metrics_path;  // --metrics: the report's families merged into this textfile
  std::shared_ptr<const Config> config;  // --config: agent replicas, thresholds, self-resolving alerts; default: defaults
  // Delivery, after the report is written (docs/deploy.md, "Delivery"); a failure is exit 1 and the
  // written report stays.
  bool notify_slack = false;                 // --notify slack: the webhook URL from $slack_webhook_env
  std::string slack_webhook_env = "DAY2_SLACK_WEBHOOK_URL";
  std::optional<std::string> upload;         // --upload gs://BUCKET[/PREFIX]: the report file goes there
  std::optional<std::string> upload_bundle;  // --upload-bundle DIR: and every file under DIR, as PREFIX/<DIR name>/...
  std::optional<std::string> report_url;     // --report-url: the Slack message's link when nothing is uploaded
  std::string gcp_api_root;                  // --gcp-api-root: Cloud Storage's root (a stand-in in tests)
  std::optional<std::string> gcp_access_token_env;  // --gcp-access-token-env: a token instead of ADC
};

// Reads the artifact at `path`, writes `day2-report-<YYYY-MM-DD>.md` (`.json`, `.html`) into
// `options.out_dir` atomically and prints the written path on `out`; the date is the window's end
// (`window.utc_end`) in the report zone (the seed's rule). Returns 0 on success; 2 when the file is
// missing, truncated, not JSON or not an artifact, `window.utc_end` is not RFC 3339, or the zone is
// unknown (message on `err` naming the file);
// 1 when the report cannot be written. Never throws on bad input: fields of the wrong type render as
// "?". The output is deterministic: sorted rows, no wall-clock time.
int write_report(const std::string& path, const ReportOptions& options, std::ostream& out, std::ostream& err);

}  // namespace analyzer
