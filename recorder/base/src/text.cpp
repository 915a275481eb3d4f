#include "recorder/base/text.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>

#include <algorithm>
#include <cctype>
#include <vector>

namespace recorder {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows of the table (the one before the previous for transpositions); plain pointers and
  // comparisons, so the inner loop is the same few instructions in every build (the fuzz build
  // instruments each call it makes).
  std::vector<std::size_t> table(3 * (b.size() + 1));
  std::size_t* before = table.data();
  std::size_t* previous = before + b.size() + 1;
  std::size_t* row = previous + b.size() + 1;
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    const char c = a.data()[i - 1];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t best = previous[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      const std::size_t substitute = previous[j - 1] + (c == b.data()[j - 1] ? 0 : 1);
      if (substitute < best) best = substitute;
      if (i > 1 && j > 1 && c == b.data()[j - 2] && a.data()[i - 2] == b.data()[j - 1] && before[j - 2] + 1 < best) {
        best = before[j - 2] + 1;  // two adjacent characters swapped
      }
      row[j] = best;
    }
    std::size_t* reused = before;
    before = previous;
    previous = row;
    row = reused;
  }
  return previous[b.size()];
}

namespace {

constexpr std::size_t k_quoted_chars = 60;

}  // namespace

std::string nearest_name(std::string_view name, std::span<const std::string_view> candidates) {
  if (name.empty() || name.size() > 2 * k_quoted_chars) return {};
  const std::string wanted = lower(name);
  // An abbreviation of two characters or more names the one candidate it starts (not "re" for both
  // "report" and "replay").
  std::string_view abbreviated;
  int starting = 0;
  for (auto candidate : candidates) {
    if (wanted.size() >= 2 && lower(candidate).starts_with(wanted)) abbreviated = candidate, ++starting;
  }
  if (starting == 1) return std::string(abbreviated);
  std::string_view best;
  std::size_t best_distance = 0;
  for (auto candidate : candidates) {
    const std::string known = lower(candidate);
    std::size_t distance = edit_distance(wanted, known);
    if (best.empty() || distance < best_distance) best = candidate, best_distance = distance;
  }
  std::size_t allowed = best.size() <= 3 ? 1 : best.size() <= 10 ? 2 : 3;
  return !best.empty() && best_distance <= allowed ? std::string(best) : std::string();
}

std::string nearest_name(std::string_view name, const std::vector<std::string>& candidates) {
  std::vector<std::string_view> views(candidates.begin(), candidates.end());
  return nearest_name(name, std::span<const std::string_view>(views));
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  std::size_t shown = 0;
  for (char c : text) {
    if (shown++ == k_quoted_chars) {
      out += "...";
      break;
    }
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string unknown_name(std::string_view what, std::string_view name, std::span<const std::string_view> known) {
  std::string message = fmt::format("unknown {} {}; expected one of: {}", what, quote(name), fmt::join(known, ", "));
  if (auto nearest = nearest_name(name, known); !nearest.empty()) message += fmt::format("; did you mean {}?", quote(nearest));
  return message;
}

std::size_t utf8_length(std::string_view text) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  std::size_t n = byte(0) < 0x80 ? 1 : byte(0) < 0xC2 ? 0 : byte(0) < 0xE0 ? 2 : byte(0) < 0xF0 ? 3 : byte(0) < 0xF5 ? 4 : 0;
  if (n == 0 || n > text.size()) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
  }
  if ((byte(0) == 0xE0 && byte(1) < 0xA0) || (byte(0) == 0xED && byte(1) >= 0xA0) ||
      (byte(0) == 0xF0 && byte(1) < 0x90) || (byte(0) == 0xF4 && byte(1) >= 0x90)) {
    return 0;
  }
  return n;
}


std::string excerpt(std::string_view text, std::size_t max_bytes) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size() && out.size() < max_bytes) {
    std::size_t n = utf8_length(text.substr(i));
    if (n == 0) {
      out += '?';
      n = 1;
    } else if (text[i] == '\n' || text[i] == '\r') {
      out += ' ';
    } else {
      out += text.substr(i, n);
    }
    i += n;
  }
  if (i < text.size()) {
    std::uint64_t hash = 14695981039346656037ULL;
    for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ULL;
    out += fmt::format("... ({} bytes, fnv1a {:016x})", text.size(), hash);
  }
  return out;
}

std::string clip(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t end = 0;
  while (end < text.size()) {
    std::size_t length = std::max<std::size_t>(utf8_length(text.substr(end)), 1);
    if (end + length > max_bytes) break;
    end += length;
  }
  return std::string(text.substr(0, end)) + "\u2026";
}

std::string markup_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r' ? '?' : c;
    }
  }
  return out;
}

std::string base64url(std::string_view bytes) {
  static constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t at) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[at])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int shift : {18, 12, 6, 0}) out += k_alphabet[(n >> shift) & 63];
  }
  if (bytes.size() - i == 1) {
    unsigned n = byte(i) << 16;
    out += k_alphabet[(n >> 18) & 63];
    out += k_alphabet[(n >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    unsigned n = byte(i) << 16 | byte(i + 1) << 8;
    for (int shift : {18, 12, 6}) out += k_alphabet[(n >> shift) & 63];
  }
  return out;
}

}  // namespace recorder
