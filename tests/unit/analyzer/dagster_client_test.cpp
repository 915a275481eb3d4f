// DagsterClient through a FakeTransport: what a request looks like (OSS and Dagster+), and every
// error layer (transport, HTTP status, body, GraphQL `errors`, union error members) named by operation.
#include "analyzer/clients/dagster_client.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "support/fake_transport.hpp"
#include "support/json_access.hpp"

namespace analyzer {
namespace {

using day2test::Answer;
using day2test::FakeTransport;
using day2test::json_at;
using day2test::text_at;
using testing::HasSubstr;
using testing::StartsWith;

const std::string k_oss_url = "http://127.0.0.1:3000/graphql";

DagsterClient oss_client(const std::shared_ptr<FakeTransport>& transport, std::string token = "") {
  return DagsterClient(transport, DagsterSettings{}, std::move(token), std::chrono::milliseconds(1234));
}

DagsterClient plus_client(const std::shared_ptr<FakeTransport>& transport, std::string token) {
  DagsterSettings settings;
  settings.flavor = Flavor::plus;
  settings.url = "";  // derived from the organization
  settings.organization = "acme";
  settings.deployment = "staging";
  return DagsterClient(transport, settings, std::move(token), std::chrono::milliseconds(1234));
}

rapidjson::Document object(const char* json) {
  rapidjson::Document document;
  document.Parse(json);
  return document;
}

// The error message of querying "Version" when the server answers `answer`.
std::string version_error(Answer answer) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("Version", std::move(answer));
  auto result = oss_client(transport).query("Version");
  return result ? "<no error>" : result.error().message;
}

// ---- Request shape -----------------------------------------------------------------------------

TEST(DagsterClient, QueryTextIsTheEmbeddedDocumentFile) {
  auto dir = std::filesystem::path(DAY2_TEST_DATA) / ".." / ".." / "analyzer" / "queries";
  int documents = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".graphql") continue;
    ++documents;
    auto text = recorder::read_file(entry.path().string());
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(query_text(entry.path().stem().string()), *text) << entry.path();
  }
  EXPECT_GE(documents, 17);
  EXPECT_EQ(query_text("NoSuchOperation"), "");
}

TEST(DagsterClient, PostsOperationQueryAndVariablesAsJson) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("RunEvents", Answer::file("RunEvents.code_error"));
  auto vars = object(R"({"runId": "2dd4253f-acb5-4aa3-9596-941608727e68", "afterCursor": null, "limit": 1000})");
  ASSERT_TRUE(oss_client(transport).query("RunEvents", vars));

  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& http = requests[0].http;
  EXPECT_EQ(http.method, "POST");
  EXPECT_EQ(http.url, k_oss_url);
  EXPECT_EQ(http.service, recorder::Service::dagster);
  EXPECT_EQ(http.timeout, std::chrono::milliseconds(1234));
  EXPECT_EQ(recorder::find_header(http.headers, "content-type"), "application/json");
  EXPECT_EQ(json_at(*requests[0].body, "/operationName"), R"("RunEvents")");
  EXPECT_EQ(text_at(*requests[0].body, "/query"), query_text("RunEvents"));
  EXPECT_EQ(recorder::write_json(requests[0].variables()), recorder::write_json(vars));
}

TEST(DagsterClient, QueryWithoutVariablesSendsAnEmptyObject) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("Version", Answer::file("Version"));
  ASSERT_TRUE(oss_client(transport).query("Version"));
  auto requests = transport->requests();
  EXPECT_EQ(json_at(*requests[0].body, "/variables"), "{}");
}

TEST(DagsterClient, ReturnsTheDataObject) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("Version", Answer::file("Version"));
  auto data = oss_client(transport).query("Version");
  ASSERT_TRUE(data) << data.error().message;
  EXPECT_EQ(recorder::write_json(*data), R"({"version":"1.13.27"})");
}

TEST(DagsterClient, OpenSourceNeverSendsDagsterCloudHeadersOrTheToken) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("Version", Answer::file("Version"));
  ASSERT_TRUE(oss_client(transport, "s3cr3t-token").query("Version"));
  auto requests = transport->requests();
  const auto& http = requests[0].http;
  for (const auto& [name, value] : http.headers) {
    EXPECT_THAT(name, testing::Not(StartsWith("Dagster-Cloud"))) << name;
    EXPECT_THAT(value, testing::Not(HasSubstr("s3cr3t"))) << name;
  }
  EXPECT_THAT(http.body, testing::Not(HasSubstr("s3cr3t")));
}

TEST(DagsterClient, PlusSendsTokenOrganizationAndDeploymentHeaders) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("Version", Answer::file("Version"));
  auto client = plus_client(transport, "s3cr3t-token");
  ASSERT_TRUE(client.query("Version"));
  auto requests = transport->requests();
  const auto& http = requests[0].http;
  EXPECT_EQ(client.endpoint(), "https://acme.dagster.cloud/graphql");
  EXPECT_EQ(http.url, "https://acme.dagster.cloud/graphql");
  EXPECT_EQ(recorder::find_header(http.headers, "Dagster-Cloud-Api-Token"), "s3cr3t-token");
  EXPECT_EQ(recorder::find_header(http.headers, "Dagster-Cloud-Organization"), "acme");
  EXPECT_EQ(recorder::find_header(http.headers, "Dagster-Cloud-Deployment"), "staging");
  EXPECT_THAT(http.body, testing::Not(HasSubstr("s3cr3t")));  // a header only
}

TEST(DagsterClient, PlusWithoutATokenSendsNoTokenHeader) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("Version", Answer::file("Version"));
  ASSERT_TRUE(plus_client(transport, "").query("Version"));
  auto requests = transport->requests();
  const auto& http = requests[0].http;
  EXPECT_EQ(recorder::find_header(http.headers, "Dagster-Cloud-Api-Token"), std::nullopt);
  EXPECT_EQ(recorder::find_header(http.headers, "Dagster-Cloud-Organization"), "acme");
}

TEST(DagsterClient, IsSafeToCallFromSeveralThreads) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("Version", Answer::file("Version"));
  auto client = oss_client(transport);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        if (!client.query("Version")) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(transport->count("Version"), 160u);
}

TEST(DagsterClient, AnUnansweredRequestNamesTheOperationAndItsVariables) {
  auto transport = std::make_shared<FakeTransport>();
  auto result = oss_client(transport).query("RunEvents", object(R"({"runId": "r1", "limit": 5})"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, R"(RunEvents: FakeTransport: no answer for RunEvents {"limit":5,"runId":"r1"})");
  EXPECT_EQ(transport->unanswered(), std::vector<std::string>{R"(RunEvents {"limit":5,"runId":"r1"})"});
}

// ---- Errors ------------------------------------------------------------------------------------

TEST(DagsterClient, TransportErrorNamesTheOperation) {
  EXPECT_EQ(version_error(Answer::error("POST http://127.0.0.1:3000/graphql failed: connection refused")),
            "Version: POST http://127.0.0.1:3000/graphql failed: connection refused");
}

TEST(DagsterClient, NonOkStatusQuotesTheBodyOnOneLine) {
  EXPECT_EQ(version_error(Answer::status_code(502, "Bad Gateway\nnginx\r\n")),
            "Version: HTTP 502 from http://127.0.0.1:3000/graphql: Bad Gateway nginx  ");
}

TEST(DagsterClient, NonOkStatusCutsALongBody) {
  auto message = version_error(Answer::status_code(500, std::string(300, 'x')));
  EXPECT_EQ(message, "Version: HTTP 500 from http://127.0.0.1:3000/graphql: " + std::string(200, 'x') + "...");
}

TEST(DagsterClient, NonOkStatusSnippetStaysValidUtf8) {
  // The message goes into the artifact: a character straddling the cut is dropped, not split.
  auto message = version_error(Answer::status_code(502, std::string(199, 'x') + "\xc3\xa9 and more"));
  EXPECT_EQ(message, "Version: HTTP 502 from http://127.0.0.1:3000/graphql: " + std::string(199, 'x') + "\xc3\xa9...");
  auto cut = version_error(Answer::status_code(502, std::string(198, 'x') + "\xe2\x80\x94 and more"));
  EXPECT_EQ(cut, "Version: HTTP 502 from http://127.0.0.1:3000/graphql: " + std::string(198, 'x') + "\xe2\x80\x94...");
}

TEST(DagsterClient, NonOkStatusSnippetReplacesBytesThatAreNotUtf8) {
  EXPECT_EQ(version_error(Answer::status_code(500, "caf\xe9 \xed\xa0\x80 \xc3\xa9")),
            "Version: HTTP 500 from http://127.0.0.1:3000/graphql: caf? ??? \xc3\xa9");
}

TEST(DagsterClient, DocumentErrorOnHttp400QuotesTheGraphqlMessage) {
  // What OSS 1.13.27 answers to a document it rejects (here PlusAgents): HTTP 400 and an `errors` body.
  auto transport = std::make_shared<FakeTransport>();
  transport->on("PlusAgents", Answer::body(day2test::dagster_data_text("PlusAgents.oss_error"), 400));
  auto result = oss_client(transport).query("PlusAgents");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message,
            "PlusAgents: GraphQL error (HTTP 400): Cannot query field 'agents' on type 'Query'.");
}

TEST(DagsterClient, BodyThatIsNotJsonNamesTheOperation) {
  EXPECT_THAT(version_error(Answer::body("<html>502 Bad Gateway</html>")), StartsWith("Version: invalid JSON: "));
}

TEST(DagsterClient, BodyThatIsNotAnObjectNamesTheOperation) {
  EXPECT_EQ(version_error(Answer::body("[1, 2]")), "Version: response is not a JSON object");
}

TEST(DagsterClient, ErrorsArrayJoinsItsMessages) {
  EXPECT_EQ(version_error(Answer::body(R"({"data": null, "errors": [{"message": "first"}, {"message": "second"}]})")),
            "Version: GraphQL error: first; second");
}

TEST(DagsterClient, ErrorsArrayWinsOverPartialData) {
  EXPECT_EQ(version_error(Answer::body(R"({"data": {"version": "1.13.27"}, "errors": [{"path": ["x"]}]})")),
            "Version: GraphQL error: (no message)");
}

TEST(DagsterClient, EmptyErrorsArrayIsNotAnError) {
  EXPECT_EQ(version_error(Answer::body(R"({"data": {"version": "1.13.27"}, "errors": []})")), "<no error>");
}

TEST(DagsterClient, MissingDataNamesTheOperation) {
  EXPECT_EQ(version_error(Answer::body("{}")), "Version: response has no data");
  EXPECT_EQ(version_error(Answer::body(R"({"data": null})")), "Version: response has no data");
}

// ---- Union members -----------------------------------------------------------------------------

TEST(DagsterClient, CheckUnionAcceptsTheExpectedMember) {
  auto data = day2test::dagster_data("RunEvents.code_error");
  EXPECT_TRUE(check_union(data["data"]["logsForRun"], "RunEvents", "EventConnection"));
}

TEST(DagsterClient, CheckUnionNamesAPythonError) {
  auto value = object(R"({"__typename": "PythonError", "className": "Exception",
                          "message": "Exception: database is locked\n", "errorChain": []})");
  auto result = check_union(value, "RunsInWindow", "Runs");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "RunsInWindow: PythonError: Exception: database is locked");
}

TEST(DagsterClient, CheckUnionNamesARunNotFoundError) {
  auto data = day2test::dagster_data("RunEvents.not_found");
  auto result = check_union(data["data"]["logsForRun"], "RunEvents", "EventConnection");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message,
            "RunEvents: RunNotFoundError: Pipeline run 00000000-0000-4000-8000-000000000000 could not be found.");
}

TEST(DagsterClient, CheckUnionRejectsNullAndUntypedResults) {
  rapidjson::Value null_value;
  EXPECT_EQ(check_union(null_value, "Backfills", "PartitionBackfills").error().message, "Backfills: result is null");
  auto untyped = object(R"({"results": []})");
  EXPECT_EQ(check_union(untyped, "Backfills", "PartitionBackfills").error().message,
            "Backfills: unexpected result: (no message)");
}

TEST(DagsterClient, PythonErrorTextDropsTheTrailingNewline) {
  auto data = day2test::dagster_data("CodeLocations");
  const auto& error = data["data"]["workspaceOrError"]["locationEntries"][1]["locationOrLoadError"];
  auto text = python_error_text(error);
  EXPECT_THAT(text, StartsWith("dagster._core.errors.DagsterImportError: Encountered ImportError:"));
  EXPECT_THAT(text, testing::EndsWith("workspace targets."));
}

}  // namespace
}  // namespace analyzer

namespace analyzer {
namespace {

recorder::HttpRequest graphql_request(recorder::Service service = recorder::Service::dagster) {
  recorder::HttpRequest request;
  request.service = service;
  request.method = "POST";
  request.url = "http://127.0.0.1:3000/graphql";
  return request;
}

bool permanent(int status, const std::string& body, recorder::Service service = recorder::Service::dagster) {
  return is_permanent_graphql_error(graphql_request(service), recorder::HttpResponse{status, {}, body});
}

// What Dagster <= 1.11 answers (HTTP 500, partial data) to an event-log query selecting
// secondsToWait when a retry delay is fractional: the same query always fails the same way.
TEST(PermanentGraphqlError, ACoercionErrorWithHttp500IsPermanent) {
  EXPECT_TRUE(permanent(500, R"({"data": {"logsForRun": null}, "errors": [{"message":
      "Int cannot represent non-integer value: 0.05554996736715015", "path": ["logsForRun", "events", 7]}]})"));
}

TEST(PermanentGraphqlError, DocumentAndVariableErrorsArePermanent) {
  for (const char* message : {"Cannot query field 'agents' on type 'Query'.", "Unknown argument 'first' on field 'Query.runsOrError'.",
                              "Variable '$limit' got invalid value 'x'; Int cannot represent non-integer value: 'x'",
                              "Syntax Error: Expected Name, found <EOF>.", "Limit of 5000 is too large. Max is 1000"}) {
    EXPECT_TRUE(permanent(500, fmt::format(R"({{"data": null, "errors": [{{"message": "{}"}}]}})", message))) << message;
  }
}

TEST(PermanentGraphqlError, ServerTroubleStaysRetryable) {
  EXPECT_FALSE(permanent(500, "<html><body>502 Bad Gateway</body></html>"));
  EXPECT_FALSE(permanent(503, ""));
  EXPECT_FALSE(permanent(500, R"({"data": null, "errors": [{"message": "(psycopg2.OperationalError) could not connect to server"}]})"));
  // One transient error among permanent ones: a retry may still help.
  EXPECT_FALSE(permanent(500, R"({"errors": [{"message": "Int cannot represent non-integer value: 0.2"},
                                             {"message": "database is locked"}]})"));
  EXPECT_FALSE(permanent(500, R"({"data": null, "errors": []})"));
}

TEST(PermanentGraphqlError, OnlyDagsterAnswersAreJudged) {
  EXPECT_FALSE(permanent(500, R"({"errors": [{"message": "Int cannot represent non-integer value: 0.2"}]})",
                         recorder::Service::logging));
}

// Through the transport stack `collect` uses: the permanent error is sent once, not retried.
TEST(PermanentGraphqlError, TheCollectorSendsItOnce) {
  auto transport = std::make_shared<FakeTransport>();
  transport->on("Version", Answer::body(R"({"data": null, "errors": [{"message": "Int cannot represent non-integer value: 0.2"}]})", 500));
  recorder::RetryPolicy policy;
  policy.permanent = is_permanent_graphql_error;
  auto retrying = std::make_shared<recorder::RetryingTransport>(transport, policy, 1, [](std::chrono::milliseconds) {});
  DagsterClient client(retrying, DagsterSettings{}, "", std::chrono::milliseconds(1000));
  auto result = client.query("Version");
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("Int cannot represent non-integer value: 0.2"));
  EXPECT_EQ(transport->requests("Version").size(), 1U);
}

}  // namespace
}  // namespace analyzer
