// Reading a whole file in a test, for golden and fixture comparisons. Header-only.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace day2test {

// The bytes of the file at `path`; empty when it cannot be read (the comparison then fails).
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace day2test
