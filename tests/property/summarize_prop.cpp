#include "analyzer/summarize/summarize.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <rapidjson/document.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "recorder/base/json.hpp"
#include "support/cli_outcome.hpp"
#include "support/files.hpp"

namespace analyzer {
namespace {

namespace fs = std::filesystem;
using day2test::Outcome;

// A directory for the whole test program, removed at exit; each run overwrites one file in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "day2-summarize-prop-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) { throw std::runtime_error("mkdtemp failed"); }
    m_path = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(m_path, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

const fs::path& scratch_dir() {
  static const ScratchDir dir;
  return dir.path();
}

Outcome summarize_text(const std::string& content, Details details) {
  fs::path path = scratch_dir() / "day2.json";
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return day2test::capture(
      [&](std::ostream& out, std::ostream& err) { return summarize(path.string(), details, out, err); });
}

const std::string& overnight_text() {
  static const std::string text =
      day2test::read_text(fs::path(DAY2_SOURCE_DIR) / "tests/data/artifacts/overnight.json");
  return text;
}

Details any_details() { return *rc::gen::element(Details::no, Details::yes); }

// Exit 2 speaks only on stderr, in the tool's message shape; 0 and 1 only on stdout.
void check_streams(const Outcome& result) {
  RC_ASSERT(result.code >= 0);
  RC_ASSERT(result.code <= 2);
  if (result.code == 2) {
    RC_ASSERT(result.out.empty());
    RC_ASSERT(result.err.rfind("day2 summarize: error: ", 0) == 0);
  } else {
    RC_ASSERT(result.err.empty());
    RC_ASSERT(result.out.find("Error gate: ") != std::string::npos);
  }
}

std::string json_escape(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += fmt::format("\\u{:04x}", byte);
    } else {
      out += c;
    }
  }
  return out + '"';
}

// Every field name the summary reads, so that random objects hit the real code paths.
const std::vector<std::string> k_fields = {
    "failureCount", "failures", "successCount", "canceledCount", "successRunIds", "retries", "retryStatus",
    "parentRunId", "retryRunId", "flaggedAssets", "policyCount", "loadFailures", "scheduleTickFailures",
    "agents", "agentCount", "events", "skipped", "reason", "daemons", "allHealthy", "clusterEvents",
    "podEvents", "alerts", "groups", "buckets", "inWindow", "staleOpen", "oomRuns", "runs", "stuckCount",
    "requested", "failed", "totalChecks", "failedCount", "inWindow_error", "inWindow_warn", "stale_error",
    "stale_warn", "degradedCount", "degraded", "byRun", "runId", "jobName", "location", "startTime", "endTime",
    "category", "ruleId", "runFailureMessage", "stepErrors", "stepKey", "errorClass", "errorMessage",
    "message", "timestamp", "podName", "runStatus", "groupId", "exception", "affectedServices", "service",
    "version", "exceptionLine", "correlatedPodEvent", "asset", "check", "severity", "status", "description",
    "count", "assets", "path", "ticks", "error", "utc_start", "utc_end"};

const std::vector<std::string> k_step_keys = {
    "step_01_failed_runs",  "step_02_retries",       "step_03_sensor_ticks",   "step_04_freshness",
    "step_05_load_failures", "step_06_schedule_ticks", "step_07_agents",        "step_08_agent_pod_churn",
    "step_09_daemons",      "step_10_gke_events",    "step_11_alerts",         "step_12_error_groups",
    "step_13_oom_metrics",  "step_14_queued_runs",   "step_15_backfills",      "step_16_asset_checks",
    "step_17_degraded_assets", "step_99_unknown",    "not_a_step"};

// Any JSON value; when it is an object, `has_error` tells whether it has an "error" member.
std::string random_json(int depth, bool* has_error = nullptr);

// An object of random members; `has_error` tells whether one of them is named "error".
std::string random_object(int depth, bool* has_error = nullptr) {
  auto size = *rc::gen::inRange(0, 5);
  std::string text = "{";
  for (int i = 0; i < size; ++i) {
    std::string key = *rc::gen::oneOf(rc::gen::elementOf(k_fields), rc::gen::arbitrary<std::string>());
    if (has_error != nullptr && key == "error") { *has_error = true; }
    text += (i == 0 ? "" : ",") + json_escape(key) + ":" + random_json(depth - 1);
  }
  return text + "}";
}

std::string random_json(int depth, bool* has_error) {
  int kind = *rc::gen::inRange(0, depth > 0 ? 7 : 5);
  switch (kind) {
    case 0: return "null";
    case 1: return *rc::gen::element<std::string>("true", "false");
    case 2:
      return *rc::gen::element<std::string>("0", "1", "-1", "1.5", "1e300", "-1e300", "1774843200.25",
                                            "9007199254740993", "18446744073709551615", "-9223372036854775808",
                                            "1e-300", "253402300800");
    case 3: return json_escape(*rc::gen::arbitrary<std::string>());
    case 4: return json_escape(*rc::gen::element<std::string>("SUCCESS", "FAILURE", "2026-03-30T04:00:00Z", ""));
    case 5: {
      auto size = *rc::gen::inRange(0, 4);
      std::string text = "[";
      for (int i = 0; i < size; ++i) { text += (i == 0 ? "" : ",") + random_json(depth - 1); }
      return text + "]";
    }
    default: return random_object(depth, has_error);
  }
}

RC_GTEST_PROP(SummarizeProperty, ArbitraryBytesGiveZeroOneOrTwo, (const std::string& bytes)) {
  check_streams(summarize_text(bytes, any_details()));
}

// Random values in every step: exit 1 exactly when some step_NN_* object has an "error" member.
RC_GTEST_PROP(SummarizeProperty, RandomArtifactsGateOnErrorMembersOnly, ()) {
  std::string text = "{\"window\":" + random_object(2);
  std::map<std::string, bool> errored;  // a repeated key keeps its last value, as JSON readers do
  auto steps = *rc::gen::inRange(0, 8);
  for (int i = 0; i < steps; ++i) {
    std::string key = *rc::gen::elementOf(k_step_keys);
    bool has_error = false;
    std::string value;
    switch (*rc::gen::inRange(0, 4)) {
      case 0: value = random_object(4, &has_error); break;
      case 1: value = random_json(3, &has_error); break;
      case 2: value = "{\"error\":" + random_json(1) + "}", has_error = true; break;
      default: value = "{\"skipped\":true,\"reason\":" + random_json(1) + "}"; break;
    }
    text += "," + json_escape(key) + ":" + value;
    errored[key] = key.rfind("step_", 0) == 0 && has_error;
  }
  text += "}";
  bool expect_error = std::any_of(errored.begin(), errored.end(), [](const auto& step) { return step.second; });
  auto result = summarize_text(text, any_details());
  RC_TAG(result.code);
  check_streams(result);
  RC_ASSERT(result.code == (expect_error ? 1 : 0));
}

// Cutting or corrupting a real artifact anywhere never crashes and gives 0, 1 or 2.
RC_GTEST_PROP(SummarizeProperty, DamagedRealArtifactGivesZeroOneOrTwo, ()) {
  const std::string& original = overnight_text();
  RC_PRE(!original.empty());
  std::string text = original.substr(0, *rc::gen::inRange<std::size_t>(0, original.size() + 1));
  auto flips = *rc::gen::inRange(0, 4);
  for (int i = 0; i < flips && !text.empty(); ++i) {
    text[*rc::gen::inRange<std::size_t>(0, text.size())] = *rc::gen::arbitrary<char>();
  }
  auto result = summarize_text(text, any_details());
  RC_TAG(result.code);
  check_streams(result);
}

// The expected exit status of a parsed artifact: 2 unless it is an object with a "window" object,
// then 1 exactly when some step_NN_* object holds "error".
int expected_code(const rapidjson::Value& artifact) {
  if (!artifact.IsObject()) { return 2; }
  auto window = artifact.FindMember("window");
  if (window == artifact.MemberEnd() || !window->value.IsObject()) { return 2; }
  std::map<std::string, bool> errored;
  for (const auto& member : artifact.GetObject()) {
    std::string key(member.name.GetString(), member.name.GetStringLength());
    bool is_step = key.size() > 8 && key.rfind("step_", 0) == 0 && std::isdigit(static_cast<unsigned char>(key[5])) &&
                   std::isdigit(static_cast<unsigned char>(key[6])) && key[7] == '_';
    if (is_step) { errored[key] = member.value.IsObject() && member.value.HasMember("error"); }
  }
  return std::any_of(errored.begin(), errored.end(), [](const auto& step) { return step.second; }) ? 1 : 0;
}

// One value anywhere in a real artifact replaced by any JSON value: the summary reads the rest,
// never crashes, and the gate still depends only on "error" members.
RC_GTEST_PROP(SummarizeProperty, RealArtifactWithOneValueReplacedIsSummarized, ()) {
  rapidjson::Document artifact;
  artifact.Parse(overnight_text().c_str());
  RC_PRE(!artifact.HasParseError());
  rapidjson::Value* node = &artifact;
  auto levels = *rc::gen::inRange(1, 8);
  for (int i = 0; i < levels; ++i) {
    if (node->IsObject() && node->MemberCount() > 0) {
      node = &(node->MemberBegin() + *rc::gen::inRange<int>(0, static_cast<int>(node->MemberCount())))->value;
    } else if (node->IsArray() && !node->Empty()) {
      node = &node->Begin()[*rc::gen::inRange<int>(0, static_cast<int>(node->Size()))];
    }
  }
  rapidjson::Document replacement;
  std::string replacement_text = random_json(3);
  replacement.Parse(replacement_text.c_str(), replacement_text.size());
  RC_ASSERT(!replacement.HasParseError());
  node->CopyFrom(replacement, artifact.GetAllocator());
  auto result = summarize_text(recorder::write_json(artifact), any_details());
  RC_TAG(result.code);
  check_streams(result);
  RC_ASSERT(result.code == expected_code(artifact));
}

}  // namespace
}  // namespace analyzer
