#include "analyzer/commands/nights.hpp"

#include "recorder/base/durable.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "recorder/base/json.hpp"

namespace analyzer {

namespace fs = std::filesystem;
using recorder::make_error;
using recorder::Result;

namespace {

bool is_date_name(std::string_view name) {
  if (name.size() != 10 || name[4] != '-' || name[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}


// ".<date>.partial.<pid>" of a process that is gone: a recording killed before it finished.
bool is_abandoned_staging(const std::string& name) {
  auto at = name.rfind(".partial.");
  if (name.empty() || name[0] != '.' || at == std::string::npos) return false;
  std::string pid_text = name.substr(at + 9);
  if (pid_text.empty() || !std::all_of(pid_text.begin(), pid_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  long pid = std::stol(pid_text);
  return pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

std::string night_json(const Night& night, bool has_config) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("deployment", recorder::json_string(night.deployment, a), a);
  doc.AddMember("date", recorder::json_string(night.date, a), a);
  rapidjson::Value window(rapidjson::kObjectType);
  window.AddMember("start", recorder::json_string(recorder::format_rfc3339_utc(night.window.start), a), a);
  window.AddMember("end", recorder::json_string(recorder::format_rfc3339_utc(night.window.end), a), a);
  doc.AddMember("window", window, a);
  doc.AddMember("timezone", recorder::json_string(night.timezone, a), a);
  doc.AddMember("day2Version", rapidjson::StringRef(DAY2_VERSION), a);
  doc.AddMember("config", has_config, a);
  return recorder::write_json(doc, recorder::Pretty::yes);
}

}  // namespace

std::string check_deployment_name(const std::string& name) {
  if (name.empty()) return "the deployment name is empty";
  if (name == "." || name == ".." || name[0] == '.') return fmt::format("\"{}\" cannot name a directory of its own", name);
  for (char c : name) {
    bool fine = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!fine) return fmt::format("\"{}\": only letters, digits, '.', '_' and '-' can name its directory", name);
  }
  return "";
}

Result<std::string> write_night(const std::string& root, const Night& night, const recorder::Bundle& bundle,
                                const std::string& artifact_text, const std::optional<std::string>& config_text) {
  if (auto problem = check_deployment_name(night.deployment); !problem.empty()) {
    return make_error("--record-dir: deployment " + problem);
  }
  if (!is_date_name(night.date)) return make_error(fmt::format("--record-dir: \"{}\" is not a date", night.date));
  fs::path parent = fs::path(root) / night.deployment;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) return make_error(fmt::format("--record-dir: {}: cannot create the directory: {}", parent.string(), ec.message()));
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    auto name = entry.path().filename().string();
    if (is_abandoned_staging(name)) fs::remove_all(entry.path(), ec);  // best effort: it is garbage either way
  }
  fs::path staging = parent / fmt::format(".{}.partial.{}", night.date, ::getpid());
  fs::remove_all(staging, ec);
  if (fs::create_directory(staging, ec); ec) {
    return make_error(fmt::format("--record-dir: {}: cannot create the directory: {}", staging.string(), ec.message()));
  }
  auto fail = [&](const std::string& message) -> Result<std::string> {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    return make_error("--record-dir: " + message);
  };
  if (auto written = recorder::write_bundle(staging / "bundle", bundle); !written) return fail(written.error().message);
  if (auto written = recorder::write_file_atomic((staging / "day2.json").string(), artifact_text); !written) {
    return fail(written.error().message);
  }
  if (config_text) {
    if (auto written = recorder::write_file_atomic((staging / "config.json").string(), *config_text); !written) {
      return fail(written.error().message);
    }
  }
  // night.json last: a night directory without it is not a night.
  if (auto written = recorder::write_file_atomic((staging / "night.json").string(), night_json(night, config_text.has_value()));
      !written) {
    return fail(written.error().message);
  }
  if (auto synced = recorder::fsync_directory(staging.string()); !synced) return fail(synced.error().message);
  fs::path final_dir = parent / night.date;
  fs::path previous = parent / fmt::format(".{}.old.{}", night.date, ::getpid());
  bool replaced = false;
  if (fs::exists(final_dir, ec)) {
    fs::rename(final_dir, previous, ec);
    if (ec) return fail(fmt::format("{}: cannot move the earlier recording of this night aside: {}", final_dir.string(), ec.message()));
    replaced = true;
  }
  fs::rename(staging, final_dir, ec);
  if (ec) {
    std::error_code ignored;
    if (replaced) fs::rename(previous, final_dir, ignored);
    return fail(fmt::format("{}: cannot move the night into place: {}", final_dir.string(), ec.message()));
  }
  if (auto synced = recorder::fsync_directory(parent.string()); !synced) return make_error("--record-dir: " + synced.error().message);
  if (replaced) fs::remove_all(previous, ec);
  return final_dir.string();
}

Result<std::vector<std::string>> prune_nights(const std::string& deployment_dir, int keep, const std::string& current) {
  std::error_code ec;
  std::vector<fs::path> nights;
  for (const auto& entry : fs::directory_iterator(deployment_dir, ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec) && is_date_name(entry.path().filename().string())) {
      nights.push_back(entry.path());
    }
  }
  if (ec) return make_error(fmt::format("--keep: {}: cannot list the nights: {}", deployment_dir, ec.message()));
  std::sort(nights.begin(), nights.end(), [](const fs::path& a, const fs::path& b) { return a.filename() > b.filename(); });
  std::vector<std::string> removed;
  int kept = 0;
  for (const auto& night : nights) {
    if (night == fs::path(current) || night.filename() == fs::path(current).filename()) {
      ++kept;
      continue;
    }
    if (kept < keep) {
      ++kept;
      continue;
    }
    fs::remove_all(night, ec);
    if (ec) return make_error(fmt::format("--keep: {}: cannot remove: {}", night.string(), ec.message()));
    removed.push_back(night.string());
  }
  return removed;
}

}  // namespace analyzer
