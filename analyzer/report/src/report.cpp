#include "analyzer/report/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <ostream>

#include "analyzer/clients/delivery.hpp"
#include "analyzer/clients/gcp_auth.hpp"
#include "analyzer/report/night_metrics.hpp"
#include "analyzer/classify/reclassify.hpp"
#include "analyzer/report/runbook.hpp"
#include "analyzer/artifact/artifact_file.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/secrets.hpp"
#include "recorder/transport.hpp"
#include "recorder/base/result.hpp"
#include "recorder/base/time.hpp"
#include "report_model.hpp"

namespace analyzer {

namespace {

using summary::Json;

constexpr std::string_view k_tool = "day2 report";
constexpr const char* k_default_zone = "America/New_York";
// --tz, else the artifact's window.timezone, else America/New_York.
recorder::Result<recorder::Zone> report_zone(const Json& artifact, const ReportOptions& options,
                                             const std::string& path) {
  if (options.timezone) {
    auto zone = recorder::Zone::find(*options.timezone);
    if (!zone) { return recorder::make_error("--tz: " + zone.error().message); }
    return zone;
  }
  auto name = recorder::get_string(*summary::member(artifact, "window"), "timezone");
  if (!name || name->empty()) { return recorder::Zone::find(k_default_zone); }
  auto zone = recorder::Zone::find(*name);
  if (!zone) { return recorder::make_error(path + ": window.timezone: " + zone.error().message); }
  return zone;
}

// The report's file name: day2-report-<the window's end date in `zone`>.<extension of `format`>.
recorder::Result<std::string> report_name(const Json& artifact, const recorder::Zone& zone, ReportFormat format,
                                          const std::string& path, const std::string& deployment) {
  auto end = recorder::get_string(*summary::member(artifact, "window"), "utc_end");
  if (!end) { return recorder::make_error(path + ": window.utc_end: missing; the report is named after the window's end"); }
  auto instant = recorder::parse_rfc3339(*end);
  if (!instant) { return recorder::make_error(path + ": window.utc_end: " + instant.error().message); }
  auto date = zone.local_date(*instant);
  std::string_view extension = format == ReportFormat::json ? "json" : format == ReportFormat::html ? "html" : "md";
  return fmt::format("day2-report-{}{:04}-{:02}-{:02}.{}", deployment.empty() ? "" : deployment + "-", date.year, date.month,
                     date.day, extension);
}

std::string render(const report::Report& report, const recorder::Zone& zone, ReportFormat format) {
  switch (format) {
    case ReportFormat::json: return report::render_json(report);
    case ReportFormat::html: return report::render_html(report, zone);
    case ReportFormat::markdown: break;
  }
  return report::render_markdown(report);
}

// `dir`, created with its parents when missing. A path that exists and is not a directory is a usage
// error (exit 2); a directory that cannot be created, an error the user can fix (exit 1).
int prepare_out_dir(const std::string& dir, std::ostream& err) {
  std::error_code ec;
  auto status = std::filesystem::status(dir, ec);
  if (std::filesystem::exists(status)) {
    if (std::filesystem::is_directory(status)) { return 0; }
    err << k_tool << ": error: --out-dir: " << dir << ": exists and is not a directory\n";
    return 2;
  }
  if (std::filesystem::create_directories(dir, ec); ec) {
    err << k_tool << ": error: --out-dir: " << dir << ": cannot create the directory: " << ec.message() << '\n';
    return 1;
  }
  return 0;
}

// --metrics: the report's families merged into the textfile; 1 when it cannot be written.
int metrics_only(const report::Report& report, const ReportOptions& options, std::ostream& out, std::ostream& err) {
  if (!options.metrics_path) { return 0; }
  const auto& rules = options.reclassify_rules ? *options.reclassify_rules : default_reclassify_rules();
  auto existing = recorder::read_file(*options.metrics_path, std::size_t{4} << 20);  // none yet: a new file
  const auto& causes = options.causes ? *options.causes : default_platform_causes();
  auto merged = metrics::merge_text(existing ? *existing : std::string(), report::report_metrics(report, rules, causes));
  if (auto written = recorder::write_file_atomic(*options.metrics_path, merged); !written) {
    err << k_tool << ": error: --metrics: " << written.error().message << '\n';
    return 1;
  }
  if (!options.out || *options.out != "-") { out << *options.metrics_path << '\n'; }  // stdout holds the report
  return 0;
}

// Uploads the written report (and --upload-bundle's files) to --upload; returns the report's
// browser URL. Stops at the first failure.
recorder::Result<std::string> upload_report(const ReportOptions& options, const std::string& target, const std::string& text) {
  auto location = parse_gcs_location(*options.upload);
  if (!location) { return recorder::make_error("--upload: " + location.error().message); }
  GcpAuthOptions auth;
  if (options.gcp_access_token_env) { auth.access_token_env = *options.gcp_access_token_env; }
  auto transport = make_gcp_auth_transport(std::shared_ptr<recorder::Transport>(recorder::make_http_transport()), auth);
  if (!transport) { return recorder::make_error("--upload: Google Cloud credentials: " + transport.error().message); }
  std::string name = std::filesystem::path(target).filename().string();
  std::string object = gcs_object_name(*location, name);
  if (auto sent = upload_object(**transport, options.gcp_api_root, *location, object, content_type_of(name), text); !sent) {
    return sent.error();
  }
  if (options.upload_bundle) {
    std::filesystem::path dir(*options.upload_bundle);
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file()) { files.push_back(it->path()); }
    }
    if (ec) { return recorder::make_error(fmt::format("--upload-bundle: {}: {}", dir.string(), ec.message())); }
    std::sort(files.begin(), files.end());
    std::string base = std::filesystem::absolute(dir).lexically_normal().filename().string();
    if (base.empty()) { base = std::filesystem::absolute(dir).lexically_normal().parent_path().filename().string(); }
    for (const auto& file : files) {
      auto body = recorder::read_file(file.string(), std::size_t{1} << 30);
      if (!body) { return recorder::make_error("--upload-bundle: " + body.error().message); }
      std::string relative = std::filesystem::relative(file, dir).generic_string();
      auto sent = upload_object(**transport, options.gcp_api_root, *location, gcs_object_name(*location, base + "/" + relative),
                                content_type_of(relative), *body);
      if (!sent) { return sent.error(); }
    }
  }
  return gcs_browser_url(*location, object);
}

// --notify and --upload, after the report is written: 1 when a delivery failed (said on `err`).
int deliver(const report::Report& report, const ReportOptions& options, const std::string& title,
            const std::string& target, const std::string& text, std::ostream& out, std::ostream& err) {
  std::string link = options.report_url.value_or("");
  int code = 0;
  if (options.upload) {
    auto uploaded = upload_report(options, target, text);
    if (!uploaded) {
      err << k_tool << ": error: " << uploaded.error().message << " (the report is written: " << target << ")\n";
      code = 1;
    } else {
      link = *uploaded;
      out << *uploaded << '\n';
    }
  }
  if (options.notify_slack) {
    const char* url = std::getenv(options.slack_webhook_env.c_str());
    if (url == nullptr || *url == '\0') {
      err << k_tool << ": error: --notify slack: $" << options.slack_webhook_env << " is not set (the Slack incoming webhook URL)\n";
      return 1;
    }
    recorder::hold_secret(url);  // the webhook URL is a credential: never printed
    SlackReport message{title, report.headline, report.counts, {}, link};
    for (const auto& row : report.actions) { message.actions.push_back({std::string(report::action_name(row.action)), row.item, row.next}); }
    auto http = recorder::make_http_transport();
    if (auto posted = post_slack(*http, url, slack_message(message)); !posted) {
      err << k_tool << ": error: --notify slack: " << posted.error().message << " (the report is written: " << target << ")\n";
      code = 1;
    }
  }
  return code;
}

}  // namespace

int write_report(const std::string& path, const ReportOptions& options, std::ostream& out, std::ostream& err) {
  auto document = read_artifact_file(path);
  if (!document) {
    err << k_tool << ": error: " << document.error().message << '\n';
    return 2;
  }
  auto zone = report_zone(*document, options, path);
  if (!zone) {
    err << k_tool << ": error: " << zone.error().message << '\n';
    return 2;
  }
  auto report = report::build_report(*document, *zone, options.config ? *options.config : Config{},
                                     options.reclassify_rules ? *options.reclassify_rules : default_reclassify_rules(),
                                     options.runbook ? *options.runbook : default_runbook(),
                                     options.causes ? *options.causes : default_platform_causes());
  auto name = report_name(*document, *zone, options.format, path, options.deployment);
  if (!name) {
    err << k_tool << ": error: " << name.error().message << '\n';
    return 2;
  }
  std::string text = render(report, *zone, options.format);
  if (options.out && *options.out == "-") {
    out << text;  // stdout: a pipe or a terminal; no file is written
    return metrics_only(report, options, out, err);
  }
  std::string target = options.out ? *options.out : (std::filesystem::path(options.out_dir) / *name).string();
  if (!options.out) {
    if (int code = prepare_out_dir(options.out_dir, err); code != 0) { return code; }
  }
  if (auto written = recorder::write_file_atomic(target, text); !written) {
    err << k_tool << ": error: " << written.error().message << '\n';
    return 1;
  }
  out << target << '\n';
  int code = metrics_only(report, options, out, err);
  std::string date = name->substr(name->rfind('.') - 10, 10);  // day2-report-[<deployment>-]<YYYY-MM-DD>.<ext>
  std::string title = fmt::format("day2{} \u00b7 {}", options.deployment.empty() ? "" : " \u00b7 " + options.deployment, date);
  int delivered = deliver(report, options, title, target, text, out, err);
  return code != 0 ? code : delivered;
}

}  // namespace analyzer
