// LatencyReplay: an in-process replay of a bundle under one latency fault, with a fake sleep that
// records every delay instead of waiting, and no retries. The fault matrices' latency cells use it
// to assert that nothing fails and that each request of the faulted endpoint waited.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "recorder/bundle.hpp"
#include "replay/matcher.hpp"
#include "recorder/transport.hpp"

namespace day2test {

struct LatencyReplay {
  std::shared_ptr<replay::Matcher> matcher;
  std::shared_ptr<recorder::Transport> transport;  // retries off, faults on, nothing really waits
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::chrono::milliseconds>> slept =
      std::make_shared<std::vector<std::chrono::milliseconds>>();

  std::vector<std::chrono::milliseconds> delays() const {
    std::lock_guard lock(*mutex);
    return *slept;
  }
};

// `fault_spec` in the --fault syntax (e.g. "dagster:RunEvents=latency:40,p=1"); throws
// std::invalid_argument naming the spec when it does not parse (a broken test, not bad input).
LatencyReplay make_latency_replay(const recorder::Bundle& bundle, const std::string& fault_spec);

}  // namespace day2test
