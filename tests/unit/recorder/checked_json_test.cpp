// The one checked-JSON reader (recorder/base/checked_json.hpp): typed members, the first problem
// located "file:line", closed key sets with the nearest known name.
#include "recorder/base/checked_json.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

namespace {

using recorder::CheckedJson;
using recorder::JsonAt;
using recorder::JsonKind;

CheckedJson parsed(std::string text, recorder::Comments comments = recorder::Comments::forbidden) {
  auto file = CheckedJson::parse(std::move(text), "f.json", comments);
  if (!file) throw std::runtime_error(file.error().message);
  return std::move(*file);
}

constexpr std::string_view k_text = R"({
  "name": "nightly",
  "count": 3,
  "when": "2026-03-02T01:00:00Z",
  "nested": {
    "list": [1, "two"],
    "empty": null
  }
})";

TEST(CheckedJson, ReadsTypedMembersAndKeepsNoProblemWhenAllIsWell) {
  auto file = parsed(std::string(k_text));
  const JsonAt root;
  EXPECT_EQ(file.string(file.root(), root, "name"), "nightly");
  EXPECT_EQ(file.integer(file.root(), root, "count"), 3);
  EXPECT_EQ(recorder::format_rfc3339_utc(file.instant(file.root(), root, "when")), "2026-03-02T01:00:00Z");
  const auto& nested = file.object(file.root(), root, "nested");
  EXPECT_NE(file.optional(nested, root / "nested", "list", JsonKind::array), nullptr);
  EXPECT_EQ(file.optional(nested, root / "nested", "empty", JsonKind::string), nullptr);  // null: absent
  EXPECT_EQ(file.optional(nested, root / "nested", "absent", JsonKind::string), nullptr);
  EXPECT_FALSE(file.failed());
}

TEST(CheckedJson, TheFirstProblemIsKeptWithTheLineOfTheValueAtFault) {
  auto file = parsed(std::string(k_text));
  const JsonAt root;
  const auto& nested = file.object(file.root(), root, "nested");
  EXPECT_EQ(file.optional(nested, root / "nested", "list", JsonKind::object), nullptr);
  ASSERT_TRUE(file.failed());
  EXPECT_EQ(file.error().message, "f.json:6: \"nested.list\" must be an object, got [1,\"two\"]");
  // Later reads return defaults and do not replace the first problem.
  EXPECT_EQ(file.string(file.root(), root, "missing"), "");
  EXPECT_EQ(file.error().message, "f.json:6: \"nested.list\" must be an object, got [1,\"two\"]");
}

TEST(CheckedJson, MissingAndNullRequiredMembersAreNamed) {
  auto missing = parsed(std::string(k_text));
  (void)missing.required(missing.root(), {}, "title", JsonKind::string);
  EXPECT_EQ(missing.error().message, "f.json:1: \"title\" is missing");
  auto null = parsed(std::string(k_text));
  const auto& nested = null.object(null.root(), {}, "nested");
  (void)null.required(nested, JsonAt{} / "nested", "empty", JsonKind::string);
  EXPECT_EQ(null.error().message, "f.json:7: \"nested.empty\" must be a string, got null");
  auto bad_time = parsed(std::string(k_text));
  (void)bad_time.instant(bad_time.root(), {}, "name");
  EXPECT_EQ(bad_time.error().message.rfind("f.json:2: \"name\": ", 0), 0u) << bad_time.error().message;
}

TEST(CheckedJson, ClosedKeySetsNameTheUnknownMemberAndTheNearestKnownOne) {
  auto file = parsed(std::string(k_text));
  constexpr std::array<std::string_view, 3> k_known{"name", "count", "when"};
  auto closed = file.closed_keys(file.root(), {}, k_known, "key");
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().message, "f.json:5: unknown key \"nested\"; expected one of: name, count, when");
  constexpr std::array<std::string_view, 2> k_nested{"lists", "empty"};
  auto near = file.closed_keys(file.root()["nested"], JsonAt{} / "nested", k_nested);
  ASSERT_FALSE(near);
  EXPECT_EQ(near.error().message,
            "f.json:6: unknown member \"list\"; expected one of: lists, empty; did you mean \"lists\"?");
  constexpr std::array<std::string_view, 2> k_all{"list", "empty"};
  EXPECT_TRUE(file.closed_keys(file.root()["nested"], JsonAt{} / "nested", k_all));
}

TEST(CheckedJson, PositionsFollowCommentsAndEscapedKeysAndIndexes) {
  auto file = parsed("// settings\n{\n  /* the list */\n  \"a/b\": [\n    0,\n    \"x\"\n  ]\n}\n",
                     recorder::Comments::allowed);
  const JsonAt at = JsonAt{} / "a/b" / std::size_t{1};
  EXPECT_EQ(at.pointer, "/a~1b/1");
  EXPECT_EQ(at.name, "a/b[1]");
  EXPECT_EQ(file.error_at(at, "bad").message, "f.json:6: bad");
  EXPECT_EQ(file.where("/nowhere"), "f.json");  // no such value: the file alone
}

TEST(CheckedJson, UnreadableFilesAndInvalidJsonAreErrorsNamingThem) {
  auto absent = CheckedJson::load("/nonexistent/day2-checked.json");
  ASSERT_FALSE(absent);
  EXPECT_NE(absent.error().message.find("/nonexistent/day2-checked.json"), std::string::npos);
  auto invalid = CheckedJson::parse("{\n  \"a\": ,\n}", "bad.json");
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().message.rfind("bad.json:2:", 0), 0u) << invalid.error().message;
}

}  // namespace
