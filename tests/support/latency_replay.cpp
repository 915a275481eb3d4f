#include "support/latency_replay.hpp"

#include <stdexcept>

#include "replay/fault.hpp"

namespace day2test {

LatencyReplay make_latency_replay(const recorder::Bundle& bundle, const std::string& fault_spec) {
  auto fault = replay::parse_fault_spec(fault_spec);
  if (!fault.ok()) throw std::invalid_argument(fault_spec + ": " + fault.error().message);
  LatencyReplay replay;
  replay.matcher = std::make_shared<replay::Matcher>(bundle);
  auto faulty = std::make_shared<replay::FaultTransport>(
      std::make_shared<replay::ReplayTransport>(replay.matcher),
      std::make_shared<replay::FaultInjector>(std::vector<replay::Fault>{*fault}),
      [mutex = replay.mutex, slept = replay.slept](std::chrono::milliseconds delay) {
        std::lock_guard lock(*mutex);
        slept->push_back(delay);
      });
  recorder::RetryPolicy policy;
  policy.max_attempts = 1;
  replay.transport = std::make_shared<recorder::RetryingTransport>(faulty, policy, 0x5eed,
                                                                   [](std::chrono::milliseconds) {});
  return replay;
}

}  // namespace day2test
