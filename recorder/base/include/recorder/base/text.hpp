// ASCII case helpers for header names, hosts and HTTP methods, and the edit distance behind
// "nearest" hints, shared by the recorder, replay and the analyzer so that no file keeps its own
// copy. (Prefix and suffix tests: std::string_view::starts_with.)
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace recorder {

// `text` with ASCII letters in lower case; other bytes unchanged.
std::string lower(std::string_view text);

// Whether `a` and `b` are equal ignoring the case of ASCII letters.
bool iequals(std::string_view a, std::string_view b);

// The optimal-string-alignment distance between `a` and `b` (byte-wise, case-sensitive: insertions,
// deletions, substitutions and swaps of two adjacent bytes each count one). Time grows with a.size() * b.size(): bound long inputs first.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `name` when it is close enough to be a typo, ignoring ASCII case: the one
// candidate an abbreviation of two characters or more starts (what Boost used to complete
// silently), else the nearest by edit distance,
// which may be 1 for names of up to 3 characters, 2 up to 10, 3 beyond. Empty when none is, for an
// empty name and for names over 120 bytes. The one "did you mean" of day2: subcommands, options,
// config keys, event types, members of rules, faults, specs, bundles and expected.json.
std::string nearest_name(std::string_view name, std::span<const std::string_view> candidates);
std::string nearest_name(std::string_view name, const std::vector<std::string>& candidates);

// `text` in double quotes, escaped (\" \\ and control bytes as \xNN) and cut after 60 characters
// with "...": a one-line rendering of arbitrary input for a message.
std::string quote(std::string_view text);

// `unknown <what> "x"; expected one of: a, b; did you mean "a"?` (the hint only when nearest_name
// finds one): the message for a name outside a closed set.
std::string unknown_name(std::string_view what, std::string_view name, std::span<const std::string_view> known);

// The length of the well-formed UTF-8 character at the start of `text` (1-4); 0 when it does not
// start with one (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short).
std::size_t utf8_length(std::string_view text);

// At most about `max_bytes` of `text` for a message or a report: valid UTF-8 whatever `text` holds
// (bytes that are not UTF-8 become '?', a character is never cut in two), line breaks as spaces,
// and when cut, the whole length and a digest of the whole, so two long requests stay distinguishable:
// "<first bytes>... (5242880 bytes, fnv1a 9f3c...)". For echoing client input without echoing it all.
std::string excerpt(std::string_view text, std::size_t max_bytes);

// `text` cut to at most `max_bytes` bytes at a character boundary (a stray byte counts as one),
// followed by "…" when cut; `text` itself when it fits. For a line of a log or a chat message.
std::string clip(std::string_view text, std::size_t max_bytes);

// `text` escaped for HTML and XML text and attribute values (& < > " '); control characters XML
// 1.0 cannot carry (all but tab, line feed and carriage return) become '?'.
std::string markup_escape(std::string_view text);

// RFC 4648 §5 base64url without padding (JWT segments, Pushgateway label values).
std::string base64url(std::string_view bytes);

}  // namespace recorder
