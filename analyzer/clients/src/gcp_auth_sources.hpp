// The token sources behind GcpCredentials (private to gcp_auth*.cpp): an explicit token, key files
// (service_account, authorized_user), the metadata server and gcloud; plus JWT signing helpers.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/clients/gcp_auth.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/text.hpp"
#include "recorder/base/result.hpp"
#include "recorder/transport.hpp"

namespace analyzer {

class GcpTokenFetcher {
 public:
  virtual ~GcpTokenFetcher() = default;
  // A new token from the source, `now` being the current time. Error names the source, never a secret.
  virtual recorder::Result<GcpToken> fetch(std::chrono::system_clock::time_point now) = 0;
  // False for a fixed token: a 401 cannot be cured by fetching again.
  virtual bool can_refresh() const { return true; }
  virtual GcpAuthSource source() const = 0;
  virtual std::string description() const = 0;
  virtual std::optional<std::string> quota_project() const { return std::nullopt; }
};

namespace gcp_auth {

inline constexpr std::string_view k_default_token_uri = "https://oauth2.googleapis.com/token";
inline constexpr std::string_view k_default_metadata_host = "metadata.google.internal";
inline constexpr std::string_view k_default_metadata_ip = "169.254.169.254";

// (a) A fixed token from environment variable `variable`.
std::unique_ptr<GcpTokenFetcher> make_env_token_fetcher(std::string variable, std::string token);

// (b), (c) The credentials file at `path`, found through `origin` ("GOOGLE_APPLICATION_CREDENTIALS",
// "gcloud's ADC file"). Dispatches on "type". A missing or unreadable file, invalid JSON, a missing
// field, a PEM that is not an RSA private key or an unsupported type is an Error naming `path`.
recorder::Result<std::unique_ptr<GcpTokenFetcher>> make_key_file_fetcher(
    const std::string& path, std::string_view origin, std::shared_ptr<recorder::Transport> transport,
    const GcpAuthOptions& options);

// The service_account part of make_key_file_fetcher (gcp_auth_jwt.cpp): `key` is the parsed file.
recorder::Result<std::unique_ptr<GcpTokenFetcher>> make_service_account_fetcher(
    const rapidjson::Value& key, const std::string& path, std::string_view origin,
    std::shared_ptr<recorder::Transport> transport, const GcpAuthOptions& options);

// POSTs the form `body` to `token_uri` and parses the answer; errors are prefixed with `who` and
// scrubbed of `secrets`.
recorder::Result<GcpToken> post_token_request(recorder::Transport& transport, const std::string& token_uri,
                                              std::string body, const std::string& who,
                                              const std::vector<std::string>& secrets,
                                              const GcpAuthOptions& options, std::chrono::system_clock::time_point now);

// (d) Whether a metadata server answers a GET of http://`host`/ with 200 and the response header
// `Metadata-Flavor: Google`. Connection errors and timeouts are "no".
bool metadata_server_answers(recorder::Transport& transport, const std::string& host,
                             std::chrono::milliseconds timeout);
std::unique_ptr<GcpTokenFetcher> make_metadata_fetcher(std::string host,
                                                       std::shared_ptr<recorder::Transport> transport,
                                                       const GcpAuthOptions& options);

// (e) gcloud, with `first` the token it already printed during discovery.
std::unique_ptr<GcpTokenFetcher> make_gcloud_fetcher(GcloudTokenCommand command, std::string first);
// Runs `gcloud auth print-access-token` (stdin /dev/null, killed after `timeout`).
GcloudTokenCommand default_gcloud_command(std::chrono::milliseconds timeout);

// Parses a token endpoint or metadata answer from `endpoint`: 200 with access_token and expires_in
// (a number or a numeric string; absent means unknown expiry). Any other status is an Error quoting
// the OAuth `error` and `error_description` (or the API error message), never the body otherwise.
recorder::Result<GcpToken> parse_token_response(const recorder::HttpResponse& response, std::string_view endpoint,
                                                std::chrono::system_clock::time_point now);

using recorder::base64url;

// Replaces every occurrence of each non-empty `secrets` value in `text` by "<redacted>".
std::string scrub(std::string text, const std::vector<std::string>& secrets);

}  // namespace gcp_auth
}  // namespace analyzer
