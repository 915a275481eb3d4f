// Google Cloud authentication flows against stand-ins: the service_account JWT grant over real HTTP on
// 127.0.0.1 (signature verified with the key's public half, claims checked), authorized_user,
// the metadata server, gcloud as a real subprocess, and broken key files.
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

// --- service account over real HTTP -----------------------------------------------------------------

TEST(GcpAuth, ServiceAccountJwtIsSignedAndClaimsAreRight) {
  TempDir dir("gcp-auth");
  JwtTokenEndpoint endpoint(test_key().get(), k_t0);
  std::string key_file = dir.write("key.json", service_account_json(endpoint.token_uri(), private_pem(test_key().get())));
  auto credentials = find_gcp_credentials(recorder::make_http_transport(),
                                          isolated(Env{{{"GOOGLE_APPLICATION_CREDENTIALS", key_file}}}));
  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ((*credentials)->source(), GcpAuthSource::service_account);
  auto token = (*credentials)->access_token();
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(*token, k_canary_token);
  EXPECT_EQ(endpoint.requests(), 1);
  EXPECT_EQ(endpoint.problems(), std::vector<std::string>{});
  EXPECT_EQ((*credentials)->description(), "service_account key file " + key_file +
                                               " (GOOGLE_APPLICATION_CREDENTIALS) as diag@my-proj.iam.gserviceaccount.com");
  EXPECT_EQ((*credentials)->quota_project(), std::nullopt);
}

TEST(GcpAuth, JwtSignedWithAnotherKeyFailsVerification) {
  // The stand-in's check can fail: a key file holding a different key is caught.
  TempDir dir("gcp-auth");
  auto other = make_rsa_key();
  JwtTokenEndpoint endpoint(test_key().get(), k_t0);
  std::string key_file = dir.write("key.json", service_account_json(endpoint.token_uri(), private_pem(other.get())));
  auto credentials = find_gcp_credentials(recorder::make_http_transport(),
                                          isolated(Env{{{"GOOGLE_APPLICATION_CREDENTIALS", key_file}}}));
  ASSERT_TRUE(credentials) << credentials.error().message;
  ASSERT_TRUE((*credentials)->access_token());
  EXPECT_EQ(endpoint.problems(), std::vector<std::string>{"RS256 signature does not verify"});
}

TEST(GcpAuth, TokenEndpointErrorNamesSourceAndHidesSecrets) {
  TempDir dir("gcp-auth");
  JwtTokenEndpoint endpoint(test_key().get(), k_t0, 400);
  std::string pem = private_pem(test_key().get());
  std::string key_file = dir.write("key.json", service_account_json(endpoint.token_uri(), pem));
  LogCapture log;
  auto credentials = find_gcp_credentials(recorder::make_http_transport(),
                                          isolated(Env{{{"GOOGLE_APPLICATION_CREDENTIALS", key_file}}}));
  ASSERT_TRUE(credentials) << credentials.error().message;
  auto token = (*credentials)->access_token();
  ASSERT_FALSE(token);
  const std::string& message = token.error().message;
  EXPECT_NE(message.find("service_account key file " + key_file), std::string::npos) << message;
  EXPECT_NE(message.find(endpoint.token_uri() + " answered HTTP 400: invalid_grant: Invalid JWT Signature."),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("<redacted>"), std::string::npos) << message;  // the echoed assertion
  expect_no_secret(message, pem);
  expect_no_secret(log.text(), pem);
}

// --- authorized_user ------------------------------------------------------------------------------

TEST(GcpAuth, AuthorizedUserSendsRefreshGrantAndQuotaProject) {
  TempDir dir("gcp-auth");
  auto tokens = counting_token_endpoint();
  auto options = isolated(Env{{{"GOOGLE_APPLICATION_CREDENTIALS", dir.write("adc.json", authorized_user_json())}}});
  options.token_uri = "http://127.0.0.1:9/token";
  auto credentials = find_gcp_credentials(tokens, options);
  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ((*credentials)->source(), GcpAuthSource::authorized_user);
  EXPECT_EQ((*credentials)->quota_project(), "quota-proj");
  auto api = std::make_shared<FunctionTransport>([](const HttpRequest&) { return HttpResponse{200, {}, "{}"}; });
  GcpAuthTransport transport(api, *credentials);
  HttpRequest request;
  request.url = "https://logging.googleapis.com/v2/entries:list";
  request.headers = {{"authorization", "Bearer stale"}};
  ASSERT_TRUE(transport.send(request));

  ASSERT_EQ(tokens->requests().size(), 1u);
  auto grant = tokens->requests()[0];
  EXPECT_EQ(grant.method, "POST");
  EXPECT_EQ(grant.url, "http://127.0.0.1:9/token");
  EXPECT_EQ(grant.service, recorder::Service::oauth);
  EXPECT_EQ(recorder::find_header(grant.headers, "Content-Type"), "application/x-www-form-urlencoded");
  auto form = parse_form(grant.body);
  EXPECT_EQ(form, (std::map<std::string, std::string>{{"grant_type", "refresh_token"},
                                                      {"client_id", "123-abc.apps.googleusercontent.com"},
                                                      {"client_secret", k_canary_secret},
                                                      {"refresh_token", k_canary_refresh}}));
  auto sent = api->requests().at(0);
  EXPECT_EQ(sent.headers, (recorder::Headers{{"Authorization", "Bearer tok-1"}, {"x-goog-user-project", "quota-proj"}}));
}

TEST(GcpAuth, QuotaProjectOptionOverridesTheFile) {
  TempDir dir("gcp-auth");
  auto options = isolated(Env{{{"GOOGLE_APPLICATION_CREDENTIALS", dir.write("adc.json", authorized_user_json())}}});
  options.quota_project = "billing-proj";
  auto credentials = find_gcp_credentials(counting_token_endpoint(), options);
  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ((*credentials)->quota_project(), "billing-proj");
}

TEST(GcpAuth, AuthorizedUserRevokedNamesFileHidesSecrets) {
  TempDir dir("gcp-auth");
  std::string file = dir.write("adc.json", authorized_user_json());
  auto tokens = std::make_shared<FunctionTransport>([](const HttpRequest& request) {
    return HttpResponse{400, {}, R"({"error":"invalid_grant","error_description":"Token has been expired or revoked. )" +
                                     request.body + "\"}"};
  });
  LogCapture log;
  auto credentials = find_gcp_credentials(tokens, isolated(Env{{{"GOOGLE_APPLICATION_CREDENTIALS", file}}}));
  ASSERT_TRUE(credentials) << credentials.error().message;
  auto token = (*credentials)->access_token();
  ASSERT_FALSE(token);
  EXPECT_NE(token.error().message.find("authorized_user file " + file), std::string::npos) << token.error().message;
  EXPECT_NE(token.error().message.find("invalid_grant: Token has been expired or revoked."), std::string::npos);
  expect_no_secret(token.error().message);
  expect_no_secret(log.text());
}

// --- metadata server over real HTTP -------------------------------------------------------------------

TEST(GcpAuth, MetadataServerTokenWithMetadataFlavor) {
  std::atomic<int> without_flavor{0};
  StandIn metadata([&](httplib::Server& s) {
    auto guard = [&](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Metadata-Flavor", "Google");
      if (req.get_header_value("Metadata-Flavor") == "Google") return true;
      ++without_flavor;
      res.status = 403;
      return false;
    };
    s.Get("/", [guard](const httplib::Request& req, httplib::Response& res) {
      if (guard(req, res)) res.set_content("computeMetadata/\n", "text/plain");
    });
    s.Get("/computeMetadata/v1/instance/service-accounts/default/token",
          [guard](const httplib::Request& req, httplib::Response& res) {
            if (guard(req, res)) res.set_content(R"({"access_token":"meta-tok","expires_in":"1200","token_type":"Bearer"})",
                                                 "application/json");
          });
  });
  auto options = isolated(Env{{{"GCE_METADATA_HOST", metadata.host()}}});
  options.metadata = GcpAuthOptions::Use::yes;
  auto credentials = find_gcp_credentials(recorder::make_http_transport(), options);
  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ((*credentials)->source(), GcpAuthSource::metadata);
  EXPECT_EQ((*credentials)->description(), "metadata server " + metadata.host());
  auto token = (*credentials)->access_token();
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(*token, "meta-tok");
  EXPECT_EQ(without_flavor, 0);
}

TEST(GcpAuth, NoMetadataServerAndNoGcloudMeansNotFound) {
  auto options = isolated(Env{});
  options.metadata = GcpAuthOptions::Use::yes;
  options.metadata_host = "127.0.0.1:1";  // nothing listens on port 1
  auto credentials = find_gcp_credentials(counting_token_endpoint(), options);
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().message.rfind("no Google Cloud credentials found: set GOOGLE_OAUTH_ACCESS_TOKEN", 0), 0u)
      << credentials.error().message;
}

// --- broken key files --------------------------------------------------------------------------------

recorder::Error key_file_error(const TempDir& dir, const std::string& content) {
  std::string file = dir.write("key.json", content);
  auto credentials =
      find_gcp_credentials(counting_token_endpoint(), isolated(Env{{{"GOOGLE_APPLICATION_CREDENTIALS", file}}}));
  if (credentials) return recorder::Error{"(no error)"};
  return credentials.error();
}

TEST(GcpAuth, BrokenKeyFilesNameTheFile) {
  TempDir dir("gcp-auth");
  std::string file = dir.file("key.json");
  std::string prefix = "Google Cloud credentials from ";
  EXPECT_EQ(key_file_error(dir, "{\"type\": \"service_account\",").message,
            prefix + "GOOGLE_APPLICATION_CREDENTIALS: " + file + ":1:28: Missing a name for object member.");
  EXPECT_EQ(key_file_error(dir, service_account_json("https://x/token", "-----BEGIN PRIVATE KEY-----\n" +
                                                                            k_canary_secret + "\n-----END PRIVATE KEY-----\n"))
                .message,
            prefix + "service_account key file " + file +
                " (GOOGLE_APPLICATION_CREDENTIALS): \"private_key\" is not a PEM private key");
  EXPECT_EQ(key_file_error(dir, json_text({{"type", "service_account"}, {"private_key", "x"}})).message,
            prefix + "service_account key file " + file +
                " (GOOGLE_APPLICATION_CREDENTIALS): \"client_email\" is missing or not a string");
  EXPECT_EQ(key_file_error(dir, json_text({{"type", "authorized_user"}, {"client_id", "x"}})).message,
            prefix + "authorized_user file " + file +
                " (GOOGLE_APPLICATION_CREDENTIALS): \"client_secret\" is missing or not a string");
  EXPECT_EQ(key_file_error(dir, json_text({{"type", "external_account"}})).message,
            prefix + file +
                " (GOOGLE_APPLICATION_CREDENTIALS): credentials of type \"external_account\" are not supported (only "
                "service_account and authorized_user); use `gcloud auth print-access-token` into "
                "GOOGLE_OAUTH_ACCESS_TOKEN instead");
  EXPECT_EQ(key_file_error(dir, "[]").message, prefix + file + " (GOOGLE_APPLICATION_CREDENTIALS): not a JSON object");
}

TEST(GcpAuth, BrokenPemNeverQuotesTheKey) {
  TempDir dir("gcp-auth");
  std::string pem = private_pem(test_key().get());
  std::string broken = pem.substr(0, pem.size() / 2) + "\n-----END PRIVATE KEY-----\n";
  auto error = key_file_error(dir, service_account_json("https://x/token", broken));
  EXPECT_NE(error.message.find("is not a PEM private key"), std::string::npos) << error.message;
  expect_no_secret(error.message, pem);
}

// --- gcloud subprocess ------------------------------------------------------------------------

// The real subprocess, with a fake `gcloud` script first on PATH.
class FakeGcloud : public ::testing::Test {
 protected:
  void install(const std::string& script) {
    std::string path = m_dir.write("gcloud", "#!/bin/sh\n" + script + "\n");
    ::chmod(path.c_str(), 0755);
    const char* old = ::getenv("PATH");
    m_old_path = old ? old : "";
    ::setenv("PATH", (m_dir.path().string() + ":" + m_old_path).c_str(), 1);
    m_installed = true;
  }
  void TearDown() override {
    if (m_installed) ::setenv("PATH", m_old_path.c_str(), 1);
  }
  recorder::Result<std::shared_ptr<GcpCredentials>> find(std::chrono::milliseconds timeout = 10s) {
    auto options = isolated(Env{});
    options.gcloud = GcpAuthOptions::Use::yes;
    options.gcloud_timeout = timeout;
    return find_gcp_credentials(counting_token_endpoint(), options);
  }
  TempDir m_dir{"gcp-auth-gcloud"};
  std::string m_old_path;
  bool m_installed = false;
};

TEST_F(FakeGcloud, PrintedTokenIsUsed) {
  install("[ \"$1 $2\" = \"auth print-access-token\" ] || exit 9\necho " + k_canary_token);
  auto credentials = find();
  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ((*credentials)->access_token().value(), k_canary_token);
}

TEST_F(FakeGcloud, FailureQuotesStderrNotStdout) {
  install("echo " + k_canary_token + "\necho 'ERROR: (gcloud.auth.print-access-token) not logged in' >&2\nexit 1");
  auto credentials = find();
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().message,
            "Google Cloud credentials from gcloud: gcloud auth print-access-token exited with status 1: ERROR: "
            "(gcloud.auth.print-access-token) not logged in");
}

TEST_F(FakeGcloud, HangingGcloudTimesOut) {
  install("sleep 30");
  auto started = std::chrono::steady_clock::now();
  auto credentials = find(300ms);
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().message,
            "Google Cloud credentials from gcloud: gcloud auth print-access-token: timed out after 300 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

}  // namespace
}  // namespace analyzer
