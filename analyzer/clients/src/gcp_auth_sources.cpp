// Token sources: an explicit token, key files (dispatch; the authorized_user refresh-token grant), the
// metadata server; and parsing of token answers. The service_account JWT grant is in gcp_auth_jwt.cpp.
#include <fmt/format.h>

#include <charconv>
#include <utility>

#include "gcp_auth_sources.hpp"
#include "recorder/base/json.hpp"

namespace analyzer::gcp_auth {

using recorder::Error;
using recorder::Result;
using Clock = std::chrono::system_clock;

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "<redacted>");
    }
  }
  return text;
}

namespace {

// expires_in as a number or a numeric string ("3599"); nullopt when absent or unusable.
std::optional<std::chrono::seconds> expires_in(const rapidjson::Value& body) {
  if (auto number = recorder::get_number(body, "expires_in"); number && *number >= 0 && *number < 1e9) {
    return std::chrono::seconds(static_cast<long long>(*number));
  }
  if (auto text = recorder::get_string(body, "expires_in")) {
    long long value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec == std::errc() && end == text->data() + text->size() && value >= 0) return std::chrono::seconds(value);
  }
  return std::nullopt;
}

// The error an OAuth endpoint ({"error": "...", "error_description": "..."}) or an API
// ({"error": {"message": ...}}) gave; "" when the body says nothing usable.
std::string error_text(const rapidjson::Value& body) {
  if (!body.IsObject()) return "";
  if (auto code = recorder::get_string(body, "error")) {
    auto description = recorder::get_string(body, "error_description");
    return description ? fmt::format("{}: {}", *code, *description) : *code;
  }
  if (const auto* error = recorder::get_object(body, "error")) {
    if (auto message = recorder::get_string(*error, "message")) return *message;
  }
  return "";
}

class EnvTokenFetcher : public GcpTokenFetcher {
 public:
  EnvTokenFetcher(std::string variable, std::string token) : m_variable(std::move(variable)), m_token(std::move(token)) {}
  Result<GcpToken> fetch(Clock::time_point) override { return GcpToken{m_token, std::nullopt}; }
  bool can_refresh() const override { return false; }
  GcpAuthSource source() const override { return GcpAuthSource::env_token; }
  std::string description() const override { return "access token in environment variable " + m_variable; }

 private:
  std::string m_variable;
  std::string m_token;
};

class AuthorizedUserFetcher : public GcpTokenFetcher {
 public:
  struct Fields {
    std::string client_id, client_secret, refresh_token, token_uri;
    std::optional<std::string> quota_project;
  };
  AuthorizedUserFetcher(Fields fields, std::string who, std::shared_ptr<recorder::Transport> transport,
                        GcpAuthOptions options)
      : m_fields(std::move(fields)), m_who(std::move(who)), m_transport(std::move(transport)),
        m_options(std::move(options)) {}

  Result<GcpToken> fetch(Clock::time_point now) override {
    std::string body = fmt::format("grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
                                   recorder::url_encode(m_fields.client_id),
                                   recorder::url_encode(m_fields.client_secret),
                                   recorder::url_encode(m_fields.refresh_token));
    std::vector<std::string> secrets = {m_fields.client_secret, m_fields.refresh_token,
                                        recorder::url_encode(m_fields.client_secret),
                                        recorder::url_encode(m_fields.refresh_token)};
    return post_token_request(*m_transport, m_fields.token_uri, std::move(body), m_who, secrets, m_options, now);
  }
  GcpAuthSource source() const override { return GcpAuthSource::authorized_user; }
  std::string description() const override {
    return m_fields.quota_project ? fmt::format("{} (quota project {})", m_who, *m_fields.quota_project) : m_who;
  }
  std::optional<std::string> quota_project() const override { return m_fields.quota_project; }

 private:
  Fields m_fields;
  std::string m_who;
  std::shared_ptr<recorder::Transport> m_transport;
  GcpAuthOptions m_options;
};

class MetadataFetcher : public GcpTokenFetcher {
 public:
  MetadataFetcher(std::string host, std::shared_ptr<recorder::Transport> transport, GcpAuthOptions options)
      : m_host(std::move(host)), m_transport(std::move(transport)), m_options(std::move(options)) {}

  Result<GcpToken> fetch(Clock::time_point now) override {
    recorder::HttpRequest request;
    request.service = recorder::Service::metadata;
    request.url = fmt::format("http://{}/computeMetadata/v1/instance/service-accounts/default/token", m_host);
    request.headers = {{"Metadata-Flavor", "Google"}};
    request.timeout = m_options.token_timeout;
    auto response = m_transport->send(request);
    if (!response) return Error{fmt::format("Google Cloud credentials from the metadata server: {}", response.error().message)};
    auto token = parse_token_response(*response, request.url, now);
    if (!token) return Error{"Google Cloud credentials from the metadata server: " + token.error().message};
    return token;
  }
  GcpAuthSource source() const override { return GcpAuthSource::metadata; }
  std::string description() const override { return "metadata server " + m_host; }

 private:
  std::string m_host;
  std::shared_ptr<recorder::Transport> m_transport;
  GcpAuthOptions m_options;
};

// A required non-empty string field of a key file, or an Error naming the file and the field.
Result<std::string> required(const rapidjson::Value& key, const char* field, const std::string& who) {
  auto value = recorder::get_string(key, field);
  if (!value || value->empty()) return Error{fmt::format("{}: \"{}\" is missing or not a string", who, field)};
  return *value;
}

Result<std::unique_ptr<GcpTokenFetcher>> make_authorized_user_fetcher(const rapidjson::Value& key, std::string who,
                                                                      std::shared_ptr<recorder::Transport> transport,
                                                                      const GcpAuthOptions& options) {
  AuthorizedUserFetcher::Fields fields;
  for (auto [name, target] : {std::pair{"client_id", &fields.client_id}, std::pair{"client_secret", &fields.client_secret},
                              std::pair{"refresh_token", &fields.refresh_token}}) {
    auto value = required(key, name, who);
    if (!value) return value.error();
    *target = std::move(*value);
  }
  fields.token_uri = options.token_uri.value_or(
      recorder::get_string(key, "token_uri").value_or(std::string(k_default_token_uri)));
  fields.quota_project = recorder::get_string(key, "quota_project_id");
  if (fields.quota_project && fields.quota_project->empty()) fields.quota_project.reset();
  return std::unique_ptr<GcpTokenFetcher>(
      std::make_unique<AuthorizedUserFetcher>(std::move(fields), std::move(who), std::move(transport), options));
}

}  // namespace

Result<GcpToken> parse_token_response(const recorder::HttpResponse& response, std::string_view endpoint,
                                      Clock::time_point now) {
  auto body = recorder::parse_json(response.body, endpoint);
  if (response.status != 200) {
    std::string detail = body ? error_text(*body) : "";
    return Error{detail.empty() ? fmt::format("{} answered HTTP {}", endpoint, response.status)
                                : fmt::format("{} answered HTTP {}: {}", endpoint, response.status, detail)};
  }
  if (!body || !body->IsObject()) return Error{fmt::format("{} answered 200 with a body that is not a JSON object", endpoint)};
  auto token = recorder::get_string(*body, "access_token");
  if (!token || token->empty()) return Error{fmt::format("{} answered 200 without an access_token", endpoint)};
  GcpToken result{std::move(*token), std::nullopt};
  if (auto lifetime = expires_in(*body)) result.expiry = now + *lifetime;
  return result;
}

Result<GcpToken> post_token_request(recorder::Transport& transport, const std::string& token_uri, std::string body,
                                    const std::string& who, const std::vector<std::string>& secrets,
                                    const GcpAuthOptions& options, Clock::time_point now) {
  recorder::HttpRequest request;
  request.service = recorder::Service::oauth;
  request.method = "POST";
  request.url = token_uri;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  request.body = std::move(body);
  request.timeout = options.token_timeout;
  auto response = transport.send(request);
  if (!response) return Error{scrub(fmt::format("Google Cloud credentials from {}: {}", who, response.error().message), secrets)};
  auto token = parse_token_response(*response, token_uri, now);
  if (!token) return Error{scrub(fmt::format("Google Cloud credentials from {}: {}", who, token.error().message), secrets)};
  return token;
}

std::unique_ptr<GcpTokenFetcher> make_env_token_fetcher(std::string variable, std::string token) {
  return std::make_unique<EnvTokenFetcher>(std::move(variable), std::move(token));
}

Result<std::unique_ptr<GcpTokenFetcher>> make_key_file_fetcher(const std::string& path, std::string_view origin,
                                                               std::shared_ptr<recorder::Transport> transport,
                                                               const GcpAuthOptions& options) {
  std::string who = fmt::format("{} ({})", path, origin);
  // read_json_file's errors name the file and the line and column, never the text.
  auto key = recorder::read_json_file(path);
  if (!key) return Error{fmt::format("Google Cloud credentials from {}: {}", origin, key.error().message)};
  if (!key->IsObject()) return Error{fmt::format("Google Cloud credentials from {}: not a JSON object", who)};
  auto type = recorder::get_string(*key, "type");
  if (!type) return Error{fmt::format("Google Cloud credentials from {}: \"type\" is missing", who)};
  if (*type == "service_account") return make_service_account_fetcher(*key, path, origin, std::move(transport), options);
  if (*type == "authorized_user") {
    auto fetcher = make_authorized_user_fetcher(*key, "authorized_user file " + who, std::move(transport), options);
    if (!fetcher) return Error{"Google Cloud credentials from " + fetcher.error().message};
    return fetcher;
  }
  return Error{fmt::format(
      "Google Cloud credentials from {}: credentials of type \"{}\" are not supported (only service_account and "
      "authorized_user); use `gcloud auth print-access-token` into {} instead",
      who, *type, options.access_token_env)};
}

bool metadata_server_answers(recorder::Transport& transport, const std::string& host,
                             std::chrono::milliseconds timeout) {
  recorder::HttpRequest request;
  request.service = recorder::Service::metadata;
  request.url = fmt::format("http://{}/", host);
  request.headers = {{"Metadata-Flavor", "Google"}};
  request.timeout = timeout;
  auto response = transport.send(request);
  return response && response->status == 200 &&
         recorder::find_header(response->headers, "Metadata-Flavor").value_or("") == "Google";
}

std::unique_ptr<GcpTokenFetcher> make_metadata_fetcher(std::string host, std::shared_ptr<recorder::Transport> transport,
                                                       const GcpAuthOptions& options) {
  return std::make_unique<MetadataFetcher>(std::move(host), std::move(transport), options);
}

}  // namespace analyzer::gcp_auth
