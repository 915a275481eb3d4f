// The shared text helpers: ASCII case and the edit distance behind "nearest" hints.
#include "recorder/text.hpp"

#include <gtest/gtest.h>

namespace {

TEST(EditDistance, CountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(recorder::edit_distance("", ""), 0u);
  EXPECT_EQ(recorder::edit_distance("", "abc"), 3u);
  EXPECT_EQ(recorder::edit_distance("abc", ""), 3u);
  EXPECT_EQ(recorder::edit_distance("STEP_FAILUR", "STEP_FAILURE"), 1u);
  EXPECT_EQ(recorder::edit_distance("kitten", "sitting"), 3u);
}

TEST(EditDistance, IsCaseSensitiveAndCountsATranspositionAsTwo) {
  EXPECT_EQ(recorder::edit_distance("run", "RUN"), 3u);
  EXPECT_EQ(recorder::edit_distance("ab", "ba"), 2u);
}

TEST(Lower, ChangesOnlyAsciiLetters) {
  EXPECT_EQ(recorder::lower("Content-Type: X1"), "content-type: x1");
  EXPECT_TRUE(recorder::iequals("Set-Cookie", "set-cookie"));
  EXPECT_FALSE(recorder::iequals("Set-Cookie", "set-cookies"));
}

}  // namespace
