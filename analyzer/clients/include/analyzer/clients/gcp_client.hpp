// Google Cloud REST clients for the collection steps 08 and 10-13: Cloud Logging (entries.list),
// Cloud Monitoring (alerts.list, timeSeries.list), Error Reporting (groupStats.list, events.list)
// and GKE (clusters.get, nodePools.list), over an already authenticated recorder::Transport.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "recorder/base/json.hpp"
#include "recorder/endpoints.hpp"
#include "recorder/transport.hpp"

namespace analyzer {

// Where each API lives (scheme://host[:port], no trailing slash). Tests and the replay server
// stand in by pointing every root at one local server (`all`).
struct GcpEndpoints {
  std::string logging = recorder::default_root(recorder::Service::logging);
  std::string monitoring = recorder::default_root(recorder::Service::monitoring);
  std::string error_reporting = recorder::default_root(recorder::Service::error_reporting);
  std::string container = recorder::default_root(recorder::Service::container);

  // Every API at `root` ("http://127.0.0.1:8080"); a trailing '/' is dropped.
  static GcpEndpoints all(std::string root);
};

// A token bucket (as a virtual schedule) pacing Cloud Logging reads, whose quota is about 60
// requests a minute per project. At most `per_minute` acquisitions fall in any 60 seconds: a burst
// of `burst` at once, then one every 60 s / (per_minute - burst + 1). `clock` and `sleep` are
// injectable for tests; empty means steady_clock and a real sleep. Thread-safe.
class Pacer {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Sleep = std::function<void(std::chrono::milliseconds)>;
  explicit Pacer(int per_minute = 60, int burst = 5, Clock clock = {}, Sleep sleep = {});

  // Blocks until the next request may go and returns true; false at once, taking no slot, when the
  // request could only go after `deadline` (a time of `clock`).
  bool acquire(std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
  // After a 429: no request goes before `delay` from now.
  void hold(std::chrono::milliseconds delay);
  // The time the caller waited in acquire() in total (tests, progress).
  std::chrono::milliseconds waited() const;

 private:
  std::chrono::steady_clock::time_point now() const;
  Clock m_clock;
  Sleep m_sleep;
  std::chrono::steady_clock::duration m_interval;
  std::chrono::steady_clock::duration m_tolerance;
  mutable std::mutex m_mutex;
  std::chrono::steady_clock::time_point m_next{};  // theoretical arrival time
  std::chrono::milliseconds m_waited{0};
};

// The per-minute read quotas day2 paces: Cloud Logging's entries.list (about 60 a minute per
// project) and Error Reporting's group metadata (groupStats.list) and event data (events.list)
// requests (60 a minute per user each, Google's defaults).
enum class ReadQuota { none, logging, error_groups, error_events };
ReadQuota read_quota_of(const recorder::HttpRequest& request);

// One pacer per quota; a null pacer leaves its quota unpaced.
struct Pacers {
  std::shared_ptr<Pacer> logging;
  std::shared_ptr<Pacer> error_groups;
  std::shared_ptr<Pacer> error_events;
  std::shared_ptr<Pacer> of(ReadQuota quota) const;
};

// Decorator pacing Google reads by quota: every attempt of a paced read (put it under the
// RetryingTransport) waits for its quota's pacer, and a 429 holds every read of that quota for the
// delay the answer asks (Retry-After or google.rpc.RetryInfo), else until the next minute, when the
// per-minute quotas refill. Other requests pass through. It never retries itself. With `bounded`, a
// read that could only go after the current recorder::Deadline is not sent (an Error saying so);
// replay passes false, since its pacers schedule without waiting.
class PacedTransport : public recorder::Transport {
 public:
  PacedTransport(std::shared_ptr<recorder::Transport> inner, Pacers pacers, bool bounded = true);
  // Cloud Logging alone.
  PacedTransport(std::shared_ptr<recorder::Transport> inner, std::shared_ptr<Pacer> logging);
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override;

 private:
  std::shared_ptr<recorder::Transport> m_inner;
  Pacers m_pacers;
  bool m_bounded = true;
};

// A query string as name/value pairs in order; repeated names are allowed. Values are raw (the
// client percent-encodes them).
using QueryParams = std::vector<std::pair<std::string, std::string>>;

class GcpClient {
 public:
  // `timeout` applies to each request. Retries and Logging's pacing belong to `transport`
  // (make_transport_stack: RetryingTransport over PacedTransport); the client sends each request once.
  GcpClient(std::shared_ptr<recorder::Transport> transport, GcpEndpoints endpoints, std::chrono::milliseconds timeout);

  // Every list below is followed to the end (pages that are empty but carry nextPageToken
  // included) and returns its items as one JSON array; a missing list is an empty page. Errors
  // name the API method ("logging entries.list: HTTP 403 PERMISSION_DENIED: ..."): transport
  // failures, non-200 statuses (google.rpc.Status code, status and message), bodies that are not
  // JSON objects, item lists that are not arrays, more than 10000 pages. Blocks; thread-safe.

  // entries.list over projects/`project`, `filter` in the Logging query language, oldest first.
  // Paced by the Logging pacer; a 429 holds the pacer until the next minute and is tried again
  // (up to 3 times) before it is an error.
  recorder::Result<rapidjson::Document> list_log_entries(const std::string& project, const std::string& filter) const;
  // projects.alerts.list (all alerts; the caller filters by time).
  recorder::Result<rapidjson::Document> list_alerts(const std::string& project) const;
  // projects.timeSeries.list with `params` (filter, interval.*, aggregation.*, view); returns the
  // series as the pages give them (a series split across pages appears more than once).
  recorder::Result<rapidjson::Document> list_time_series(const std::string& project, const QueryParams& params) const;
  // projects.groupStats.list with `params` (timeRange.period, timedCountDuration, order, ...).
  recorder::Result<rapidjson::Document> list_group_stats(const std::string& project, const QueryParams& params) const;
  // projects.events.list for `group_id` over `period` (PERIOD_1_DAY, ...).
  recorder::Result<rapidjson::Document> list_error_events(const std::string& project, const std::string& group_id,
                                                          const std::string& period) const;
  // clusters.get: the Cluster object. nodePools.list: the NodePool array (neither is paginated).
  recorder::Result<rapidjson::Document> get_cluster(const std::string& project, const std::string& location,
                                                    const std::string& cluster) const;
  recorder::Result<rapidjson::Document> list_node_pools(const std::string& project, const std::string& location,
                                                        const std::string& cluster) const;

  const GcpEndpoints& endpoints() const { return m_endpoints; }

 private:
  struct Call;
  recorder::Result<rapidjson::Document> send_json(const Call& call, const std::string& url,
                                                  const std::string& body) const;
  recorder::Result<rapidjson::Document> list_get(const Call& call, const std::string& url, QueryParams params) const;

  std::shared_ptr<recorder::Transport> m_transport;
  GcpEndpoints m_endpoints;
  std::chrono::milliseconds m_timeout;
};

// The run id of a Dagster run pod: pod names are "dagster-run-<uuid>-<suffix>" (the Job
// "dagster-run-<uuid>[-<attempt>]" plus 5 random characters), the uuid lowercase 8-4-4-4-12 hex.
// Anything else (code servers, the agent, step pods "dagster-step-...") gives nullopt. Pure.
std::optional<std::string> run_id_from_pod_name(std::string_view pod_name);

// Step 08's judgement of `creates` agent pod creations in a window, for a Deployment of `replicas`
// with maxSurge `surge_percent`: "none", "normal_rollout" (up to R + min(ceil(R*S/100), R): 2 at
// R=1, S=200%), "retried_rollout" (up to twice that) or "storm". Pure.
std::string churn_verdict(int creates, int replicas, double surge_percent);

// The google.rpc.Status error of a non-200 response as "HTTP <code> <STATUS>: <message>", or
// "HTTP <code>: <first 200 bytes>" when the body is not one. Pure.
std::string google_error_text(int http_status, std::string_view body);

}  // namespace analyzer
