#include "recorder/base/signals.hpp"

#include <signal.h>

#include <atomic>

namespace recorder {

namespace {

// Set by the signal handler, read by the waiting loop: a lock-free atomic is async-signal-safe.
std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void request_stop(int) { g_stop_requested.store(true); }

}  // namespace

struct StopSignals::Previous {
  struct sigaction on_int {};
  struct sigaction on_term {};
};

StopSignals::StopSignals() : m_previous(std::make_unique<Previous>()) {
  g_stop_requested = false;
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &m_previous->on_int);
  ::sigaction(SIGTERM, &action, &m_previous->on_term);
}

StopSignals::~StopSignals() {
  ::sigaction(SIGINT, &m_previous->on_int, nullptr);
  ::sigaction(SIGTERM, &m_previous->on_term, nullptr);
}

bool stop_requested() { return g_stop_requested.load(); }

}  // namespace recorder
