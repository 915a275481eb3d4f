#include "recorder/base/json.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <fstream>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace recorder {
namespace {

namespace fs = std::filesystem;
using day2_test::TempDir;

rapidjson::Document parsed(std::string_view text) {
  auto document = parse_json(text, "test.json");
  EXPECT_TRUE(document) << document.error().message;
  return document ? std::move(document).value() : rapidjson::Document{};
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// ---- parse_json ------------------------------------------------------------------------------

TEST(JsonParse, ParsesAnObject) {
  auto document = parse_json(R"({"a": [1, 2.5, "x", true, null]})", "test.json");
  ASSERT_TRUE(document) << document.error().message;
  ASSERT_TRUE(document->IsObject());
  EXPECT_EQ((*document)["a"].Size(), 5u);
}

TEST(JsonParse, ErrorNamesSourceLineAndColumn) {
  auto document = parse_json("{\n  \"a\": 1\n  \"b\": 2\n}", "config.json");
  ASSERT_FALSE(document);
  EXPECT_EQ(document.error().message, "config.json:3:3: Missing a comma or '}' after an object member.");
}

TEST(JsonParse, EmptyTextIsAnErrorAtLineOne) {
  auto document = parse_json("", "empty.json");
  ASSERT_FALSE(document);
  EXPECT_EQ(document.error().message, "empty.json:1:1: The document is empty.");
}

TEST(JsonParse, TrailingGarbageIsAnError) {
  auto document = parse_json("{} x", "t.json");
  ASSERT_FALSE(document);
  EXPECT_EQ(document.error().message, "t.json:1:4: The document root must not be followed by other values.");
}

TEST(JsonParse, CommentsAllowedAcceptsCommentsAndTrailingCommas) {
  auto document = parse_json("// leading\n{\n  \"a\": 1, /* inline */\n  \"b\": [1, 2,],\n}\n", "c.json",
                             Comments::allowed);
  ASSERT_TRUE(document) << document.error().message;
  EXPECT_EQ((*document)["a"].GetInt(), 1);
  EXPECT_EQ((*document)["b"].Size(), 2u);
}

TEST(JsonParse, CommentsForbiddenRejectsLineComment) {
  auto document = parse_json("{\n// no\n\"a\": 1}", "c.json", Comments::forbidden);
  ASSERT_FALSE(document);
  EXPECT_EQ(document.error().message, "c.json:2:1: Missing a name for object member.");
}

TEST(JsonParse, CommentsForbiddenRejectsBlockComment) {
  auto document = parse_json("{\"a\": /* no */ 1}", "c.json");
  ASSERT_FALSE(document);
  EXPECT_EQ(document.error().message, "c.json:1:7: Invalid value.");
}

TEST(JsonParse, CommentsForbiddenRejectsTrailingComma) {
  auto document = parse_json("[1, 2,]", "c.json");
  ASSERT_FALSE(document);
  EXPECT_EQ(document.error().message, "c.json:1:7: Invalid value.");
}

TEST(JsonParse, TextIsNotReadPastItsLength) {
  std::string text = "[1]garbage";
  auto document = parse_json(std::string_view(text).substr(0, 3), "t.json");
  ASSERT_TRUE(document) << document.error().message;
  EXPECT_EQ(document->Size(), 1u);
}

// The number that crashed RapidJSON 1.1.0's full-precision strtod (an out-of-bounds read in
// GetCachedPowerByIndex): "0." then 50 zeros then "27E-326". It and its neighbours (more or fewer
// zeros, nearby exponents, either sign, other digits) parse to the correctly rounded double, which is
// what strtod gives; none crashes (this test runs under ASan in CI).
std::string tiny_number(int zeros, std::string_view digits, int exponent, bool negative = false) {
  return std::string(negative ? "-" : "") + "0." + std::string(static_cast<std::size_t>(zeros), '0') +
         std::string(digits) + "E" + std::to_string(exponent);
}

TEST(JsonParse, TheNumberThatCrashedRapidJsonParsesToZero) {
  auto document = parsed(R"({"x": 0.0000000000000000000000000000000000000000000000000027E-326})");
  ASSERT_TRUE(document["x"].IsDouble());
  EXPECT_EQ(document["x"].GetDouble(), 0.0);
}

TEST(JsonParse, NeighboursOfTheCrashingNumberParseAsStrtodDoes) {
  int checked = 0;
  for (int zeros : {0, 1, 10, 49, 50, 51, 100, 300, 400}) {
    for (std::string_view digits : {"27", "1", "9999999999999999999", "4940656458412465441765687928682213723651"}) {
      for (int exponent : {-400, -330, -327, -326, -325, -324, -308, -307, -1, 0, 5, 200, 300}) {
        for (bool negative : {false, true}) {
          std::string number = tiny_number(zeros, digits, exponent, negative);
          auto document = parse_json("[" + number + "]", "number");
          double expected = std::strtod(number.c_str(), nullptr);
          if (std::isinf(expected)) {
            EXPECT_FALSE(document) << number;
            continue;
          }
          ASSERT_TRUE(document) << number << ": " << document.error().message;
          EXPECT_EQ((*document)[0].GetDouble(), expected) << number;
          EXPECT_EQ(std::signbit((*document)[0].GetDouble()), negative) << number;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 800);
}

TEST(JsonParse, IntegersKeepRapidJsonsTypes) {
  auto document = parsed("[0, -0, 2147483647, -2147483648, -2147483649, 4294967295, 4294967296, "
                         "-9223372036854775808, 18446744073709551615, 18446744073709551616, 1.0, 1e2]");
  EXPECT_TRUE(document[0].IsUint() && document[0].IsInt());
  EXPECT_TRUE(document[1].IsInt() && document[1].GetInt() == 0);
  EXPECT_EQ(document[2].GetInt(), 2147483647);
  EXPECT_EQ(document[3].GetInt(), -2147483647 - 1);
  EXPECT_TRUE(!document[4].IsInt() && document[4].IsInt64() && document[4].GetInt64() == -2147483649LL);
  EXPECT_TRUE(document[5].IsUint() && document[5].GetUint() == 4294967295U);
  EXPECT_TRUE(!document[6].IsUint() && document[6].IsUint64() && document[6].GetUint64() == 4294967296ULL);
  EXPECT_EQ(document[7].GetInt64(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(document[8].GetUint64(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_TRUE(document[9].IsDouble() && document[9].GetDouble() == 18446744073709551616.0);
  EXPECT_TRUE(document[10].IsDouble() && document[10].GetDouble() == 1.0);
  EXPECT_TRUE(document[11].IsDouble() && document[11].GetDouble() == 100.0);
}

TEST(JsonParse, ANumberTooBigForADoubleIsAnErrorNamingItsPlace) {
  for (std::string text : std::vector<std::string>{"[1e309]", "[1" + std::string(400, '0') + "]", "[-1.5e400]",
                                                  "[" + std::string(400, '9') + ".5]"}) {
    auto document = parse_json(text, "big.json");
    ASSERT_FALSE(document) << text;
    EXPECT_NE(document.error().message.find("big.json:1:"), std::string::npos) << document.error().message;
    EXPECT_NE(document.error().message.find("too big"), std::string::npos) << document.error().message;
  }
}

TEST(JsonParse, NumbersAreRoundedCorrectlyWhereNormalPrecisionWasNot) {
  // Each needs more than 17 significant digits or a large exponent to round right.
  for (std::string number : std::vector<std::string>{"2.2250738585072011e-308", "9007199254740993", "1.00000000000000011102230246251565404236316680908203125",
                             "0.1000000000000000055511151231257827021181583404541015625", "4.9406564584124654e-324",
                             "1.7976931348623157e308", "8.98846567431158e307"}) {
    auto document = parse_json(number, "number");
    ASSERT_TRUE(document) << number;
    EXPECT_EQ(document->GetDouble(), std::strtod(number.c_str(), nullptr)) << number;
  }
}

TEST(JsonParse, PositionOfCountsLinesAndColumns) {
  auto at = position_of("ab\ncd\nef", 7);
  EXPECT_EQ(at.line, 3u);
  EXPECT_EQ(at.column, 2u);
  EXPECT_EQ(position_of("ab", 100).column, 3u);
}

// ---- write_json ------------------------------------------------------------------------------

TEST(JsonWrite, SortsKeysRecursively) {
  auto document = parsed(R"({"b": {"z": 1, "a": [{"y": 1, "x": 2}]}, "a": 0})");
  EXPECT_EQ(write_json(document), R"({"a":0,"b":{"a":[{"x":2,"y":1}],"z":1}})");
}

TEST(JsonWrite, IsDeterministicWhateverTheInsertionOrder) {
  auto first = parsed(R"({"b": 1, "c": [true, null], "a": "x"})");
  auto second = parsed(R"({"a": "x", "c": [true, null], "b": 1})");
  EXPECT_EQ(write_json(first), write_json(second));
  EXPECT_EQ(write_json(first), write_json(first));
}

TEST(JsonWrite, SortsKeysByBytes) {
  auto document = parsed(R"({"b": 1, "B": 2, "a": 3, "_": 4})");
  EXPECT_EQ(write_json(document), R"({"B":2,"_":4,"a":3,"b":1})");
}

TEST(JsonWrite, DoublesRoundTrip) {
  for (double value : {1795323728.72277, 0.1, 0.1 + 0.2, 1e-7, 123456789.123456789, -2.5e300, 5e-324}) {
    rapidjson::Document document;
    document.SetDouble(value);
    std::string text = write_json(document);
    auto back = parse_json(text, "double");
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->GetDouble(), value) << text;
  }
}

TEST(JsonWrite, DoubleUsesShortestForm) {
  rapidjson::Document document;
  document.SetDouble(1795323728.72277);
  EXPECT_EQ(write_json(document), "1795323728.72277");
}

TEST(JsonWrite, ParsedDoublesKeepFullPrecision) {
  auto document = parsed("[1795323728.72277, 0.30000000000000004]");
  EXPECT_EQ(document[0].GetDouble(), 1795323728.72277);
  EXPECT_EQ(document[1].GetDouble(), 0.1 + 0.2);
  EXPECT_EQ(write_json(document[0]), "1795323728.72277");
}

TEST(JsonWrite, PrettyIndentsByTwoAndEndsWithNewline) {
  auto document = parsed(R"({"b": [1], "a": {}})");
  EXPECT_EQ(write_json(document, Pretty::yes), "{\n  \"a\": {},\n  \"b\": [\n    1\n  ]\n}\n");
}

TEST(JsonWrite, CompactHasNoNewline) {
  auto document = parsed(R"({"a": [1, 2]})");
  EXPECT_EQ(write_json(document, Pretty::no), R"({"a":[1,2]})");
}

TEST(JsonWrite, EscapesStrings) {
  auto document = parsed(R"({"k\"ey": "line\nbreak \u0001"})");
  EXPECT_EQ(write_json(document), R"({"k\"ey":"line\nbreak \u0001"})");
}

// ---- json_value_lines ------------------------------------------------------------------------

TEST(JsonValueLines, MapsNestedObjectsToTheirKeyLines) {
  auto lines = json_value_lines("{\n  \"a\": {\n    \"b\": 1,\n    \"c\": \"x\"\n  },\n  \"d\": true\n}");
  EXPECT_EQ(lines[""], 1u);
  EXPECT_EQ(lines["/a"], 2u);
  EXPECT_EQ(lines["/a/b"], 3u);
  EXPECT_EQ(lines["/a/c"], 4u);
  EXPECT_EQ(lines["/d"], 6u);
  EXPECT_EQ(lines.size(), 5u);
}

TEST(JsonValueLines, IndexesArraysOfObjects) {
  auto lines = json_value_lines("{\"rules\": [\n  {\"id\": \"a\"},\n  {\"id\": \"b\",\n   \"when\": {}}\n]}");
  EXPECT_EQ(lines["/rules"], 1u);
  EXPECT_EQ(lines["/rules/0"], 2u);
  EXPECT_EQ(lines["/rules/0/id"], 2u);
  EXPECT_EQ(lines["/rules/1"], 3u);
  EXPECT_EQ(lines["/rules/1/when"], 4u);
}

TEST(JsonValueLines, IndexesArraysOfScalars) {
  auto lines = json_value_lines("[\n  1,\n  \"two\",\n  null,\n  [3]\n]");
  EXPECT_EQ(lines["/0"], 2u);
  EXPECT_EQ(lines["/1"], 3u);
  EXPECT_EQ(lines["/2"], 4u);
  EXPECT_EQ(lines["/3"], 5u);
  EXPECT_EQ(lines["/3/0"], 5u);
  EXPECT_EQ(lines.size(), 6u);
}

TEST(JsonValueLines, IndexesMixedArrays) {
  auto lines = json_value_lines("[1,\n{\"a\": 2},\n3]");
  EXPECT_EQ(lines["/0"], 1u);
  EXPECT_EQ(lines["/1"], 2u);
  EXPECT_EQ(lines["/1/a"], 2u);
  EXPECT_EQ(lines["/2"], 3u);
}

TEST(JsonValueLines, EscapesSlashAndTildeInKeys) {
  auto lines = json_value_lines("{\n\"a/b\": 1,\n\"c~d\": 2\n}");
  EXPECT_EQ(lines.count("/a/b"), 0u);
  EXPECT_EQ(lines["/a~1b"], 2u);
  EXPECT_EQ(lines["/c~0d"], 3u);
}

TEST(JsonValueLines, AcceptsCommentsByDefault) {
  auto lines = json_value_lines("{\n  // note\n  \"a\": 1, /* x */\n  \"b\": 2,\n}");
  EXPECT_EQ(lines["/a"], 3u);
  EXPECT_EQ(lines["/b"], 4u);
}

TEST(JsonValueLines, ReportsWhatWasFoundBeforeAParseError) {
  auto lines = json_value_lines("{\n\"a\": 1,\n\"b\": ]");
  EXPECT_EQ(lines["/a"], 2u);
  EXPECT_EQ(lines.count("/b"), 0u);
}

// ---- write_file_atomic / read_file -----------------------------------------------------------

TEST(JsonFiles, WriteFileAtomicCreatesTheFile) {
  TempDir dir("day2-json");
  auto path = dir.file("out.json");
  auto written = write_file_atomic(path, "{}\n");
  ASSERT_TRUE(written) << written.error().message;
  auto text = read_file(path);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, "{}\n");
}

TEST(JsonFiles, WriteJsonFileAtomicWritesWhatWriteJsonRenders) {
  TempDir dir("day2-json");
  rapidjson::Document doc;
  doc.Parse(R"({"b": [1, {"d": "x", "c": null}], "a": 2.5})");
  for (auto pretty : {Pretty::yes, Pretty::no}) {
    auto path = dir.file(pretty == Pretty::yes ? "pretty.json" : "compact.json");
    auto written = write_json_file_atomic(path, doc, pretty);
    ASSERT_TRUE(written) << written.error().message;
    EXPECT_EQ(*read_file(path), write_json(doc, pretty));
  }
  EXPECT_EQ(*read_file(dir.file("compact.json")), R"({"a":2.5,"b":[1,{"c":null,"d":"x"}]})");
  auto missing = write_json_file_atomic(dir.file("no/such/dir/x.json"), doc, Pretty::yes);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no/such/dir/x.json"), std::string::npos);
}

TEST(JsonFiles, WriteFileAtomicReplacesAndLeavesNoTemporaryFiles) {
  TempDir dir("day2-json");
  auto path = dir.write("out.json", "old content that is longer than the new one");
  auto written = write_file_atomic(path, "new");
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*read_file(path), "new");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"out.json"});
}

TEST(JsonFiles, WriteFileAtomicReplacesByRename) {
  // A reader holding the old file keeps seeing the old content: the new file is a new inode.
  TempDir dir("day2-json");
  auto path = dir.write("out.json", "old");
  std::ifstream reader(path);
  ASSERT_TRUE(write_file_atomic(path, "new"));
  std::string seen;
  reader >> seen;
  EXPECT_EQ(seen, "old");
  EXPECT_EQ(*read_file(path), "new");
}

TEST(JsonFiles, WriteFileAtomicMakesAReadableFile) {
  TempDir dir("day2-json");
  auto path = dir.file("out.json");
  ASSERT_TRUE(write_file_atomic(path, "x"));
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644u);
}

TEST(JsonFiles, WriteFileAtomicWritesEmptyContent) {
  TempDir dir("day2-json");
  auto path = dir.write("out.json", "old");
  ASSERT_TRUE(write_file_atomic(path, ""));
  EXPECT_EQ(*read_file(path), "");
}

TEST(JsonFiles, WriteFileAtomicNamesThePathWhenTheDirectoryIsMissing) {
  TempDir dir("day2-json");
  auto path = dir.file("missing/out.json");
  auto written = write_file_atomic(path, "x");
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().message, path + ": cannot create a temporary file: No such file or directory");
  EXPECT_TRUE(files_in(dir.path()).empty());
}

TEST(JsonFiles, WriteFileAtomicOntoADirectoryFailsAndCleansUp) {
  TempDir dir("day2-json");
  fs::create_directory(dir.path() / "sub");
  auto path = dir.file("sub");
  auto written = write_file_atomic(path, "x");
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().message, path + ": rename failed: Is a directory");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"sub"});
}

TEST(JsonFiles, ReadFileOfAMissingPathNamesIt) {
  TempDir dir("day2-json");
  auto path = dir.file("nope.json");
  auto text = read_file(path);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message, path + ": cannot open: No such file or directory");
}

TEST(JsonFiles, ReadFileOfADirectorySaysSo) {
  TempDir dir("day2-json");
  auto text = read_file(dir.path().string());
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message, dir.path().string() + ": is a directory");
}

TEST(JsonFiles, ReadJsonFileNamesTheFileInParseErrors) {
  TempDir dir("day2-json");
  auto path = dir.write("bad.json", "{\n  \"a\": nope\n}");
  auto document = read_json_file(path);
  ASSERT_FALSE(document);
  // rapidjson points just past the first character of a bad literal.
  EXPECT_EQ(document.error().message, path + ":2:9: Invalid value.");
}

TEST(JsonFiles, ReadJsonFileHonoursComments) {
  TempDir dir("day2-json");
  auto path = dir.write("c.json", "{\"a\": 1, // c\n}");
  EXPECT_FALSE(read_json_file(path));
  auto document = read_json_file(path, Comments::allowed);
  ASSERT_TRUE(document) << document.error().message;
  EXPECT_EQ((*document)["a"].GetInt(), 1);
}

// ---- accessors -------------------------------------------------------------------------------

TEST(JsonAccessors, ReturnNulloptForAbsentOrMistypedMembers) {
  auto document = parsed(R"({"s": "x", "n": 2.5, "b": true, "o": {}, "a": []})");
  EXPECT_EQ(get_string(document, "s"), "x");
  EXPECT_EQ(get_string(document, "n"), std::nullopt);
  EXPECT_EQ(get_number(document, "n"), 2.5);
  EXPECT_EQ(get_number(document, "missing"), std::nullopt);
  EXPECT_EQ(get_bool(document, "b"), true);
  EXPECT_EQ(get_bool(document, "s"), std::nullopt);
  EXPECT_NE(get_object(document, "o"), nullptr);
  EXPECT_EQ(get_object(document, "a"), nullptr);
  EXPECT_NE(get_array(document, "a"), nullptr);
  EXPECT_EQ(get_array(document["s"], "a"), nullptr);
}

TEST(JsonAccessors, JsonStringCopiesEmbeddedNul) {
  rapidjson::Document document;
  auto value = json_string(std::string_view("a\0b", 3), document.GetAllocator());
  EXPECT_EQ(std::string(value.GetString(), value.GetStringLength()), std::string("a\0b", 3));
}

}  // namespace
}  // namespace recorder
