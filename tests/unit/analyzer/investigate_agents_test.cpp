// `day2 agents` (Dagster+ only) against a small bundle holding one PlusAgents answer in the
// Dagster+ schema's shape (shared/reference/dagster-graphql.md §7): the fixture is open-source
// Dagster, which has no agents.
#include <gtest/gtest.h>

#include "analyzer/dagster_client.hpp"
#include "recorder/bundle.hpp"
#include "recorder/json.hpp"
#include "support/cli_outcome.hpp"
#include "support/temp_dir.hpp"

namespace {

constexpr const char* k_agents = R"({"data": {"agents": [
  {"id": "a1", "agentLabel": "prod-agent", "status": "RUNNING", "lastHeartbeatTime": 1774843140.0,
   "errors": [
     {"timestamp": 1774825200.0, "error": {"message": "ReadTimeout: HTTPSConnectionPool(host='acme.agent.dagster.cloud')\n", "className": "ReadTimeout", "stack": []}},
     {"timestamp": 1774839600.0, "error": {"message": "ConnectionError: reset\n", "className": "ConnectionError", "stack": []}}],
   "metadata": [], "runWorkerStates": [], "codeServerStates": []},
  {"id": "a2", "agentLabel": null, "status": "NOT_RUNNING", "lastHeartbeatTime": 1774760000.0, "errors": [],
   "metadata": [], "runWorkerStates": [], "codeServerStates": []}]}})";

// A bundle answering PlusAgents once, with "now" 2026-03-30T04:00:00Z (1774843200).
std::string write_agents_bundle(const day2_test::TempDir& dir) {
  recorder::Bundle bundle;
  bundle.manifest.now = recorder::from_epoch_seconds(1774843200);
  bundle.manifest.window = {recorder::from_epoch_seconds(1774800000), bundle.manifest.now};
  bundle.manifest.endpoints = {{"dagster", recorder::Service::dagster, "https://acme.dagster.cloud"}};
  recorder::Exchange exchange;
  exchange.seq = 1;
  exchange.service = recorder::Service::dagster;
  exchange.method = "POST";
  exchange.path = "/prod/graphql";
  rapidjson::Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("operationName", "PlusAgents", a);
  body.AddMember("query", recorder::json_string(analyzer::query_text("PlusAgents"), a), a);
  body.AddMember("variables", rapidjson::Value(rapidjson::kObjectType), a);
  exchange.request_body = recorder::write_json(body);
  exchange.status = 200;
  exchange.response_body = k_agents;
  bundle.exchanges.push_back(exchange);
  auto path = (dir.path() / "bundle").string();
  auto written = recorder::write_bundle(path, bundle);
  if (!written) throw std::runtime_error(written.error().message);
  return path;
}

day2test::Outcome agents(const std::string& bundle, std::vector<std::string> args) {
  std::vector<std::string> all{"agents", "--flavor", "plus", "--organization", "acme", "--replay", bundle};
  all.insert(all.end(), args.begin(), args.end());
  return day2test::run_day2(all);
}

TEST(InvestigateAgents, ErrorsAfterAndHeartbeatAge) {
  day2_test::TempDir dir;
  auto bundle = write_agents_bundle(dir);
  auto outcome = agents(bundle, {"--id", "a1", "--errors-after", "2h", "--json"});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  auto doc = recorder::parse_json(outcome.out, "stdout");
  ASSERT_TRUE(doc) << doc.error().message;
  const auto& list = (*doc)["agents"];
  ASSERT_EQ(list.Size(), 1u);
  EXPECT_STREQ(list[0]["id"].GetString(), "a1");
  EXPECT_DOUBLE_EQ(list[0]["heartbeatAgeSeconds"].GetDouble(), 60);
  // 2h before now is 02:00Z: the 23:00Z ReadTimeout is older, the 03:00Z error is kept.
  ASSERT_EQ(list[0]["errors"].Size(), 1u);
  EXPECT_STREQ(list[0]["errors"][0]["className"].GetString(), "ConnectionError");
  EXPECT_STREQ(list[0]["errors"][0]["time"]["utc"].GetString(), "2026-03-30T03:00:00Z");
}

TEST(InvestigateAgents, EveryAgentWithoutFilters) {
  day2_test::TempDir dir;
  auto outcome = agents(write_agents_bundle(dir), {});
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_NE(outcome.out.find("agent a1 (prod-agent)  RUNNING"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("agent a2 ()  NOT_RUNNING"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("ReadTimeout: HTTPSConnectionPool"), std::string::npos) << outcome.out;
}

TEST(InvestigateAgents, UnknownAgentIdExitsOne) {
  day2_test::TempDir dir;
  auto outcome = agents(write_agents_bundle(dir), {"--id", "zz"});
  EXPECT_EQ(outcome.code, 1);
  EXPECT_NE(outcome.err.find("day2 agents: error: no agent zz in acme/prod"), std::string::npos) << outcome.err;
}

TEST(InvestigateAgents, BadErrorsAfterIsUsage) {
  day2_test::TempDir dir;
  auto outcome = agents(write_agents_bundle(dir), {"--errors-after", "yesterday"});
  EXPECT_EQ(outcome.code, 2);
  EXPECT_NE(outcome.err.find("--errors-after: \"yesterday\" is neither an RFC 3339 time"), std::string::npos)
      << outcome.err;
}

}  // namespace
