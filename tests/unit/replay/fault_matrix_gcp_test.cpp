// The fault matrix over the Google Cloud paths: every fault type on every Google path that `collect`
// reads (Cloud Logging, Monitoring, Error Reporting), replayed in process with --retries 0 from a bundle
// built here: the Dagster exchanges of scenarios/dagster-fixture/bundle plus the Google exchanges of
// gcp_fixture() moved into that bundle's window, recorded as the steps asked for them (so the bundle
// cannot drift from the client). Collection completes; the steps that read the path hold
// {"error": ...} naming the API method (with latency nothing fails); every other step equals the clean
// artifact; `day2 summarize` exits 1.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "analyzer/cli/cli.hpp"
#include "analyzer/collect/collect.hpp"
#include "analyzer/config/config.hpp"
#include "analyzer/clients/gcp_client.hpp"
#include "recorder/bundle.hpp"
#include "replay/fault.hpp"
#include "recorder/base/json.hpp"
#include "replay/matcher.hpp"
#include "replay/shift.hpp"
#include "recorder/base/time.hpp"
#include "recorder/transport.hpp"
#include "support/cli_outcome.hpp"
#include "support/collect_operations.hpp"
#include "support/gcp_fake.hpp"
#include "support/latency_replay.hpp"
#include "support/temp_dir.hpp"

namespace replay {
namespace {

using namespace std::chrono_literals;
using day2_test::TempDir;
using day2test::collect_google_paths;
using day2test::GooglePath;
using day2test::Outcome;
using day2test::run_day2;

const std::string k_fixture_bundle = DAY2_SOURCE_DIR "/scenarios/dagster-fixture/bundle";
const std::string k_fixture_artifact = DAY2_SOURCE_DIR "/scenarios/dagster-fixture/day2.json";
// The "now" gcp_fixture()'s answers were written for (gcp_steps_test).
constexpr const char* k_google_data_now = "2026-11-22T05:30:00Z";
const std::string k_config = R"({
  // the deployment gcp_fixture() answers for
  "gcp": {"project": "my-proj", "cluster": "prod", "location": "us-central1"}
})";
const std::vector<std::string> k_google_steps = {"step_08_agent_pod_churn", "step_10_gke_events", "step_11_alerts",
                                                 "step_12_error_groups", "step_13_oom_metrics"};

// Answers from `inner` with every timestamp of the body moved by `by`.
class ShiftingTransport : public recorder::Transport {
 public:
  ShiftingTransport(std::shared_ptr<recorder::Transport> inner, std::chrono::seconds by)
      : m_inner(std::move(inner)), m_by(by) {}
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override {
    auto response = m_inner->send(request);
    if (response) response->body = replay::shift_json_text(response->body, m_by);
    return response;
  }

 private:
  std::shared_ptr<recorder::Transport> m_inner;
  std::chrono::seconds m_by;
};

// Keeps what `inner` answered as recorded exchanges.
class TeeTransport : public recorder::Transport {
 public:
  explicit TeeTransport(std::shared_ptr<recorder::Transport> inner) : m_inner(std::move(inner)) {}
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override {
    auto response = m_inner->send(request);
    auto url = recorder::parse_url(request.url);
    if (!response || !url) throw std::runtime_error("cannot record " + request.url);
    recorder::Exchange exchange;
    exchange.service = request.service;
    exchange.method = request.method;
    exchange.path = url->path;
    exchange.query = url->query;
    if (!request.body.empty()) exchange.request_headers = {{"content-type", "application/json"}};
    exchange.request_body = request.body;
    exchange.status = response->status;
    exchange.response_headers = {{"content-type", "application/json; charset=UTF-8"}};
    exchange.response_body = response->body;
    std::lock_guard lock(m_mutex);
    m_exchanges.push_back(std::move(exchange));
    return response;
  }
  std::vector<recorder::Exchange> exchanges() const {
    std::lock_guard lock(m_mutex);
    return m_exchanges;
  }

 private:
  std::shared_ptr<recorder::Transport> m_inner;
  mutable std::mutex m_mutex;
  std::vector<recorder::Exchange> m_exchanges;
};

recorder::Bundle read_or_throw(const std::string& dir) {
  auto read = recorder::read_bundle(dir);
  if (!read) throw std::runtime_error(read.error().message);
  return std::move(*read);
}

// k_config as `collect --replay` adopts it for `bundle` (its zone, its Dagster path).
analyzer::Config replay_config(const recorder::Bundle& bundle) {
  auto config = analyzer::parse_config(k_config, "config.json");
  if (!config) throw std::runtime_error(config.error().message);
  config->retries = 0;
  config->timezone = bundle.manifest.timezone;
  config->dagster.url = bundle.manifest.endpoints.at(0).origin + "/graphql";
  return std::move(*config);
}

// collect() as `collect --replay` runs it, Dagster and Google through their transports, unpaced.
rapidjson::Document collect_in_process(const recorder::Bundle& bundle, std::shared_ptr<recorder::Transport> dagster,
                                       std::shared_ptr<recorder::Transport> google) {
  auto config = replay_config(bundle);
  analyzer::DagsterClient client(std::move(dagster), config.dagster, "", 30s);
  analyzer::CollectRequest request{config, bundle.manifest.window, bundle.manifest.timezone, nullptr,
                                   analyzer::Progress::quiet};
  request.google = std::move(google);
  request.now = bundle.manifest.now;
  return analyzer::collect(client, request);
}

// The bundle (written), the config file and the clean artifact of `collect --replay`.
struct Fixture {
  TempDir dir{"day2-gcp-faults"};
  std::string bundle_dir;
  std::string config_path;
  std::string clean_path;
  recorder::Bundle bundle;  // as read back
  Outcome clean_outcome;
  rapidjson::Document clean{rapidjson::kObjectType};
};

void build(Fixture& fixture) {
  auto dagster = read_or_throw(k_fixture_bundle);
  // gcp_fixture()'s answers moved by as much as the fixture's "now" is after theirs land in its window.
  auto by = std::chrono::duration_cast<std::chrono::seconds>(dagster.manifest.now -
                                                             *recorder::parse_rfc3339(k_google_data_now));
  auto tee = std::make_shared<TeeTransport>(std::make_shared<ShiftingTransport>(day2test::gcp_fixture(), by));
  auto matcher = std::make_shared<replay::Matcher>(dagster);
  collect_in_process(dagster, std::make_shared<replay::ReplayTransport>(matcher), tee);
  if (!matcher->report().misses.empty()) throw std::runtime_error("Dagster miss: " + matcher->report().misses.front());

  auto combined = dagster;
  for (auto& exchange : tee->exchanges()) combined.exchanges.push_back(std::move(exchange));
  combined.manifest.exchange_count = static_cast<int>(combined.exchanges.size());
  fixture.bundle_dir = fixture.dir.file("bundle");
  if (auto written = recorder::write_bundle(fixture.bundle_dir, combined, recorder::Overwrite::no); !written) {
    throw std::runtime_error(written.error().message);
  }
  fixture.bundle = read_or_throw(fixture.bundle_dir);
  fixture.config_path = fixture.dir.write("config.json", k_config);
  fixture.clean_path = fixture.dir.file("clean.json");
  fixture.clean_outcome = run_day2({"collect", "--replay", fixture.bundle_dir, "--config", fixture.config_path,
                                    "--out", fixture.clean_path, "--retries", "0", "--quiet"});
  auto clean = recorder::read_json_file(fixture.clean_path);
  if (!clean) throw std::runtime_error(clean.error().message + "\n" + fixture.clean_outcome.err);
  fixture.clean = std::move(*clean);
}

const Fixture& fixture() {
  static Fixture made;
  static const bool built = [] {
    build(made);
    return true;
  }();
  EXPECT_TRUE(built);
  return made;
}

rapidjson::Document read_artifact(const std::string& path) {
  auto parsed = recorder::read_json_file(path);
  if (!parsed) {
    ADD_FAILURE() << parsed.error().message;
    return rapidjson::Document(rapidjson::kObjectType);
  }
  return std::move(*parsed);
}

std::string json_of(const rapidjson::Value& artifact, const std::string& key) {
  if (!artifact.IsObject()) return "<not an object>";
  auto member = artifact.FindMember(key.c_str());
  return member == artifact.MemberEnd() ? "<missing>" : recorder::write_json(member->value);
}

bool holds(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// Step 10 without what the node pools add (the pools, each pod event's pool and Spot flag, and the
// preemption kind that depends on it), as JSON.
std::string without_pools(const rapidjson::Value& step) {
  rapidjson::Document copy;
  copy.CopyFrom(step, copy.GetAllocator());
  for (const char* member : {"nodePools", "nodePoolsError", "itemErrors"}) copy.RemoveMember(member);
  if (copy.HasMember("podEvents")) {
    for (auto& row : copy["podEvents"].GetArray()) {
      for (const char* member : {"nodePool", "spotNode", "preemption"}) row.RemoveMember(member);
    }
  }
  return recorder::write_json(copy);
}

// The steps of `path.steps` hold an error naming its method; those of `path.degraded` keep their
// groups and buckets but say (podEventsError, naming the method) that the pod correlation is missing;
// every other step equals the clean artifact's.
void expect_steps(const rapidjson::Value& artifact, const GooglePath& path) {
  const auto& clean = fixture().clean;
  EXPECT_EQ(json_of(artifact, "window"), json_of(clean, "window"));
  for (const auto& key : analyzer::step_keys()) {
    SCOPED_TRACE(key);
    const auto* step = recorder::get_object(artifact, key.c_str());
    const auto* clean_step = recorder::get_object(clean, key.c_str());
    ASSERT_NE(step, nullptr);
    ASSERT_NE(clean_step, nullptr);
    if (holds(path.steps, key)) {
      auto error = recorder::get_string(*step, "error");
      ASSERT_TRUE(error.has_value()) << "expected {\"error\": ...}, got " << recorder::write_json(*step);
      EXPECT_NE(error->find(path.method), std::string::npos) << *error;
    } else if (holds(path.items, key)) {
      // One error group's events: that group keeps its stats row (marked), the others are as clean.
      EXPECT_FALSE(step->HasMember("error")) << recorder::write_json(*step);
      const auto* items = recorder::get_array(*step, "itemErrors");
      ASSERT_NE(items, nullptr) << recorder::write_json(*step);
      EXPECT_FALSE(items->Empty());
      EXPECT_EQ(json_of(*step, "period"), json_of(*clean_step, "period"));
      const auto* groups = recorder::get_array(*step, "groups");
      ASSERT_NE(groups, nullptr);
      std::set<std::string> marked;
      for (const auto& group : groups->GetArray()) {
        if (auto error = recorder::get_string(group, "eventsError")) {
          EXPECT_NE(error->find(path.method), std::string::npos) << *error;
          marked.insert("error group " + recorder::get_string(group, "groupId").value_or(""));
        }
      }
      std::set<std::string> named;
      for (const auto& item : items->GetArray()) {
        EXPECT_NE(recorder::get_string(item, "error").value_or("").find(path.method), std::string::npos)
            << recorder::write_json(item);
        named.insert(recorder::get_string(item, "item").value_or(""));
      }
      EXPECT_EQ(named, marked);
    } else if (holds(path.pools, key)) {
      // Without the node pools the events stay; only which nodes are Spot is missing, and said.
      auto error = recorder::get_string(*step, "nodePoolsError");
      ASSERT_TRUE(error.has_value()) << "expected a nodePoolsError, got " << recorder::write_json(*step);
      EXPECT_NE(error->find(path.method), std::string::npos) << *error;
      ASSERT_TRUE(step->HasMember("itemErrors"));
      EXPECT_EQ(recorder::get_string((*step)["itemErrors"][0], "item"), "node pools");
      EXPECT_EQ(without_pools(*step), without_pools(*clean_step));
    } else if (holds(path.degraded, key)) {
      auto error = recorder::get_string(*step, "podEventsError");
      ASSERT_TRUE(error.has_value()) << "expected a podEventsError, got " << recorder::write_json(*step);
      EXPECT_NE(error->find(path.method), std::string::npos) << *error;
      EXPECT_EQ(json_of(*step, "buckets"), json_of(*clean_step, "buckets"));
      EXPECT_EQ(json_of(*step, "period"), json_of(*clean_step, "period"));
    } else {
      EXPECT_EQ(recorder::write_json(*step), recorder::write_json(*clean_step));
    }
  }
}

int recorded_count(const std::string& path) {
  int count = 0;
  for (const auto& exchange : fixture().bundle.exchanges) count += exchange.path == path ? 1 : 0;
  return count;
}

// ---- the bundle --------------------------------------------------------------------------------------

TEST(GcpFaultMatrix, CleanReplayHasNoMissesAndNoStepErrors) {
  const auto& built = fixture();
  EXPECT_EQ(built.clean_outcome.code, 0) << built.clean_outcome.err;
  EXPECT_EQ(built.clean_outcome.err.find("replay"), std::string::npos) << built.clean_outcome.err;
  EXPECT_TRUE(analyzer::error_steps(built.clean).empty());
  for (const auto& key : k_google_steps) {
    SCOPED_TRACE(key);
    const auto* step = recorder::get_object(built.clean, key.c_str());
    ASSERT_NE(step, nullptr);
    EXPECT_NE(json_of(*step, "skipped"), "true") << recorder::write_json(*step);
    EXPECT_FALSE(step->HasMember("error")) << recorder::write_json(*step);
    EXPECT_FALSE(step->HasMember("podEventsError")) << recorder::write_json(*step);
  }
  // The Google data lies in the window: the steps found something to report.
  EXPECT_GT(recorder::get_array(*recorder::get_object(built.clean, "step_10_gke_events"), "podEvents")->Size(), 0u);
  EXPECT_GT(recorder::get_array(*recorder::get_object(built.clean, "step_11_alerts"), "alerts")->Size(), 0u);
  EXPECT_GT(recorder::get_array(*recorder::get_object(built.clean, "step_12_error_groups"), "groups")->Size(), 0u);
}

TEST(GcpFaultMatrix, DagsterStepsEqualTheFixtureArtifact) {
  auto dagster_only = read_artifact(k_fixture_artifact);
  for (const auto& key : analyzer::step_keys()) {
    if (holds(k_google_steps, key)) continue;
    EXPECT_EQ(json_of(fixture().clean, key), json_of(dagster_only, key)) << key;
  }
}

TEST(GcpFaultMatrix, TableCoversExactlyTheGooglePathsOfTheBundle) {
  std::set<std::pair<std::string, std::string>> recorded;
  for (const auto& exchange : fixture().bundle.exchanges) {
    if (exchange.service != recorder::Service::dagster) {
      recorded.emplace(std::string(recorder::to_string(exchange.service)), exchange.path);
    }
  }
  std::set<std::pair<std::string, std::string>> table;
  for (const auto& path : collect_google_paths()) table.emplace(path.service, path.path);
  EXPECT_EQ(recorded, table);
}

// ---- the matrix --------------------------------------------------------------------------------------

struct Cell {
  std::string kind;  // gtest-safe name
  std::string spec;  // TYPE[:ARG] of the --fault spec
  GooglePath path;
};

void PrintTo(const Cell& cell, std::ostream* out) { *out << cell.kind << " on " << cell.path.path; }

// "/v2/entries:list" -> "v2_entries_list"
std::string test_name(std::string_view path) {
  std::string out;
  for (char ch : path.substr(1)) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return out;
}

std::vector<Cell> failure_cells() {
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"status_429", "status:429"}, {"status_500", "status:500"}, {"status_503", "status:503"},
      {"reset", "reset"},           {"truncate", "truncate"},     {"invalid_json", "invalid_json"},
  };
  std::vector<Cell> cells;
  for (const auto& [kind, spec] : kinds) {
    for (const auto& path : collect_google_paths()) cells.push_back({kind, spec, path});
  }
  return cells;
}

class GcpFaultMatrixFailure : public ::testing::TestWithParam<Cell> {};

TEST_P(GcpFaultMatrixFailure, StepsOfThePathFailAndNoOtherStepChanges) {
  const auto& cell = GetParam();
  const auto& built = fixture();
  TempDir dir;
  auto out_path = dir.file("day2.json");
  auto outcome = run_day2({"collect", "--replay", built.bundle_dir, "--config", built.config_path, "--out", out_path,
                           "--retries", "0", "--quiet", "--fault",
                           fmt::format("{}:{}={},p=1,seed=1", cell.path.service, cell.path.path, cell.spec)});
  EXPECT_EQ(outcome.code, 1) << outcome.err;  // written, but some steps hold errors
  EXPECT_EQ(outcome.out, out_path + "\n");
  bool item_only = !cell.path.items.empty() || !cell.path.pools.empty();
  EXPECT_NE(outcome.err.find(item_only ? "item(s) could not be read" : "step(s) hold errors"),
            std::string::npos)
      << outcome.err;
  EXPECT_EQ(outcome.err.find("replay miss"), std::string::npos) << outcome.err;
  EXPECT_EQ(outcome.err.find("faults: 0 injected"), std::string::npos) << outcome.err;
  expect_steps(read_artifact(out_path), cell.path);

  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(analyzer::run_cli({"summarize", out_path}, out, err), 1) << err.str();
}

INSTANTIATE_TEST_SUITE_P(GcpFaultMatrix, GcpFaultMatrixFailure, ::testing::ValuesIn(failure_cells()),
                         [](const ::testing::TestParamInfo<Cell>& param) {
                           return param.param.kind + "_" + test_name(param.param.path.path);
                         });

// Latency through the analyzer's collection API, wired as `collect --replay` wires it, with a fake
// sleep: nothing fails, the steps are the clean ones, and every request of the path waited.
class GcpFaultMatrixLatency : public ::testing::TestWithParam<GooglePath> {};

TEST_P(GcpFaultMatrixLatency, NothingFailsAndEveryRequestOfThePathWaits) {
  const auto& path = GetParam();
  const auto& built = fixture();
  auto replay =
      day2test::make_latency_replay(built.bundle, fmt::format("{}:{}=latency:40,p=1", path.service, path.path));
  auto& matcher = replay.matcher;
  auto& transport = replay.transport;
  auto artifact = collect_in_process(built.bundle, transport, transport);

  EXPECT_TRUE(analyzer::error_steps(artifact).empty());
  expect_steps(artifact, GooglePath{path.service, path.path, path.method, {}, {}});
  EXPECT_EQ(replay.delays(), std::vector<std::chrono::milliseconds>(static_cast<std::size_t>(recorded_count(path.path)), 40ms));
  EXPECT_TRUE(matcher->report().misses.empty());
  EXPECT_TRUE(matcher->report().unused.empty());
}

INSTANTIATE_TEST_SUITE_P(GcpFaultMatrix, GcpFaultMatrixLatency, ::testing::ValuesIn(collect_google_paths()),
                         [](const ::testing::TestParamInfo<GooglePath>& param) {
                           return test_name(param.param.path);
                         });

// ---- retries as Google specifies them ------------------------------------------------------------

// Answers the first attempt of every Google request with `status` (and `body`), later attempts from
// the recording: a retry layer that retries it collects exactly the clean artifact.
class FirstAttemptRefused : public recorder::Transport {
 public:
  FirstAttemptRefused(std::shared_ptr<recorder::Transport> inner, int status, std::string body)
      : m_inner(std::move(inner)), m_status(status), m_body(std::move(body)) {}
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override {
    if (request.service != recorder::Service::dagster) {
      std::lock_guard lock(m_mutex);
      ++m_sends;
      if (m_seen.insert(request.url + " " + request.body).second) {
        return recorder::HttpResponse{m_status, {{"Content-Type", "application/json"}}, m_body};
      }
    }
    return m_inner->send(request);
  }
  int sends() const { std::lock_guard lock(m_mutex); return m_sends; }
  std::size_t distinct() const { std::lock_guard lock(m_mutex); return m_seen.size(); }

 private:
  std::shared_ptr<recorder::Transport> m_inner;
  int m_status;
  std::string m_body;
  mutable std::mutex m_mutex;
  std::set<std::string> m_seen;
  int m_sends = 0;
};

struct RetryRig {
  std::shared_ptr<replay::Matcher> matcher;
  std::shared_ptr<FirstAttemptRefused> refusing;
  std::shared_ptr<recorder::Transport> transport;  // as make_transport_stack builds it: retries over pacing
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::chrono::milliseconds>> waits =
      std::make_shared<std::vector<std::chrono::milliseconds>>();
};

RetryRig retry_rig(int status, const std::string& body) {
  RetryRig rig;
  rig.matcher = std::make_shared<replay::Matcher>(fixture().bundle);
  rig.refusing = std::make_shared<FirstAttemptRefused>(std::make_shared<replay::ReplayTransport>(rig.matcher),
                                                        status, body);
  auto pacer = std::make_shared<analyzer::Pacer>(60, 5, analyzer::Pacer::Clock{}, [](std::chrono::milliseconds) {});
  auto paced = std::make_shared<analyzer::PacedTransport>(rig.refusing, pacer);
  recorder::RetryPolicy policy;  // the defaults of `collect`: --retries 3
  rig.transport = std::make_shared<recorder::RetryingTransport>(
      paced, policy, 0x5eed, [mutex = rig.mutex, waits = rig.waits](std::chrono::milliseconds wait) {
        std::lock_guard lock(*mutex);
        waits->push_back(wait);
      });
  return rig;
}

void expect_clean(const rapidjson::Value& artifact) {
  for (const auto& key : analyzer::step_keys()) {
    EXPECT_EQ(json_of(artifact, key), json_of(fixture().clean, key)) << key;
  }
}

TEST(GcpRetries, TheRetryInfoDelayGoogleSendsIsWaitedWithinTenPercent) {
  auto rig = retry_rig(429, R"({"error": {"code": 429, "message": "Quota exceeded for quota metric 'Read requests'",
      "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
      "retryDelay": "2.500s"}]}})");
  auto artifact = collect_in_process(fixture().bundle, rig.transport, rig.transport);
  expect_clean(artifact);
  ASSERT_GT(rig.refusing->distinct(), 0u);
  EXPECT_EQ(rig.refusing->sends(), static_cast<int>(2 * rig.refusing->distinct()));  // one retry each
  ASSERT_EQ(rig.waits->size(), rig.refusing->distinct());
  for (auto wait : *rig.waits) {
    EXPECT_GE(wait, 2250ms);
    EXPECT_LE(wait, 2750ms);
  }
}

TEST(GcpRetries, RequestTimeout408IsRetried) {
  auto rig = retry_rig(408, R"({"error": {"code": 408, "message": "Request timed out", "status": "DEADLINE_EXCEEDED"}})");
  auto artifact = collect_in_process(fixture().bundle, rig.transport, rig.transport);
  expect_clean(artifact);
  EXPECT_EQ(rig.refusing->sends(), static_cast<int>(2 * rig.refusing->distinct()));
  EXPECT_EQ(rig.waits->size(), rig.refusing->distinct());
}

TEST(GcpRetries, APersistent429CostsAtMostFiveSendsPerRequest) {
  // Through the command as users run it (default --retries): the one retry layer, no second one in
  // the client multiplying it.
  const auto& built = fixture();
  TempDir dir;
  auto out_path = dir.file("day2.json");
  auto outcome = run_day2({"collect", "--replay", built.bundle_dir, "--config", built.config_path, "--out", out_path,
                           "--quiet", "--fault", "logging:/v2/entries:list=status:429,p=1"});
  EXPECT_EQ(outcome.code, 1) << outcome.err;
  auto at = outcome.err.find("faults: ");
  ASSERT_NE(at, std::string::npos) << outcome.err;
  int injected = std::stoi(outcome.err.substr(at + 8));
  int requests = recorded_count("/v2/entries:list");
  ASSERT_GT(requests, 0);
  // Each distinct Logging read is sent, refused, and given up after the retries: 4 sends (<= 5).
  EXPECT_GT(injected, 0);
  EXPECT_LE(injected, 5 * requests) << outcome.err;
  EXPECT_EQ(injected % 4, 0) << outcome.err;
  auto artifact = read_artifact(out_path);
  EXPECT_NE(recorder::get_string(artifact["step_10_gke_events"], "error").value_or("").find("HTTP 429"),
            std::string::npos);
}

TEST(GcpRetries, AStepStopsAtItsTimeCapWhateverItsRequestsStillHadToWaitFor) {
  // Every Logging read takes 1.5 s (a real wait: --fault latency sleeps) and a step may take 1 s: the
  // first read of each Logging step is answered, and the step stops there instead of reading on.
  const auto& built = fixture();
  TempDir dir;
  auto config = dir.write("config.json", R"({
    "gcp": {"project": "my-proj", "cluster": "prod", "location": "us-central1"},
    "collect": {"step_seconds": 1}
  })");
  auto out_path = dir.file("day2.json");
  auto outcome = run_day2({"collect", "--replay", built.bundle_dir, "--config", config, "--out", out_path, "--quiet",
                           "--fault", "logging:/v2/entries:list=latency:1500,p=1"});
  EXPECT_EQ(outcome.code, 1) << outcome.err;
  auto artifact = read_artifact(out_path);
  for (const char* step : {"step_08_agent_pod_churn", "step_10_gke_events"}) {
    auto error = recorder::get_string(artifact[step], "error").value_or("");
    EXPECT_NE(error.find("/v2/entries:list: the step's time cap of 1 s was reached"), std::string::npos)
        << step << ": " << error;
  }
  // Steps without Logging reads are untouched by the cap.
  EXPECT_EQ(json_of(artifact, "step_11_alerts"), json_of(built.clean, "step_11_alerts"));
  EXPECT_EQ(json_of(artifact, "step_01_failed_runs"), json_of(built.clean, "step_01_failed_runs"));
}

}  // namespace
}  // namespace replay
