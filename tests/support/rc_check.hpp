// Running a rapidcheck property for a minimum number of cases, for tests/property/*_prop.cpp: the
// properties there promise at least 1000 generated cases each, whatever RC_PARAMS says.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <functional>
#include <sstream>

namespace day2test {

// Runs `property` for at least `min_cases` cases (RC_PARAMS can ask for more, and sets the seed)
// and fails the current test with rapidcheck's report (the shrunk counterexample, its RC_LOG lines
// and the seed to reproduce it) when it fails or when fewer cases succeeded (too many discarded).
inline void check(const char* description, const std::function<void()>& property, int min_cases = 1000) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = std::max(params.maxSuccess, min_cases);
  rc::detail::TestMetadata metadata;
  metadata.description = description;
  auto result = rc::detail::checkTestable(property, metadata, params);
  std::ostringstream report;
  rc::detail::printResultMessage(result, report);
  EXPECT_TRUE(result.template is<rc::detail::SuccessResult>()) << description << ": " << report.str();
  if (result.template is<rc::detail::SuccessResult>()) {
    EXPECT_GE(result.template get<rc::detail::SuccessResult>().numSuccess, min_cases) << description;
  }
}

}  // namespace day2test
