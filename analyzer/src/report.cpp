#include "analyzer/report.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <ostream>

#include "artifact_file.hpp"
#include "recorder/json.hpp"
#include "recorder/result.hpp"
#include "recorder/time.hpp"
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
  auto report = report::build_report(*document, *zone);
  bool json = options.format == ReportFormat::json;
  std::string text = json ? report::render_json(report) : report::render_markdown(report);
  std::string target = (std::filesystem::path(options.out_dir) / (json ? "report.json" : "report.md")).string();
  if (auto written = recorder::write_file_atomic(target, text); !written) {
    err << k_tool << ": error: " << written.error().message << '\n';
    return 1;
  }
  out << target << '\n';
  return 0;
}

}  // namespace analyzer
