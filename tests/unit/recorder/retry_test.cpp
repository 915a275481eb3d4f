#include <date/date.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "recorder/transport.hpp"
#include "support/scripted_transport.hpp"

namespace recorder {
namespace {

using namespace std::chrono_literals;
using day2_test::ScriptedTransport;
using std::chrono::milliseconds;

RetryPolicy policy(int max_attempts = 4) {
  RetryPolicy p;
  p.max_attempts = max_attempts;
  p.initial_backoff = 100ms;
  p.max_backoff = 1000ms;
  p.max_retry_after = 30000ms;
  return p;
}

HttpRequest request() {
  HttpRequest r;
  r.method = "POST";
  r.url = "http://127.0.0.1:3000/graphql";
  r.body = "{}";
  return r;
}

// A RetryingTransport over a ScriptedTransport whose sleeps are recorded, not slept.
struct Harness {
  explicit Harness(RetryPolicy p = policy(), unsigned seed = 0x5eed)
      : inner(std::make_shared<ScriptedTransport>()),
        retrying(inner, p, seed, [this](milliseconds wait) { waits.push_back(wait); }) {}

  std::shared_ptr<ScriptedTransport> inner;
  std::vector<milliseconds> waits;
  RetryingTransport retrying;
};

// The HTTP-date `delta` from now, as a server would send it in Retry-After.
std::string http_date_in(std::chrono::seconds delta) {
  auto when = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) + delta;
  return date::format("%a, %d %b %Y %H:%M:%S GMT", when);
}

// ---- which outcomes are retried --------------------------------------------------------------

TEST(RetryStatus, RetryableStatuses) {
  EXPECT_TRUE(is_retryable_status(408));  // Request Timeout: Google's retry guidance lists it
  EXPECT_TRUE(is_retryable_status(429));
  EXPECT_TRUE(is_retryable_status(500));
  EXPECT_TRUE(is_retryable_status(503));
  EXPECT_TRUE(is_retryable_status(599));
  EXPECT_FALSE(is_retryable_status(200));
  EXPECT_FALSE(is_retryable_status(400));
  EXPECT_FALSE(is_retryable_status(404));
  EXPECT_FALSE(is_retryable_status(600));
}

TEST(Retry, SuccessOnFirstTryDoesNotSleep) {
  Harness h;
  h.inner->respond(200, {}, "ok");
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(h.inner->calls(), 1u);
  EXPECT_TRUE(h.waits.empty());
}

TEST(Retry, PassesTheRequestThroughUnchanged) {
  Harness h;
  h.inner->respond(500).respond(200);
  auto sent = request();
  sent.headers = {{"Authorization", "Bearer t"}};
  ASSERT_TRUE(h.retrying.send(sent));
  ASSERT_EQ(h.inner->calls(), 2u);
  for (const auto& received : h.inner->requests()) {
    EXPECT_EQ(received.method, "POST");
    EXPECT_EQ(received.url, sent.url);
    EXPECT_EQ(received.body, "{}");
    EXPECT_EQ(received.headers, sent.headers);
  }
}

TEST(Retry, RetriesOn429) {
  Harness h;
  h.inner->respond(429).respond(200);
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(h.inner->calls(), 2u);
  EXPECT_EQ(h.waits.size(), 1u);
}

TEST(Retry, RetriesOn500) {
  Harness h;
  h.inner->respond(500).respond(200);
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(h.inner->calls(), 2u);
}

TEST(Retry, RetriesOn503) {
  Harness h;
  h.inner->respond(503).respond(503).respond(200);
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(h.inner->calls(), 3u);
  EXPECT_EQ(h.waits.size(), 2u);
}

TEST(Retry, RetriesOnConnectionErrors) {
  Harness h;
  h.inner->fail("POST http://127.0.0.1:3000/graphql failed: connection refused or unreachable").respond(200);
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(h.inner->calls(), 2u);
  EXPECT_EQ(h.waits.size(), 1u);
}

TEST(Retry, DoesNotRetry400) {
  Harness h;
  h.inner->respond(400, {}, "bad query");
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(response->body, "bad query");
  EXPECT_EQ(h.inner->calls(), 1u);
  EXPECT_TRUE(h.waits.empty());
}

TEST(Retry, DoesNotRetry404) {
  Harness h;
  h.inner->respond(404);
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(h.inner->calls(), 1u);
  EXPECT_TRUE(h.waits.empty());
}

TEST(Retry, DoesNotRetry400EvenWithRetryAfter) {
  Harness h;
  h.inner->respond(400, {{"Retry-After", "1"}});
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(h.inner->calls(), 1u);
}

// ---- giving up -------------------------------------------------------------------------------

TEST(Retry, AnAnswerThePolicyCallsPermanentIsNotRetried) {
  auto p = policy();
  p.permanent = [](const HttpRequest&, const HttpResponse& response) { return response.body == "permanent"; };
  Harness h(p);
  h.inner->respond(500, {}, "permanent").respond(200);
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(h.inner->calls(), 1u);
  EXPECT_TRUE(h.waits.empty());
}

TEST(Retry, AnAnswerThePolicyDoesNotCallPermanentIsRetried) {
  auto p = policy();
  p.permanent = [](const HttpRequest&, const HttpResponse& response) { return response.body == "permanent"; };
  Harness h(p);
  h.inner->respond(500, {}, "transient").respond(200);
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(h.inner->calls(), 2u);
}

TEST(Retry, StopsAfterMaxAttemptsAndReturnsTheLastStatus) {
  Harness h(policy(3));
  h.inner->respond(503, {}, "one").respond(502, {}, "two").respond(500, {}, "three");
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->body, "three");
  EXPECT_EQ(h.inner->calls(), 3u);
  EXPECT_EQ(h.waits.size(), 2u);
}

TEST(Retry, StopsAfterMaxAttemptsAndNamesTheAttemptCount) {
  Harness h(policy(3));
  for (int i = 0; i < 3; ++i) h.inner->fail("POST http://127.0.0.1:3000/graphql failed: connection refused");
  auto response = h.retrying.send(request());
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().message, "POST http://127.0.0.1:3000/graphql failed: connection refused (after 3 attempts)");
  EXPECT_EQ(h.inner->calls(), 3u);
  EXPECT_EQ(h.waits.size(), 2u);
}

TEST(Retry, OneAttemptSaysAttemptInTheSingular) {
  Harness h(policy(1));
  h.inner->fail("GET http://x/ failed: timed out");
  auto response = h.retrying.send(request());
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().message, "GET http://x/ failed: timed out (after 1 attempt)");
  EXPECT_TRUE(h.waits.empty());
}

TEST(Retry, ZeroMaxAttemptsStillTriesOnce) {
  Harness h(policy(0));
  h.inner->respond(503);
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(h.inner->calls(), 1u);
  EXPECT_TRUE(h.waits.empty());
}

TEST(Retry, DoesNotSleepAfterTheLastAttempt) {
  Harness h(policy(2));
  h.inner->respond(429, {{"Retry-After", "10"}}).respond(429, {{"Retry-After", "10"}});
  auto response = h.retrying.send(request());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 429);
  EXPECT_EQ(h.waits, std::vector<milliseconds>{10000ms});
}

TEST(Retry, RetriesOn408) {
  Harness h;
  h.inner->respond(408).respond(200);
  auto result = h.retrying.send(request());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(h.waits.size(), 1u);
}

// ---- Retry-After -----------------------------------------------------------------------------

TEST(RetryAfter, SecondsAreHonoured) {
  Harness h;
  h.inner->respond(429, {{"Retry-After", "5"}}).respond(200);
  ASSERT_TRUE(h.retrying.send(request()));
  ASSERT_EQ(h.waits.size(), 1u);
  EXPECT_GE(h.waits[0], 5000ms);
  EXPECT_EQ(h.waits[0], 5000ms);  // the backoff (<= 100 ms here) is shorter
}

TEST(RetryAfter, HeaderNameIsCaseInsensitive) {
  Harness h;
  h.inner->respond(503, {{"retry-after", "2"}}).respond(200);
  ASSERT_TRUE(h.retrying.send(request()));
  EXPECT_EQ(h.waits, std::vector<milliseconds>{2000ms});
}

TEST(RetryAfter, HttpDateIsHonoured) {
  Harness h;
  h.inner->respond(503, {{"Retry-After", http_date_in(20s)}}).respond(200);
  ASSERT_TRUE(h.retrying.send(request()));
  ASSERT_EQ(h.waits.size(), 1u);
  // Whole seconds on the wire and a clock that moves: 18-20 s.
  EXPECT_GE(h.waits[0], 18000ms);
  EXPECT_LE(h.waits[0], 20000ms);
}

TEST(RetryAfter, IsCappedAtMaxRetryAfter) {
  Harness h;
  h.inner->respond(429, {{"Retry-After", "3600"}}).respond(200);
  ASSERT_TRUE(h.retrying.send(request()));
  EXPECT_EQ(h.waits, std::vector<milliseconds>{30000ms});
}

TEST(RetryAfter, HttpDateIsCappedAtMaxRetryAfter) {
  Harness h;
  h.inner->respond(429, {{"Retry-After", http_date_in(std::chrono::hours(24))}}).respond(200);
  ASSERT_TRUE(h.retrying.send(request()));
  EXPECT_EQ(h.waits, std::vector<milliseconds>{30000ms});
}

TEST(RetryAfter, HugeSecondsAreCappedWithoutOverflow) {
  Harness h;
  h.inner->respond(429, {{"Retry-After", "9223372036854775807"}}).respond(200);
  ASSERT_TRUE(h.retrying.send(request()));
  EXPECT_EQ(h.waits, std::vector<milliseconds>{30000ms});
}

TEST(RetryAfter, InvalidValueFallsBackToBackoff) {
  Harness h;
  h.inner->respond(503, {{"Retry-After", "soon"}}).respond(200);
  ASSERT_TRUE(h.retrying.send(request()));
  ASSERT_EQ(h.waits.size(), 1u);
  EXPECT_GE(h.waits[0], 50ms);
  EXPECT_LE(h.waits[0], 100ms);
}

TEST(RetryAfter, ParsesDeltaSeconds) {
  auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("120", now), 120000ms);
  EXPECT_EQ(parse_retry_after(" 7 ", now), 7000ms);
  EXPECT_EQ(parse_retry_after("0", now), 0ms);
}

TEST(RetryAfter, RejectsInvalidValues) {
  auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("   ", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-1", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("12abc", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("tomorrow", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 PST", now), std::nullopt);
}

TEST(RetryAfter, ParsesHttpDateRelativeToNow) {
  std::chrono::system_clock::time_point now = date::sys_days{date::year{1994} / 11 / 6} + 8h + 49min + 7s;
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), 30000ms);
}

TEST(RetryAfter, HttpDateInThePastIsZero) {
  std::chrono::system_clock::time_point now = date::sys_days{date::year{1994} / 11 / 7};
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), 0ms);
}

TEST(RetryAfter, HugeSecondsDoNotOverflow) {
  auto now = std::chrono::system_clock::now();
  auto after = parse_retry_after("9223372036854775807", now);
  ASSERT_TRUE(after.has_value());
  EXPECT_GE(*after, milliseconds(std::chrono::hours(24 * 365 * 1000)));
}

// ---- backoff ---------------------------------------------------------------------------------

// ---- google.rpc.RetryInfo -------------------------------------------------------------------

std::string retry_info_body(std::string_view delay) {
  return std::string(R"({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED", "details": [)"
                     R"({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED"},)"
                     R"({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": ")") +
         std::string(delay) + "\"}]}}";
}

TEST(RetryInfo, TheDelayGoogleAsksForIsWaitedNotTheBackoff) {
  Harness h;
  h.inner->respond(429, {}, retry_info_body("2.500s")).respond(503, {}, retry_info_body("7s")).respond(200);
  ASSERT_TRUE(h.retrying.send(request()));
  EXPECT_EQ(h.waits, (std::vector<milliseconds>{2500ms, 7000ms}));
}

TEST(RetryInfo, IsCappedAtMaxRetryAfter) {
  Harness h;
  h.inner->respond(429, {}, retry_info_body("86400s")).respond(200);
  ASSERT_TRUE(h.retrying.send(request()));
  EXPECT_EQ(h.waits, std::vector<milliseconds>{30000ms});
}

TEST(RetryInfo, RetryAfterWinsWhenBothAreThere) {
  Harness h;
  h.inner->respond(429, {{"Retry-After", "3"}}, retry_info_body("9s")).respond(200);
  ASSERT_TRUE(h.retrying.send(request()));
  EXPECT_EQ(h.waits, std::vector<milliseconds>{3000ms});
}

TEST(RetryInfo, ABadDelayOrABodyThatIsNotGooglesFallsBackToBackoff) {
  for (const std::string& body : {retry_info_body("soon"), retry_info_body("-1s"), retry_info_body("1.5"),
                                  std::string("RetryInfo but not JSON"), std::string(R"({"error": "RetryInfo"})")}) {
    Harness h;
    h.inner->respond(503, {}, body).respond(200);
    ASSERT_TRUE(h.retrying.send(request())) << body;
    ASSERT_EQ(h.waits.size(), 1u) << body;
    EXPECT_LE(h.waits[0], 100ms) << body;
  }
}

TEST(RetryInfo, DurationsParseAsProtobufWritesThem) {
  EXPECT_EQ(parse_duration_seconds("30s"), 30000ms);
  EXPECT_EQ(parse_duration_seconds("2.5s"), 2500ms);
  EXPECT_EQ(parse_duration_seconds("0.100000000s"), 100ms);
  EXPECT_EQ(parse_duration_seconds("1.000340012s"), 1000ms);
  EXPECT_EQ(parse_duration_seconds("0s"), 0ms);
  EXPECT_EQ(parse_duration_seconds("9223372036854775807s"), milliseconds::max());
  for (const char* bad : {"", "s", "30", "-1s", "1.s", ".5s", "1.0000000001s", "1e3s", "1,5s", "abc"}) {
    EXPECT_EQ(parse_duration_seconds(bad), std::nullopt) << bad;
  }
}

TEST(RetryBackoff, GrowsAndStaysWithinMaxBackoff) {
  Harness h(policy(8));
  for (int i = 0; i < 7; ++i) h.inner->respond(500);
  h.inner->respond(200);
  ASSERT_TRUE(h.retrying.send(request()));
  ASSERT_EQ(h.waits.size(), 7u);
  // Attempt n waits between half and all of min(max_backoff, initial * 2^n).
  milliseconds cap = 100ms;
  for (std::size_t i = 0; i < h.waits.size(); ++i) {
    EXPECT_GE(h.waits[i], cap / 2) << "wait " << i;
    EXPECT_LE(h.waits[i], cap) << "wait " << i;
    EXPECT_LE(h.waits[i], 1000ms) << "wait " << i;
    cap = std::min<milliseconds>(cap * 2, 1000ms);
  }
  for (std::size_t i = 1; i < 4; ++i) EXPECT_GE(h.waits[i], h.waits[i - 1]) << "wait " << i;
  EXPECT_GT(h.waits[3], h.waits[0]);
}

TEST(RetryBackoff, ManyAttemptsStayWithinMaxBackoff) {
  auto p = policy(40);
  p.initial_backoff = 1000ms;
  p.max_backoff = 8000ms;
  Harness h(p);
  for (int i = 0; i < 40; ++i) h.inner->respond(503);
  ASSERT_TRUE(h.retrying.send(request()));
  ASSERT_EQ(h.waits.size(), 39u);
  for (auto wait : h.waits) {
    EXPECT_GE(wait, 0ms);
    EXPECT_LE(wait, 8000ms);
  }
}

TEST(RetryBackoff, IsDeterministicForASeed) {
  auto waits_for = [](unsigned seed) {
    Harness h(policy(6), seed);
    for (int i = 0; i < 6; ++i) h.inner->respond(503);
    EXPECT_TRUE(h.retrying.send(request()));
    return h.waits;
  };
  EXPECT_EQ(waits_for(42), waits_for(42));
  EXPECT_NE(waits_for(42), waits_for(43));
}

// ---- a step's deadline (issue 16.8: a cap on total time per step) ------------------------------

Deadline deadline_in(milliseconds left, milliseconds cap = 900000ms) {
  return Deadline{std::chrono::steady_clock::now() + left, cap};
}

TEST(RetryDeadline, NothingIsSentOnceTheStepsDeadlineHasPassed) {
  Harness h;
  DeadlineScope scope(deadline_in(-1ms, 600000ms));
  auto result = h.retrying.send(request());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "POST http://127.0.0.1:3000/graphql: the step's time cap of 600 s was reached");
  EXPECT_EQ(h.inner->calls(), 0u);
}

TEST(RetryDeadline, ARetryThatCouldOnlyStartAfterTheDeadlineIsNotWaitedTheLastAnswerStands) {
  Harness h;
  h.inner->respond(503, {{"Retry-After", "20"}});
  DeadlineScope scope(deadline_in(5000ms));
  auto result = h.retrying.send(request());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(h.inner->calls(), 1u);
  EXPECT_TRUE(h.waits.empty());
}

TEST(RetryDeadline, AConnectionErrorWhoseRetryWouldEndPastTheDeadlineSaysSo) {
  auto p = policy();
  p.initial_backoff = 10000ms;
  p.max_backoff = 10000ms;
  Harness h(p);
  h.inner->fail("POST http://127.0.0.1:3000/graphql: connection refused");
  DeadlineScope scope(deadline_in(2000ms, 2000ms));
  auto result = h.retrying.send(request());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "POST http://127.0.0.1:3000/graphql: connection refused (after 1 attempt; "
                                    "the step's time cap of 2 s was reached)");
  EXPECT_TRUE(h.waits.empty());
}

TEST(RetryDeadline, RetriesThatFitBeforeTheDeadlineStillHappen) {
  Harness h;
  h.inner->respond(503, {{"Retry-After", "1"}}).respond(200);
  DeadlineScope scope(deadline_in(60000ms));
  auto result = h.retrying.send(request());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(h.waits, std::vector<milliseconds>{1000ms});
}

TEST(RetryDeadline, EachAttemptsTimeoutIsCutToTheTimeLeft) {
  Harness h;
  h.inner->respond(200).respond(200);
  auto sent = request();
  sent.timeout = 30000ms;
  {
    DeadlineScope scope(deadline_in(3000ms));
    ASSERT_TRUE(h.retrying.send(sent));
  }
  ASSERT_TRUE(h.retrying.send(sent));  // the scope ended: no deadline any more
  auto seen = h.inner->requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_LE(seen[0].timeout, 3000ms);
  EXPECT_GT(seen[0].timeout, 0ms);
  EXPECT_EQ(seen[1].timeout, 30000ms);
}

TEST(RetryDeadline, AScopeRestoresThePreviousDeadline) {
  EXPECT_FALSE(current_deadline());
  {
    DeadlineScope outer(deadline_in(1000ms, 1000ms));
    {
      DeadlineScope inner(std::nullopt);
      EXPECT_FALSE(current_deadline());
    }
    ASSERT_TRUE(current_deadline());
    EXPECT_EQ(current_deadline()->cap, 1000ms);
  }
  EXPECT_FALSE(current_deadline());
}

TEST(RetryDeadline, TheCapIsWrittenInSecondsEvenWhenFractional) {
  EXPECT_EQ(deadline_text(Deadline{{}, 1500ms}), "the step's time cap of 1.5 s was reached");
  EXPECT_EQ(deadline_text(Deadline{{}, 900000ms}), "the step's time cap of 900 s was reached");
}

}  // namespace
}  // namespace recorder
