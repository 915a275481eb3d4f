#include "analyzer/metrics/metrics.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace analyzer::metrics {

namespace {

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Label values: backslash, double quote and line feed escaped (the exposition format's three).
std::string escape_label(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// HELP text: backslash and line feed escaped.
std::string escape_help(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

std::string format_value(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 1e15) return fmt::format("{}", static_cast<long long>(value));
  return fmt::format("{}", value);
}

FamilyData::FamilyData(std::string name, std::string help, std::vector<std::string_view> label_names)
    : m_name(std::move(name)), m_help(std::move(help)) {
  for (auto label : label_names) m_label_names.emplace_back(label);
}

void FamilyData::set(std::vector<std::string> values, double value) {
  if (std::isnan(value)) return;
  m_samples[std::move(values)] = value;
}

void FamilyData::add(std::vector<std::string> values, double value) {
  if (std::isnan(value)) return;
  m_samples[std::move(values)] += value;
}

std::optional<double> FamilyData::get(const std::vector<std::string>& values) const {
  auto found = m_samples.find(values);
  if (found == m_samples.end()) return std::nullopt;
  return found->second;
}

double FamilyData::total() const {
  double sum = 0;
  for (const auto& [labels, value] : m_samples) sum += value;
  return sum;
}

void FamilyData::render(std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", m_name, escape_help(m_help), m_name);
  for (const auto& [values, value] : m_samples) {
    out += m_name;
    if (!values.empty()) {
      out += '{';
      for (std::size_t i = 0; i < values.size(); ++i) {
        out += fmt::format("{}{}=\"{}\"", i ? "," : "", m_label_names[i], escape_label(values[i]));
      }
      out += '}';
    }
    out += ' ' + format_value(value) + '\n';
  }
}

FamilyData& Registry::add_family(std::string name, std::string help, std::vector<std::string_view> label_names) {
  if (!valid_name(name)) throw std::logic_error("metrics: not a metric name: " + name);
  for (auto label : label_names) {
    if (!valid_name(label) || label.find(':') != std::string_view::npos || label.substr(0, 2) == "__") {
      throw std::logic_error(fmt::format("metrics: {}: not a label name: {}", name, label));
    }
  }
  auto [it, inserted] = m_families.emplace(name, nullptr);
  if (!inserted) throw std::logic_error("metrics: family registered twice: " + name);
  it->second = std::make_unique<FamilyData>(std::move(name), std::move(help), std::move(label_names));
  return *it->second;
}

const FamilyData* Registry::find(std::string_view name) const {
  auto found = m_families.find(name);
  return found == m_families.end() ? nullptr : found->second.get();
}

std::string Registry::text() const {
  std::string out;
  for (const auto& [name, family] : m_families) family->render(out);
  return out;
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, family] : m_families) out.push_back(name);
  return out;
}

namespace {
// The family a line of exposition text belongs to: "# HELP name ..." / "# TYPE name ..." / a sample
// "name{...} value" or "name value"; "" for anything else.
std::string_view family_of(std::string_view line) {
  if (line.substr(0, 7) == "# HELP " || line.substr(0, 7) == "# TYPE ") {
    auto rest = line.substr(7);
    return rest.substr(0, rest.find(' '));
  }
  if (line.empty() || line[0] == '#') return {};
  auto end = line.find_first_of("{ ");
  return end == std::string_view::npos ? std::string_view{} : line.substr(0, end);
}
}  // namespace

std::string merge_text(std::string_view existing, const Registry& fresh) {
  std::map<std::string, std::string, std::less<>> blocks;
  std::size_t at = 0;
  while (at < existing.size()) {
    auto end = existing.find('\n', at);
    auto line = existing.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    at = end == std::string_view::npos ? existing.size() : end + 1;
    auto name = family_of(line);
    if (name.empty() || fresh.find(name) != nullptr) continue;
    auto& block = blocks[std::string(name)];
    block.append(line);
    block += '\n';
  }
  for (const auto& name : fresh.names()) {
    std::string text;
    fresh.find(name)->render(text);
    blocks[name] = std::move(text);
  }
  std::string out;
  for (const auto& [name, block] : blocks) out += block;
  return out;
}

std::optional<double> read_sample(std::string_view text, std::string_view name) {
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    auto line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    at = end == std::string_view::npos ? text.size() : end + 1;
    if (line.size() <= name.size() || line.substr(0, name.size()) != name || line[name.size()] != ' ') continue;
    auto number = line.substr(name.size() + 1);
    double value = 0;
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec == std::errc{} && ptr == number.data() + number.size() && std::isfinite(value)) return value;
  }
  return std::nullopt;
}

}  // namespace analyzer::metrics
