// TempDir: a fresh directory under the system temp dir for one test. Removed on destruction unless
// the test failed, in which case its path is printed so the files can be inspected.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

namespace day2_test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "day2-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    m_path = pattern;
  }
  ~TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    if (test != nullptr && test->result()->Failed()) {
      std::cerr << "test files left in " << m_path.string() << '\n';
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }
  // The path of `name` inside the directory, as a string.
  std::string file(const std::string& name) const { return (m_path / name).string(); }
  // Writes `content` to `name` (binary, replacing it) and returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(m_path / name, std::ios::binary) << content;
    return file(name);
  }

 private:
  std::filesystem::path m_path;
};

}  // namespace day2_test
