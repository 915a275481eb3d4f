// The investigation fetchers over a FakeTransport answering with real Dagster captures
// (tests/data/dagster/): the run rows they share with collection, and errors naming the operation.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "analyzer/clients/dagster_client.hpp"
#include "analyzer/investigate/investigate.hpp"
#include "recorder/base/json.hpp"
#include "support/fake_transport.hpp"

namespace {

using analyzer::DagsterClient;
using day2test::Answer;
using day2test::FakeTransport;

DagsterClient client_of(const std::shared_ptr<FakeTransport>& transport) {
  return DagsterClient(transport, analyzer::DagsterSettings{}, "", std::chrono::milliseconds(2000));
}

// A RunsInWindow / InFlightRuns answer holding one run, `run_id`, whatever the cursor.
Answer one_run_page(const std::string& run_id) {
  auto doc = recorder::parse_json(R"({"data": {"runsOrError": {"__typename": "Runs", "results": [{"runId": ")" +
                                      run_id + R"(", "status": "STARTED", "tags": []}]}}})",
                                  "page");
  if (!doc) throw std::runtime_error(doc.error().message);
  return Answer::json(*doc);
}

TEST(FetchInFlight, AsksForTheInFlightStatusesAndReadsEachRow) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("InFlightRuns", Answer::file("InFlightRuns"));
  auto rows = analyzer::fetch_in_flight(client_of(transport), 100);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].run_id, "a8702479-dcba-4860-8b70-bc8cedacb61f");
  EXPECT_EQ((*rows)[0].status, "QUEUED");
  EXPECT_EQ((*rows)[0].location, "day2_fixture");
  EXPECT_EQ((*rows)[0].tags.at("day2/hold"), "true");
  EXPECT_EQ((*rows)[0].launch_time, 0);  // launchTime null: never launched
  auto requests = transport->requests("InFlightRuns");
  ASSERT_EQ(requests.size(), 1u);  // fewer rows than the page size: the last page
  EXPECT_EQ(recorder::write_json(requests[0].variables()),
            R"({"cursor":null,"filter":{"statuses":["STARTING","STARTED","CANCELING"]},"limit":100})");
}

TEST(FetchInFlight, MissingRunsOrErrorNamesTheOperation) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("InFlightRuns", Answer::body(R"({"data": {}})"));
  auto rows = analyzer::fetch_in_flight(client_of(transport), 100);
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().message, "InFlightRuns: runsOrError is missing");
}

TEST(FetchRuns, ServerIgnoringTheCursorIsAnError) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("RunsInWindow", one_run_page("r1"));
  analyzer::RunsQuery query;
  query.limit = 5;
  auto rows = analyzer::fetch_runs(client_of(transport), query, 1);
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().message, "RunsInWindow: paging does not advance past run r1");
}

TEST(FetchRunGroup, ChainRowsCarryTheirRetryNumber) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("RunGroup", Answer::file("RunGroup.retried"));
  auto chain = analyzer::fetch_run_group(client_of(transport), "116576aa-3cac-449a-990e-86f65f75195f");
  ASSERT_TRUE(chain) << chain.error().message;
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ((*chain)[0].run_id, "116576aa-3cac-449a-990e-86f65f75195f");
  EXPECT_EQ((*chain)[0].retry_number, "");
  EXPECT_EQ((*chain)[1].parent_run_id, "116576aa-3cac-449a-990e-86f65f75195f");
  EXPECT_EQ((*chain)[1].status, "SUCCESS");
  EXPECT_EQ((*chain)[1].retry_number, "1");
}

// stepKeysToExecute: a list (a re-execution of a selection), null (every step) or absent (an answer
// recorded before day2 asked for it: not known).
TEST(FetchRun, ReadsTheStepsTheRunWasAskedToExecute) {
  auto lookup_of = [](const std::string& member) {
    auto transport = std::make_shared<FakeTransport>();
    transport->on("RunDetail", Answer::body(R"({"data": {"runOrError": {"__typename": "Run", "runId": "r1", )"
                                            R"("status": "SUCCESS", "tags": [])" + member + "}}}"));
    auto lookup = analyzer::fetch_run(client_of(transport), "r1");
    if (!lookup || !lookup->run) throw std::runtime_error("no run");
    return *lookup->run;
  };
  auto selection = lookup_of(R"(, "stepKeysToExecute": ["publish", "load"])");
  EXPECT_TRUE(selection.step_keys_known);
  EXPECT_EQ(selection.step_keys_to_execute, (std::set<std::string>{"load", "publish"}));
  auto every = lookup_of(R"(, "stepKeysToExecute": null)");
  EXPECT_TRUE(every.step_keys_known);
  EXPECT_FALSE(every.step_keys_to_execute.has_value());
  auto unknown = lookup_of("");
  EXPECT_FALSE(unknown.step_keys_known);
}

TEST(FetchRun, MissingRunOrErrorNamesTheOperation) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("RunDetail", Answer::body(R"({"data": {"runOrError": null}})"));
  auto lookup = analyzer::fetch_run(client_of(transport), "r1");
  ASSERT_FALSE(lookup);
  EXPECT_EQ(lookup.error().message, "RunDetail: runOrError is missing");
}

}  // namespace
