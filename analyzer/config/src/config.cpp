#include "analyzer/config/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <type_traits>

#include <re2/re2.h>

#include "recorder/base/checked_json.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/text.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;

std::string_view to_string(Flavor flavor) { return flavor == Flavor::plus ? "plus" : "oss"; }

std::vector<std::string> GcpSettings::pod_namespaces() const {
  std::vector<std::string> out{namespace_name, agent_ns()};
  out.insert(out.end(), infra_namespaces.begin(), infra_namespaces.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// One settable key: how to apply a JSON value to the Config, or why it is wrong.
using Setter = std::function<std::string(const rapidjson::Value&, Config&)>;


template <class Get>
Setter text(Get get) {
  return [get](const rapidjson::Value& v, Config& c) -> std::string {
    if (!v.IsString()) return "must be a string";
    get(c) = std::string(v.GetString(), v.GetStringLength());
    return "";
  };
}

template <class Get>
Setter number(Get get, double min, double max) {
  return [get, min, max](const rapidjson::Value& v, Config& c) -> std::string {
    if (!v.IsNumber()) return "must be a number";
    double d = v.GetDouble();
    using Target = std::remove_reference_t<decltype(get(c))>;
    if (std::is_integral_v<Target> && d != std::trunc(d)) return fmt::format("must be an integer, got {}", d);
    if (d < min || d > max) return fmt::format("{} is out of range ({} to {})", d, min, max);
    get(c) = static_cast<Target>(d);
    return "";
  };
}

// An RE2 pattern member of an alert entry; "" when it is fine.
std::string pattern(const rapidjson::Value& entry, const char* key, bool required, std::string& out) {
  auto found = entry.FindMember(key);
  if (found == entry.MemberEnd()) return required ? fmt::format("needs \"{}\"", key) : "";
  if (!found->value.IsString()) return fmt::format("\"{}\" must be a string", key);
  out.assign(found->value.GetString(), found->value.GetStringLength());
  RE2 re(out, RE2::Quiet);
  return re.ok() ? "" : fmt::format("\"{}\" is not a valid RE2 pattern: {}", key, re.error());
}

// report.self_resolving_alerts: [{"name": RE2, "resourcePattern": RE2 (optional), "reason": text}].
std::string self_resolving_alerts(const rapidjson::Value& v, Config& c) {
  if (!v.IsArray()) return "must be a list of {\"name\", \"resourcePattern\", \"reason\"}";
  std::vector<SelfResolvingAlert> alerts;
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    const auto& entry = v[i];
    if (!entry.IsObject()) return fmt::format("[{}] must be an object", i);
    SelfResolvingAlert alert;
    constexpr std::array<std::string_view, 3> k_keys{"name", "resourcePattern", "reason"};
    for (const auto& member : entry.GetObject()) {
      std::string_view key(member.name.GetString(), member.name.GetStringLength());
      if (std::find(k_keys.begin(), k_keys.end(), key) == k_keys.end()) {
        return fmt::format("[{}]: {}", i, recorder::unknown_name("key", key, k_keys));
      }
    }
    std::string problem = pattern(entry, "name", true, alert.name);
    if (problem.empty()) problem = pattern(entry, "resourcePattern", false, alert.resource_pattern);
    if (!problem.empty()) return fmt::format("[{}] {}", i, problem);
    auto reason = entry.FindMember("reason");
    if (reason == entry.MemberEnd() || !reason->value.IsString() || reason->value.GetStringLength() == 0) {
      return fmt::format("[{}] needs a \"reason\" (a non-empty string)", i);
    }
    alert.reason = reason->value.GetString();
    alerts.push_back(std::move(alert));
  }
  c.self_resolving_alerts = std::move(alerts);
  return "";
}

// The settings by section; setters() joins them.
using SetterTable = std::map<std::string, Setter>;

SetterTable dagster_setters() {
  return {
      {"/dagster/url", text([](Config& c) -> std::string& { return c.dagster.url; })},
      {"/dagster/flavor",
       [](const rapidjson::Value& v, Config& c) -> std::string {
         std::string s = v.IsString() ? v.GetString() : "";
         if (s == "oss") c.dagster.flavor = Flavor::oss;
         else if (s == "plus") c.dagster.flavor = Flavor::plus;
         else return "must be \"oss\" or \"plus\"";
         return "";
       }},
      {"/dagster/organization", text([](Config& c) -> std::string& { return c.dagster.organization; })},
      {"/dagster/deployment", text([](Config& c) -> std::string& { return c.dagster.deployment; })},
      {"/dagster/token_env", text([](Config& c) -> std::string& { return c.dagster.token_env; })},
  };
}

SetterTable gcp_setters() {
  return {
      {"/gcp/project", text([](Config& c) -> std::string& { return c.gcp.project; })},
      {"/gcp/cluster", text([](Config& c) -> std::string& { return c.gcp.cluster; })},
      {"/gcp/location", text([](Config& c) -> std::string& { return c.gcp.location; })},
      {"/gcp/agent_pod_prefix", text([](Config& c) -> std::string& { return c.gcp.agent_pod_prefix; })},
      {"/gcp/namespace", text([](Config& c) -> std::string& { return c.gcp.namespace_name; })},
      {"/gcp/agent_deployment", text([](Config& c) -> std::string& { return c.gcp.agent_deployment; })},
      {"/gcp/agent_namespace", text([](Config& c) -> std::string& { return c.gcp.agent_namespace; })},
      {"/gcp/infra_namespaces",
       [](const rapidjson::Value& v, Config& c) -> std::string {
         if (!v.IsArray()) return "must be a list of namespace names";
         std::vector<std::string> names;
         for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
           if (!v[i].IsString() || v[i].GetStringLength() == 0) return fmt::format("[{}] must be a non-empty string", i);
           names.emplace_back(v[i].GetString(), v[i].GetStringLength());
         }
         c.gcp.infra_namespaces = std::move(names);
         return "";
       }},
      {"/gcp/api_root", text([](Config& c) -> std::string& { return c.gcp.api_root; })},
      {"/gcp/logging_reads_per_minute",
       number([](Config& c) -> int& { return c.gcp.logging_reads_per_minute; }, 1, 100000)},
      {"/gcp/error_reporting_reads_per_minute",
       number([](Config& c) -> int& { return c.gcp.error_reporting_reads_per_minute; }, 1, 100000)},
  };
}

// What the report judges by: its zone and known alerts, the agents, thresholds and links.
SetterTable report_setters() {
  return {
      {"/report/timezone", text([](Config& c) -> std::string& { return c.timezone; })},
      {"/report/self_resolving_alerts", self_resolving_alerts},
      {"/agents/replicas", number([](Config& c) -> int& { return c.agent_replicas; }, 0, 1000)},
      {"/agents/max_surge_percent",
       number([](Config& c) -> double& { return c.agent_max_surge_percent; }, 0, 1000)},
      {"/thresholds/stuck_queue_minutes",
       number([](Config& c) -> double& { return c.thresholds.stuck_queue_minutes; }, 0, 1e6)},
      {"/thresholds/start_timeout_seconds",
       number([](Config& c) -> double& { return c.thresholds.start_timeout_seconds; }, 0, 1e7)},
      {"/thresholds/cancel_timeout_seconds",
       number([](Config& c) -> double& { return c.thresholds.cancel_timeout_seconds; }, 0, 1e7)},
      {"/thresholds/tick_unavailable_burst",
       number([](Config& c) -> int& { return c.thresholds.tick_unavailable_burst; }, 0, 1e6)},
      {"/thresholds/fan_out_minutes", number([](Config& c) -> double& { return c.thresholds.fan_out_minutes; }, 0, 60)},
      {"/thresholds/fan_out_min_runs", number([](Config& c) -> int& { return c.thresholds.fan_out_min_runs; }, 1, 1e6)},
      {"/links/dagster_ui", text([](Config& c) -> std::string& { return c.links.dagster_ui; })},
      {"/links/console", text([](Config& c) -> std::string& { return c.links.console; })},
  };
}

SetterTable metrics_setters() {
  return {
      {"/metrics/top_locations", number([](Config& c) -> int& { return c.metrics.top_locations; }, 0, 1000)},
      {"/metrics/top_jobs", number([](Config& c) -> int& { return c.metrics.top_jobs; }, 0, 1000)},
      {"/metrics/job", text([](Config& c) -> std::string& { return c.metrics.job; })},
      {"/metrics/instance", text([](Config& c) -> std::string& { return c.metrics.instance; })},
  };
}

SetterTable collect_setters() {
  return {
      {"/collect/concurrency", number([](Config& c) -> int& { return c.concurrency; }, 1, 64)},
      {"/collect/timeout_seconds", number([](Config& c) -> double& { return c.timeout_seconds; }, 0.1, 3600)},
      {"/collect/step_seconds", number([](Config& c) -> double& { return c.step_seconds; }, 1, 86400)},
      {"/collect/retries", number([](Config& c) -> int& { return c.retries; }, 0, 20)},
      {"/collect/page_size", number([](Config& c) -> int& { return c.page_size; }, 1, 1000)},
      {"/collect/captured_log_lines", number([](Config& c) -> int& { return c.captured_log_lines; }, 0, 1000)},
  };
}

const SetterTable& setters() {
  static const SetterTable table = [] {
    SetterTable all;
    for (const auto& section :
         {dagster_setters(), gcp_setters(), report_setters(), metrics_setters(), collect_setters()}) {
      all.insert(section.begin(), section.end());
    }
    return all;
  }();
  return table;
}

bool is_section(const std::string& pointer) {
  for (const auto& [key, setter] : setters()) {
    if (key.rfind(pointer + "/", 0) == 0) return true;
  }
  return false;
}

// "unknown setting "collect/retrys"; expected one of: collect/concurrency, ...; did you mean
// "collect/retries"?": the settings and sections next to it (same parent), the nearest when close.
std::string unknown_setting(const std::string& pointer) {
  auto parent = pointer.substr(0, pointer.rfind('/'));
  std::set<std::string> names;
  for (const auto& [key, setter] : setters()) {
    if (key.rfind(parent + "/", 0) != 0) continue;
    auto next = key.find('/', parent.size() + 1);
    names.insert(key.substr(1, next == std::string::npos ? std::string::npos : next - 1));
  }
  // A key holding '/' ("dagster~1url") is a nesting mistake, not a typo: no list, no hint.
  if (pointer.find('~') != std::string::npos) return fmt::format("unknown setting \"{}\"", pointer.substr(1));
  std::vector<std::string_view> known(names.begin(), names.end());
  return recorder::unknown_name("setting", pointer.substr(1), known);
}

// Applies every member of `object` (at JSON pointer `prefix`); the first problem wins.
std::string apply(const rapidjson::Value& object, const std::string& prefix, Config& config,
                  std::string& failed_pointer) {
  for (const auto& member : object.GetObject()) {
    std::string pointer =
        prefix + "/" + recorder::pointer_token(std::string_view(member.name.GetString(), member.name.GetStringLength()));
    auto setter = setters().find(pointer);
    if (setter != setters().end()) {
      std::string problem = setter->second(member.value, config);
      if (!problem.empty()) {
        failed_pointer = pointer;
        return fmt::format("\"{}\" {}", pointer.substr(1), problem);
      }
    } else if (is_section(pointer)) {
      if (!member.value.IsObject()) {
        failed_pointer = pointer;
        return fmt::format("\"{}\" must be an object", pointer.substr(1));
      }
      auto problem = apply(member.value, pointer, config, failed_pointer);
      if (!problem.empty()) return problem;
    } else {
      failed_pointer = pointer;
      return unknown_setting(pointer);
    }
  }
  return "";
}

}  // namespace

Result<Config> parse_config(std::string_view text, std::string_view source) {
  auto file = recorder::CheckedJson::parse(std::string(text), std::string(source), recorder::Comments::allowed);
  if (!file) return file.error();
  if (!file->root().IsObject()) return file->error_at({}, "the configuration must be a JSON object");
  Config config;
  config.source = std::string(source);
  std::string pointer;
  std::string problem = apply(file->root(), "", config, pointer);
  if (!problem.empty()) return file->error_at({pointer, ""}, problem);
  // "plus" without an organization is checked by the command, after flags (--organization) apply.
  return config;
}

Result<Config> load_config(const std::string& path) {
  auto text = recorder::read_file(path);
  if (!text) return text.error();
  return parse_config(*text, path);
}

}  // namespace analyzer
