// The Google Cloud client layer: paging to the end (empty pages with a token included), proto3
// JSON, google.rpc.Status errors naming the method, the Logging pacer, and the GKE name rules.
#include "analyzer/clients/gcp_client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/gcp_fake.hpp"

namespace analyzer {
namespace {

using day2test::GcpFake;
using day2test::gcp_data;
using day2test::query_param;
using testing::HasSubstr;

constexpr const char* k_root = "http://127.0.0.1:9";

// A pacer that never really sleeps: the clock advances by what it is asked to sleep.
struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  std::vector<std::chrono::milliseconds> sleeps;
};

std::shared_ptr<Pacer> fake_pacer(const std::shared_ptr<FakeClock>& clock, int per_minute = 60, int burst = 5) {
  return std::make_shared<Pacer>(
      per_minute, burst, [clock] { return clock->now; },
      [clock](std::chrono::milliseconds ms) {
        clock->sleeps.push_back(ms);
        clock->now += ms;
      });
}

GcpClient client_over(const std::shared_ptr<GcpFake>& fake) {
  return GcpClient(fake, GcpEndpoints::all(std::string(k_root) + "/"), std::chrono::milliseconds(1000));
}

std::shared_ptr<GcpFake> pod_event_pages() {
  auto fake = std::make_shared<GcpFake>();
  fake->on("/v2/entries:list", "", gcp_data("pod_events.page1"))
      .on("/v2/entries:list", "pods-2", gcp_data("pod_events.page2"))
      .on("/v2/entries:list", "pods-3", gcp_data("pod_events.page3"));
  return fake;
}

TEST(GcpClient, LogEntriesFollowEveryPageIncludingAnEmptyOneWithAToken) {
  auto fake = pod_event_pages();
  auto entries = client_over(fake).list_log_entries("my-proj", "log_id(\"events\")");
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_EQ(entries->Size(), 4u);
  auto requests = fake->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].service, recorder::Service::logging);
  EXPECT_EQ(requests[0].url, std::string(k_root) + "/v2/entries:list");
  EXPECT_EQ(requests[0].body,
            R"j({"filter":"log_id(\"events\")","orderBy":"timestamp asc","pageSize":1000,"resourceNames":["projects/my-proj"]})j");
  EXPECT_THAT(requests[2].body, HasSubstr(R"("pageToken":"pods-3")"));
}

TEST(GcpClient, AnEmptyBodyIsAnEmptyList) {
  auto fake = std::make_shared<GcpFake>();
  fake->on("/v3/projects/p/alerts", "", "{}");
  auto alerts = client_over(fake).list_alerts("p");
  ASSERT_TRUE(alerts.ok()) << alerts.error().message;
  EXPECT_EQ(alerts->Size(), 0u);
}

TEST(GcpClient, GetListsSendTheirParametersAgainWithEachPageToken) {
  auto fake = std::make_shared<GcpFake>();
  fake->on("/v1beta1/projects/p/groupStats", "", gcp_data("group_stats.page1"))
      .on("/v1beta1/projects/p/groupStats", "gs-2", gcp_data("group_stats.page2"))
      .on("/v1beta1/projects/p/groupStats", "gs-3", gcp_data("group_stats.page3"));
  auto groups = client_over(fake).list_group_stats("p", {{"timeRange.period", "PERIOD_1_DAY"}, {"order", "LAST_SEEN_DESC"}});
  ASSERT_TRUE(groups.ok()) << groups.error().message;
  EXPECT_EQ(groups->Size(), 5u);
  auto requests = fake->requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& request : requests) {
    EXPECT_EQ(query_param(request.url, "timeRange.period"), "PERIOD_1_DAY");
    EXPECT_EQ(request.service, recorder::Service::error_reporting);
  }
  EXPECT_EQ(query_param(requests[2].url, "pageToken"), "gs-3");
}

TEST(GcpClient, FiltersArePercentEncoded) {
  auto fake = std::make_shared<GcpFake>();
  fake->on("/v3/projects/p/timeSeries", "", "{}");
  auto series = client_over(fake).list_time_series("p", {{"filter", "metric.type=\"a b\" AND x=&"}});
  ASSERT_TRUE(series.ok()) << series.error().message;
  auto url = fake->requests().at(0).url;
  EXPECT_THAT(url, HasSubstr("filter=metric.type%3D%22a%20b%22%20AND%20x%3D%26"));
  EXPECT_EQ(query_param(url, "filter"), "metric.type=\"a b\" AND x=&");
}

TEST(GcpClient, GoogleRpcStatusBecomesAnErrorNamingTheMethod) {
  auto fake = std::make_shared<GcpFake>();
  fake->on("/v3/projects/p/alerts", "",
           R"({"error": {"code": 403, "message": "Permission monitoring.alerts.list denied", "status": "PERMISSION_DENIED",
               "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "IAM_PERMISSION_DENIED"}]}})",
           403);
  auto alerts = client_over(fake).list_alerts("p");
  ASSERT_FALSE(alerts.ok());
  EXPECT_EQ(alerts.error().message,
            "monitoring projects.alerts.list: HTTP 403 PERMISSION_DENIED: Permission monitoring.alerts.list denied");
}

TEST(GcpClient, ABodyThatIsNotAStatusIsQuoted) {
  EXPECT_EQ(google_error_text(502, "<html>Bad gateway</html>"), "HTTP 502: <html>Bad gateway</html>");
  EXPECT_EQ(google_error_text(503, ""), "HTTP 503");
}

TEST(GcpClient, BadPagesAreErrorsNotCrashes) {
  auto fake = std::make_shared<GcpFake>();
  fake->on("/v3/projects/p/alerts", "", R"({"alerts": {"name": "x"}})")
      .on("/v1beta1/projects/p/groupStats", "", "not json")
      .on("/v3/projects/p/timeSeries", "", R"({"timeSeries": [], "nextPageToken": 7})")
      .on("/v1beta1/projects/p/events", "", "[1, 2]");
  auto client = client_over(fake);
  EXPECT_EQ(client.list_alerts("p").error().message, "monitoring projects.alerts.list: \"alerts\" is not an array");
  EXPECT_EQ(client.list_group_stats("p", {}).error().message,
            "errorreporting projects.groupStats.list: response is not JSON: not json");
  EXPECT_EQ(client.list_time_series("p", {}).error().message,
            "monitoring projects.timeSeries.list: \"nextPageToken\" is not a string");
  EXPECT_EQ(client.list_error_events("p", "g", "PERIOD_1_DAY").error().message,
            "errorreporting projects.events.list: response is not a JSON object");
}

TEST(GcpClient, TransportFailuresNameTheMethod) {
  struct Refusing : recorder::Transport {
    recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override {
      return recorder::make_error("POST " + request.url + " failed: connection refused");
    }
  };
  GcpClient client(std::make_shared<Refusing>(), GcpEndpoints::all(k_root), std::chrono::milliseconds(100));
  EXPECT_EQ(client.list_log_entries("p", "").error().message,
            "logging entries.list: POST http://127.0.0.1:9/v2/entries:list failed: connection refused");
}

constexpr const char* k_quota_exceeded =
    R"({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}})";

// Answers a scripted status per call (then 200), counting calls.
struct Scripted : recorder::Transport {
  std::vector<recorder::HttpResponse> answers;
  int calls = 0;
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest&) override {
    auto i = static_cast<std::size_t>(calls++);
    return i < answers.size() ? answers[i] : recorder::HttpResponse{200, {}, R"({"entries": []})"};
  }
};

recorder::HttpRequest logging_request(recorder::Service service = recorder::Service::logging) {
  recorder::HttpRequest request;
  request.service = service;
  request.method = "POST";
  request.url = std::string(k_root) + "/v2/entries:list";
  return request;
}

TEST(PacedTransport, ALogging429WithoutADelayHoldsEveryLoggingReadUntilTheNextMinute) {
  auto clock = std::make_shared<FakeClock>();
  auto inner = std::make_shared<Scripted>();
  inner->answers = {{429, {}, k_quota_exceeded}};
  PacedTransport paced(inner, fake_pacer(clock));
  ASSERT_EQ(paced.send(logging_request())->status, 429);  // passed up: the retry layer decides
  EXPECT_TRUE(clock->sleeps.empty());
  ASSERT_EQ(paced.send(logging_request())->status, 200);
  ASSERT_EQ(clock->sleeps.size(), 1u);  // held until the minute boundary of the real clock
  EXPECT_GT(clock->sleeps[0].count(), 0);
  EXPECT_LE(clock->sleeps[0].count(), 60000);
  EXPECT_EQ(inner->calls, 2);  // it never retries itself
}

TEST(PacedTransport, ALogging429sRetryInfoDelayHoldsLoggingReadsForThatLong) {
  auto clock = std::make_shared<FakeClock>();
  auto inner = std::make_shared<Scripted>();
  inner->answers = {{429, {}, R"({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED",
                       "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.500s"}]}})"}};
  PacedTransport paced(inner, fake_pacer(clock));
  (void)paced.send(logging_request());
  (void)paced.send(logging_request());
  EXPECT_EQ(clock->sleeps, std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(2500)});
}

TEST(PacedTransport, OtherServicesAreNeitherPacedNorHeld) {
  auto clock = std::make_shared<FakeClock>();
  auto inner = std::make_shared<Scripted>();
  inner->answers = {{429, {}, k_quota_exceeded}};
  PacedTransport paced(inner, fake_pacer(clock, 60, 1));
  for (int i = 0; i < 10; ++i) (void)paced.send(logging_request(recorder::Service::monitoring));
  EXPECT_TRUE(clock->sleeps.empty());
  EXPECT_EQ(inner->calls, 10);
}

recorder::HttpRequest error_reporting_request(const std::string& method_path) {
  recorder::HttpRequest request;
  request.service = recorder::Service::error_reporting;
  request.url = std::string(k_root) + "/v1beta1/projects/p/" + method_path;
  return request;
}

TEST(ReadQuota, EachPacedGoogleReadCountsAgainstItsOwnQuota) {
  EXPECT_EQ(read_quota_of(logging_request()), ReadQuota::logging);
  EXPECT_EQ(read_quota_of(error_reporting_request("groupStats?timeRange.period=PERIOD_1_DAY")), ReadQuota::error_groups);
  EXPECT_EQ(read_quota_of(error_reporting_request("events?groupId=g&pageToken=t")), ReadQuota::error_events);
  EXPECT_EQ(read_quota_of(error_reporting_request("events:report")), ReadQuota::none);
  EXPECT_EQ(read_quota_of(logging_request(recorder::Service::monitoring)), ReadQuota::none);
  EXPECT_EQ(read_quota_of(logging_request(recorder::Service::dagster)), ReadQuota::none);
}

TEST(PacedTransport, ErrorReportingReadsArePacedPerQuotaAndA429HoldsOnlyItsOwnQuota) {
  auto clock = std::make_shared<FakeClock>();
  auto inner = std::make_shared<Scripted>();
  inner->answers = {{429, {}, R"({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED",
                       "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]}})"}};
  // A burst of 1 at 60 a minute: one read a second per quota.
  PacedTransport paced(inner, Pacers{nullptr, fake_pacer(clock, 60, 1), fake_pacer(clock, 60, 1)});
  ASSERT_EQ(paced.send(error_reporting_request("events?groupId=a"))->status, 429);
  EXPECT_TRUE(clock->sleeps.empty());
  (void)paced.send(error_reporting_request("groupStats"));  // its own quota: neither held nor waiting
  EXPECT_TRUE(clock->sleeps.empty());
  (void)paced.send(error_reporting_request("groupStats"));  // a second group read waits its second
  ASSERT_EQ(clock->sleeps.size(), 1u);
  EXPECT_EQ(clock->sleeps[0], std::chrono::milliseconds(1000));
  (void)paced.send(error_reporting_request("events?groupId=a"));  // held 7 s from the 429 (1 s ago)
  ASSERT_EQ(clock->sleeps.size(), 2u);
  EXPECT_EQ(clock->sleeps[1], std::chrono::milliseconds(6000));
  for (int i = 0; i < 5; ++i) (void)paced.send(logging_request());  // no Logging pacer: unpaced
  EXPECT_EQ(clock->sleeps.size(), 2u);
}

TEST(Pacer, AReadThatCouldOnlyGoAfterTheDeadlineIsRefusedWithoutTakingASlot) {
  auto clock = std::make_shared<FakeClock>();
  auto pacer = fake_pacer(clock, 60, 1);  // one a second
  ASSERT_TRUE(pacer->acquire(clock->now + std::chrono::milliseconds(100)));  // goes at once
  EXPECT_FALSE(pacer->acquire(clock->now + std::chrono::milliseconds(500)));  // would go at 1 s
  EXPECT_TRUE(clock->sleeps.empty());
  ASSERT_TRUE(pacer->acquire(clock->now + std::chrono::milliseconds(1500)));  // the slot is still the 1 s one
  EXPECT_EQ(clock->sleeps, std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(1000)});
}

TEST(PacedTransport, UnderAStepDeadlineAReadTheQuotaWouldDelayPastItIsAnErrorSayingSo) {
  auto inner = std::make_shared<Scripted>();
  // A real clock, 1 read a minute: the second read would wait about 60 s.
  auto pacer = std::make_shared<Pacer>(1, 1, Pacer::Clock{}, [](std::chrono::milliseconds) { FAIL() << "slept"; });
  PacedTransport paced(inner, Pacers{pacer, nullptr, nullptr});
  recorder::DeadlineScope scope(
      recorder::Deadline{std::chrono::steady_clock::now() + std::chrono::seconds(5), std::chrono::seconds(5)});
  ASSERT_TRUE(paced.send(logging_request()));
  auto second = paced.send(logging_request());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message, "POST " + std::string(k_root) +
                                        "/v2/entries:list: the step's time cap of 5 s was reached waiting for the read quota");
  EXPECT_EQ(inner->calls, 1);
  PacedTransport unbounded(inner, Pacers{std::make_shared<Pacer>(1, 1, Pacer::Clock{}, [](std::chrono::milliseconds) {}),
                                         nullptr, nullptr}, /*bounded=*/false);
  ASSERT_TRUE(unbounded.send(logging_request()));  // replay: pacers schedule, nothing waits or stops
  ASSERT_TRUE(unbounded.send(logging_request()));
}

TEST(GcpClient, ATooManyRequestsAnswerIsAnErrorAfterOneSendTheRetriesAreTheTransports) {
  auto fake = std::make_shared<GcpFake>();
  fake->on("/v2/entries:list", "", k_quota_exceeded, 429);
  auto entries = client_over(fake).list_log_entries("p", "");
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.error().message, "logging entries.list: HTTP 429 RESOURCE_EXHAUSTED: Quota exceeded");
  EXPECT_EQ(fake->requests().size(), 1u);
}

TEST(Pacer, AllowsABurstThenPacesToTheQuota) {
  auto clock = std::make_shared<FakeClock>();
  auto pacer = fake_pacer(clock, 60, 5);
  for (int i = 0; i < 5; ++i) pacer->acquire();
  EXPECT_TRUE(clock->sleeps.empty());
  for (int i = 0; i < 55; ++i) pacer->acquire();
  // 60 requests within the first minute at most: the 60th goes no earlier than 55 intervals in.
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock->now.time_since_epoch());
  EXPECT_GE(elapsed.count(), 58900);
  EXPECT_LE(elapsed.count(), 60000);
}

TEST(Pacer, AnySixtySecondsHoldAtMostTheQuota) {
  auto clock = std::make_shared<FakeClock>();
  auto pacer = fake_pacer(clock, 60, 5);
  std::vector<double> times;
  for (int i = 0; i < 300; ++i) {
    pacer->acquire();
    times.push_back(std::chrono::duration<double>(clock->now.time_since_epoch()).count());
  }
  for (std::size_t i = 0; i < times.size(); ++i) {
    auto in_minute = std::count_if(times.begin() + static_cast<long>(i), times.end(),
                                   [&](double t) { return t < times[i] + 60; });
    ASSERT_LE(in_minute, 60) << "starting at request " << i;
  }
}

TEST(GcpNames, RunPodNamesYieldTheRunId) {
  EXPECT_EQ(run_id_from_pod_name("dagster-run-0f6c2a8e-3c1d-4b7a-9a55-5c2d3e4f5a6b-x7k2p"),
            "0f6c2a8e-3c1d-4b7a-9a55-5c2d3e4f5a6b");
  EXPECT_EQ(run_id_from_pod_name("dagster-run-0f6c2a8e-3c1d-4b7a-9a55-5c2d3e4f5a6b-2-x7k2p"),
            "0f6c2a8e-3c1d-4b7a-9a55-5c2d3e4f5a6b");
}

TEST(GcpNames, OtherPodsYieldNone) {
  for (const char* name : {"analytics-prod-7f9c6d-abcde", "user-cloud-dagster-cloud-agent-agent-6d9f7b8c9-aaaaa",
                           "dagster-step-3f2a1b-x7k2p", "dagster-run-0f6c2a8e-3c1d-4b7a-9a55-5c2d3e4f5a6b",
                           "dagster-run-0F6C2A8E-3c1d-4b7a-9a55-5c2d3e4f5a6b-x7k2p", "dagster-run-", ""}) {
    EXPECT_EQ(run_id_from_pod_name(name), std::nullopt) << name;
  }
}

TEST(GcpNames, ChurnVerdictFollowsReplicasAndSurge) {
  EXPECT_EQ(churn_verdict(0, 1, 200), "none");
  EXPECT_EQ(churn_verdict(2, 1, 200), "normal_rollout");
  EXPECT_EQ(churn_verdict(3, 1, 200), "retried_rollout");
  EXPECT_EQ(churn_verdict(4, 1, 200), "retried_rollout");
  EXPECT_EQ(churn_verdict(5, 1, 200), "storm");
  EXPECT_EQ(churn_verdict(5, 4, 25), "normal_rollout");  // 4 new pods + 1 surge
  EXPECT_EQ(churn_verdict(11, 4, 25), "storm");
}

TEST(GcpClient, GkeClusterAndNodePools) {
  auto fake = std::make_shared<GcpFake>();
  fake->on("/v1/projects/p/locations/us-central1/clusters/prod", "",
           R"({"name": "prod", "location": "us-central1", "status": "RUNNING", "autopilot": {"enabled": true}})")
      .on("/v1/projects/p/locations/us-central1/clusters/prod/nodePools", "",
          R"({"nodePools": [{"name": "spot", "config": {"machineType": "e2-standard-4", "spot": true}, "initialNodeCount": 1}]})");
  auto client = client_over(fake);
  auto cluster = client.get_cluster("p", "us-central1", "prod");
  ASSERT_TRUE(cluster.ok()) << cluster.error().message;
  EXPECT_EQ(recorder::get_string(*cluster, "status"), "RUNNING");
  auto pools = client.list_node_pools("p", "us-central1", "prod");
  ASSERT_TRUE(pools.ok()) << pools.error().message;
  ASSERT_EQ(pools->Size(), 1u);
  EXPECT_EQ(fake->requests().at(1).service, recorder::Service::container);
}

}  // namespace
}  // namespace analyzer
