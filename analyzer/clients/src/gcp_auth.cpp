// Credential discovery in ADC order, the token cache and the bearer-token Transport decorator.
#include "analyzer/clients/gcp_auth.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "gcp_auth_sources.hpp"
#include "recorder/base/log.hpp"
#include "recorder/base/secrets.hpp"

namespace analyzer {

using recorder::Error;
using recorder::Result;

std::string_view to_string(GcpAuthSource source) {
  switch (source) {
    case GcpAuthSource::env_token: return "env_token";
    case GcpAuthSource::service_account: return "service_account";
    case GcpAuthSource::authorized_user: return "authorized_user";
    case GcpAuthSource::metadata: return "metadata";
    case GcpAuthSource::gcloud: return "gcloud";
  }
  return "unknown";
}

namespace {

void fill_defaults(GcpAuthOptions& options) {
  if (!options.clock) options.clock = [] { return std::chrono::system_clock::now(); };
  if (!options.getenv) {
    options.getenv = [](const std::string& name) -> std::optional<std::string> {
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) return std::nullopt;
      return std::string(value);
    };
  }
  if (!options.gcloud_command) options.gcloud_command = gcp_auth::default_gcloud_command(options.gcloud_timeout);
}

// A set, non-empty environment variable.
std::optional<std::string> env(const GcpAuthOptions& options, const std::string& name) {
  auto value = options.getenv(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

// gcloud's well-known ADC file: $CLOUDSDK_CONFIG or ~/.config/gcloud (as google-auth's _cloud_sdk).
std::optional<std::string> well_known_adc_file(const GcpAuthOptions& options) {
  std::filesystem::path dir;
  if (auto config = env(options, "CLOUDSDK_CONFIG")) {
    dir = *config;
  } else if (auto home = env(options, "HOME")) {
    dir = std::filesystem::path(*home) / ".config" / "gcloud";
  } else {
    return std::nullopt;
  }
  return (dir / "application_default_credentials.json").string();
}

// The metadata host (GCE_METADATA_HOST, legacy GCE_METADATA_ROOT) and the host to ping for
// detection: GCE_METADATA_IP, else the overridden host (so a stand-in also answers the ping), else
// 169.254.169.254 (no DNS lookup).
std::pair<std::string, std::string> metadata_hosts(const GcpAuthOptions& options) {
  std::optional<std::string> host = options.metadata_host;
  if (!host) host = env(options, "GCE_METADATA_HOST");
  if (!host) host = env(options, "GCE_METADATA_ROOT");
  std::string ping = env(options, "GCE_METADATA_IP")
                         .value_or(host ? *host : std::string(gcp_auth::k_default_metadata_ip));
  return {host.value_or(std::string(gcp_auth::k_default_metadata_host)), ping};
}

Result<std::unique_ptr<GcpTokenFetcher>> find_fetcher(const std::shared_ptr<recorder::Transport>& transport,
                                                      const GcpAuthOptions& options) {
  using Fetcher = std::unique_ptr<GcpTokenFetcher>;
  if (auto token = env(options, options.access_token_env)) {
    return Fetcher(gcp_auth::make_env_token_fetcher(options.access_token_env, *token));
  }
  if (auto path = env(options, "GOOGLE_APPLICATION_CREDENTIALS")) {
    return gcp_auth::make_key_file_fetcher(*path, "GOOGLE_APPLICATION_CREDENTIALS", transport, options);
  }
  if (auto path = well_known_adc_file(options)) {
    std::error_code ec;
    if (std::filesystem::exists(*path, ec)) {
      return gcp_auth::make_key_file_fetcher(*path, "gcloud's application default credentials", transport, options);
    }
  }
  if (options.metadata == GcpAuthOptions::Use::yes) {
    auto [host, ping] = metadata_hosts(options);
    auto ping_transport = recorder::make_http_transport();  // no retries: a laptop must not wait long
    if (gcp_auth::metadata_server_answers(*ping_transport, ping, options.metadata_timeout)) {
      return Fetcher(gcp_auth::make_metadata_fetcher(host, transport, options));
    }
    recorder::log::debug("Google Cloud credentials: no metadata server at {}", ping);
  }
  if (options.gcloud == GcpAuthOptions::Use::yes) {
    auto token = options.gcloud_command();
    if (!token) return Error{"Google Cloud credentials from gcloud: " + token.error().message};
    if (*token) return Fetcher(gcp_auth::make_gcloud_fetcher(options.gcloud_command, std::move(**token)));
  }
  return Error{fmt::format(
      "no Google Cloud credentials found: set {} to an access token or GOOGLE_APPLICATION_CREDENTIALS to a "
      "key file, run `gcloud auth application-default login`, or run on Google Cloud (metadata server)",
      options.access_token_env)};
}

void set_header(recorder::Headers& headers, std::string_view name, std::string value) {
  std::erase_if(headers, [&](const auto& header) {
    if (header.first.size() != name.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(header.first[i])) != std::tolower(static_cast<unsigned char>(name[i])))
        return false;
    }
    return true;
  });
  headers.emplace_back(std::string(name), std::move(value));
}

}  // namespace

GcpCredentials::GcpCredentials(std::unique_ptr<GcpTokenFetcher> fetcher, GcpAuthOptions options)
    : m_fetcher(std::move(fetcher)), m_options(std::move(options)) {
  fill_defaults(m_options);
}

GcpCredentials::~GcpCredentials() = default;

Result<std::string> GcpCredentials::access_token() {
  std::lock_guard lock(m_mutex);
  auto now = m_options.clock();
  if (m_token && (!m_token->expiry || now < *m_token->expiry - m_options.refresh_margin)) return m_token->access_token;
  return fetch_locked();
}

Result<std::string> GcpCredentials::refresh_after_rejection(const std::string& rejected) {
  std::lock_guard lock(m_mutex);
  if (!m_fetcher->can_refresh()) {
    return Error{fmt::format("Google Cloud credentials from {}: the token was rejected (401) and cannot be refreshed",
                             m_fetcher->description())};
  }
  if (m_token && m_token->access_token != rejected) return m_token->access_token;  // refreshed meanwhile
  m_token.reset();
  return fetch_locked();
}

Result<std::string> GcpCredentials::fetch_locked() {
  auto now = m_options.clock();
  auto token = m_fetcher->fetch(now);
  if (!token) {
    // A token in its last minutes still works; use it while the source is failing.
    if (m_token && m_token->expiry && now < *m_token->expiry) {
      recorder::log::info("warning: {}; using the current token until it expires", token.error().message);
      return m_token->access_token;
    }
    return token.error();
  }
  ++m_fetches;
  m_token = std::move(*token);
  recorder::hold_secret(m_token->access_token);  // never printed or written, even when echoed
  recorder::log::debug("Google Cloud credentials: new token from {}", m_fetcher->description());
  return m_token->access_token;
}

int GcpCredentials::fetch_count() const {
  std::lock_guard lock(m_mutex);
  return m_fetches;
}

bool GcpCredentials::can_refresh() const { return m_fetcher->can_refresh(); }
GcpAuthSource GcpCredentials::source() const { return m_fetcher->source(); }
std::string GcpCredentials::description() const { return m_fetcher->description(); }
std::optional<std::string> GcpCredentials::quota_project() const {
  if (m_options.quota_project) return m_options.quota_project;
  return m_fetcher->quota_project();
}

Result<std::shared_ptr<GcpCredentials>> find_gcp_credentials(std::shared_ptr<recorder::Transport> token_transport,
                                                             GcpAuthOptions options) {
  fill_defaults(options);
  auto fetcher = find_fetcher(token_transport, options);
  if (!fetcher) return fetcher.error();
  return std::make_shared<GcpCredentials>(std::move(*fetcher), std::move(options));
}

GcpAuthTransport::GcpAuthTransport(std::shared_ptr<recorder::Transport> inner,
                                   std::shared_ptr<GcpCredentials> credentials)
    : m_inner(std::move(inner)), m_credentials(std::move(credentials)) {}

Result<recorder::HttpResponse> GcpAuthTransport::send(const recorder::HttpRequest& request) {
  auto token = m_credentials->access_token();
  if (!token) return token.error();
  auto response = send_with(request, *token);
  if (!response || response->status != 401 || !m_credentials->can_refresh()) return response;
  recorder::log::debug("{} {} -> 401; refreshing the Google Cloud token once", request.method, request.url);
  auto fresh = m_credentials->refresh_after_rejection(*token);
  if (!fresh) return fresh.error();
  return send_with(request, *fresh);
}

Result<recorder::HttpResponse> GcpAuthTransport::send_with(const recorder::HttpRequest& request,
                                                           const std::string& token) {
  recorder::HttpRequest authorized = request;
  set_header(authorized.headers, "Authorization", "Bearer " + token);
  if (auto project = m_credentials->quota_project()) set_header(authorized.headers, "x-goog-user-project", *project);
  return m_inner->send(authorized);
}

Result<std::shared_ptr<GcpAuthTransport>> make_gcp_auth_transport(std::shared_ptr<recorder::Transport> inner,
                                                                  GcpAuthOptions options) {
  auto credentials = find_gcp_credentials(inner, std::move(options));
  if (!credentials) return credentials.error();
  return std::make_shared<GcpAuthTransport>(std::move(inner), std::move(*credentials));
}

}  // namespace analyzer
