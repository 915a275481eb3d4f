// Google Cloud authentication: the ADC order, the token cache and expiry, the 401 retry, and that no
// secret reaches an error message, a description or the log. The flows are in gcp_auth_flows_test.cpp.
#include "analyzer/clients/gcp_auth.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/gcp_auth_stand_in.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

using namespace std::chrono_literals;
using namespace day2_test::gcp;
using day2_test::TempDir;
using recorder::HttpRequest;
using recorder::HttpResponse;
using Clock = std::chrono::system_clock;

// --- ADC order -------------------------------------------------------------------------------------

TEST(GcpAuth, EnvTokenBeatsKeyFile) {
  TempDir dir("gcp-auth");
  auto tokens = counting_token_endpoint();
  auto credentials = find_gcp_credentials(
      tokens, isolated(Env{{{"GOOGLE_OAUTH_ACCESS_TOKEN", k_canary_token},
                            {"GOOGLE_APPLICATION_CREDENTIALS", dir.write("adc.json", authorized_user_json())}}}));
  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ((*credentials)->source(), GcpAuthSource::env_token);
  EXPECT_EQ((*credentials)->description(), "access token in environment variable GOOGLE_OAUTH_ACCESS_TOKEN");
  EXPECT_EQ((*credentials)->access_token().value(), k_canary_token);
  EXPECT_TRUE(tokens->requests().empty());
}

TEST(GcpAuth, EnvTokenVariableNameIsConfigurable) {
  auto options = isolated(Env{{{"GOOGLE_OAUTH_ACCESS_TOKEN", "default-var"}, {"MY_TOKEN", "mine"}}});
  options.access_token_env = "MY_TOKEN";
  auto credentials = find_gcp_credentials(counting_token_endpoint(), options);
  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ((*credentials)->access_token().value(), "mine");
}

TEST(GcpAuth, WellKnownFileUsedWhenGoogleApplicationCredentialsUnset) {
  TempDir dir("gcp-auth");
  std::filesystem::create_directories(dir.path() / ".config" / "gcloud");
  dir.write(".config/gcloud/application_default_credentials.json", authorized_user_json());
  auto credentials = find_gcp_credentials(counting_token_endpoint(), isolated(Env{{{"HOME", dir.path().string()}}}));
  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ((*credentials)->source(), GcpAuthSource::authorized_user);
  EXPECT_NE((*credentials)->description().find("gcloud's application default credentials"), std::string::npos);
}

TEST(GcpAuth, CloudsdkConfigBeatsHome) {
  TempDir home("gcp-auth");
  TempDir config("gcp-auth");
  std::string file = config.write("application_default_credentials.json", authorized_user_json("from-config"));
  auto credentials = find_gcp_credentials(
      counting_token_endpoint(),
      isolated(Env{{{"HOME", home.path().string()}, {"CLOUDSDK_CONFIG", config.path().string()}}}));
  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ((*credentials)->quota_project(), "from-config");
}

TEST(GcpAuth, MissingKeyFileIsAnErrorNotAFallThrough) {
  TempDir dir("gcp-auth");
  dir.write("application_default_credentials.json", authorized_user_json());
  auto credentials = find_gcp_credentials(
      counting_token_endpoint(), isolated(Env{{{"GOOGLE_APPLICATION_CREDENTIALS", dir.file("nope.json")},
                                               {"CLOUDSDK_CONFIG", dir.path().string()}}}));
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().message, "Google Cloud credentials from GOOGLE_APPLICATION_CREDENTIALS: " +
                                             dir.file("nope.json") + ": cannot open: No such file or directory");
}

TEST(GcpAuth, GcloudIsTheLastResortAndCanBeDisabled) {
  int runs = 0;
  auto options = isolated(Env{});
  options.gcloud_command = [&runs]() -> recorder::Result<std::optional<std::string>> {
    ++runs;
    return std::optional<std::string>("gcloud-tok-" + std::to_string(runs));
  };
  ASSERT_FALSE(find_gcp_credentials(counting_token_endpoint(), options));  // Use::no
  EXPECT_EQ(runs, 0);
  options.gcloud = GcpAuthOptions::Use::yes;
  auto credentials = find_gcp_credentials(counting_token_endpoint(), options);
  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ((*credentials)->source(), GcpAuthSource::gcloud);
  EXPECT_EQ((*credentials)->access_token().value(), "gcloud-tok-1");  // the discovery run's token
  EXPECT_EQ(runs, 1);
}

TEST(GcpAuth, AbsentGcloudIsNotAvailableFailingGcloudIsAnError) {
  auto options = isolated(Env{});
  options.gcloud = GcpAuthOptions::Use::yes;
  options.gcloud_command = []() -> recorder::Result<std::optional<std::string>> { return std::optional<std::string>(); };
  auto absent = find_gcp_credentials(counting_token_endpoint(), options);
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().message.rfind("no Google Cloud credentials found", 0), 0u) << absent.error().message;
  options.gcloud_command = []() -> recorder::Result<std::optional<std::string>> {
    return recorder::Error{"gcloud auth print-access-token exited with status 1: ERROR: no active account"};
  };
  auto failing = find_gcp_credentials(counting_token_endpoint(), options);
  ASSERT_FALSE(failing);
  EXPECT_EQ(failing.error().message,
            "Google Cloud credentials from gcloud: gcloud auth print-access-token exited with status 1: ERROR: no active "
            "account");
}

// --- cache, expiry and 401 --------------------------------------------------------------------------

TEST(GcpAuth, TokenIsCachedAndRefreshedBeforeExpiry) {
  TempDir dir("gcp-auth");
  auto now = std::make_shared<Clock::time_point>(k_t0);
  auto tokens = counting_token_endpoint(3600);
  auto credentials = find_gcp_credentials(
      tokens, isolated(Env{{{"GOOGLE_APPLICATION_CREDENTIALS", dir.write("adc.json", authorized_user_json())}}}, now));
  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ((*credentials)->access_token().value(), "tok-1");
  *now += 3600s - 226s;
  EXPECT_EQ((*credentials)->access_token().value(), "tok-1");  // still outside the refresh margin
  *now += 2s;
  EXPECT_EQ((*credentials)->access_token().value(), "tok-2");  // within 225 s of expiry
  *now += 2h;
  EXPECT_EQ((*credentials)->access_token().value(), "tok-3");  // long expired
  EXPECT_EQ((*credentials)->fetch_count(), 3);
}

TEST(GcpAuth, ConcurrentCallersShareOneFetch) {
  TempDir dir("gcp-auth");
  auto tokens = counting_token_endpoint();
  auto credentials = find_gcp_credentials(
      tokens, isolated(Env{{{"GOOGLE_APPLICATION_CREDENTIALS", dir.write("adc.json", authorized_user_json())}}}));
  ASSERT_TRUE(credentials) << credentials.error().message;
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if ((*credentials)->access_token().value() == "tok-1") ++right;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(right, 8);
  EXPECT_EQ(tokens->requests().size(), 1u);
}

struct RetryFixture {
  TempDir dir{"gcp-auth"};
  std::shared_ptr<FunctionTransport> tokens = counting_token_endpoint();
  std::shared_ptr<GcpCredentials> credentials;
  explicit RetryFixture(Env env = {}) {
    if (env.vars.empty()) env.vars["GOOGLE_APPLICATION_CREDENTIALS"] = dir.write("adc.json", authorized_user_json());
    credentials = find_gcp_credentials(tokens, isolated(env)).value();
  }
};

// An API that answers 401 to the first `rejections` requests, then 200.
std::shared_ptr<FunctionTransport> api_rejecting(int rejections) {
  auto left = std::make_shared<int>(rejections);
  return std::make_shared<FunctionTransport>([left](const HttpRequest&) {
    if ((*left)-- > 0) return HttpResponse{401, {}, R"({"error":{"code":401,"status":"UNAUTHENTICATED"}})"};
    return HttpResponse{200, {}, "{}"};
  });
}

TEST(GcpAuth, A401RefreshesOnceAndRetriesOnce) {
  RetryFixture f;
  auto api = api_rejecting(1);
  GcpAuthTransport transport(api, f.credentials);
  auto response = transport.send(HttpRequest{});
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(f.tokens->requests().size(), 2u);
  ASSERT_EQ(api->requests().size(), 2u);
  EXPECT_EQ(recorder::find_header(api->requests()[0].headers, "Authorization"), "Bearer tok-1");
  EXPECT_EQ(recorder::find_header(api->requests()[1].headers, "Authorization"), "Bearer tok-2");
}

TEST(GcpAuth, ASecond401IsReturnedWithoutAnotherRefresh) {
  RetryFixture f;
  auto api = api_rejecting(5);
  GcpAuthTransport transport(api, f.credentials);
  auto response = transport.send(HttpRequest{});
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(f.tokens->requests().size(), 2u);
  EXPECT_EQ(api->requests().size(), 2u);
}

TEST(GcpAuth, EnvToken401IsReturnedWithoutRetry) {
  RetryFixture f(Env{{{"GOOGLE_OAUTH_ACCESS_TOKEN", "fixed"}}});
  auto api = api_rejecting(1);
  GcpAuthTransport transport(api, f.credentials);
  auto response = transport.send(HttpRequest{});
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(api->requests().size(), 1u);
  EXPECT_EQ(recorder::find_header(api->requests()[0].headers, "x-goog-user-project"), std::nullopt);
}

TEST(GcpAuth, MakeGcpAuthTransportSendsTokenRequestsThroughInner) {
  TempDir dir("gcp-auth");
  auto inner = std::make_shared<FunctionTransport>([](const HttpRequest& request) {
    if (request.service == recorder::Service::oauth) return HttpResponse{200, {}, R"({"access_token":"inner-tok"})"};
    return HttpResponse{200, {}, "{}"};
  });
  auto transport = make_gcp_auth_transport(
      inner, isolated(Env{{{"GOOGLE_APPLICATION_CREDENTIALS", dir.write("adc.json", authorized_user_json())}}}));
  ASSERT_TRUE(transport) << transport.error().message;
  EXPECT_EQ((*transport)->credentials().source(), GcpAuthSource::authorized_user);
  ASSERT_TRUE((*transport)->send(HttpRequest{}));
  ASSERT_EQ(inner->requests().size(), 2u);
  EXPECT_EQ(recorder::find_header(inner->requests()[1].headers, "Authorization"), "Bearer inner-tok");
}

// --- the canary across a whole run -------------------------------------------------------------------

TEST(GcpAuth, CanaryNeverInErrorsDescriptionsOrLog) {
  TempDir dir("gcp-auth");
  LogCapture log;
  std::vector<std::string> texts;
  // Success, a rejected token refreshed, then the token endpoint failing with an echo of the request.
  auto fail = std::make_shared<std::atomic<bool>>(false);
  auto tokens = std::make_shared<FunctionTransport>([fail](const HttpRequest& request) {
    if (*fail) return HttpResponse{500, {}, request.body + " " + k_canary_token};
    return HttpResponse{200, {}, R"({"access_token":")" + k_canary_token + R"(","expires_in":60})"};
  });
  auto now = std::make_shared<Clock::time_point>(k_t0);
  auto credentials = find_gcp_credentials(
      tokens, isolated(Env{{{"GOOGLE_APPLICATION_CREDENTIALS", dir.write("adc.json", authorized_user_json())}}}, now));
  ASSERT_TRUE(credentials) << credentials.error().message;
  texts.push_back((*credentials)->description());
  GcpAuthTransport transport(api_rejecting(1), *credentials);
  ASSERT_TRUE(transport.send(HttpRequest{}));
  *fail = true;
  *now += 1h;
  auto failed = transport.send(HttpRequest{});
  ASSERT_FALSE(failed);
  texts.push_back(failed.error().message);
  texts.push_back(log.text());
  EXPECT_NE(log.text().find("new token from"), std::string::npos) << "debug log not captured";
  for (const auto& text : texts) expect_no_secret(text);
}

}  // namespace
}  // namespace analyzer
