// Classification over generated incident worlds (world_prop.hpp), each property through the whole
// round trip day2 simulate -> collect --replay -> report --format json: the classification equals
// the world's ground truth and does not change when every timestamp shifts (DST nights included),
// when runs and events are listed in another order or when the report zone changes; a signal that
// overlaps no run changes nothing.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <set>

#include "recorder/base/json.hpp"
#include "recorder/base/time.hpp"
#include "support/rc_check.hpp"
#include "world_prop.hpp"

namespace day2test::world {
namespace {

// "id: expected category (rule), got ..." for every run that differs, one per line.
std::string differences(const std::map<std::string, Truth>& expected, const std::map<std::string, Truth>& actual) {
  std::string out;
  std::set<std::string> ids;
  for (const auto& [id, t] : expected) ids.insert(id);
  for (const auto& [id, t] : actual) ids.insert(id);
  auto show = [](const std::map<std::string, Truth>& m, const std::string& id) {
    auto it = m.find(id);
    return it == m.end() ? std::string("(absent)") : fmt::format("{} ({})", it->second.category, it->second.rule);
  };
  for (const auto& id : ids) {
    if (show(expected, id) != show(actual, id)) out += fmt::format("\n  run {}: expected {}, got {}", id, show(expected, id), show(actual, id));
  }
  return out;
}

void assert_same(const std::map<std::string, Truth>& expected, const std::map<std::string, Truth>& actual, const char* what) {
  if (expected != actual) RC_FAIL(fmt::format("{}:{}", what, differences(expected, actual)));
}

// A random order of `n` indexes (Fisher-Yates over generated choices, so it shrinks to identity).
std::vector<std::size_t> gen_order(std::size_t n) {
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[*rc::gen::inRange<std::size_t>(0, i)]);
  return order;
}

// A time (seconds after the window start) whose instant extent overlaps no run's extent, found
// from `from` onward (wrapping once); nullopt when the runs cover the whole window.
std::optional<std::int64_t> free_time(const World& world, std::int64_t from) {
  std::int64_t window = world.hours * 3600;
  std::vector<std::pair<std::int64_t, std::int64_t>> blocked;  // (s - 60, e + 60), open
  for (const auto& run : world.runs) {
    std::int64_t s = run.mode == Mode::never_started ? run.end - 180 : run.start;
    std::int64_t e = std::max(run.end, s + 1);
    blocked.emplace_back(s - 60, e + 60);
  }
  std::int64_t t = from;
  for (int wrap = 0; wrap < 2; ++wrap, t = 0) {
    for (bool moved = true; moved && t < window;) {
      moved = false;
      for (const auto& [lo, hi] : blocked) {
        if (lo < t && t < hi) {
          t = hi;
          moved = true;
        }
      }
    }
    if (t < window) return t;
  }
  return std::nullopt;
}

// One generated world, three reports: as generated (zone America/New_York); shifted (DST nights
// included), reordered and in another zone; the first artifact again in a third zone. Each report
// is checked for every property of one report (world_report_prop.cpp), and the classifications of
// all three against the ground truth. Sharing the round trips keeps 1000 worlds near 20 s.
TEST(WorldProperties, ClassificationIsTheGroundTruthWhateverTheShiftOrderAndZone) {
  Scratch dir;
  check("ground truth; shifts, order and zone; one category each; gated evidence; timeline; platform causes", [&] {
    auto world = *gen_world();
    Variant moved;
    moved.shift = *gen_shift(world);
    moved.order = gen_order(world.runs.size());
    moved.reverse_events = *rc::gen::arbitrary<bool>();
    moved.zone = *rc::gen::elementOf(zones());
    auto third_zone = *rc::gen::elementOf(zones());
    RC_LOG() << fmt::format("variant: shift {} s (window {} .. {}), run order [{}], events reversed: {}, zone {}; "
                            "the first artifact again in {}\n",
                            moved.shift, recorder::format_rfc3339_utc(recorder::from_epoch_seconds(double(world.start + moved.shift))),
                            recorder::format_rfc3339_utc(recorder::from_epoch_seconds(double(world.end() + moved.shift))),
                            fmt::join(moved.order, ", "), moved.reverse_events, moved.zone, third_zone);
    auto base = round_trip(world, {}, dir.file("base"));
    auto expected = ground_truth(world);
    assert_same(expected, classifications(base.report), "ground truth vs the report");
    assert_one_category_each(base);
    assert_cited_signals_overlap(base);
    assert_timeline(base, base.report, "America/New_York");
    assert_platform_causes(base, platform_truth(world));

    auto other = round_trip(world, moved, dir.file("moved"));
    assert_same(expected, classifications(other.report), "ground truth vs the shifted, reordered, rezoned report");
    assert_one_category_each(other);
    assert_cited_signals_overlap(other);
    assert_timeline(other, other.report, moved.zone);
    assert_platform_causes(other, platform_truth(world));

    auto rezoned = report_again(base.artifact_path, third_zone, dir.file("base"));
    assert_same(expected, classifications(rezoned), "ground truth vs the first artifact reported in another zone");
    assert_timeline(base, rezoned, third_zone);
  });
}

TEST(WorldProperties, ASignalOverlappingNoRunChangesNoClassification) {
  Scratch dir;
  check("a signal overlapping no run changes nothing", [&] {
    auto world = *gen_world();
    world.gcp = true;  // pod events are collected only from Google Cloud
    std::int64_t window = world.hours * 3600;
    auto pod_at = free_time(world, *rc::gen::inRange<std::int64_t>(0, window));
    auto agent_at = free_time(world, *rc::gen::inRange<std::int64_t>(0, window));
    auto alert_at = free_time(world, *rc::gen::inRange<std::int64_t>(0, window));
    if (!pod_at || !agent_at || !alert_at) RC_DISCARD("the runs cover the whole window");
    World noisy = world;
    auto& target = noisy.runs[*rc::gen::inRange<std::size_t>(0, noisy.runs.size())];
    // The reasons and the message the reclassification rules look for: only the gate keeps them out.
    target.pod_events.push_back({*pod_at, *rc::gen::element<std::string>("OOMKilling", "Evicted", "Preempted")});
    Extra extra;
    extra.agent_errors.push_back({*agent_at, "requests.exceptions.ReadTimeout",
                                  "HTTPSConnectionPool(host='acme.agent.dagster.cloud', port=443): Read timed out."});
    extra.alerts.emplace_back(*alert_at - 30, *alert_at + 30);
    RC_LOG() << fmt::format("added: pod event {} of run {} at +{} s, agent error at +{} s, alert [+{}, +{}) s\n",
                            target.pod_events.back().reason, target.id, *pod_at, *agent_at, *alert_at - 30, *alert_at + 30);
    auto base = round_trip(world, {}, dir.file("base"));
    auto with = round_trip(noisy, {}, dir.file("noisy"), extra);
    assert_same(classifications(base.report), classifications(with.report), "without vs with the signals");
    assert_cited_signals_overlap(with);
  });
}

}  // namespace
}  // namespace day2test::world
