// Google Cloud authentication for the Google Cloud API clients: finds credentials in Application
// Default Credentials order, caches and refreshes access tokens, and decorates a Transport so that
// every request carries `Authorization: Bearer ...`. Tokens, keys and refresh tokens never reach an
// Error message or a log line.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/http.hpp"
#include "recorder/base/result.hpp"
#include "recorder/transport.hpp"

namespace analyzer {

// Where the credentials came from, in the order they are tried.
enum class GcpAuthSource {
  env_token,        // an access token in an environment variable (GcpAuthOptions::access_token_env)
  service_account,  // a service_account key file: RS256 JWT bearer grant
  authorized_user,  // an authorized_user file (gcloud ADC login): refresh-token grant
  metadata,         // the GCE/GKE metadata server
  gcloud,           // `gcloud auth print-access-token`
};
std::string_view to_string(GcpAuthSource source);

// An access token and when it stops working (nullopt: unknown, valid until an API answers 401).
struct GcpToken {
  std::string access_token;
  std::optional<std::chrono::system_clock::time_point> expiry;
};

// What running gcloud gave: nullopt when gcloud is not installed (the source is skipped), an Error
// when it ran and failed (exit status and stderr, never the token), else the token it printed.
using GcloudTokenCommand = std::function<recorder::Result<std::optional<std::string>>()>;

struct GcpAuthOptions {
  // Source (a): the environment variable holding an explicit access token.
  std::string access_token_env = "GOOGLE_OAUTH_ACCESS_TOKEN";
  // Scopes of the JWT grant, joined with spaces.
  std::vector<std::string> scopes = {"https://www.googleapis.com/auth/cloud-platform"};
  // Where token requests go, overriding a key file's `token_uri` (default
  // https://oauth2.googleapis.com/token). The JWT `aud` follows it. For tests and replay.
  std::optional<std::string> token_uri;
  // The metadata server's host[:port], overriding $GCE_METADATA_HOST (legacy $GCE_METADATA_ROOT),
  // default metadata.google.internal. When overridden, detection pings this host rather than
  // 169.254.169.254 ($GCE_METADATA_IP).
  std::optional<std::string> metadata_host;
  // Sent as x-goog-user-project, overriding an authorized_user file's quota_project_id.
  std::optional<std::string> quota_project;
  enum class Use { no, yes };
  Use metadata = Use::yes;
  Use gcloud = Use::yes;
  // Tokens are refreshed this long before they expire (google-auth's REFRESH_THRESHOLD is 3m45s; the
  // metadata server keeps a token until 4 minutes before its expiry, so more would refresh in vain).
  std::chrono::seconds refresh_margin{225};
  std::chrono::milliseconds metadata_timeout{3000};   // the detection ping
  std::chrono::milliseconds token_timeout{30000};     // token endpoint and metadata token requests
  std::chrono::milliseconds gcloud_timeout{60000};

  // Injectable for tests: the clock, the environment and the gcloud command (default: run
  // `gcloud auth print-access-token` with gcloud_timeout).
  std::function<std::chrono::system_clock::time_point()> clock;
  std::function<std::optional<std::string>(const std::string& name)> getenv;
  GcloudTokenCommand gcloud_command;
};

// One refreshable token source, internal to gcp_auth*.cpp.
class GcpTokenFetcher;

// The chosen credentials with a thread-safe token cache. One refresh at a time; concurrent callers
// wait for it.
class GcpCredentials {
 public:
  GcpCredentials(std::unique_ptr<GcpTokenFetcher> fetcher, GcpAuthOptions options);
  ~GcpCredentials();
  GcpCredentials(const GcpCredentials&) = delete;
  GcpCredentials& operator=(const GcpCredentials&) = delete;

  // The cached token, fetched first when there is none or it expires within refresh_margin. Does
  // network I/O (or runs gcloud) then. Error names the source and the problem, never a secret.
  recorder::Result<std::string> access_token();
  // Called after an API rejected `rejected` with 401: fetches a new token unless another caller has
  // already replaced `rejected`. An Error when the source cannot refresh (an explicit env token).
  recorder::Result<std::string> refresh_after_rejection(const std::string& rejected);
  // How many tokens were fetched so far (tests, debug logging).
  int fetch_count() const;
  // False for an explicit token from the environment: a 401 cannot be cured by fetching again.
  bool can_refresh() const;

  GcpAuthSource source() const;
  // The source in words, for a log line, without secrets: "service_account key file /k.json
  // (diag@p.iam.gserviceaccount.com)", "environment variable GOOGLE_OAUTH_ACCESS_TOKEN".
  std::string description() const;
  // The x-goog-user-project value, when there is one.
  std::optional<std::string> quota_project() const;

 private:
  recorder::Result<std::string> fetch_locked();
  std::unique_ptr<GcpTokenFetcher> m_fetcher;
  GcpAuthOptions m_options;
  mutable std::mutex m_mutex;
  std::optional<GcpToken> m_token;
  int m_fetches = 0;
};

// Finds credentials in ADC order: (a) $`options.access_token_env`; (b) $GOOGLE_APPLICATION_CREDENTIALS
// (a missing, unreadable or malformed file is an Error, not a fall-through); (c) gcloud's ADC file
// ($CLOUDSDK_CONFIG or ~/.config/gcloud, /application_default_credentials.json); (d) the metadata
// server, if it answers a ping; (e) `gcloud auth print-access-token`. Absent sources are skipped; a
// present but broken one is an Error naming it. Token requests go through `token_transport`. Reads
// files, may ping the metadata server and run gcloud; does not fetch a token otherwise.
recorder::Result<std::shared_ptr<GcpCredentials>> find_gcp_credentials(
    std::shared_ptr<recorder::Transport> token_transport, GcpAuthOptions options);

// Decorator: adds `Authorization: Bearer <token>` (and `x-goog-user-project` when the credentials
// have a quota project) to each request sent to `inner`, replacing any such headers. On a 401 it
// refreshes the token once and retries that request once; a second 401 is returned as is. A token
// that cannot be obtained is an Error naming the source (no request is sent).
class GcpAuthTransport : public recorder::Transport {
 public:
  GcpAuthTransport(std::shared_ptr<recorder::Transport> inner, std::shared_ptr<GcpCredentials> credentials);
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override;
  const GcpCredentials& credentials() const { return *m_credentials; }

 private:
  recorder::Result<recorder::HttpResponse> send_with(const recorder::HttpRequest& request, const std::string& token);
  std::shared_ptr<recorder::Transport> m_inner;
  std::shared_ptr<GcpCredentials> m_credentials;
};

// find_gcp_credentials() with `inner` carrying the token requests too, wrapped in a GcpAuthTransport.
// Log the choice with `transport->credentials().description()`.
recorder::Result<std::shared_ptr<GcpAuthTransport>> make_gcp_auth_transport(std::shared_ptr<recorder::Transport> inner,
                                                                            GcpAuthOptions options);

}  // namespace analyzer
