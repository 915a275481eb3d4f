#include "recorder/base/log.hpp"

#include <atomic>
#include <iostream>
#include <mutex>

namespace recorder::log {
namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mutex;
}  // namespace

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }

void write(Level at, const std::string& line) {
  if (g_level < at) return;
  std::lock_guard lock(g_mutex);
  std::cerr << line << '\n';
}

}  // namespace recorder::log
