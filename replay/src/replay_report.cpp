// The replay report (replay/matcher.hpp, Matcher::report) as text for a person and as JSON for a file.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "recorder/base/json.hpp"
#include "replay/matcher.hpp"

namespace replay {

using recorder::Bundle;

std::string format_replay_report(const ReplayReport& report, const Bundle& bundle) {
  auto plural = [](std::size_t n, std::string_view one, std::string_view many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
  };
  std::string out = fmt::format("replay: {} served, {}, {}, {}\n", report.served,
                                plural(static_cast<std::size_t>(report.miss_count), "miss", "misses"),
                                plural(report.unused.size(), "unused", "unused"),
                                plural(report.warnings.size(), "warning", "warnings"));
  for (const auto& miss : report.misses) out += "  miss: " + miss + "\n";
  if (static_cast<std::size_t>(report.miss_count) > report.misses.size()) {
    out += fmt::format("  ... and {} more misses\n", static_cast<std::size_t>(report.miss_count) - report.misses.size());
  }
  for (const auto& warning : report.warnings) out += "  warning: " + warning + "\n";
  for (int seq : report.unused) {
    std::string key = "?";
    if (seq >= 1 && static_cast<std::size_t>(seq) <= bundle.exchanges.size()) {
      const auto& x = bundle.exchanges[static_cast<std::size_t>(seq) - 1];
      key = match_key(x.service, x.method, x.path, x.query, x.request_body);
    }
    out += fmt::format("  unused: seq {}: {}\n", seq, key);
  }
  return out;
}

std::string replay_report_json(const ReplayReport& report) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  auto strings = [&](const std::vector<std::string>& items) {
    rapidjson::Value array(rapidjson::kArrayType);
    for (const auto& item : items) array.PushBack(recorder::json_string(item, a), a);
    return array;
  };
  rapidjson::Value unused(rapidjson::kArrayType);
  for (int seq : report.unused) unused.PushBack(seq, a);
  doc.AddMember("served", report.served, a);
  doc.AddMember("misses", strings(report.misses), a);
  doc.AddMember("missCount", report.miss_count, a);
  doc.AddMember("warnings", strings(report.warnings), a);
  doc.AddMember("unused", unused, a);
  return recorder::write_json(doc, recorder::Pretty::yes);
}

}  // namespace replay
