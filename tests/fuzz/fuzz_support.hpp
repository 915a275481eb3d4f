// What the fuzz targets share: the input as text, a private scratch directory for the readers that
// read files, and a check that fails loudly (abort, so libFuzzer keeps the input) when a property
// of the code under test does not hold.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace day2_fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// One scratch directory per process (in /dev/shm when there is one), removed at exit.
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp") + std::string("/day2-fuzz-XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) ::abort();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch(), ec);
    });
    return std::filesystem::path(pattern);
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) ::abort();
}

// A property of the code under test that must hold for every input.
inline void require(bool holds, const char* what) {
  if (!holds) {
    std::fprintf(stderr, "day2 fuzz: property violated: %s\n", what);
    ::abort();
  }
}

}  // namespace day2_fuzz
