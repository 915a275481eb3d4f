// Links from the report into the Dagster UI and the Google Cloud console (docs/report.md "Links").
//
// Dagster UI routes, from the UI's router of dagster-webserver 1.13 (docs/reference/dagster-ui-routes.md):
//   /runs/:runId, /runs/b/:backfillId, /locations/:repoPath/jobs/:jobName,
//   /locations/:repoPath/sensors/:sensorName, /locations/:repoPath/schedules/:scheduleName,
//   /deployment/locations (code locations and their load errors), /assets/<key path, each part encoded>;
//   repoPath is "<repository>@<location>", or the location alone for the Definitions repository
//   "__repository__" (buildRepoPathForURL), the location percent-encoded.
// Console pages: Logs Explorer  /logs/query;query=<encoded>;timeRange=<start>%2F<end>?project=P,
//   Error Reporting /errors/detail/<groupId>?project=P, Monitoring /monitoring/alerting/incidents/<id>?project=P.
#include <fmt/format.h>

#include <rapidjson/pointer.h>

#include <cmath>
#include <vector>

#include "recorder/http.hpp"
#include "recorder/base/time.hpp"
#include "recorder/base/workers.hpp"
#include "report_model.hpp"

namespace analyzer::report {

namespace {

using summary::member;
using summary::text_of;

constexpr std::string_view k_definitions_repo = "__repository__";

// Percent-encodes like JavaScript's encodeURIComponent (what the UI applies to each path part).
std::string encode_component(std::string_view text) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                c == '.' || c == '!' || c == '~' || c == '*' || c == '\'' || c == '(' || c == ')';
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', k_hex[c >> 4], k_hex[c & 0xF]};
    }
  }
  return out;
}

std::string repo_path(std::string_view repository, std::string_view location) {
  return repository.empty() || repository == k_definitions_repo
             ? encode_component(location)
             : fmt::format("{}@{}", repository, encode_component(location));
}

std::string rfc3339(double epoch) {
  return recorder::format_rfc3339_utc(recorder::Instant(std::chrono::microseconds(static_cast<long long>(epoch * 1e6))));
}

// The segments of an RFC 6901 pointer, unescaped.
std::vector<std::string> pointer_parts(std::string_view pointer) {
  std::vector<std::string> out;
  std::size_t at = 1;
  while (at <= pointer.size() && !pointer.empty()) {
    auto end = pointer.find('/', at);
    std::string part(pointer.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    for (std::size_t i = 0; (i = part.find('~', i)) != std::string::npos; ++i) {
      part.replace(i, 2, part.compare(i, 2, "~1") == 0 ? "/" : "~");
    }
    out.push_back(std::move(part));
    if (end == std::string_view::npos) { break; }
    at = end + 1;
  }
  return out;
}

// The item's text at `key`, empty where the artifact holds none ("-").
std::string field_text(const Json& item, const char* key) {
  return text_of(item, key) == "-" ? std::string() : text_of(item, key);
}

// The asset page of an asset check, its key's path parts encoded one by one.
std::string asset_page(const Links& links, const Json& item) {
  std::string path;
  for (const auto& part : pointer_parts("/" + field_text(item, "asset"))) { path += "/" + encode_component(part); }
  return field_text(item, "asset").empty() ? std::string() : links.dagster("/assets" + path);
}

// The sensor or schedule page of a tick, from where the tick sits in the artifact: a sensor tick under
// step 03 by location and sensor, a schedule tick under step 06 by "<location>/<schedule>".
std::string instigator_page(const Links& links, std::string_view kind, const std::vector<std::string>& parts) {
  if (parts.size() < 3) { return {}; }
  if (kind == "tick" && parts[0] == step_key(StepId::sensor_ticks)) {
    return links.instigator("sensors", parts[1], parts[2]);
  }
  if (parts[0] != step_key(StepId::schedule_ticks)) { return {}; }
  auto slash = parts[2].rfind('/');
  if (slash == std::string::npos) { return {}; }
  return links.instigator("schedules", parts[2].substr(0, slash), parts[2].substr(slash + 1));
}

// One pods.create audit entry of step 08: the entry itself, by the created pod's name (a refused
// create has none: its request's generateName), as step 08's filter finds it.
std::string pod_create_logs(const Links& links, const Json& item) {
  auto at = epoch_of(item, "timestamp");
  std::string pod = field_text(item, "podName");
  if (!at || pod.empty()) { return {}; }
  const Json* code = member(item, "statusCode");
  bool refused = code != nullptr && code->IsInt() && code->GetInt() != 0;
  std::string query = fmt::format(
      "log_id(\"cloudaudit.googleapis.com/activity\")\nresource.type=\"k8s_cluster\"\n"
      "protoPayload.methodName=\"io.k8s.core.v1.pods.create\"\n{}=\"{}\"",
      refused ? "protoPayload.request.metadata.generateName" : "protoPayload.response.metadata.name", pod);
  if (!links.cluster.empty()) { query += fmt::format("\nresource.labels.cluster_name=\"{}\"", links.cluster); }
  return links.logs(query, *at - 600, *at + 600);
}

// The logs of the pod an event or a churned agent names, ten minutes either side of it.
std::string pod_logs(const Links& links, const Json& item) {
  auto at = epoch_of(item, "timestamp");
  std::string pod = field_text(item, "podName");
  if (!at || pod.empty()) { return {}; }
  std::string query = fmt::format("resource.type=\"k8s_pod\"\nresource.labels.pod_name=\"{}\"", pod);
  if (!links.cluster.empty()) { query += fmt::format("\nresource.labels.cluster_name=\"{}\"", links.cluster); }
  return links.logs(query, *at - 600, *at + 600);
}

// Logs Explorer around a GKE item: an audit entry of step 08's churn events, a pod's logs, or a cluster event's.
std::string gke_logs(const Links& links, const Json& item, std::string_view kind,
                     const std::vector<std::string>& parts) {
  if (kind == "agent_churn" && parts.size() == 3 && parts[1] == "events") { return pod_create_logs(links, item); }
  if (kind == "pod_event" || kind == "agent_churn") { return pod_logs(links, item); }
  auto at = epoch_of(item, "timestamp");
  std::string name = field_text(item, "name");
  if (!at || name.empty()) { return {}; }
  return links.logs(fmt::format("logName:\"events\"\njsonPayload.involvedObject.name=\"{}\"", name), *at - 600,
                    *at + 600);
}

}  // namespace

std::string Links::dagster(std::string_view path) const {
  return dagster_base.empty() ? std::string() : dagster_base + std::string(path);
}

std::string Links::run(std::string_view run_id) const {
  return run_id.empty() ? std::string() : dagster("/runs/" + encode_component(run_id));
}

std::string Links::job(std::string_view repository, std::string_view location, std::string_view job) const {
  if (location.empty() || job.empty()) { return {}; }
  return dagster(fmt::format("/locations/{}/jobs/{}", repo_path(repository, location), encode_component(job)));
}

std::string Links::instigator(std::string_view kind, std::string_view location, std::string_view name) const {
  if (location.empty() || name.empty()) { return {}; }
  return dagster(fmt::format("/locations/{}/{}/{}", repo_path(k_definitions_repo, location), kind, encode_component(name)));
}

std::string Links::logs(std::string_view query, double start, double end) const {
  if (project.empty()) { return {}; }
  return fmt::format("{}/logs/query;query={};timeRange={}%2F{}?project={}", console, encode_component(query), rfc3339(start),
                     rfc3339(end), encode_component(project));
}

std::string Links::error_group(std::string_view group_id) const {
  if (project.empty() || group_id.empty()) { return {}; }
  return fmt::format("{}/errors/detail/{}?project={}", console, encode_component(group_id), encode_component(project));
}

std::string Links::incident(std::string_view alert_name) const {
  auto slash = alert_name.rfind('/');
  auto id = slash == std::string_view::npos ? alert_name : alert_name.substr(slash + 1);
  if (project.empty() || id.empty()) { return {}; }
  return fmt::format("{}/monitoring/alerting/incidents/{}?project={}", console, encode_component(id), encode_component(project));
}

Links make_links(const Json& artifact, const Config* config) {
  Links links;
  std::string flavor;
  std::string url;
  if (const Json* meta = member(artifact, "meta"); meta != nullptr && meta->IsObject()) {
    flavor = recorder::get_string(*meta, "dagsterFlavor").value_or("");
    url = recorder::get_string(*meta, "dagsterUrl").value_or("");
  }
  if (config != nullptr && !config->links.dagster_ui.empty()) {
    links.dagster_base = config->links.dagster_ui;
  } else if (config != nullptr && config->dagster.flavor == Flavor::plus && !config->dagster.organization.empty()) {
    links.dagster_base = fmt::format("https://{}.dagster.cloud/{}", config->dagster.organization, config->dagster.deployment);
  } else if (!url.empty()) {
    // The UI is served where the GraphQL endpoint is: http://host:3000/graphql -> http://host:3000
    // (Dagster+ too: https://<org>.dagster.cloud/<deployment>/graphql).
    auto end = url.find('?');
    links.dagster_base = url.substr(0, end);
    if (links.dagster_base.size() >= 8 && links.dagster_base.compare(links.dagster_base.size() - 8, 8, "/graphql") == 0) {
      links.dagster_base.resize(links.dagster_base.size() - 8);
    }
  }
  while (!links.dagster_base.empty() && links.dagster_base.back() == '/') { links.dagster_base.pop_back(); }
  if (config != nullptr) {
    links.project = config->gcp.project;
    links.cluster = config->gcp.cluster;
    if (!config->links.console.empty()) { links.console = config->links.console; }
  }
  return links;
}

std::string Links::for_item(const Json& artifact, std::string_view kind, std::string_view pointer) const {
  if (pointer.empty()) { return {}; }
  const Json* item = rapidjson::Pointer(std::string(pointer).c_str()).Get(artifact);
  if (item == nullptr || !item->IsObject()) { return {}; }
  auto parts = pointer_parts(pointer);
  if (kind == "run" || kind == "queued_run" || kind == "degraded_asset") { return run(field_text(*item, "runId")); }
  if (kind == "retry") { return run(field_text(*item, "retryRunId")); }
  if (kind == "backfill") { return dagster("/runs/b/" + encode_component(field_text(*item, "id"))); }
  if (kind == "asset_check") { return asset_page(*this, *item); }
  if (kind == "load_failure") { return dagster("/deployment/locations"); }
  if (kind == "tick" || kind == "schedule_tick") { return instigator_page(*this, kind, parts); }
  if (kind == "agent_churn" || kind == "pod_event" || kind == "cluster_event") {
    return gke_logs(*this, *item, kind, parts);
  }
  if (kind == "error_group") { return error_group(field_text(*item, "groupId")); }
  if (kind == "alert") { return incident(field_text(*item, "name")); }
  return {};
}

void add_links(const Json& artifact, const Links& links, Report& report) {
  report.links = links;
  // Every item's link, made in parts at once (each link is made alone; a night of 20,000 runs links
  // as many timeline rows and more evidence).
  struct ItemLink {
    std::string* url;
    const std::string* kind;
    const std::string* pointer;
  };
  std::vector<ItemLink> items;
  for (auto& row : report.timeline) { items.push_back({&row.url, &row.kind, &row.pointer}); }
  auto each_evidence = [&](std::vector<Evidence>& list) {
    for (auto& e : list) { items.push_back({&e.url, &e.kind, &e.pointer}); }
  };
  for (auto& cause : report.causes) {
    for (auto& run : cause.runs) {
      run.url = links.run(run.run_id);
      run.job_url = links.job(run.repository, run.location, run.job);
      each_evidence(run.evidence);
    }
  }
  for (auto& cause : report.causes) {
    if (!cause.platform) { continue; }
    each_evidence(cause.platform->signals);
    for (auto& effect : cause.platform->effects) { each_evidence(effect.evidence); }
  }
  for (auto* section : {&report.impact, &report.emerging}) {
    for (auto& finding : *section) { each_evidence(finding.evidence); }
  }
  constexpr std::size_t k_min_part = 1024;  // a part of fewer links is made faster than a thread starts
  recorder::for_each_part(items.size(), k_min_part, [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) { *items[i].url = links.for_item(artifact, *items[i].kind, *items[i].pointer); }
  });
}

}  // namespace analyzer::report
