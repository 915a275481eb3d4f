// The overlap gate's edges (analyzer/overlap.hpp): instants are [t - 60, t + 60), runs [start, end),
// and a pod event joins its run's lifetime when its instant overlaps the run and it is not after the run's end.
#include "analyzer/artifact/overlap.hpp"

#include <gtest/gtest.h>

namespace analyzer {
namespace {

constexpr double k_start = 1000;
constexpr double k_end = 2000;

bool joins_run(double t) {
  Extent run{k_start, k_end};
  auto extent = pod_event_extent(t, run);
  return extent.start == run.start && extent.end == run.end;
}

TEST(Overlap, APodEventJoinsItsRunExactlyWhenItsInstantOverlapsTheRun) {
  EXPECT_FALSE(joins_run(k_start - 60));   // [start - 120, start): ends where the run begins
  EXPECT_TRUE(joins_run(k_start - 59.5));
  EXPECT_TRUE(joins_run(k_start));
  EXPECT_TRUE(joins_run(k_end - 0.5));
  for (double t : {k_start - 60, k_start - 59.5, k_start + 10, k_end - 0.5}) {
    EXPECT_EQ(joins_run(t), overlaps(instant_extent(t), Extent{k_start, k_end})) << t;
  }
}

// Issue 25: a pod event after the run had ended cannot be its cause, however close to the end.
TEST(Overlap, APodEventAtOrAfterItsRunsEndNeverPassesTheGateWithIt) {
  Extent run{k_start, k_end};
  for (double t : {k_end, k_end + 0.5, k_end + 30, k_end + 59.5, k_end + 600}) {
    EXPECT_FALSE(joins_run(t)) << t;
    EXPECT_FALSE(overlaps(pod_event_extent(t, run), run)) << t;
    EXPECT_EQ(pod_event_extent(t, run).start, t) << t;
  }
  // The close case: a second before the end still is the run's.
  EXPECT_TRUE(overlaps(pod_event_extent(k_end - 1, run), run));
}

TEST(Overlap, WithoutARunAPodEventIsAnInstant) {
  auto extent = pod_event_extent(500, std::nullopt);
  EXPECT_EQ(extent.start, 440);
  EXPECT_EQ(extent.end, 560);
}

}  // namespace
}  // namespace analyzer
