#include "recorder/base/secrets.hpp"

#include <algorithm>
#include <mutex>
#include <set>

namespace recorder {

namespace {

std::mutex g_mutex;
std::set<std::string, std::greater<>> g_secrets;  // longest first among shared prefixes

constexpr std::string_view k_replacement = "<redacted:credential>";

}  // namespace

void hold_secret(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\n')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\n' || value.back() == '\r')) value.remove_suffix(1);
  if (value.size() < 6) return;
  std::lock_guard lock(g_mutex);
  g_secrets.emplace(value);
}

std::vector<std::string> held_secrets() {
  std::lock_guard lock(g_mutex);
  return {g_secrets.begin(), g_secrets.end()};
}

std::string scrub_held_secrets(std::string_view text) {
  std::lock_guard lock(g_mutex);
  if (g_secrets.empty()) return std::string(text);
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    // The earliest occurrence of any secret; at one position the longest.
    std::size_t best_at = std::string_view::npos;
    std::size_t best_size = 0;
    for (const auto& secret : g_secrets) {
      auto at = text.find(secret, pos);
      if (at < best_at || (at == best_at && at != std::string_view::npos && secret.size() > best_size)) {
        best_at = at;
        best_size = secret.size();
      }
    }
    if (best_at == std::string_view::npos) break;
    out.append(text.substr(pos, best_at - pos));
    out.append(k_replacement);
    pos = best_at + best_size;
  }
  out.append(text.substr(std::min(pos, text.size())));
  return out;
}

SecretScrubbingBuffer::~SecretScrubbingBuffer() { sync(); }

void SecretScrubbingBuffer::flush_line() {
  if (m_line.empty()) return;
  auto clean = scrub_held_secrets(m_line);
  m_inner->sputn(clean.data(), static_cast<std::streamsize>(clean.size()));
  m_line.clear();
}

SecretScrubbingBuffer::int_type SecretScrubbingBuffer::overflow(int_type ch) {
  if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
  m_line.push_back(traits_type::to_char_type(ch));
  if (ch == '\n') flush_line();
  return ch;
}

std::streamsize SecretScrubbingBuffer::xsputn(const char* s, std::streamsize n) {
  std::string_view text(s, static_cast<std::size_t>(n));
  while (!text.empty()) {
    auto newline = text.find('\n');
    if (newline == std::string_view::npos) {
      m_line.append(text);
      break;
    }
    m_line.append(text.substr(0, newline + 1));
    flush_line();
    text.remove_prefix(newline + 1);
  }
  return n;
}

int SecretScrubbingBuffer::sync() {
  flush_line();
  return m_inner->pubsync();
}

}  // namespace recorder
