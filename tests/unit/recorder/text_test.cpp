// The shared text helpers: ASCII case, the edit distance and the one "did you mean" (nearest_name,
// unknown_name) of every option, config key and checked file.
#include "recorder/base/text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

TEST(EditDistance, CountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(recorder::edit_distance("", ""), 0u);
  EXPECT_EQ(recorder::edit_distance("", "abc"), 3u);
  EXPECT_EQ(recorder::edit_distance("abc", ""), 3u);
  EXPECT_EQ(recorder::edit_distance("STEP_FAILUR", "STEP_FAILURE"), 1u);
  EXPECT_EQ(recorder::edit_distance("kitten", "sitting"), 3u);
}

TEST(EditDistance, IsCaseSensitiveAndCountsASwapOfAdjacentCharactersAsOne) {
  EXPECT_EQ(recorder::edit_distance("run", "RUN"), 3u);
  EXPECT_EQ(recorder::edit_distance("ab", "ba"), 1u);
  EXPECT_EQ(recorder::edit_distance("catgeroy", "category"), 2u);
  EXPECT_EQ(recorder::edit_distance("ca", "abc"), 3u);  // optimal string alignment: no edit of a swapped pair
}

TEST(NearestName, SuggestsATypoOrAPrefixIgnoringCaseAndNothingFarther) {
  const std::vector<std::string> options{"hours", "since", "out-dir", "replay"};
  EXPECT_EQ(recorder::nearest_name("hour", options), "hours");      // a prefix: what Boost guessed silently
  EXPECT_EQ(recorder::nearest_name("out", options), "out-dir");     // a prefix, though 4 edits away
  EXPECT_EQ(recorder::nearest_name("REPLAY", options), "replay");   // case ignored
  EXPECT_EQ(recorder::nearest_name("sicne", options), "since");     // 2 edits on 5 letters
  EXPECT_EQ(recorder::nearest_name("minutes", options), "");        // nothing close
  EXPECT_EQ(recorder::nearest_name("replays", options), "replay");  // one edit
  EXPECT_EQ(recorder::nearest_name("replaying", options), "");      // longer: no abbreviation, 3 edits
  EXPECT_EQ(recorder::nearest_name("x", std::vector<std::string>{}), "");
  EXPECT_EQ(recorder::nearest_name("", options), "");               // nothing to be near
  // Two adjacent characters swapped are one edit ("catgeroy" is two swaps: 2 edits on 8 letters).
  const std::vector<std::string> keys{"id", "category", "when", "description"};
  EXPECT_EQ(recorder::nearest_name("di", keys), "id");
  EXPECT_EQ(recorder::nearest_name("whne", keys), "when");
  EXPECT_EQ(recorder::nearest_name("catgeroy", keys), "category");
  // An abbreviation names the one name it starts, not one of several.
  const std::vector<std::string> commands{"report", "replay", "record", "regress"};
  EXPECT_EQ(recorder::nearest_name("regr", commands), "regress");
  EXPECT_EQ(recorder::nearest_name("re", commands), "");
  // Up to 3 letters one edit is allowed, up to 10 two, beyond three.
  const std::vector<std::string> short_names{"ms", "p"};
  EXPECT_EQ(recorder::nearest_name("mx", short_names), "ms");
  EXPECT_EQ(recorder::nearest_name("qz", short_names), "");
  const std::vector<std::string> long_names{"runFailureMessage"};
  EXPECT_EQ(recorder::nearest_name("runFialureMesage", long_names), "runFailureMessage");
  EXPECT_EQ(recorder::nearest_name("runFailure_Msg_x", long_names), "");
  // A name longer than 120 bytes gets no hint (the distance would cost its length squared).
  EXPECT_EQ(recorder::nearest_name(std::string(121, 'h'), options), "");
}

TEST(UnknownName, ListsTheKnownNamesAndHintsOnlyWhenClose) {
  const std::vector<std::string_view> known{"seed", "faults"};
  EXPECT_EQ(recorder::unknown_name("member", "fualts", known),
            "unknown member \"fualts\"; expected one of: seed, faults; did you mean \"faults\"?");
  EXPECT_EQ(recorder::unknown_name("member", "rules", known), "unknown member \"rules\"; expected one of: seed, faults");
  // Arbitrary input stays one line: quotes and control bytes escaped, long names cut.
  EXPECT_EQ(recorder::unknown_name("key", "a\"b\n", known), "unknown key \"a\\\"b\\x0a\"; expected one of: seed, faults");
  EXPECT_EQ(recorder::quote(std::string(70, 'x')), "\"" + std::string(60, 'x') + "...\"");
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
