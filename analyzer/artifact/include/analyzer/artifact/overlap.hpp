// The seed's temporal overlap gate: two signals may be linked as cause and effect only if their
// extents overlap, max(start_A, start_B) < min(end_A, end_B); otherwise they are independent findings.
// Every signal the reasoning links gets an extent here, instants included, so the gate is well defined.
#pragma once

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>

namespace analyzer {

// A half-open interval [start, end) of epoch seconds.
struct Extent {
  double start = 0;
  double end = 0;
};

// How wide an instant is when nothing gives it a lifetime: a Kubernetes event, a log entry, an agent
// error, a tick or an alert opening is taken to cover [t - k_instant_half_width, t + k_instant_half_width).
// One minute each side: the resolution of Kubernetes event timestamps (seconds, deduplicated counts),
// of agent heartbeats (every 30 s) and of tick evaluation (every 30 s).
inline constexpr double k_instant_half_width = 60.0;

// The gate. An empty or inverted extent overlaps nothing.
inline bool overlaps(const Extent& a, const Extent& b) {
  return std::max(a.start, b.start) < std::min(a.end, b.end);
}

// An instant at `t` (seconds) with the documented width.
inline Extent instant_extent(double t, double half_width = k_instant_half_width) {
  return {t - half_width, t + half_width};
}

// The N of run monitoring's "Run timed out due to taking longer than N seconds to start." in a run
// failure message; nullopt when the message is not that one (the run started).
inline std::optional<double> never_started_timeout(std::string_view run_failure_message) {
  constexpr std::string_view k_prefix = "taking longer than ";
  auto at = run_failure_message.find(k_prefix);
  if (at == std::string_view::npos) return std::nullopt;
  auto rest = run_failure_message.substr(at + k_prefix.size());
  double seconds = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), seconds);
  if (ec != std::errc{} || !std::string_view(end, rest.data() + rest.size()).starts_with(" seconds to start")) {
    return std::nullopt;
  }
  return seconds;
}

// A run's lifetime [start, end]. A run that never started ("taking longer than N seconds to start":
// its startTime and endTime are both the failure time, or startTime is null) covers
// [end - N, end]: the seed approximates its Kubernetes Job's creation as the failure time minus the
// start timeout (`never_started` = N; 180 s, run monitoring's default, when the run has no start time
// and no N is known). Nullopt without an end time.
inline std::optional<Extent> run_extent(std::optional<double> start, std::optional<double> end,
                                        std::optional<double> never_started = std::nullopt) {
  if (!end) return std::nullopt;
  double begin = never_started ? *end - *never_started : start ? *start : *end - 180.0;
  // A run whose start equals its end still occupies its last second.
  return Extent{begin, std::max(*end, begin + 1.0)};
}

// A pod event of a run's pod covers the run's lifetime (the pod exists for the run) when it happened
// during that lifetime or up to the instant width before it started (a pod is scheduled and can be
// killed before its run reports a start). One at or after the run's end cannot have caused it: its
// extent starts at the event, [t, t + width), so the gate never links it back to the run. Any other
// pod event is an instant.
inline Extent pod_event_extent(double t, const std::optional<Extent>& run) {
  if (run && t >= run->end) return {t, t + k_instant_half_width};
  if (run && overlaps(instant_extent(t), *run)) return *run;
  return instant_extent(t);
}

}  // namespace analyzer
