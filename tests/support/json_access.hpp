// Reading values out of an artifact or a request in assertions, by JSON pointer ("/a/0/b"), so
// that a missing value shows up in the failure message instead of crashing the test.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "recorder/base/json.hpp"

namespace day2test {

// The value at `pointer`, nullptr when absent.
const rapidjson::Value* find_at(const rapidjson::Value& root, std::string_view pointer);
// The value at `pointer` as compact JSON with sorted keys, "<missing /a/b>" when absent.
std::string json_at(const rapidjson::Value& root, std::string_view pointer);
// The string at `pointer`, "<not a string: /a/b>" when absent or of another type.
std::string text_at(const rapidjson::Value& root, std::string_view pointer);
// The number at `pointer`, NaN when absent or of another type.
double number_at(const rapidjson::Value& root, std::string_view pointer);
// The strings of the array at `pointer` (non-strings and a missing array give "<...>" entries).
std::vector<std::string> strings_at(const rapidjson::Value& root, std::string_view pointer);
// The size of the array or object at `pointer`; 0 when absent.
std::size_t size_at(const rapidjson::Value& root, std::string_view pointer);

}  // namespace day2test
