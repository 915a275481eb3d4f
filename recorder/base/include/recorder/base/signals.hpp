// Stopping a long-running command (`day2 record`, `day2 replay serve`) on Ctrl-C or SIGTERM: the
// handler only sets a flag, which the command's waiting loop polls.
#pragma once

#include <memory>

namespace recorder {

// Installs a SIGINT/SIGTERM handler for its lifetime, and restores the previous handlers when it
// is destroyed. Constructing one clears stop_requested(). One at a time: they share the flag.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct Previous;
  std::unique_ptr<Previous> m_previous;
};

// Whether SIGINT or SIGTERM has arrived since the current StopSignals was constructed. Never blocks.
bool stop_requested();

}  // namespace recorder
