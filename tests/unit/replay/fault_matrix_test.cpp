// The fault matrix: every fault type on every GraphQL operation recorded in
// scenarios/dagster-fixture/bundle, collected in process at p=1. Collection completes; the steps that use
// the operation hold {"error": ...} (with latency nothing fails); every other step is identical to the
// clean artifact; `day2 summarize` exits 1. Then each fault type once through the real replay server.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "analyzer/cli/cli.hpp"
#include "analyzer/collect/collect.hpp"
#include "recorder/bundle.hpp"
#include "replay/fault.hpp"
#include "recorder/base/json.hpp"
#include "replay/matcher.hpp"
#include "replay/server.hpp"
#include "support/cli_outcome.hpp"
#include "support/collect_operations.hpp"
#include "support/latency_replay.hpp"
#include "support/temp_dir.hpp"

namespace replay {
namespace {

using namespace std::chrono_literals;
using day2_test::TempDir;
using day2test::collect_operation_steps;
using day2test::Outcome;
using day2test::run_day2;
using day2test::steps_of_operation;

const std::string k_bundle = DAY2_SOURCE_DIR "/scenarios/dagster-fixture/bundle";
const std::string k_clean_artifact = DAY2_SOURCE_DIR "/scenarios/dagster-fixture/day2.json";

const recorder::Bundle& fixture_bundle() {
  static const recorder::Bundle bundle = [] {
    auto read = recorder::read_bundle(k_bundle);
    if (!read) throw std::runtime_error(read.error().message);
    return std::move(*read);
  }();
  return bundle;
}

std::string operation_of(const recorder::Exchange& exchange) {
  auto graphql = recorder::parse_graphql_request(exchange.service, exchange.method, exchange.path,
                                                 exchange.request_body);
  return graphql ? graphql->operation_name : "";
}

int recorded_count(const std::string& operation) {
  int count = 0;
  for (const auto& exchange : fixture_bundle().exchanges) count += operation_of(exchange) == operation ? 1 : 0;
  return count;
}

rapidjson::Document read_artifact(const std::string& path) {
  auto parsed = recorder::read_json_file(path);
  if (!parsed) {
    ADD_FAILURE() << parsed.error().message;
    return rapidjson::Document(rapidjson::kObjectType);
  }
  return std::move(*parsed);
}

const rapidjson::Document& clean_artifact() {
  static const rapidjson::Document clean = read_artifact(k_clean_artifact);
  return clean;
}

std::string json_of(const rapidjson::Value& artifact, const std::string& key) {
  auto member = artifact.FindMember(key.c_str());
  return member == artifact.MemberEnd() ? "<missing>" : recorder::write_json(member->value);
}

Outcome collect_replay(const std::string& out_path, const std::vector<std::string>& faults) {
  std::vector<std::string> args{"collect", "--replay", k_bundle, "--out", out_path, "--retries", "0", "--quiet"};
  for (const auto& fault : faults) {
    args.push_back("--fault");
    args.push_back(fault);
  }
  return run_day2(args);
}

// Every step not in `failing` equals the clean artifact's; every step in it holds an error naming
// `operation` or, for an operation that reads one item of many, keeps its payload and lists the
// unreadable items, each naming `operation`.
void expect_steps(const rapidjson::Value& artifact, const std::vector<std::string>& failing,
                  const std::string& operation) {
  EXPECT_EQ(json_of(artifact, "window"), json_of(clean_artifact(), "window"));
  EXPECT_EQ(json_of(artifact, "meta"), json_of(clean_artifact(), "meta"));
  for (const auto& key : analyzer::step_keys()) {
    SCOPED_TRACE(key);
    const auto* step = recorder::get_object(artifact, key.c_str());
    ASSERT_NE(step, nullptr);
    if (std::find(failing.begin(), failing.end(), key) != failing.end() && day2test::is_item_operation(operation)) {
      EXPECT_FALSE(step->HasMember("error")) << recorder::write_json(*step);
      const auto* items = recorder::get_array(*step, "itemErrors");
      ASSERT_NE(items, nullptr) << recorder::write_json(*step);
      EXPECT_FALSE(items->Empty());
      for (const auto& item : items->GetArray()) {
        EXPECT_NE(recorder::get_string(item, "error").value_or("").find(operation), std::string::npos)
            << recorder::write_json(item);
      }
    } else if (std::find(failing.begin(), failing.end(), key) != failing.end()) {
      auto error = recorder::get_string(*step, "error");
      ASSERT_TRUE(error.has_value()) << "expected {\"error\": ...}, got " << recorder::write_json(*step);
      EXPECT_NE(error->find(operation), std::string::npos) << *error;
    } else {
      EXPECT_EQ(recorder::write_json(*step), json_of(clean_artifact(), key));
    }
  }
}

// ---- the matrix ------------------------------------------------------------------------------------

// Every operation the fixture's collection sent (exchanges recorded after it for investigations
// are not the collection's).
TEST(FaultMatrix, TableCoversEveryRecordedOperation) {
  std::set<std::string> recorded;
  auto bundle = fixture_bundle();
  for (const auto& exchange : bundle.exchanges) {
    if (bundle.manifest.investigations_from == 0 || exchange.seq < bundle.manifest.investigations_from) {
      recorded.insert(operation_of(exchange));
    }
  }
  std::set<std::string> table;
  for (const auto& [operation, steps] : collect_operation_steps()) table.insert(operation);
  for (const auto& operation : day2test::display_operations()) table.insert(operation);
  EXPECT_EQ(recorded, table);
}

// A failed run's captured output that cannot be read costs nothing the diagnosis rests on: the
// collection exits 0, every step equals the clean artifact's but for each failure's capturedLog,
// which keeps its step and file and says why (naming the operation) instead of holding lines.
TEST(FaultMatrix, AnUnreadableCapturedLogIsNotedAndCostsNoStep) {
  ASSERT_GT(recorded_count("RunCapturedLogs"), 0);
  TempDir dir;
  auto path = dir.file("day2.json");
  auto outcome = collect_replay(path, {"dagster:RunCapturedLogs=status:500,p=1,seed=1"});
  EXPECT_EQ(outcome.code, 0) << outcome.err;
  auto artifact = read_artifact(path);
  for (const auto& key : analyzer::step_keys()) {
    if (key != "step_01_failed_runs") {
      EXPECT_EQ(json_of(artifact, key), json_of(clean_artifact(), key)) << key;
    }
  }
  const auto& failures = artifact["step_01_failed_runs"]["failures"];
  const auto& clean = clean_artifact()["step_01_failed_runs"]["failures"];
  ASSERT_EQ(failures.Size(), clean.Size());
  int noted = 0;
  int without_log = 0;
  for (rapidjson::SizeType i = 0; i < failures.Size(); ++i) {
    if (!clean[i].HasMember("capturedLog")) {  // no failed step with a captured file: nothing was asked
      EXPECT_EQ(recorder::write_json(failures[i]), recorder::write_json(clean[i]));
      ++without_log;
      continue;
    }
    const auto& log = failures[i]["capturedLog"];
    EXPECT_EQ(recorder::write_json(log["stepKey"]), recorder::write_json(clean[i]["capturedLog"]["stepKey"]));
    EXPECT_NE(recorder::get_string(log, "error").value_or("").find("RunCapturedLogs"), std::string::npos)
        << recorder::write_json(log);
    EXPECT_FALSE(log.HasMember("lines"));
    rapidjson::Document without;
    without.CopyFrom(failures[i], without.GetAllocator());
    without.RemoveMember("capturedLog");
    rapidjson::Document clean_without;
    clean_without.CopyFrom(clean[i], clean_without.GetAllocator());
    clean_without.RemoveMember("capturedLog");
    EXPECT_EQ(recorder::write_json(without), recorder::write_json(clean_without));
    ++noted;
  }
  EXPECT_GT(noted, 0);
  EXPECT_EQ(noted + without_log, static_cast<int>(clean.Size()));
}

TEST(FaultMatrix, FaultsThatSelectNothingLeaveTheArtifactByteForByte) {
  TempDir dir;
  auto outcome = collect_replay(dir.file("day2.json"), {"dagster:NoSuchOperation=reset", "logging=status:503"});
  EXPECT_EQ(outcome.code, 0) << outcome.err;
  auto written = recorder::read_file(dir.file("day2.json"));
  auto clean = recorder::read_file(k_clean_artifact);
  ASSERT_TRUE(written.ok() && clean.ok());
  EXPECT_EQ(*written, *clean);
  EXPECT_NE(outcome.err.find("faults: 0 injected"), std::string::npos) << outcome.err;
}

struct Cell {
  std::string kind;  // gtest-safe name
  std::string spec;  // TYPE[:ARG] of the --fault spec
  std::string operation;
};

void PrintTo(const Cell& cell, std::ostream* out) { *out << cell.kind << " on " << cell.operation; }

std::vector<Cell> failure_cells() {
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"status_429", "status:429"}, {"status_500", "status:500"}, {"status_503", "status:503"},
      {"reset", "reset"},           {"truncate", "truncate"},     {"invalid_json", "invalid_json"},
      {"graphql_errors", "graphql_errors"},
  };
  std::vector<Cell> cells;
  for (const auto& [kind, spec] : kinds) {
    for (const auto& [operation, steps] : collect_operation_steps()) cells.push_back({kind, spec, operation});
  }
  return cells;
}

class FaultMatrixFailure : public ::testing::TestWithParam<Cell> {};

TEST_P(FaultMatrixFailure, StepsOfTheOperationFailAndNoOtherStepChanges) {
  const auto& cell = GetParam();
  TempDir dir;
  auto path = dir.file("day2.json");
  auto outcome = collect_replay(path, {fmt::format("dagster:{}={},p=1,seed=1", cell.operation, cell.spec)});
  EXPECT_EQ(outcome.code, 1) << outcome.err;  // written, but some steps hold errors
  EXPECT_EQ(outcome.out, path + "\n");
  EXPECT_NE(outcome.err.find(day2test::is_item_operation(cell.operation) ? "item(s) could not be read"
                                                                          : "step(s) hold errors"),
            std::string::npos)
      << outcome.err;
  EXPECT_EQ(outcome.err.find("replay miss"), std::string::npos) << outcome.err;
  expect_steps(read_artifact(path), steps_of_operation(cell.operation), cell.operation);

  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(analyzer::run_cli({"summarize", path}, out, err), 1) << err.str();
}

INSTANTIATE_TEST_SUITE_P(FaultMatrix, FaultMatrixFailure, ::testing::ValuesIn(failure_cells()),
                         [](const ::testing::TestParamInfo<Cell>& param) {
                           return param.param.kind + "_" + param.param.operation;
                         });

// One failed run whose event log cannot be read (a fault on that run's RunEvents only, a permanent
// GraphQL error as Dagster <= 1.11 answers for a fractional retry delay) costs that run's evidence
// only: every other run is collected and classified exactly as without the fault, the run itself
// stays with its error and a category, and summarize's gate trips naming it.
TEST(FaultMatrix, OneUnreadableEventLogIsThatRunsErrorNotTheSteps) {
  const auto* clean_failures = recorder::get_array(clean_artifact()["step_01_failed_runs"], "failures");
  ASSERT_NE(clean_failures, nullptr);
  ASSERT_GE(clean_failures->Size(), 2U);
  std::string victim = (*clean_failures)[1]["runId"].GetString();
  TempDir dir;
  auto path = dir.file("day2.json");
  auto outcome = collect_replay(path, {"dagster:RunEvents=status:500,contains=" + victim});
  EXPECT_EQ(outcome.code, 1) << outcome.err;
  EXPECT_NE(outcome.err.find("step_01_failed_runs (run " + victim + ")"), std::string::npos) << outcome.err;
  auto artifact = read_artifact(path);
  const auto& step = artifact["step_01_failed_runs"];
  EXPECT_FALSE(step.HasMember("error"));
  const auto& failures = step["failures"];
  ASSERT_EQ(failures.Size(), clean_failures->Size());
  int marked = 0;
  for (rapidjson::SizeType i = 0; i < failures.Size(); ++i) {
    std::string run_id = failures[i]["runId"].GetString();
    if (run_id != victim) {
      EXPECT_EQ(recorder::write_json(failures[i]), recorder::write_json((*clean_failures)[i])) << run_id;
      continue;
    }
    ++marked;
    EXPECT_NE(recorder::get_string(failures[i], "eventsError").value_or("").find("RunEvents"), std::string::npos);
    EXPECT_TRUE(failures[i]["category"].IsString());
  }
  EXPECT_EQ(marked, 1);
  ASSERT_EQ(step["itemErrors"].Size(), 1U);
  EXPECT_EQ(recorder::get_string(step["itemErrors"][0], "item"), "run " + victim);
  for (const char* count : {"failureCount", "successCount", "canceledCount", "successRunIds"}) {
    EXPECT_EQ(recorder::write_json(step[count]), recorder::write_json(clean_artifact()["step_01_failed_runs"][count]));
  }
  for (const auto& key : analyzer::step_keys()) {
    if (key != "step_01_failed_runs") {
      EXPECT_EQ(json_of(artifact, key), json_of(clean_artifact(), key)) << key;
    }
  }
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(analyzer::run_cli({"summarize", path}, out, err), 1) << err.str();
  EXPECT_NE(out.str().find("Error gate: FAIL"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("step_01_failed_runs: run " + victim + ": "), std::string::npos) << out.str();
  std::ostringstream details;
  EXPECT_EQ(analyzer::run_cli({"summarize", "--details", path}, details, err), 1) << err.str();
  EXPECT_NE(details.str().find("evidence incomplete: the event log could not be read"), std::string::npos);

  auto report = run_day2({"report", path, "--out-dir", dir.file("reports"), "--format", "md"});
  ASSERT_EQ(report.code, 0) << report.err;
  auto reports = recorder::read_file(dir.file("reports/day2-report-2026-12-06.md"));
  ASSERT_TRUE(reports) << reports.error().message;
  EXPECT_NE(reports->find("**Missing signals:** 1 item(s) could not be read"), std::string::npos) << *reports;
  EXPECT_NE(reports->find("`step_01_failed_runs (run " + victim + ")`"), std::string::npos) << *reports;
}

// Latency through the analyzer's collection API, wired as `collect --replay` wires it, with a fake
// sleep: nothing fails and the artifact is the clean one, and every request of the operation waited.
class FaultMatrixLatency : public ::testing::TestWithParam<std::string> {};

TEST_P(FaultMatrixLatency, NothingFailsAndEveryRequestOfTheOperationWaits) {
  const auto& operation = GetParam();
  const auto& bundle = fixture_bundle();
  auto replay = day2test::make_latency_replay(bundle, fmt::format("dagster:{}=latency:40,p=1", operation));
  auto& matcher = replay.matcher;
  auto& transport = replay.transport;
  analyzer::Config config;
  config.timezone = bundle.manifest.timezone;
  config.dagster.url = bundle.manifest.endpoints.at(0).origin + "/graphql";
  analyzer::DagsterClient client(transport, config.dagster, "", 30s);
  analyzer::CollectRequest request{config, bundle.manifest.window, bundle.manifest.timezone, nullptr,
                                   analyzer::Progress::quiet};
  auto artifact = analyzer::collect(client, request);

  EXPECT_TRUE(analyzer::error_steps(artifact).empty());
  expect_steps(artifact, {}, operation);
  EXPECT_EQ(replay.delays(), std::vector<std::chrono::milliseconds>(static_cast<std::size_t>(recorded_count(operation)), 40ms));
  EXPECT_TRUE(matcher->report().misses.empty());
  EXPECT_TRUE(matcher->report().unused.empty());
}

std::vector<std::string> recorded_operations() {
  std::vector<std::string> operations;
  for (const auto& [operation, steps] : collect_operation_steps()) operations.push_back(operation);
  return operations;
}

INSTANTIATE_TEST_SUITE_P(FaultMatrix, FaultMatrixLatency, ::testing::ValuesIn(recorded_operations()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

TEST(FaultMatrix, CollectRefusesFaultsWithoutReplay) {
  auto outcome =
      run_day2({"collect", "--dagster-url", "http://127.0.0.1:9/graphql", "--quiet", "--fault", "dagster=reset"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("--fault: faults are injected only with --replay"), std::string::npos) << outcome.err;
  outcome = run_day2({"collect", "--dagster-url", "http://127.0.0.1:9/graphql", "--quiet", "--faults", "f.json"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("--faults: faults are injected only with --replay"), std::string::npos) << outcome.err;
}

TEST(FaultMatrix, CollectNamesABadSpecOrFile) {
  TempDir dir;
  auto outcome = collect_replay(dir.file("day2.json"), {"dagster=explode"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("--fault: 'dagster=explode': unknown fault type \"explode\""), std::string::npos)
      << outcome.err;
  auto file = dir.write("faults.json", "{\"faults\": [\n  {\"type\": \"status\", \"status\": 200}\n]}");
  outcome = run_day2({"collect", "--replay", k_bundle, "--out", dir.file("x.json"), "--quiet", "--faults", file});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("--faults: " + file + ":2: status must be an HTTP error status (400-599), got 200"),
            std::string::npos)
      << outcome.err;
}

TEST(FaultMatrix, RetriesRideOutRandomFaultsReproducibly) {
  TempDir dir;
  auto faults = dir.write("faults.json", R"({
  // every request: a 503 half the time, a reset a fifth of the time
  "seed": 4,
  "faults": [
    {"service": "dagster", "type": "status", "status": 503, "p": 0.5},
    {"service": "dagster", "type": "reset", "p": 0.2}
  ]
})");
  auto outcome = run_day2({"collect", "--replay", k_bundle, "--out", dir.file("day2.json"), "--quiet",
                           "--retries", "20", "--faults", faults});
  EXPECT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_EQ(*recorder::read_file(dir.file("day2.json")), *recorder::read_file(k_clean_artifact));
  auto summary = outcome.err.substr(outcome.err.find("faults: "));
  EXPECT_EQ(summary.rfind("faults: ", 0), 0u) << outcome.err;
  EXPECT_EQ(summary.find("faults: 0 injected"), std::string::npos) << summary;  // some did fire
  // The same seed gives the same faults, whatever the threads did.
  auto again = run_day2({"collect", "--replay", k_bundle, "--out", dir.file("again.json"), "--quiet",
                         "--retries", "20", "--faults", faults});
  EXPECT_EQ(again.err.substr(again.err.find("faults: ")), summary);
}

// ---- through the replay server ---------------------------------------------------------------------

class FaultServer : public ::testing::Test {
 protected:
  void TearDown() override {
    if (m_server) m_server->stop();
  }

  void start(const std::vector<std::string>& specs) {
    std::vector<replay::Fault> faults;
    for (const auto& spec : specs) {
      auto fault = replay::parse_fault_spec(spec);
      ASSERT_TRUE(fault.ok()) << fault.error().message;
      faults.push_back(*fault);
    }
    m_matcher = std::make_shared<replay::Matcher>(fixture_bundle());
    ServerOptions options;
    options.faults = std::make_shared<replay::FaultInjector>(std::move(faults));
    m_server = std::make_unique<Server>(m_matcher, options);
    auto port = m_server->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    m_port = *port;
  }

  const recorder::Exchange& recorded(const std::string& operation) const {
    for (const auto& exchange : fixture_bundle().exchanges) {
      if (operation_of(exchange) == operation) return exchange;
    }
    throw std::runtime_error("not recorded: " + operation);
  }

  httplib::Result post(const std::string& operation) const {
    httplib::Client client("127.0.0.1", m_port);
    client.set_connection_timeout(5s);
    client.set_read_timeout(10s);
    return client.Post("/graphql", recorded(operation).request_body, "application/json");
  }

  std::shared_ptr<replay::Matcher> m_matcher;
  std::unique_ptr<Server> m_server;
  int m_port = 0;
};

TEST_F(FaultServer, StatusFaultsAnswerWithTheStatus) {
  start({"dagster:DaemonHealth=status:503", "dagster:CodeLocations=status:500", "dagster:Backfills=status:429"});
  auto unavailable = post("DaemonHealth");
  ASSERT_TRUE(unavailable) << httplib::to_string(unavailable.error());
  EXPECT_EQ(unavailable->status, 503);
  EXPECT_NE(unavailable->body.find("day2 fault: HTTP 503 injected"), std::string::npos) << unavailable->body;
  auto internal = post("CodeLocations");
  ASSERT_TRUE(internal);
  EXPECT_EQ(internal->status, 500);
  auto limited = post("Backfills");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "1");
  auto untouched = post("InFlightRuns");
  ASSERT_TRUE(untouched);
  EXPECT_EQ(untouched->status, 200);
  EXPECT_EQ(untouched->body, recorded("InFlightRuns").response_body);
}

TEST_F(FaultServer, ResetClosesTheConnectionWithoutAResponseAndKeepsServing) {
  start({"dagster:DaemonHealth=reset"});
  auto reset = post("DaemonHealth");
  EXPECT_FALSE(reset);
  if (reset) ADD_FAILURE() << "got a response: HTTP " << reset->status << " " << reset->body;
  auto next = post("CodeLocations");
  ASSERT_TRUE(next) << httplib::to_string(next.error());
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, recorded("CodeLocations").response_body);
}

TEST_F(FaultServer, TruncateSendsACompleteResponseWithACutBody) {
  start({"dagster:DaemonHealth=truncate"});
  auto response = post("DaemonHealth");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  const auto& full = recorded("DaemonHealth").response_body;
  EXPECT_EQ(response->body, full.substr(0, full.size() / 2));
  EXPECT_FALSE(recorder::parse_json(response->body, "body").ok());
}

TEST_F(FaultServer, InvalidJsonSendsABodyThatIsNotJson) {
  start({"dagster:DaemonHealth=invalid_json"});
  auto response = post("DaemonHealth");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(recorder::parse_json(response->body, "body").ok()) << response->body;
}

TEST_F(FaultServer, GraphqlErrorsAnswerWithNullData) {
  start({"dagster:DaemonHealth=graphql_errors,message=boom"});
  auto response = post("DaemonHealth");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"data":null,"errors":[{"message":"boom"}]})");
}

TEST_F(FaultServer, LatencyDelaysTheRecordedAnswer) {
  start({"dagster:DaemonHealth=latency:150"});
  auto begin = std::chrono::steady_clock::now();
  auto response = post("DaemonHealth");
  auto elapsed = std::chrono::steady_clock::now() - begin;
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->body, recorded("DaemonHealth").response_body);
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 5s);
}

TEST(FaultServe, NamesABadFaultOptionBeforeServing) {
  auto serve_error = [](const std::vector<std::string>& args) -> std::string {
    std::ostringstream out;
    std::ostringstream err;
    try {
      int code = commands().at(0).run(args, out, err);
      return fmt::format("no usage error, exit {}", code);
    } catch (const recorder::UsageError& e) {
      return e.message;
    }
  };
  EXPECT_EQ(serve_error({"serve", k_bundle, "--fault", "gke=reset"}),
            "--fault: 'gke=reset': unknown service \"gke\"; expected one of: dagster, logging, monitoring, "
            "error_reporting, container, oauth, metadata, other, *");
  EXPECT_EQ(serve_error({"serve", k_bundle, "--faults", "/nonexistent/faults.json"}).rfind(
                "--faults: /nonexistent/faults.json", 0),
            0u);
}

// The whole stack: `day2 collect` over HTTP against the faulty server, the real transport on its end.
TEST_F(FaultServer, CollectOverHttpSeesTheResetAsAStepError) {
  start({"dagster:DaemonHealth=reset"});
  TempDir dir;
  auto path = dir.file("day2.json");
  const auto& manifest = fixture_bundle().manifest;
  auto outcome = run_day2({"collect", "--dagster-url", fmt::format("http://127.0.0.1:{}/graphql", m_port), "--now",
                           recorder::format_rfc3339_utc(manifest.window.end), "--hours", "2", "--retries", "0", "--quiet",
                           "--out", path});
  EXPECT_EQ(outcome.code, 1) << outcome.err;
  auto artifact = read_artifact(path);
  for (const auto& key : analyzer::step_keys()) {
    SCOPED_TRACE(key);
    const auto* step = recorder::get_object(artifact, key.c_str());
    ASSERT_NE(step, nullptr);
    if (key == "step_09_daemons") {
      EXPECT_NE(recorder::get_string(*step, "error").value_or("").find("DaemonHealth"), std::string::npos)
          << recorder::write_json(*step);
    } else {
      EXPECT_EQ(recorder::write_json(*step), json_of(clean_artifact(), key));
    }
  }
}

}  // namespace
}  // namespace replay
