// Injectable faults: the flag and file forms, reproducible decisions, and each fault type's effect
// through FaultTransport (with an injected sleep, so nothing really waits).
#include "replay/fault.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include "recorder/base/json.hpp"
#include "replay/matcher.hpp"
#include "support/temp_dir.hpp"

namespace replay {
using namespace recorder;
namespace {

using namespace std::chrono_literals;

HttpRequest graphql_request(const std::string& operation, const std::string& variables = "{}") {
  HttpRequest request;
  request.service = Service::dagster;
  request.method = "POST";
  request.url = "http://127.0.0.1:3000/graphql";
  request.body = fmt::format(R"({{"operationName":"{0}","query":"query {0} {{ x }}","variables":{1}}})", operation,
                             variables);
  return request;
}

HttpRequest rest_request(Service service, const std::string& url) {
  HttpRequest request;
  request.service = service;
  request.url = url;
  return request;
}

Fault parsed(const std::string& spec) {
  auto fault = parse_fault_spec(spec);
  EXPECT_TRUE(fault.ok()) << spec << ": " << (fault.ok() ? "" : fault.error().message);
  return fault.ok() ? *fault : Fault{};
}

std::string spec_error(const std::string& spec) {
  auto fault = parse_fault_spec(spec);
  return fault.ok() ? "<parsed>" : fault.error().message;
}

std::string file_error(const std::string& text) {
  auto faults = parse_fault_file(text, "f.json");
  return faults.ok() ? "<parsed>" : faults.error().message;
}

// ---- the flag form ---------------------------------------------------------------------------------

TEST(FaultSpec, ParsesTargetTypeAndOptions) {
  auto fault = parsed("dagster:RunsInWindow=status:503,p=0.25,seed=7");
  ASSERT_TRUE(fault.service.has_value());
  EXPECT_EQ(*fault.service, Service::dagster);
  EXPECT_EQ(fault.operation, "RunsInWindow");
  EXPECT_EQ(fault.type, FaultType::status);
  EXPECT_EQ(fault.status, 503);
  EXPECT_DOUBLE_EQ(fault.probability, 0.25);
  EXPECT_EQ(fault.seed, 7u);
  EXPECT_FALSE(fault.retry_after.has_value());
  EXPECT_EQ(fault.source, "--fault 'dagster:RunsInWindow=status:503,p=0.25,seed=7'");
}

TEST(FaultSpec, RestOperationMayHoldColons) {
  auto fault = parsed("logging:/v2/entries:list=status:429,retry_after=2");
  EXPECT_EQ(*fault.service, Service::logging);
  EXPECT_EQ(fault.operation, "/v2/entries:list");
  EXPECT_EQ(fault.retry_after, 2);
}

TEST(FaultSpec, Status429RetriesAfterOneSecondByDefault) {
  EXPECT_EQ(parsed("*=status:429").retry_after, 1);
  EXPECT_FALSE(parsed("*=status:500").retry_after.has_value());
}

TEST(FaultSpec, ARetryInfoDelayReplacesTheDefaultRetryAfter) {
  auto fault = parsed("logging=status:429,retry_info_ms=2500");
  EXPECT_EQ(fault.retry_info_ms, 2500);
  EXPECT_FALSE(fault.retry_after.has_value());
  EXPECT_EQ(parsed("logging=status:429,retry_info_ms=2500,retry_after=4").retry_after, 4);
  EXPECT_EQ(parsed("logging=status:503,retry_info_ms=10").retry_info_ms, 10);
  EXPECT_EQ(parse_fault_spec("logging=status:429,retry_info_ms=-1").error().message,
            "'logging=status:429,retry_info_ms=-1': retry_info_ms must be 0-86400000 milliseconds, got -1");
  EXPECT_THAT(parse_fault_spec("logging=reset,retry_info_ms=5").error().message,
              testing::HasSubstr("a reset fault takes no option \"retry_info_ms\""));
  auto file = parse_fault_file(R"({"faults": [{"type": "status", "status": 429, "retry_info_ms": 1500}]})", "f.json");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ((*file)[0].retry_info_ms, 1500);
  EXPECT_FALSE((*file)[0].retry_after.has_value());
}

TEST(FaultSpec, AnyServiceAndLogNormalLatency) {
  auto fault = parsed("*=latency:200,sigma=0.5");
  EXPECT_FALSE(fault.service.has_value());
  EXPECT_EQ(fault.operation, "");
  EXPECT_EQ(fault.type, FaultType::latency);
  EXPECT_EQ(fault.latency, 200ms);
  EXPECT_DOUBLE_EQ(fault.sigma, 0.5);
  EXPECT_DOUBLE_EQ(fault.probability, 1.0);
}

TEST(FaultSpec, ParsesEveryOtherType) {
  EXPECT_EQ(parsed("dagster=reset").type, FaultType::reset);
  auto truncate = parsed("dagster:RunEvents=truncate,keep=10");
  EXPECT_EQ(truncate.type, FaultType::truncate);
  EXPECT_EQ(truncate.keep, 10u);
  EXPECT_EQ(parsed("metadata=invalid_json").type, FaultType::invalid_json);
  auto errors = parsed("dagster:Run*=graphql_errors,message=a=b");
  EXPECT_EQ(errors.type, FaultType::graphql_errors);
  EXPECT_EQ(errors.operation, "Run*");
  EXPECT_EQ(errors.message, "a=b");
}

TEST(FaultSpec, RejectsBadSpecsNamingThem) {
  EXPECT_EQ(spec_error("dagster"),
            "'dagster': expected SERVICE[:OPERATION]=TYPE[:ARG][,NAME=VALUE...], e.g. "
            "dagster:RunsInWindow=status:503,p=0.5");
  EXPECT_EQ(spec_error("gke=reset"),
            "'gke=reset': unknown service \"gke\"; expected one of: dagster, logging, monitoring, error_reporting, "
            "container, oauth, metadata, other, *");
  EXPECT_EQ(spec_error("*=boom"),
            "'*=boom': unknown fault type \"boom\"; expected one of: latency, status, reset, truncate, invalid_json, "
            "graphql_errors");
  EXPECT_EQ(spec_error("*=status"), "'*=status': status needs an HTTP status, e.g. status:503, got \"status\"");
  EXPECT_EQ(spec_error("*=status:200"), "'*=status:200': status must be an HTTP error status (400-599), got 200");
  EXPECT_EQ(spec_error("*=latency:fast"),
            "'*=latency:fast': latency needs its median in milliseconds, e.g. latency:200, got \"latency:fast\"");
  EXPECT_EQ(spec_error("*=reset:5"), "'*=reset:5': a reset fault takes no \":5\"");
  EXPECT_EQ(spec_error("*=reset,p=2"), "'*=reset,p=2': p must be in [0, 1], got 2");
  EXPECT_EQ(spec_error("*=reset,p=half"), "'*=reset,p=half': p=half: a probability in [0, 1] expected");
  EXPECT_EQ(spec_error("*=reset,keep=3"), "'*=reset,keep=3': a reset fault takes no option \"keep\" (it takes: p, seed, contains)");
  EXPECT_EQ(spec_error("*=truncate,p"), "'*=truncate,p': \"p\" is not NAME=VALUE");
  EXPECT_EQ(spec_error("*=status:503,seed=-1"), "'*=status:503,seed=-1': seed=-1: an integer >= 0 expected");
}

// ---- the file form ---------------------------------------------------------------------------------

TEST(FaultFile, ParsesFaultsWithCommentsAndTheFileSeed) {
  auto faults = parse_fault_file(R"({
  // a comment
  "seed": 9,
  "faults": [
    {"service": "dagster", "operation": "RunsInWindow", "type": "status", "status": 503, "p": 0.5},
    {"type": "latency", "ms": 150, "sigma": 0.25, "seed": 3},
    {"service": "logging", "type": "status", "status": 429},
    {"type": "graphql_errors", "message": "boom"},
  ]
})",
                                 "faults.json");
  ASSERT_TRUE(faults.ok()) << faults.error().message;
  ASSERT_EQ(faults->size(), 4u);
  const auto& first = (*faults)[0];
  EXPECT_EQ(*first.service, Service::dagster);
  EXPECT_EQ(first.operation, "RunsInWindow");
  EXPECT_EQ(first.status, 503);
  EXPECT_DOUBLE_EQ(first.probability, 0.5);
  EXPECT_EQ(first.seed, 9u);
  EXPECT_EQ(first.source, "faults.json:5");
  EXPECT_EQ((*faults)[1].latency, 150ms);
  EXPECT_DOUBLE_EQ((*faults)[1].sigma, 0.25);
  EXPECT_EQ((*faults)[1].seed, 3u);
  EXPECT_EQ((*faults)[2].retry_after, 1);
  EXPECT_EQ((*faults)[3].message, "boom");
}

TEST(FaultFile, ErrorsNameFileLineAndProblem) {
  EXPECT_EQ(file_error("{\"faults\": [\n  {\"type\": \"boom\"}\n]}"),
            "f.json:2: unknown fault type \"boom\"; expected one of: latency, status, reset, truncate, invalid_json, "
            "graphql_errors");
  EXPECT_EQ(file_error("{\"faults\": [\n  {\"type\": \"reset\",\n   \"p\": 1.5}\n]}"),
            "f.json:2: p must be in [0, 1], got 1.5");
  EXPECT_EQ(file_error("{\"faults\": [\n  {\"type\": \"reset\",\n   \"propability\": 1}\n]}"),
            "f.json:3: unknown member \"propability\"; expected one of: service, operation, contains, type, p, seed, ms, "
            "sigma, status, retry_after, retry_info_ms, keep, message");
  EXPECT_EQ(file_error("{\"faults\": [\n  {\"type\": \"reset\", \"keep\": 1}\n]}"),
            "f.json:2: a reset fault takes no \"keep\"");
  EXPECT_EQ(file_error("{\"faults\": [\n  {\"type\": \"status\"}\n]}"),
            "f.json:2: a status fault needs \"status\" (400-599)");
  EXPECT_EQ(file_error("{\"faults\": [\n  {\"type\": \"status\",\n \"status\": \"503\"}\n]}"),
            "f.json:3: \"status\" must be an integer, got \"503\"");
  EXPECT_EQ(file_error("{\"faults\": [\n  {\"type\": \"latency\", \"service\": \"gke\", \"ms\": 1}\n]}"),
            "f.json:2: unknown service \"gke\"; expected one of: dagster, logging, monitoring, error_reporting, "
            "container, oauth, metadata, other, *");
  EXPECT_EQ(file_error("{\"faults\": [\n  {\"type\": \"latncy\", \"ms\": 1}\n]}"),
            "f.json:2: unknown fault type \"latncy\"; expected one of: latency, status, reset, truncate, invalid_json, "
            "graphql_errors; did you mean \"latency\"?");
  EXPECT_EQ(file_error("{\"faults\": [\n  {\"type\": \"reset\",\n   \"servce\": \"dagster\"}\n]}"),
            "f.json:3: unknown member \"servce\"; expected one of: service, operation, contains, type, p, seed, ms, "
            "sigma, status, retry_after, retry_info_ms, keep, message; did you mean \"service\"?");
  EXPECT_EQ(file_error("{\"faults\": [\n  3\n]}"), "f.json:2: a fault must be an object, got 3");
  EXPECT_EQ(file_error("{\"fault\": []}"), "f.json:1: unknown member \"fault\"; expected one of: seed, faults; did you mean \"faults\"?");
  EXPECT_EQ(file_error("{}"), "f.json:1: \"faults\" must be an array of faults");
  EXPECT_EQ(file_error("[]"), "f.json:1: a fault file is a JSON object: {\"faults\": [...]}");
  EXPECT_EQ(file_error("{\"seed\": -1, \"faults\": []}"), "f.json:1: \"seed\" must be an integer >= 0");
}

TEST(FaultFile, InvalidJsonNamesLineAndColumn) {
  auto message = file_error("{\"faults\": [\n  {\"type\": }\n]}");
  EXPECT_EQ(message.rfind("f.json:2:12: ", 0), 0u) << message;
}

TEST(FaultFile, MissingFileIsNamed) {
  auto faults = read_fault_file("/nonexistent/faults.json");
  ASSERT_FALSE(faults.ok());
  EXPECT_NE(faults.error().message.find("/nonexistent/faults.json"), std::string::npos) << faults.error().message;
}

TEST(FaultFile, LoadFaultsPutsTheFileFirstAndNamesTheOption) {
  day2_test::TempDir dir;
  auto path = dir.write("faults.json", R"({"faults": [{"type": "reset"}]})");
  auto faults = load_faults(path, {"dagster=status:500"});
  ASSERT_TRUE(faults.ok()) << faults.error().message;
  ASSERT_EQ(faults->size(), 2u);
  EXPECT_EQ((*faults)[0].type, FaultType::reset);
  EXPECT_EQ((*faults)[1].status, 500);

  auto bad_flag = load_faults(std::nullopt, {"dagster=nope"});
  ASSERT_FALSE(bad_flag.ok());
  EXPECT_EQ(bad_flag.error().message.rfind("--fault: 'dagster=nope': unknown fault type", 0), 0u)
      << bad_flag.error().message;
  auto bad_file = load_faults(dir.write("bad.json", "{\"faults\": [1]}"), {});
  ASSERT_FALSE(bad_file.ok());
  EXPECT_EQ(bad_file.error().message, "--faults: " + dir.file("bad.json") + ":1: a fault must be an object, got 1");
}

TEST(FaultGlob, MatchesWildcards) {
  EXPECT_TRUE(glob_match("RunEvents", "RunEvents"));
  EXPECT_FALSE(glob_match("RunEvents", "RunEventsX"));
  EXPECT_TRUE(glob_match("Run*", "RunsInWindow"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("/v2/*:list", "/v2/entries:list"));
  EXPECT_TRUE(glob_match("*a*b*", "xxaybzb"));
  EXPECT_FALSE(glob_match("*a*b", "xxaybzc"));
  EXPECT_FALSE(glob_match("", "x"));
}

// ---- decisions -------------------------------------------------------------------------------------

std::vector<int> decisions(FaultInjector& injector, const std::vector<HttpRequest>& requests) {
  std::vector<int> out;
  for (const auto& request : requests) out.push_back(injector.plan(request).index);
  return out;
}

std::vector<HttpRequest> run_events_requests(int count) {
  std::vector<HttpRequest> requests;
  for (int i = 0; i < count; ++i) {
    requests.push_back(graphql_request("RunEvents", fmt::format(R"({{"runId":"r{}"}})", i % (count / 3))));
  }
  return requests;
}

TEST(FaultDecision, SameSeedAndRequestsGiveTheSameFaults) {
  auto requests = run_events_requests(300);
  FaultInjector a({parsed("dagster=status:503,p=0.5,seed=11")});
  FaultInjector b({parsed("dagster=status:503,p=0.5,seed=11")});
  FaultInjector other({parsed("dagster=status:503,p=0.5,seed=12")});
  auto first = decisions(a, requests);
  EXPECT_EQ(first, decisions(b, requests));
  EXPECT_NE(first, decisions(other, requests));
  auto fired = std::count(first.begin(), first.end(), 0);
  EXPECT_GT(fired, 100);
  EXPECT_LT(fired, 200);
}

TEST(FaultDecision, RepeatsOfOneRequestAreDecidedSeparately) {
  FaultInjector injector({parsed("dagster=reset,p=0.5,seed=1")});
  std::vector<int> repeats;
  for (int i = 0; i < 64; ++i) repeats.push_back(injector.plan(graphql_request("DaemonHealth")).index);
  EXPECT_NE(std::count(repeats.begin(), repeats.end(), 0), 0);
  EXPECT_NE(std::count(repeats.begin(), repeats.end(), -1), 0);
}

TEST(FaultDecision, InterleavingDoesNotChangeTheFaults) {
  std::vector<HttpRequest> requests;
  for (int i = 0; i < 200; ++i) requests.push_back(graphql_request("RunEvents", fmt::format(R"({{"runId":"r{}"}})", i)));
  FaultInjector forward({parsed("*=status:500,p=0.5,seed=5")});
  auto expected = decisions(forward, requests);

  // The same requests from four threads, each taking every fourth one in reverse order.
  FaultInjector threaded({parsed("*=status:500,p=0.5,seed=5")});
  std::vector<int> actual(requests.size(), -2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = static_cast<int>(requests.size()) - 1 - t; i >= 0; i -= 4) {
        actual[static_cast<std::size_t>(i)] = threaded.plan(requests[static_cast<std::size_t>(i)]).index;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(actual, expected);
}

TEST(FaultDecision, FiresWithTheGivenProbability) {
  for (double p : {0.0, 0.05, 0.3, 0.9, 1.0}) {
    FaultInjector injector({parsed(fmt::format("*=status:503,p={},seed=3", p))});
    int fired = 0;
    constexpr int k_requests = 20000;
    for (int i = 0; i < k_requests; ++i) {
      fired += injector.plan(rest_request(Service::logging, fmt::format("https://l/v2/entries?i={}", i))).failure ? 1 : 0;
    }
    double rate = static_cast<double>(fired) / k_requests;
    EXPECT_NEAR(rate, p, 0.015) << "p=" << p;
    if (p == 0.0) {
      EXPECT_EQ(fired, 0);
    }
    if (p == 1.0) {
      EXPECT_EQ(fired, k_requests);
    }
  }
}

TEST(FaultDecision, LogNormalLatencyHasTheMedianAndSigma) {
  FaultInjector injector({parsed("*=latency:100,sigma=0.5,seed=8")});
  std::vector<double> logs;
  for (int i = 0; i < 10001; ++i) {
    auto plan = injector.plan(rest_request(Service::monitoring, fmt::format("https://m/v3/x?i={}", i)));
    EXPECT_EQ(plan.failure, nullptr);
    logs.push_back(std::log(std::max(1.0, static_cast<double>(plan.delay.count()))));
  }
  std::sort(logs.begin(), logs.end());
  EXPECT_NEAR(std::exp(logs[logs.size() / 2]), 100.0, 5.0);
  double mean = 0;
  for (double x : logs) mean += x;
  mean /= static_cast<double>(logs.size());
  double variance = 0;
  for (double x : logs) variance += (x - mean) * (x - mean);
  EXPECT_NEAR(std::sqrt(variance / static_cast<double>(logs.size())), 0.5, 0.03);
}

TEST(FaultDecision, FixedLatencyIsExact) {
  FaultInjector injector({parsed("*=latency:250")});
  EXPECT_EQ(injector.plan(graphql_request("A")).delay, 250ms);
}

TEST(FaultDecision, SelectsByServiceAndOperation) {
  FaultInjector injector({parsed("dagster:Run*=reset"), parsed("logging:/v2/entries:list=status:429")});
  EXPECT_EQ(injector.plan(graphql_request("RunEvents")).index, 0);
  EXPECT_EQ(injector.plan(graphql_request("DaemonHealth")).index, -1);
  EXPECT_EQ(injector.plan(rest_request(Service::logging, "https://logging.googleapis.com/v2/entries:list")).index, 1);
  EXPECT_EQ(injector.plan(rest_request(Service::logging, "https://logging.googleapis.com/v2/entries:tail")).index, -1);
  // The operation is the path for REST requests, so a GraphQL name never selects one.
  EXPECT_EQ(injector.plan(rest_request(Service::dagster, "http://d/Run")).index, -1);
}

TEST(FaultDecision, LatenciesAddUpAndTheFirstFailureWins) {
  FaultInjector injector({parsed("*=latency:10"), parsed("dagster=status:500"), parsed("*=latency:5"),
                          parsed("*=reset")});
  auto plan = injector.plan(graphql_request("A"));
  EXPECT_EQ(plan.delay, 15ms);
  EXPECT_EQ(plan.index, 1);
}

// ---- effects through FaultTransport ------------------------------------------------------------------

class CountingTransport : public Transport {
 public:
  Result<HttpResponse> send(const HttpRequest&) override {
    ++calls;
    return HttpResponse{200, {{"Content-Type", "application/json"}}, R"({"data":{"version":"1.9.0"}})"};
  }
  std::atomic<int> calls{0};
};

struct Rig {
  explicit Rig(const std::string& spec)
      : inner(std::make_shared<CountingTransport>()),
        injector(std::make_shared<FaultInjector>(std::vector<Fault>{parsed(spec)})),
        transport(inner, injector, [this](std::chrono::milliseconds d) { slept.push_back(d); }) {}
  std::shared_ptr<CountingTransport> inner;
  std::shared_ptr<FaultInjector> injector;
  std::vector<std::chrono::milliseconds> slept;
  FaultTransport transport;
};

TEST(FaultEffect, ResetIsATransportErrorWithoutAnAnswer) {
  Rig rig("dagster=reset");
  auto result = rig.transport.send(graphql_request("Version"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message,
            "POST http://127.0.0.1:3000/graphql failed: connection reset by peer (day2 fault injected by --fault "
            "'dagster=reset')");
  EXPECT_EQ(rig.inner->calls, 0);
  EXPECT_EQ(rig.injector->injected(), 1);
}

TEST(FaultEffect, StatusAnswersInTheApisShape) {
  Rig rig("*=status:503");
  auto dagster = rig.transport.send(graphql_request("Version"));
  ASSERT_TRUE(dagster.ok());
  EXPECT_EQ(dagster->status, 503);
  EXPECT_EQ(dagster->body, R"x({"data":null,"errors":[{"message":"day2 fault: HTTP 503 injected (--fault '*=status:503')"}]})x");
  EXPECT_FALSE(find_header(dagster->headers, "Retry-After"));
  EXPECT_EQ(rig.inner->calls, 0);
}

TEST(FaultEffect, TooManyRequestsCarriesRetryAfter) {
  Rig rig("logging=status:429");
  auto response = rig.transport.send(rest_request(Service::logging, "https://logging.googleapis.com/v2/entries:list"));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 429);
  EXPECT_EQ(find_header(response->headers, "Retry-After"), "1");
  EXPECT_EQ(response->body,
            R"x({"error":{"code":429,"message":"day2 fault: HTTP 429 injected (--fault 'logging=status:429')","status":"RESOURCE_EXHAUSTED"}})x");
}

TEST(FaultEffect, ARetryInfoDelayIsInTheGoogleErrorBody) {
  Rig rig("logging=status:429,retry_info_ms=2500");
  auto response = rig.transport.send(rest_request(Service::logging, "https://logging.googleapis.com/v2/entries:list"));
  ASSERT_TRUE(response.ok());
  EXPECT_FALSE(find_header(response->headers, "Retry-After"));
  EXPECT_EQ(response->body,
            R"x({"error":{"code":429,"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2.500s"}],"message":"day2 fault: HTTP 429 injected (--fault 'logging=status:429,retry_info_ms=2500')","status":"RESOURCE_EXHAUSTED"}})x");
  EXPECT_EQ(server_retry_delay(*response, std::chrono::system_clock::now()), std::chrono::milliseconds(2500));
}

TEST(FaultEffect, InternalErrorIsA500) {
  Rig rig("dagster=status:500");
  auto response = rig.transport.send(graphql_request("Version"));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 500);
}

TEST(FaultEffect, TruncateCutsTheRealBody) {
  Rig rig("dagster=truncate");
  auto response = rig.transport.send(graphql_request("Version"));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(rig.inner->calls, 1);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, std::string(R"({"data":{"version":"1.9.0"}})").substr(0, 14));
  EXPECT_FALSE(parse_json(response->body, "body").ok());
}

TEST(FaultEffect, TruncateKeepsAtMostAllButOneByte) {
  Rig rig("dagster=truncate,keep=100000");
  auto response = rig.transport.send(graphql_request("Version"));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->body, R"({"data":{"version":"1.9.0"})");
}

TEST(FaultEffect, InvalidJsonReplacesTheBody) {
  Rig rig("dagster=invalid_json");
  auto response = rig.transport.send(graphql_request("Version"));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(rig.inner->calls, 1);
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(parse_json(response->body, "body").ok()) << response->body;
}

TEST(FaultEffect, GraphqlErrorsAnswerWithNullData) {
  Rig rig("dagster=graphql_errors,message=boom");
  auto response = rig.transport.send(graphql_request("Version"));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"data":null,"errors":[{"message":"boom"}]})");
  EXPECT_EQ(rig.inner->calls, 0);
}

TEST(FaultEffect, LatencySleepsThroughTheInjectedSleepThenAnswers) {
  Rig rig("dagster:Version=latency:250");
  auto response = rig.transport.send(graphql_request("Version"));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->body, R"({"data":{"version":"1.9.0"}})");
  EXPECT_EQ(rig.slept, std::vector<std::chrono::milliseconds>{250ms});
  ASSERT_TRUE(rig.transport.send(graphql_request("Other")).ok());
  EXPECT_EQ(rig.slept.size(), 1u);
  EXPECT_EQ(rig.injector->injected(), 0);
  EXPECT_EQ(rig.injector->summary(), "faults: 0 injected, 1 delay (0.25 s)");
}

TEST(FaultEffect, StatusFaultsLeaveTheRecordingForARetry) {
  Bundle bundle;
  Exchange exchange;
  exchange.seq = 1;
  exchange.service = Service::dagster;
  exchange.method = "POST";
  exchange.path = "/graphql";
  exchange.request_body = graphql_request("Version").body;
  exchange.status = 200;
  exchange.response_body = R"({"data":{"version":"1.9.0"}})";
  bundle.exchanges.push_back(exchange);
  auto matcher = std::make_shared<Matcher>(bundle);
  auto faulty = std::make_shared<FaultTransport>(
      std::make_shared<ReplayTransport>(matcher),
      std::make_shared<FaultInjector>(std::vector<Fault>{parsed("dagster=status:503,p=0.7,seed=2")}),
      [](std::chrono::milliseconds) {});
  RetryPolicy policy;
  policy.max_attempts = 30;
  RetryingTransport retrying(faulty, policy, 1, [](std::chrono::milliseconds) {});
  auto response = retrying.send(graphql_request("Version"));
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"data":{"version":"1.9.0"}})");
  EXPECT_TRUE(matcher->report().misses.empty());
}

}  // namespace
}  // namespace replay
