#include "replay/matcher.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace replay {
using namespace recorder;
namespace {

const char* const k_run_events_query = "query RunEvents($runId: ID!, $after: String) { events(runId: $runId) { id } }";

std::string graphql_body(const std::string& variables, const std::string& query = k_run_events_query) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("operationName", "RunEvents", a);
  doc.AddMember("query", json_string(query, a), a);
  rapidjson::Document vars;
  vars.Parse(variables.c_str());
  doc.AddMember("variables", rapidjson::Value(vars, a), a);
  return write_json(doc);
}

Exchange recorded(Service service, std::string method, std::string path, std::string query, std::string body,
                  std::string response, int status = 200) {
  Exchange x;
  x.service = service;
  x.method = std::move(method);
  x.path = std::move(path);
  x.query = std::move(query);
  x.request_body = std::move(body);
  x.status = status;
  x.response_headers = {{"content-type", "application/json"}};
  x.response_body = std::move(response);
  return x;
}

Bundle bundle_of(std::vector<Exchange> exchanges) {
  Bundle b;
  for (std::size_t i = 0; i < exchanges.size(); ++i) exchanges[i].seq = static_cast<int>(i) + 1;
  b.exchanges = std::move(exchanges);
  b.manifest.exchange_count = static_cast<int>(b.exchanges.size());
  return b;
}

HttpRequest request(Service service, std::string method, std::string url, std::string body = "") {
  HttpRequest r;
  r.service = service;
  r.method = std::move(method);
  r.url = std::move(url);
  r.body = std::move(body);
  return r;
}

HttpRequest graphql(const std::string& variables, const std::string& query = k_run_events_query) {
  return request(Service::dagster, "POST", "http://127.0.0.1:3000/graphql", graphql_body(variables, query));
}

Bundle dagster_bundle() {
  return bundle_of({recorded(Service::dagster, "POST", "/graphql", "", graphql_body(R"({"runId":"abc","after":null})"),
                             R"({"data":{"events":[1]}})"),
                    recorded(Service::logging, "POST", "/v2/entries:list", "",
                             R"({"resourceNames":["projects/p"],"pageSize":5})", R"({"entries":[]})"),
                    recorded(Service::logging, "GET", "/v2/logs", "b=2&a=1", "", R"({"logNames":[]})")});
}

// ---- match keys --------------------------------------------------------------------------------

TEST(MatchKey, GraphqlUsesOperationNameAndCanonicalVariables) {
  EXPECT_EQ(match_key(Service::dagster, "post", "/graphql", "", graphql_body(R"({"b":1,"a":{"y":2,"x":1}})")),
            R"(POST /graphql graphql:RunEvents {"a":{"x":1,"y":2},"b":1})");
}

TEST(MatchKey, RestUsesMethodPathSortedQueryAndCanonicalBody) {
  EXPECT_EQ(match_key(Service::logging, "post", "/v2/entries:list", "z=1&a=x+y&a=%3D", R"({"b": 1, "a": [2]})"),
            R"(POST /v2/entries:list?a=x%20y&a=%3D&z=1 {"a":[2],"b":1})");
}

TEST(MatchKey, LeavesOutSecretQueryParametersAndTokenBodies) {
  EXPECT_EQ(match_key(Service::logging, "GET", "/v2/logs", "key=AIza&pageToken=t1", ""), "GET /v2/logs?pageToken=t1");
  EXPECT_EQ(match_key(Service::oauth, "POST", "/token", "", "grant_type=x&assertion=eyJ"), "POST /token");
}

// ---- matching ----------------------------------------------------------------------------------

TEST(Matcher, MatchesGraphqlIgnoringVariableOrderAndQueryWhitespace) {
  Matcher matcher(dagster_bundle());
  auto response = matcher.answer(graphql(R"({"after":null,"runId":"abc"})",
                                         "query RunEvents(\n  $runId: ID!\n  $after: String\n) {\n  events(runId: $runId) { id }\n}"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"data":{"events":[1]}})");
  auto report = matcher.report();
  EXPECT_EQ(report.served, 1);
  EXPECT_TRUE(report.misses.empty());
  EXPECT_TRUE(report.warnings.empty());
}

TEST(Matcher, WarnsWhenGraphqlQueryTextDrifts) {
  Matcher matcher(dagster_bundle());
  auto response = matcher.answer(graphql(R"({"runId":"abc","after":null})",
                                         "query RunEvents($runId: ID!, $after: String) { events(runId: $runId) { id message } }"));
  EXPECT_EQ(response.body, R"({"data":{"events":[1]}})");
  EXPECT_EQ(matcher.report().warnings,
            std::vector<std::string>{
                "graphql:RunEvents: the query text differs from the recorded one (seq 1); replayed anyway"});
}

TEST(Matcher, MatchesRestByMethodPathSortedQueryAndCanonicalBody) {
  Matcher matcher(dagster_bundle());
  auto listed = matcher.answer(request(Service::logging, "POST", "https://logging.googleapis.com/v2/entries:list",
                                       R"({ "pageSize": 5, "resourceNames": ["projects/p"] })"));
  EXPECT_EQ(listed.body, R"({"entries":[]})");
  auto logs = matcher.answer(request(Service::logging, "GET", "https://logging.googleapis.com/v2/logs?a=1&b=2"));
  EXPECT_EQ(logs.body, R"({"logNames":[]})");
  EXPECT_EQ(matcher.report().served, 2);
}

TEST(Matcher, AcceptsServerStyleUrls) {
  Matcher matcher(dagster_bundle());
  EXPECT_EQ(matcher.answer(request(Service::logging, "GET", "/v2/logs?b=2&a=1")).body, R"({"logNames":[]})");
}

TEST(Matcher, MethodIsPartOfTheMatch) {
  Matcher matcher(dagster_bundle());
  auto response = matcher.answer(request(Service::logging, "DELETE", "https://logging.googleapis.com/v2/logs?a=1&b=2"));
  EXPECT_EQ(response.status, 404);
}

TEST(Matcher, ServesRepeatedRequestsInRecordedOrderThenMisses) {
  auto body = graphql_body(R"({"runId":"abc"})");
  Matcher matcher(bundle_of({recorded(Service::dagster, "POST", "/graphql", "", body, R"({"data":"first"})"),
                             recorded(Service::dagster, "POST", "/graphql", "", body, R"({"data":"second"})")}));
  EXPECT_EQ(matcher.answer(graphql(R"({"runId":"abc"})")).body, R"({"data":"first"})");
  EXPECT_EQ(matcher.answer(graphql(R"({"runId":"abc"})")).body, R"({"data":"second"})");
  auto third = matcher.answer(graphql(R"({"runId":"abc"})"));
  EXPECT_EQ(third.status, 200);
  EXPECT_EQ(third.body,
            R"({"data":null,"errors":[{"message":"day2 replay: no recorded response for POST /graphql graphql:RunEvents )"
            R"({\"runId\":\"abc\"}: recorded 2 time(s) and every recorded response was already served"}]})");
  EXPECT_EQ(matcher.report().misses.size(), 1u);
}

TEST(Matcher, RepeatLastServesTheLastRecordedResponseAgainWithoutAMiss) {
  auto body = graphql_body(R"({"runId":"abc"})");
  Matcher matcher(bundle_of({recorded(Service::dagster, "POST", "/graphql", "", body, R"({"data":"first"})"),
                             recorded(Service::dagster, "POST", "/graphql", "", body, R"({"data":"second"})")}),
                  Repeat::last);
  EXPECT_EQ(matcher.answer(graphql(R"({"runId":"abc"})")).body, R"({"data":"first"})");
  EXPECT_EQ(matcher.answer(graphql(R"({"runId":"abc"})")).body, R"({"data":"second"})");
  EXPECT_EQ(matcher.answer(graphql(R"({"runId":"abc"})")).body, R"({"data":"second"})");
  EXPECT_TRUE(matcher.report().misses.empty());
  EXPECT_EQ(matcher.report().served, 3);
}

// Without repeats an exchange is served once, so its body is handed over, not copied: a replayed night
// does not hold every body to its end. With repeats the body stays to be served again.
TEST(Matcher, AServedBodyIsHandedOverWithoutRepeatsAndKeptWithThem) {
  Matcher once(dagster_bundle());
  EXPECT_EQ(once.answer(graphql(R"({"runId":"abc","after":null})")).body, R"({"data":{"events":[1]}})");
  EXPECT_EQ(once.bundle().exchanges[0].response_body, "");
  EXPECT_EQ(once.bundle().exchanges[1].response_body, R"({"entries":[]})");  // not served: kept
  EXPECT_EQ(once.bundle().exchanges[0].response_headers.size(), 1u);           // headers are copied
  Matcher again(dagster_bundle(), Repeat::last);
  EXPECT_EQ(again.answer(graphql(R"({"runId":"abc","after":null})")).body, R"({"data":{"events":[1]}})");
  EXPECT_EQ(again.answer(graphql(R"({"runId":"abc","after":null})")).body, R"({"data":{"events":[1]}})");
  EXPECT_EQ(again.bundle().exchanges[0].response_body, R"({"data":{"events":[1]}})");
}

TEST(Matcher, RepeatLastStillMissesRequestsNeverRecorded) {
  Matcher matcher(dagster_bundle(), Repeat::last);
  auto answer = matcher.answer(graphql(R"({"runId":"zzz","after":null})"));
  EXPECT_NE(answer.body.find("not recorded"), std::string::npos) << answer.body;
  EXPECT_EQ(matcher.report().misses.size(), 1u);
}

TEST(Matcher, AnswersGraphqlMissInGraphqlShapeNamingNearest) {
  Matcher matcher(dagster_bundle());
  auto response = matcher.answer(graphql(R"({"runId":"abd","after":null})"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body,
            R"({"data":null,"errors":[{"message":"day2 replay: no recorded response for POST /graphql graphql:RunEvents )"
            R"({\"after\":null,\"runId\":\"abd\"}: not recorded; nearest recorded request: POST /graphql graphql:RunEvents )"
            R"x({\"after\":null,\"runId\":\"abc\"} (seq 1)"}]})x");
  EXPECT_EQ(matcher.report().misses,
            std::vector<std::string>{
                R"(POST /graphql graphql:RunEvents {"after":null,"runId":"abd"}: not recorded; nearest recorded request: )"
                R"(POST /graphql graphql:RunEvents {"after":null,"runId":"abc"} (seq 1))"});
}

TEST(Matcher, AnswersGoogleMissAsRpcStatusNamingNearest) {
  Matcher matcher(dagster_bundle());
  auto response = matcher.answer(request(Service::logging, "GET", "https://logging.googleapis.com/v2/logs?a=1&b=3"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body,
            R"({"error":{"code":404,"message":"day2 replay: no recorded response for GET /v2/logs?a=1&b=3: not )"
            R"x(recorded; nearest recorded request: GET /v2/logs?a=1&b=2 (seq 3)","status":"NOT_FOUND"}})x");
}

TEST(Matcher, NearestPrefersTheSameEndpoint) {
  // "GET /v2/logs" is closer in characters to "GET /v2/logz", but the same endpoint wins.
  Matcher matcher(bundle_of({recorded(Service::logging, "GET", "/v2/logz", "", "", "{}"),
                             recorded(Service::logging, "GET", "/v2/logs", "pageSize=100&filter=severity%3E%3DERROR",
                                      "", "{}")}));
  matcher.answer(request(Service::logging, "GET", "/v2/logs"));
  ASSERT_EQ(matcher.report().misses.size(), 1u);
  EXPECT_EQ(matcher.report().misses[0],
            "GET /v2/logs: not recorded; nearest recorded request: GET "
            "/v2/logs?filter=severity>%3DERROR&pageSize=100 (seq 2)");
}

TEST(Matcher, ReportsUnusedExchanges) {
  Matcher matcher(dagster_bundle());
  matcher.answer(request(Service::logging, "GET", "/v2/logs?a=1&b=2"));
  auto report = matcher.report();
  EXPECT_EQ(report.unused, (std::vector<int>{1, 2}));
  EXPECT_EQ(report.served, 1);
}

TEST(Matcher, FinishFreesTheExchangesAndKeepsTheReport) {
  Matcher matcher(dagster_bundle());
  matcher.answer(request(Service::logging, "GET", "/v2/logs?a=1&b=2"));
  auto finished = matcher.finish();
  EXPECT_EQ(finished.unused, (std::vector<int>{1, 2}));
  EXPECT_EQ(finished.served, 1);
  EXPECT_TRUE(matcher.bundle().exchanges.empty());
  EXPECT_EQ(matcher.report().unused, finished.unused);  // not every exchange "unused" now
  // A request after the end is a miss saying so, counted in the report.
  auto late = matcher.answer(graphql(R"({"runId":"abc","after":null})"));
  EXPECT_NE(late.body.find("the replay was finished"), std::string::npos) << late.body;
  EXPECT_EQ(matcher.report().miss_count, finished.miss_count + 1);
  EXPECT_EQ(matcher.finish().unused, finished.unused);  // finishing twice changes nothing
}

TEST(Matcher, PlaceholderMatchesOneValueThroughout) {
  Matcher matcher(bundle_of({recorded(Service::container, "GET", "/v1/projects/<redacted:project:1>/clusters", "", "",
                                      R"({"clusters":[]})"),
                             recorded(Service::container, "GET", "/v1/projects/<redacted:project:1>/zones", "", "",
                                      R"({"zones":[]})"),
                             recorded(Service::container, "GET", "/v1/projects/<redacted:project:1>/nodes", "", "",
                                      R"({"nodes":[]})")}));
  EXPECT_EQ(matcher.answer(request(Service::container, "GET", "/v1/projects/my-proj/clusters")).body,
            R"({"clusters":[]})");
  EXPECT_EQ(matcher.answer(request(Service::container, "GET", "/v1/projects/my-proj/zones")).body, R"({"zones":[]})");
  EXPECT_EQ(matcher.answer(request(Service::container, "GET", "/v1/projects/other/nodes")).status, 404);
}

TEST(Matcher, PlaceholderInGraphqlVariablesMatchesTheRealValue) {
  Matcher matcher(bundle_of({recorded(Service::dagster, "POST", "/graphql", "",
                                      graphql_body(R"({"runId":"<redacted:email:1>"})"), R"({"data":"ok"})")}));
  EXPECT_EQ(matcher.answer(graphql(R"({"runId":"ann@example.com"})")).body, R"({"data":"ok"})");
}

TEST(Matcher, UnparsableUrlIsAMissNotACrash) {
  Matcher matcher(dagster_bundle());
  auto response = matcher.answer(request(Service::other, "GET", "not a url"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(matcher.report().misses.size(), 1u);
}

TEST(Matcher, TokenEndpointMatchesWhateverCredentialIsSent) {
  Matcher matcher(bundle_of({recorded(Service::oauth, "POST", "/token", "", "grant_type=x&assertion=<redacted:token:1>",
                                      R"({"access_token":"<redacted:token:2>","expires_in":3599})")}));
  auto response = matcher.answer(request(Service::oauth, "POST", "https://oauth2.googleapis.com/token",
                                         "grant_type=x&assertion=eyJreal.jwt.value"));
  EXPECT_EQ(response.body, R"({"access_token":"<redacted:token:2>","expires_in":3599})");
}

TEST(Matcher, ServesConcurrentRequestsFromEightThreads) {
  constexpr int k_threads = 8;
  constexpr int k_each = 25;
  std::vector<Exchange> exchanges;
  for (int t = 0; t < k_threads; ++t) {
    for (int i = 0; i < k_each; ++i) {
      auto vars = "{\"runId\":\"t" + std::to_string(t) + "\",\"after\":\"" + std::to_string(i) + "\"}";
      exchanges.push_back(recorded(Service::dagster, "POST", "/graphql", "", graphql_body(vars),
                                   "{\"data\":\"" + std::to_string(t) + "/" + std::to_string(i) + "\"}"));
    }
  }
  auto matcher = std::make_shared<Matcher>(bundle_of(std::move(exchanges)));
  ReplayTransport transport(matcher);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < k_each; ++i) {
        auto vars = "{\"runId\":\"t" + std::to_string(t) + "\",\"after\":\"" + std::to_string(i) + "\"}";
        auto response = transport.send(graphql(vars));
        if (!response || response->body != "{\"data\":\"" + std::to_string(t) + "/" + std::to_string(i) + "\"}") ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  auto report = matcher->report();
  EXPECT_EQ(report.served, k_threads * k_each);
  EXPECT_TRUE(report.misses.empty());
  EXPECT_TRUE(report.unused.empty());
}

TEST(ReplayTransport, NeverReturnsAnErrorOnAMiss) {
  ReplayTransport transport(std::make_shared<Matcher>(Bundle{}));
  auto response = transport.send(request(Service::monitoring, "GET", "https://monitoring.googleapis.com/v3/x"));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->body,
            R"({"error":{"code":404,"message":"day2 replay: no recorded response for GET /v3/x: not recorded; nearest )"
            R"x(recorded request: none (the bundle holds no exchanges)","status":"NOT_FOUND"}})x");
}

TEST(ReplayReport, FormatsForPeople) {
  auto bundle = dagster_bundle();
  Matcher matcher(bundle);
  matcher.answer(request(Service::logging, "GET", "/v2/logs?a=1&b=2"));
  matcher.answer(request(Service::logging, "GET", "/v2/nope"));
  EXPECT_EQ(format_replay_report(matcher.report(), bundle),
            "replay: 1 served, 1 miss, 2 unused, 0 warnings\n"
            "  miss: GET /v2/nope: not recorded; nearest recorded request: GET /v2/logs?a=1&b=2 (seq 3)\n"
            "  unused: seq 1: POST /graphql graphql:RunEvents {\"after\":null,\"runId\":\"abc\"}\n"
            "  unused: seq 2: POST /v2/entries:list {\"pageSize\":5,\"resourceNames\":[\"projects/p\"]}\n");
}

}  // namespace
}  // namespace replay

namespace replay {
using namespace recorder;
namespace {

// Exchanges recorded for later investigations (manifest.investigations_from) are not "unused" when
// a replay does not ask for them; the ones before are.
TEST(Matcher, ExchangesRecordedForInvestigationsAreNotReportedUnused) {
  auto bundle = dagster_bundle();
  bundle.manifest.investigations_from = 3;
  Matcher matcher(std::move(bundle));
  EXPECT_EQ(matcher.answer(graphql(R"({"runId":"abc","after":null})")).status, 200);
  EXPECT_EQ(matcher.report().unused, std::vector<int>{2}) << "seq 2 is the collection's, seq 3 an investigation's";
  Matcher plain(dagster_bundle());
  EXPECT_EQ(plain.answer(graphql(R"({"runId":"abc","after":null})")).status, 200);
  EXPECT_EQ(plain.report().unused, (std::vector<int>{2, 3}));
}

}  // namespace
}  // namespace replay
