// exception_line (failure.hpp): the line of a Python exception message that names the exception.
#include "analyzer/artifact/failure.hpp"

#include <algorithm>
#include <string>
#include <string_view>

namespace analyzer {

namespace {

// The exception of a SyntaxError's message: the last line that is not indented (the traceback's
// lines are), without a trailing '\r'; empty when every line is indented or blank.
std::string_view last_unindented_line(std::string_view message) {
  std::string_view exception;
  for (std::size_t start = 0; start < message.size();) {
    auto end = message.find('\n', start);
    auto line = message.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!line.empty() && line.front() != ' ' && line.front() != '\t' && line.find_first_not_of(" \r") != std::string_view::npos) {
      exception = line;
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  while (!exception.empty() && exception.back() == '\r') exception.remove_suffix(1);
  return exception;
}

// " (broken.py, line 4)" from the location line 'File "/srv/loc/broken.py", line 4' (its leading
// blanks trimmed): the file's name without its folders, and its line when the location has one;
// empty when it names no file.
std::string location_suffix(std::string_view trimmed) {
  auto quote_end = trimmed.find('"', 6);
  std::string_view path = quote_end == std::string_view::npos ? std::string_view{} : trimmed.substr(6, quote_end - 6);
  path = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  auto line_at = trimmed.find(", line ");
  std::string_view line_number;
  if (line_at != std::string_view::npos) {
    line_number = trimmed.substr(line_at + 7);
    line_number = line_number.substr(0, line_number.find_first_not_of("0123456789"));
  }
  if (path.empty()) return "";
  return " (" + std::string(path) + (line_number.empty() ? "" : ", line " + std::string(line_number)) + ")";
}

}  // namespace

std::string not_executed_reason(std::string_view step_key, std::string_view event_type, std::string_view message) {
  constexpr std::string_view opening = "Dependencies for step ";
  constexpr std::string_view suffix = ". Not executing.";
  // Cheap checks first: collect asks this of every event of every failed run.
  if (step_key.empty() || !event_type.empty() || !message.starts_with(opening) || !message.ends_with(suffix)) return "";
  const std::string prefix = std::string(opening) + std::string(step_key) + " ";
  if (!message.starts_with(prefix)) return "";
  if (message.size() <= prefix.size() + suffix.size()) return "";
  auto reason = message.substr(prefix.size(), message.size() - prefix.size() - suffix.size());
  if (!reason.starts_with("failed: [") && !reason.starts_with("were not executed: [")) return "";
  return "dependencies " + std::string(reason);
}

std::string exception_line(std::string_view message) {
  while (!message.empty() && (message.front() == '\n' || message.front() == '\r')) message.remove_prefix(1);
  auto first_end = message.find('\n');
  std::string_view first = message.substr(0, first_end);
  std::string_view trimmed = first.substr(std::min(first.find_first_not_of(' '), first.size()));
  if (!trimmed.starts_with("File \"") || first_end == std::string_view::npos) return std::string(first);
  std::string_view exception = last_unindented_line(message);
  if (exception.empty()) return std::string(first);
  return std::string(exception) + location_suffix(trimmed);
}

}  // namespace analyzer
