// Diagnostics on stderr: progress lines and -v debug output. stdout is for the product only.
// Secrets never reach here: callers pass URLs and statuses, never headers or bodies.
#pragma once

#include <fmt/format.h>

#include <string>

namespace recorder::log {

enum class Level { quiet, info, debug };

void set_level(Level level);
Level level();
void write(Level at, const std::string& line);

template <class... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::info) write(Level::info, fmt::format(format, std::forward<Args>(args)...));
}

template <class... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (level() >= Level::debug) write(Level::debug, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace recorder::log
