// The service_account source: an RS256-signed JWT (RFC 7515/7518) exchanged for an access token with
// the JWT bearer grant (RFC 7523), signed with OpenSSL's EVP interface from the key file's PEM.
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <utility>

#include "gcp_auth_sources.hpp"
#include "recorder/base/json.hpp"

namespace analyzer::gcp_auth {

using recorder::Error;
using recorder::Result;
using Clock = std::chrono::system_clock;


namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

// Loads a PEM RSA private key (PKCS#8 or PKCS#1). The error says what is wrong, never the key.
Result<std::shared_ptr<EVP_PKEY>> load_rsa_key(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return Error{"cannot allocate a memory BIO"};
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();  // OpenSSL's queued reasons are not needed (and must not leak into later calls)
  if (!key) return Error{"\"private_key\" is not a PEM private key"};
  if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) return Error{"\"private_key\" is not an RSA key (RS256 needs one)"};
  return std::shared_ptr<EVP_PKEY>(key.release(), KeyFree{});
}

// RSASSA-PKCS1-v1_5 with SHA-256 over `input`.
Result<std::string> sign_rs256(EVP_PKEY* key, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::size_t length = 0;
  bool ok = ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestSignUpdate(ctx.get(), input.data(), input.size()) == 1 &&
            EVP_DigestSignFinal(ctx.get(), nullptr, &length) == 1;
  std::string signature(length, '\0');
  ok = ok && EVP_DigestSignFinal(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length) == 1;
  ERR_clear_error();
  if (!ok) return Error{"signing the JWT with \"private_key\" failed"};
  signature.resize(length);
  return signature;
}

std::string compact_json(const rapidjson::Value& value) { return recorder::write_json(value); }

class ServiceAccountFetcher : public GcpTokenFetcher {
 public:
  struct Fields {
    std::string client_email, private_key_id, token_uri;
    std::shared_ptr<EVP_PKEY> key;
  };
  ServiceAccountFetcher(Fields fields, std::string who, std::shared_ptr<recorder::Transport> transport,
                        GcpAuthOptions options)
      : m_fields(std::move(fields)), m_who(std::move(who)), m_transport(std::move(transport)),
        m_options(std::move(options)) {}

  Result<GcpToken> fetch(Clock::time_point now) override {
    auto assertion = make_assertion(now);
    if (!assertion) return Error{fmt::format("Google Cloud credentials from {}: {}", m_who, assertion.error().message)};
    // The JWT is URL-safe already; only the grant type needs encoding.
    std::string body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + *assertion;
    return post_token_request(*m_transport, m_fields.token_uri, std::move(body), m_who, {*assertion}, m_options, now);
  }
  GcpAuthSource source() const override { return GcpAuthSource::service_account; }
  std::string description() const override { return fmt::format("{} as {}", m_who, m_fields.client_email); }

 private:
  Result<std::string> make_assertion(Clock::time_point now) const {
    rapidjson::Document header(rapidjson::kObjectType);
    auto& a = header.GetAllocator();
    header.AddMember("alg", "RS256", a).AddMember("typ", "JWT", a);
    if (!m_fields.private_key_id.empty()) header.AddMember("kid", recorder::json_string(m_fields.private_key_id, a), a);

    std::string scope;
    for (const auto& s : m_options.scopes) scope += (scope.empty() ? "" : " ") + s;
    auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    rapidjson::Document claims(rapidjson::kObjectType);
    auto& c = claims.GetAllocator();
    claims.AddMember("iss", recorder::json_string(m_fields.client_email, c), c)
        .AddMember("scope", recorder::json_string(scope, c), c)
        .AddMember("aud", recorder::json_string(m_fields.token_uri, c), c)
        .AddMember("iat", static_cast<int64_t>(iat), c)
        .AddMember("exp", static_cast<int64_t>(iat + 3600), c);  // the maximum, as google-auth

    std::string input = base64url(compact_json(header)) + "." + base64url(compact_json(claims));
    auto signature = sign_rs256(m_fields.key.get(), input);
    if (!signature) return signature.error();
    return input + "." + base64url(*signature);
  }

  Fields m_fields;
  std::string m_who;
  std::shared_ptr<recorder::Transport> m_transport;
  GcpAuthOptions m_options;
};

}  // namespace

Result<std::unique_ptr<GcpTokenFetcher>> make_service_account_fetcher(const rapidjson::Value& key,
                                                                      const std::string& path,
                                                                      std::string_view origin,
                                                                      std::shared_ptr<recorder::Transport> transport,
                                                                      const GcpAuthOptions& options) {
  std::string who = fmt::format("service_account key file {} ({})", path, origin);
  auto fail = [&](std::string_view what) { return Error{fmt::format("Google Cloud credentials from {}: {}", who, what)}; };
  ServiceAccountFetcher::Fields fields;
  auto email = recorder::get_string(key, "client_email");
  if (!email || email->empty()) return fail("\"client_email\" is missing or not a string");
  auto pem = recorder::get_string(key, "private_key");
  if (!pem || pem->empty()) return fail("\"private_key\" is missing or not a string");
  auto rsa = load_rsa_key(*pem);
  if (!rsa) return fail(rsa.error().message);
  fields.client_email = std::move(*email);
  fields.private_key_id = recorder::get_string(key, "private_key_id").value_or("");
  fields.token_uri = options.token_uri.value_or(
      recorder::get_string(key, "token_uri").value_or(std::string(k_default_token_uri)));
  fields.key = std::move(*rsa);
  return std::unique_ptr<GcpTokenFetcher>(
      std::make_unique<ServiceAccountFetcher>(std::move(fields), std::move(who), std::move(transport), options));
}

}  // namespace analyzer::gcp_auth
