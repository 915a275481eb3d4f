// Deployment settings for every analyzer command: where Dagster (and later Google Cloud) is, what
// the deployment looks like, and the thresholds the rules use. Read from a JSON-with-comments file;
// command-line flags override it. Secrets never live here: they come from environment variables.
#pragma once

#include <string>
#include <vector>

#include "recorder/base/result.hpp"

namespace analyzer {

enum class Flavor { oss, plus };

struct DagsterSettings {
  std::string url = "http://127.0.0.1:3000/graphql";  // OSS GraphQL endpoint; derived for Dagster+
  Flavor flavor = Flavor::oss;
  std::string organization;   // Dagster+ organization ("<org>.dagster.cloud")
  std::string deployment = "prod";
  std::string token_env = "DAGSTER_CLOUD_API_TOKEN";  // name of the variable holding the API token
};

struct GcpSettings {
  std::string project;
  std::string cluster;
  std::string location;       // region or zone of the cluster
  std::string agent_pod_prefix = "user-cloud-dagster-cloud-agent";
  std::string namespace_name = "dagster";  // Kubernetes namespace of the Dagster runs (and the agent)
  std::string agent_namespace;             // the agent's, when not the runs' ("" = namespace_name)
  std::vector<std::string> infra_namespaces;  // more namespaces whose pod events to read (code servers, secret injection)
  const std::string& agent_ns() const { return agent_namespace.empty() ? namespace_name : agent_namespace; }
  // Every namespace of pod events: the runs', the agent's, the infrastructure ones; sorted, distinct.
  std::vector<std::string> pod_namespaces() const;
  std::string agent_deployment = "user-cloud-dagster-cloud-agent-agent";  // the agent's Deployment
  std::string api_root;  // "" = Google's endpoints; else every API at this root (replay, tests)
  int logging_reads_per_minute = 60;  // Cloud Logging read quota of the project (pacing)
  // Error Reporting's read quotas per user: group metadata (groupStats.list) and event data
  // (events.list) requests a minute, each paced on its own.
  int error_reporting_reads_per_minute = 60;
};

struct Thresholds {
  double stuck_queue_minutes = 60;      // a QUEUED run older than this is stuck
  double start_timeout_seconds = 180;   // run monitoring start timeout (Dagster default)
  double cancel_timeout_seconds = 180;  // run monitoring cancel timeout (Dagster default)
  int tick_unavailable_burst = 5;       // > this many gRPC UNAVAILABLE ticks per location
  double fan_out_minutes = 10;          // top-of-hour fan-out: Job created this early in the hour
  int fan_out_min_runs = 2;             // ... by at least this many never-started runs in that hour
};

// A known alert that resolves itself (seed: dagster-step-* CPU alerts during import): the report
// gives it "No action" with `reason` instead of counting it as Monitor.
struct SelfResolvingAlert {
  std::string name;              // RE2, searched in the alert's policy display name, policy name or name
  std::string resource_pattern;  // RE2 searched in its resource labels (any value); "" = any resource
  std::string reason;
};

// Where the report's links point (docs/report.md "Links").
struct LinkSettings {
  std::string dagster_ui;  // the Dagster UI's base URL; "" = derived (OSS: the GraphQL URL without /graphql;
                           // Dagster+: https://<organization>.dagster.cloud/<deployment>)
  std::string console = "https://console.cloud.google.com";  // the Google Cloud console
};

// `collect --metrics` / `--pushgateway` and `report --metrics` (docs/metrics.md).
struct MetricsSettings {
  int top_locations = 10;   // location label values: the night's top N by failures, the rest "other"
  int top_jobs = 20;        // job label values: likewise
  std::string job = "day2"; // the Pushgateway job label
  std::string instance;     // the Pushgateway instance label ("" = dagster.deployment)
};

struct Config {
  DagsterSettings dagster;
  GcpSettings gcp;
  Thresholds thresholds;
  std::string timezone = "America/New_York";
  std::vector<SelfResolvingAlert> self_resolving_alerts;  // report.self_resolving_alerts
  MetricsSettings metrics;
  LinkSettings links;
  int agent_replicas = 1;
  double agent_max_surge_percent = 200;
  int concurrency = 16;            // requests in flight at once (LimitingTransport)
  double timeout_seconds = 30;     // per HTTP request
  int retries = 3;                 // retries after the first attempt
  double step_seconds = 900;       // a collection step's total time: no retry, backoff or quota wait past it
  int page_size = 200;             // runs per page (<= 1000)
  int captured_log_lines = 30;     // last lines of a failed step's captured output kept per run (0: none read)
  std::string source = "defaults"; // where the settings came from, for messages
};

// Reads `path` (JSON with // comments and trailing commas) over the defaults. Never throws: an
// unreadable file, bad JSON, an unknown key or a value of the wrong type or range is an Error
// "<path>:<line>: <what>".
recorder::Result<Config> load_config(const std::string& path);
recorder::Result<Config> parse_config(std::string_view text, std::string_view source);

std::string_view to_string(Flavor flavor);

}  // namespace analyzer
