// ASCII case helpers for header names, hosts and HTTP methods, shared by the recorder and replay
// so that no file keeps its own copy. (Prefix and suffix tests: std::string_view::starts_with.)
#pragma once

#include <string>
#include <string_view>

namespace recorder {

// `text` with ASCII letters in lower case; other bytes unchanged.
std::string lower(std::string_view text);

// Whether `a` and `b` are equal ignoring the case of ASCII letters.
bool iequals(std::string_view a, std::string_view b);

}  // namespace recorder
