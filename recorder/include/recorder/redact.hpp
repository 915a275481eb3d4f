// Redaction: what never reaches a bundle, a log or a report. Applied by the recorder before anything
// is kept, written or hashed. Secret headers and token-like query parameters are dropped outright;
// every other secret value is replaced by a stable numbered placeholder, "<redacted:KIND:N>" (the same
// value always gives the same placeholder, two values :1 and :2), so a redacted bundle still
// replays consistently:
//   token        the values of OAuth token endpoint requests and responses (all but grant_type,
//                token_type, scope, expires_in, error, error_description), secret JSON members
//                anywhere (access_token, refresh_token, id_token, client_secret, private_key,
//                password, assertion, token and their camelCase forms), bearer tokens in text
//                and members of the credential families (apiKey, secret_value, sessionToken, ...),
//                bearer and Basic credentials, JWTs, signed-URL parameters, known token prefixes
//   credential   what the client itself sent as a credential (secret headers, secret query
//                parameters) and the secrets day2 holds (add_secret), wherever echoed
//   password     the password of a URL's userinfo ("postgres://user:PASSWORD@host")
//   private key  PEM private key blocks, in any text or JSON string
//   json         the values at the configured JSON paths, replaced wholesale
//   <rule name>  the matches of each configured RE2 pattern (emails, project ids, hostnames)
// Once a secret value has a placeholder, any later literal occurrence of it is replaced too.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/bundle.hpp"
#include "recorder/base/result.hpp"

namespace recorder {

struct RedactionRule {
  std::string name;     // "email", "project id", ...: in placeholders and the manifest; letters,
                        // digits, space, '_', '.', '-'
  std::string pattern;  // RE2; the whole match is replaced; must not match the empty string
};

struct RedactionSettings {
  std::vector<RedactionRule> patterns;   // applied to paths, query values, header values and bodies
  // JSON pointers into request and response bodies (e.g. "/data/agents/0/metadata") whose values
  // are replaced wholesale; a "*" segment matches any member or index ("/data/agents/*/metadata").
  std::vector<std::string> json_paths;
};

// Whether header `name` carries a credential (Authorization, Cookie, Set-Cookie,
// Dagster-Cloud-Api-Token, x-goog-api-key, or any name of the credential families: token, secret,
// password, api key, access key, private key, signature, credential; any case and separators).
bool is_secret_header(std::string_view name);
// Whether query parameter `name` carries a credential: the families above, key, sig, code (access_token,
// X-Amz-Signature, api-key, ...). Not pageToken: pagination is part of a request's identity.
bool is_secret_query_param(std::string_view name);
// `url` as day2 may write or print it: userinfo replaced by "<redacted>@", the values of secret
// query parameters by "<redacted>". Pure.
std::string safe_url(std::string_view url);
// Whether a request to `path` is an OAuth token endpoint whose bodies are secret: `service` oauth,
// https://oauth2.googleapis.com/token (any path ending in "/token"), the metadata server's
// /computeMetadata/v1/instance/service-accounts/*/token and .../identity, and IAM credentials'
// :generateAccessToken and :generateIdToken.
bool is_token_endpoint(Service service, std::string_view path);

class Redactor {
 public:
  // Error names the rule or path that is unusable: a pattern that does not compile or matches the
  // empty string, a bad rule name, a JSON path not starting with '/'.
  static Result<Redactor> make(RedactionSettings settings);
  Redactor();  // only the built-in secret handling

  // Redacts `exchange` in place: drops secret headers and query parameters, replaces token-endpoint
  // bodies' values, private keys, secret JSON members, JSON paths and pattern matches with
  // placeholders. Idempotent: a placeholder is never redacted again, so running it twice over an
  // exchange only adds the replacement of secrets learnt since the first run. Thread-safe; copies
  // of a Redactor share one numbering.
  void redact(Exchange& exchange) const;
  // Redacts free text (log lines, error messages): private keys, bearer tokens, token=... pairs,
  // known secrets and the patterns.
  std::string redact_text(std::string_view text) const;
  // Remembers `value` (a credential day2 holds: a token from the environment or from credentials) so
  // that it is replaced wherever it appears from now on. Values under 6 characters are ignored.
  void add_secret(std::string_view value) const;
  // Remembers the credentials of `headers` (what redact() learns from an exchange's request headers),
  // for a caller that drops headers before redacting: RecordingTransport keeps only the ones that matter.
  void learn_credentials(const Headers& headers) const;
  // The secret values this redactor learnt since `cursor` (0 at first), which it advances: what a text
  // kept before now may still hold unredacted. Values stay in memory; callers must not print them.
  std::vector<std::string> learnt_since(std::size_t& cursor) const;
  // Names of what this redactor redacts, for the manifest (never values).
  std::vector<std::string> names() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> m_impl;
};

}  // namespace recorder
