// Properties of one report of a generated world (world_prop.hpp), used by world_classify_prop.cpp:
// every failed run gets exactly one category; the timeline is in time order and every time the
// report prints in its zone converts back to the instant it came from (DST nights included); every
// signal cited as evidence for a run's classification passes the overlap gate with the run. And
// the overlap gate itself: symmetric, and max(startA, startB) < min(endA, endB).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidjson/pointer.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "analyzer/artifact/overlap.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/time.hpp"
#include "support/rc_check.hpp"
#include "world_prop.hpp"

namespace day2test::world {
namespace {

const rapidjson::Value& at(const rapidjson::Value& root, const std::string& pointer) {
  const rapidjson::Value* value = rapidjson::Pointer(pointer.c_str()).Get(root);
  if (value == nullptr) RC_FAIL("the report cites " + pointer + ", which is not in the artifact");
  return *value;
}

std::optional<double> epoch(const rapidjson::Value& item, const char* key) {
  auto it = item.FindMember(key);
  if (it == item.MemberEnd()) return std::nullopt;
  if (it->value.IsNumber()) return it->value.GetDouble();
  if (!it->value.IsString()) return std::nullopt;
  auto t = recorder::parse_rfc3339(it->value.GetString());
  return t ? std::optional(recorder::to_epoch_seconds(*t)) : std::nullopt;
}

// The instant a timeline row of `kind` stands for, read from the artifact item it points at
// (docs/report.md, "Timeline").
double source_epoch(const rapidjson::Value& artifact, const std::string& kind, const std::string& pointer) {
  static const std::map<std::string, std::vector<const char*>> k_fields = {
      {"run", {"endTime"}},           {"tick", {"timestamp"}},          {"schedule_tick", {"timestamp"}},
      {"load_failure", {"updatedTimestamp"}}, {"agent_error", {"timestamp"}}, {"daemon", {"lastHeartbeatTime"}},
      {"pod_event", {"timestamp"}},   {"cluster_event", {"timestamp"}}, {"alert", {"openTime"}},
      {"queued_run", {"since"}},      {"backfill", {"endTimestamp", "timestamp"}}, {"asset_check", {"timestamp"}},
      {"error_group", {"lastSeenTime"}}};
  auto fields = k_fields.find(kind);
  if (fields == k_fields.end()) RC_FAIL("a timeline row of an unknown kind: " + kind);
  const auto& item = at(artifact, pointer);
  for (const char* field : fields->second) {
    if (auto t = epoch(item, field)) return *t;
  }
  RC_FAIL(fmt::format("timeline row {} ({}): its artifact item has no time", pointer, kind));
}

// The instant `text` ("2026-03-08 01:59:59 EST", the report's form) names in `zone`: the one whose
// rendering is `text` again, which settles the hour a fall-back night repeats; nullopt when none is.
std::optional<recorder::Instant> parse_back(const std::string& text, const recorder::Zone& zone) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  int fields = std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s);
  if (fields < 5) return std::nullopt;
  const char* format = fields == 6 ? "%F %T %Z" : "%F %H:%M %Z";  // the window is printed to the minute
  auto local = zone.at_local({y, static_cast<unsigned>(mo), static_cast<unsigned>(d)}, h, mi) + std::chrono::seconds(s);
  for (int minutes : {0, -60, 60, -30, 30, -120, 120}) {
    auto candidate = local + std::chrono::minutes(minutes);
    if (zone.format(candidate, format) == text) return candidate;
  }
  return std::nullopt;
}

void assert_converts_back(const std::string& text, double source, const recorder::Zone& zone, const std::string& what) {
  auto back = parse_back(text, zone);
  auto instant = recorder::from_epoch_seconds(source);
  recorder::Instant expected = std::count(text.begin(), text.end(), ':') == 2
                                   ? recorder::Instant(std::chrono::floor<std::chrono::seconds>(instant))
                                   : recorder::Instant(std::chrono::floor<std::chrono::minutes>(instant));
  if (!back || *back != expected) {
    RC_FAIL(fmt::format("{}: \"{}\" in {} does not convert back to {} ({})", what, text, zone.name(),
                        recorder::format_rfc3339_utc(recorder::from_epoch_seconds(source)),
                        back ? recorder::format_rfc3339_utc(*back) : std::string("no instant")));
  }
}

TEST(WorldProperties, OverlapGateIsSymmetricAndTheSeedsFormula) {
  check("overlap gate", [] {
    // Small integers make ties (equal ends, empty and inverted extents) frequent.
    auto coordinate = [] { return static_cast<double>(*rc::gen::inRange(-5, 6)) * *rc::gen::element(1.0, 0.5, 60.0); };
    analyzer::Extent a{coordinate(), coordinate()}, b{coordinate(), coordinate()};
    RC_ASSERT(analyzer::overlaps(a, b) == analyzer::overlaps(b, a));
    RC_ASSERT(analyzer::overlaps(a, b) == (std::max(a.start, b.start) < std::min(a.end, b.end)));
    auto t = coordinate();
    auto instant = analyzer::instant_extent(t);
    RC_ASSERT(instant.start == t - analyzer::k_instant_half_width && instant.end == t + analyzer::k_instant_half_width);
  });
}

}  // namespace

std::map<std::string, Truth> classifications(const rapidjson::Value& report) {
  std::map<std::string, Truth> out;
  const auto* causes = recorder::get_array(report, "rootCauses");
  RC_ASSERT(causes != nullptr);
  for (const auto& cause : causes->GetArray()) {
    auto category = recorder::get_string(cause, "category");
    auto rule = recorder::get_string(cause, "ruleId");
    const auto* runs = recorder::get_array(cause, "runs");
    RC_ASSERT(category.has_value() && runs != nullptr);
    for (const auto& run : runs->GetArray()) {  // each run's own category (a platform cause's runs keep theirs)
      auto id = recorder::get_string(run, "runId");
      RC_ASSERT(id.has_value());
      auto own = recorder::get_string(run, "category");
      auto own_rule = recorder::get_string(run, "ruleId");
      out[*id] = Truth{own.value_or(*category), own_rule ? (own_rule->empty() ? "-" : *own_rule) : rule && !rule->empty() ? *rule : "-"};
    }
  }
  return out;
}

std::map<std::string, int> run_mentions(const rapidjson::Value& report) {
  std::map<std::string, int> out;
  const auto* causes = recorder::get_array(report, "rootCauses");
  RC_ASSERT(causes != nullptr);
  for (const auto& cause : causes->GetArray()) {
    const auto* runs = recorder::get_array(cause, "runs");
    if (runs == nullptr) continue;
    for (const auto& run : runs->GetArray()) ++out[recorder::get_string(run, "runId").value_or("?")];
  }
  return out;
}

void assert_one_category_each(const RoundTrip& trip) {
  const auto* step = recorder::get_object(trip.artifact, "step_01_failed_runs");
  const auto* failures = step ? recorder::get_array(*step, "failures") : nullptr;
  RC_ASSERT(failures != nullptr);
  std::set<std::string> failed;
  for (const auto& f : failures->GetArray()) failed.insert(recorder::get_string(f, "runId").value_or("?"));
  auto mentions = run_mentions(trip.report);
  for (const auto& id : failed) {
    if (mentions[id] != 1) RC_FAIL(fmt::format("run {} is listed under {} root causes", id, mentions[id]));
  }
  for (const auto& [id, n] : mentions) {
    if (!failed.contains(id)) RC_FAIL(fmt::format("root causes list {}, not a failed run of step 01", id));
  }
  for (const auto& [id, truth] : classifications(trip.report)) {
    if (truth.category.empty()) RC_FAIL("run " + id + " has an empty category");
  }
}

void assert_timeline(const RoundTrip& trip, const rapidjson::Value& report, const std::string& zone_name) {
  auto zone = recorder::Zone::find(zone_name);
  RC_ASSERT(zone.ok());
  const auto& timeline = report["timeline"];
  RC_ASSERT(timeline.IsArray());
  std::optional<double> previous;
  bool untimed = false;
  for (const auto& row : timeline.GetArray()) {
    std::string time = row["time"].GetString(), kind = row["kind"].GetString(), pointer = row["pointer"].GetString();
    if (time == "-") {
      untimed = true;
      continue;
    }
    if (untimed) RC_FAIL("a timed row follows a row without a time: " + pointer);
    double source = source_epoch(trip.artifact, kind, pointer);
    if (previous && source < *previous) RC_FAIL(fmt::format("timeline out of order at {} ({})", pointer, time));
    previous = source;
    assert_converts_back(time, source, *zone, "timeline " + pointer);
  }
  const auto& window = trip.artifact["window"];
  assert_converts_back(report["window"]["start"].GetString(), *epoch(window, "utc_start"), *zone, "window start");
  assert_converts_back(report["window"]["end"].GetString(), *epoch(window, "utc_end"), *zone, "window end");
  for (const auto& cause : report["rootCauses"].GetArray()) {
    for (const auto& run : cause["runs"].GetArray()) {
      const auto& failure = at(trip.artifact, run["evidence"][0]["pointer"].GetString());
      assert_converts_back(run["ended"].GetString(), *epoch(failure, "endTime"), *zone, "run ended");
    }
  }
}

void assert_cited_signals_overlap(const RoundTrip& trip) {
  for (const auto& cause : trip.report["rootCauses"].GetArray()) {
    for (const auto& run : cause["runs"].GetArray()) {
      const auto& evidence = run["evidence"];
      RC_ASSERT(evidence.IsArray() && evidence.Size() >= 1);
      RC_ASSERT(std::string(evidence[0]["kind"].GetString()) == "run");
      const auto& failure = at(trip.artifact, evidence[0]["pointer"].GetString());
      auto message = recorder::get_string(failure, "runFailureMessage").value_or("");
      auto extent = analyzer::run_extent(epoch(failure, "startTime"), epoch(failure, "endTime"),
                                         analyzer::never_started_timeout(message));
      RC_ASSERT(extent.has_value());
      for (const auto& item : evidence.GetArray()) {
        std::string kind = item["kind"].GetString(), pointer = item["pointer"].GetString();
        if (kind != "pod_event" && kind != "agent_error") continue;
        auto t = epoch(at(trip.artifact, pointer), "timestamp");
        RC_ASSERT(t.has_value());
        auto other = kind == "pod_event" ? analyzer::pod_event_extent(*t, extent) : analyzer::instant_extent(*t);
        if (!analyzer::overlaps(*extent, other)) {
          RC_FAIL(fmt::format("run {} cites {} at {}, outside its extent [{}, {})", run["runId"].GetString(), pointer,
                              *t, extent->start, extent->end));
        }
      }
    }
  }
}

std::set<std::string> platform_truth(const World& world) {
  std::set<std::string> out;
  if (world.broken_location) out.insert("location-load-failure");
  if (world.unhealthy_daemon) out.insert("daemon-unhealthy");
  for (const auto& e : world.agent_errors) {
    if (e.message.find("agent.dagster.cloud") != std::string::npos && e.class_name.find("ReadTimeout") != std::string::npos) {
      out.insert("agent-control-plane-timeout");
    }
  }
  if (!world.gcp) return out;
  for (const auto& e : world.infra) {
    out.insert(e.pod == InfraPod::agent ? "infra-pod-agent" : e.pod == InfraPod::secrets ? "infra-pod-secrets" : "infra-pod-code-server");
  }
  return out;
}

namespace {

// The extent an effect's evidence stands for: a run's lifetime, a tick burst's first to last tick
// (±60 s), a stuck queued run from `since` to the end of the window.
analyzer::Extent effect_extent(const RoundTrip& trip, const rapidjson::Value& effect) {
  const auto& evidence = effect["evidence"];
  RC_ASSERT(evidence.IsArray() && evidence.Size() >= 1);
  std::string kind = effect["kind"].GetString();
  const auto& first = at(trip.artifact, evidence[0]["pointer"].GetString());
  if (kind == "runFailure") {
    auto message = recorder::get_string(first, "runFailureMessage").value_or("");
    auto extent = analyzer::run_extent(epoch(first, "startTime"), epoch(first, "endTime"), analyzer::never_started_timeout(message));
    RC_ASSERT(extent.has_value());
    return *extent;
  }
  if (kind == "queuedRun") return {*epoch(first, "since"), *epoch(trip.artifact["window"], "utc_end")};
  const auto& last = at(trip.artifact, evidence[evidence.Size() - 1]["pointer"].GetString());
  return {*epoch(first, "timestamp") - analyzer::k_instant_half_width, *epoch(last, "timestamp") + analyzer::k_instant_half_width};
}

}  // namespace

void assert_platform_causes(const RoundTrip& trip, const std::set<std::string>& truth) {
  std::set<std::string> found;
  std::set<std::string> claimed;
  for (const auto& cause : trip.report["rootCauses"].GetArray()) {
    if (!cause["platform"].IsObject()) continue;
    const auto& platform = cause["platform"];
    std::string id = platform["id"].GetString();
    found.insert(id);
    analyzer::Extent incident{platform["start"].GetDouble(), platform["end"].GetDouble()};
    for (const auto& effect : platform["effects"].GetArray()) {
      auto extent = effect_extent(trip, effect);
      if (!analyzer::overlaps(extent, incident)) {
        RC_FAIL(fmt::format("cause {} links {} ({}) whose extent [{}, {}) fails the gate with [{}, {})", id,
                            effect["evidence"][0]["pointer"].GetString(), effect["kind"].GetString(), extent.start, extent.end,
                            incident.start, incident.end));
      }
    }
    for (const auto& run : cause["runs"].GetArray()) claimed.insert(run["runId"].GetString());
  }
  for (const auto& id : truth) {
    if (!found.contains(id)) RC_FAIL("the world's incident " + id + " is no root cause of the report");
  }
  for (const auto& id : found) {
    if (!truth.contains(id) && id != "alert-correlated") RC_FAIL("root cause " + id + " stands for no incident of the world");
  }
  // One item, one action: a failed run is named by at most one action row (its runIds).
  for (const auto& [id, n] : run_mentions(trip.report)) {
    if (n != 1) RC_FAIL(fmt::format("run {} sits under {} root causes", id, n));
    int rows = 0;
    for (const auto& row : trip.report["actions"].GetArray()) {
      for (const auto& named : row["runIds"].GetArray()) rows += named.GetString() == id ? 1 : 0;
    }
    if (rows > 1) RC_FAIL(fmt::format("run {} is named by {} action rows", id, rows));
  }
}

}  // namespace day2test::world
