// The shared text helpers: ASCII case and the edit distance behind "nearest" hints.
#include "recorder/base/text.hpp"

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

namespace recorder {
namespace {

TEST(Excerpt, ShortValidTextIsKeptWithLineBreaksAsSpaces) {
  EXPECT_EQ(excerpt("POST /graphql\nbody é", 100), "POST /graphql body é");
}

TEST(Excerpt, BytesThatAreNotUtf8BecomeQuestionMarks) {
  EXPECT_EQ(excerpt(std::string("a\xff\xfe" "b\xc3", 5), 100), "a??b?");
}

TEST(Excerpt, LongTextIsCutWithItsLengthAndADigestOfTheWhole) {
  std::string a(5000, 'x');
  std::string b = a;
  b.back() = 'y';
  auto cut_a = excerpt(a, 10);
  auto cut_b = excerpt(b, 10);
  EXPECT_TRUE(cut_a.starts_with("xxxxxxxxxx... (5000 bytes, fnv1a ")) << cut_a;
  EXPECT_LT(cut_a.size(), 60U);
  EXPECT_NE(cut_a, cut_b);  // same first bytes, different digests
}

TEST(Excerpt, ACharacterIsNeverCutInTwo) {
  auto cut = excerpt("ééééé", 3);  // two bytes each
  EXPECT_TRUE(cut.starts_with("éé... (10 bytes")) << cut;
}

}  // namespace
}  // namespace recorder
