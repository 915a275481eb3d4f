// ASCII case helpers for header names, hosts and HTTP methods, and the edit distance behind
// "nearest" hints, shared by the recorder, replay and the analyzer so that no file keeps its own
// copy. (Prefix and suffix tests: std::string_view::starts_with.)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace recorder {

// `text` with ASCII letters in lower case; other bytes unchanged.
std::string lower(std::string_view text);

// Whether `a` and `b` are equal ignoring the case of ASCII letters.
bool iequals(std::string_view a, std::string_view b);

// The Levenshtein distance between `a` and `b` (byte-wise, case-sensitive: insertions, deletions
// and substitutions each count one). Time grows with a.size() * b.size(): bound long inputs first.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace recorder
