// Test support for the Google Cloud authentication tests: a throwaway RSA key, JWT verification,
// stand-in servers on 127.0.0.1 (token endpoint, metadata), a function transport, an injected
// environment and clock, log capture and the canary secrets.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "analyzer/clients/gcp_auth.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/log.hpp"

namespace day2_test::gcp {

using namespace std::chrono_literals;
using analyzer::GcpAuthOptions;
using recorder::HttpRequest;
using recorder::HttpResponse;
using Clock = std::chrono::system_clock;

// Canary secrets: tests check they appear in no error message, description or log line.
inline const std::string k_canary_token = "ya29.CANARY-access-token-7f3e";
inline const std::string k_canary_secret = "CANARY-client-secret-91ab";
inline const std::string k_canary_refresh = "1//CANARY-refresh-token-55cd";
inline const Clock::time_point k_t0 = std::chrono::sys_days{std::chrono::year{2026} / 3 / 30} + 4h;

inline std::shared_ptr<EVP_PKEY> make_rsa_key() {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr);
  EVP_PKEY* key = nullptr;
  bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) == 1 &&
            EVP_PKEY_keygen(ctx, &key) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) throw std::runtime_error("RSA key generation failed");
  return {key, EVP_PKEY_free};
}

// One throwaway key pair for the whole file (generation takes a moment).
inline const std::shared_ptr<EVP_PKEY>& test_key() {
  static const auto key = make_rsa_key();
  return key;
}

inline std::string private_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);  // PKCS#8
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

inline std::string base64url_decode(std::string_view text) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char ch : text) {
    int value = ch >= 'A' && ch <= 'Z'   ? ch - 'A'
                : ch >= 'a' && ch <= 'z' ? ch - 'a' + 26
                : ch >= '0' && ch <= '9' ? ch - '0' + 52
                : ch == '-'              ? 62
                : ch == '_'              ? 63
                                         : -1;
    if (value < 0) throw std::runtime_error("not base64url: " + std::string(text));
    buffer = buffer << 6 | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

inline bool verify_rs256(EVP_PKEY* key, std::string_view input, const std::string& signature) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerifyUpdate(ctx.get(), input.data(), input.size()) == 1 &&
         EVP_DigestVerifyFinal(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size()) == 1;
}

inline std::map<std::string, std::string> parse_form(const std::string& body) {
  auto decode = [](std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '%' && i + 2 < text.size()) {
        out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += text[i] == '+' ? ' ' : text[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> form;
  std::stringstream stream(body);
  std::string pair;
  while (std::getline(stream, pair, '&')) {
    auto eq = pair.find('=');
    form[decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : decode(pair.substr(eq + 1));
  }
  return form;
}

inline std::string json_text(std::initializer_list<std::pair<const char*, std::string>> fields) {
  rapidjson::Document doc(rapidjson::kObjectType);
  for (const auto& [name, value] : fields) {
    doc.AddMember(rapidjson::StringRef(name), recorder::json_string(value, doc.GetAllocator()), doc.GetAllocator());
  }
  return recorder::write_json(doc, recorder::Pretty::yes);
}

inline std::string service_account_json(const std::string& token_uri, const std::string& pem) {
  return json_text({{"type", "service_account"},
                    {"project_id", "my-proj"},
                    {"private_key_id", "0123456789abcdef0123456789abcdef01234567"},
                    {"private_key", pem},
                    {"client_email", "diag@my-proj.iam.gserviceaccount.com"},
                    {"client_id", "1234567890"},
                    {"token_uri", token_uri}});
}

inline std::string authorized_user_json(std::string quota_project = "quota-proj") {
  return json_text({{"type", "authorized_user"},
                    {"client_id", "123-abc.apps.googleusercontent.com"},
                    {"client_secret", k_canary_secret},
                    {"refresh_token", k_canary_refresh},
                    {"quota_project_id", std::move(quota_project)}});
}

// A transport answering from a function and recording every request.
class FunctionTransport : public recorder::Transport {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  explicit FunctionTransport(Handler handler) : m_handler(std::move(handler)) {}
  recorder::Result<HttpResponse> send(const HttpRequest& request) override {
    std::lock_guard lock(m_mutex);
    m_requests.push_back(request);
    return m_handler(request);
  }
  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }

 private:
  Handler m_handler;
  mutable std::mutex m_mutex;
  std::vector<HttpRequest> m_requests;
};

// Token endpoint answers: "tok-1", "tok-2", ... lasting `lifetime` seconds.
inline std::shared_ptr<FunctionTransport> counting_token_endpoint(int lifetime = 3600) {
  auto count = std::make_shared<int>(0);
  return std::make_shared<FunctionTransport>([count, lifetime](const HttpRequest&) {
    return HttpResponse{200, {}, fmt::format(R"({{"access_token":"tok-{}","expires_in":{},"token_type":"Bearer"}})",
                                             ++*count, lifetime)};
  });
}

struct Env {
  std::map<std::string, std::string> vars;
  std::function<std::optional<std::string>(const std::string&)> getenv() const {
    auto copy = vars;
    return [copy](const std::string& name) -> std::optional<std::string> {
      auto it = copy.find(name);
      if (it == copy.end()) return std::nullopt;
      return it->second;
    };
  }
};

// Options isolated from the machine: no real environment, metadata server or gcloud; a fixed clock.
inline GcpAuthOptions isolated(const Env& env, std::shared_ptr<Clock::time_point> now = nullptr) {
  GcpAuthOptions options;
  options.getenv = env.getenv();
  options.metadata = GcpAuthOptions::Use::no;
  options.gcloud = GcpAuthOptions::Use::no;
  if (!now) now = std::make_shared<Clock::time_point>(k_t0);
  options.clock = [now] { return *now; };
  return options;
}

// A cpp-httplib server on 127.0.0.1 (OS-chosen port) serving on its own thread; stops when destroyed.
class StandIn {
 public:
  explicit StandIn(const std::function<void(httplib::Server&)>& routes) {
    m_server.set_keep_alive_timeout(1);
    routes(m_server);
    m_port = m_server.bind_to_any_port("127.0.0.1");
    if (m_port <= 0) throw std::runtime_error("cannot bind 127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!m_server.is_running() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  }
  ~StandIn() {
    m_server.stop();
    if (m_thread.joinable()) m_thread.join();
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(m_port); }
  std::string url(const std::string& path) const { return "http://" + host() + path; }

 private:
  httplib::Server m_server;
  std::thread m_thread;
  int m_port = 0;
};

// A stand-in token endpoint that verifies JWT bearer grants with `key`'s public half and checks the
// claims against `now`. Problems are collected for the test thread to assert.
class JwtTokenEndpoint {
 public:
  JwtTokenEndpoint(EVP_PKEY* key, Clock::time_point now, int status = 200)
      : m_key(key), m_now(now), m_status(status), m_server([this](httplib::Server& s) {
          s.Post("/token", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
        }) {}
  std::string token_uri() const { return m_server.url("/token"); }
  std::vector<std::string> problems() const {
    std::lock_guard lock(m_mutex);
    return m_problems;
  }
  int requests() const { return m_requests; }

 private:
  void problem(std::string text) {
    std::lock_guard lock(m_mutex);
    m_problems.push_back(std::move(text));
  }
  void handle(const httplib::Request& req, httplib::Response& res) {
    ++m_requests;
    check(req);
    if (m_status != 200) {
      res.status = m_status;
      // A careless endpoint echoing the request: the client must still not repeat secrets.
      res.set_content(R"({"error":"invalid_grant","error_description":"Invalid JWT Signature. got )" + req.body + "\"}",
                      "application/json");
      return;
    }
    res.set_content(R"({"access_token":")" + k_canary_token + R"(","expires_in":3599,"token_type":"Bearer"})",
                    "application/json");
  }
  void check(const httplib::Request& req) {
    if (req.get_header_value("Content-Type") != "application/x-www-form-urlencoded") problem("content type");
    auto form = parse_form(req.body);
    if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer") problem("grant_type " + form["grant_type"]);
    const std::string& jwt = form["assertion"];
    auto first = jwt.find('.');
    auto second = jwt.find('.', first + 1);
    if (first == std::string::npos || second == std::string::npos || jwt.find('.', second + 1) != std::string::npos) {
      return problem("assertion is not three parts");
    }
    if (!verify_rs256(m_key, std::string_view(jwt).substr(0, second), base64url_decode(jwt.substr(second + 1)))) {
      problem("RS256 signature does not verify");
    }
    auto header = recorder::parse_json(base64url_decode(jwt.substr(0, first)), "header");
    auto claims = recorder::parse_json(base64url_decode(jwt.substr(first + 1, second - first - 1)), "claims");
    if (!header || !claims) return problem("header or claims not JSON");
    if (recorder::get_string(*header, "alg") != "RS256") problem("alg");
    if (recorder::get_string(*header, "typ") != "JWT") problem("typ");
    if (recorder::get_string(*header, "kid") != "0123456789abcdef0123456789abcdef01234567") problem("kid");
    if (recorder::get_string(*claims, "iss") != "diag@my-proj.iam.gserviceaccount.com") problem("iss");
    if (recorder::get_string(*claims, "aud") != token_uri()) problem("aud");
    if (recorder::get_string(*claims, "scope") != "https://www.googleapis.com/auth/cloud-platform") problem("scope");
    auto iat = recorder::get_number(*claims, "iat");
    auto exp = recorder::get_number(*claims, "exp");
    double now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(m_now.time_since_epoch()).count());
    if (!iat || !exp) return problem("iat/exp missing");
    if (*iat < now - 60 || *iat > now + 60) problem("iat not now");
    if (*exp <= now || *exp - *iat > 3600 || *exp - *iat < 3000) problem("exp window");
  }

  EVP_PKEY* m_key;
  Clock::time_point m_now;
  int m_status;
  mutable std::mutex m_mutex;
  std::vector<std::string> m_problems;
  std::atomic<int> m_requests{0};
  StandIn m_server;  // last: stopped first, before the members its handler uses
};

inline void expect_no_secret(const std::string& text, const std::string& pem = "") {
  for (const auto& secret : {k_canary_token, k_canary_secret, k_canary_refresh}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << "secret in: " << text;
  }
  EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos) << text;
  if (!pem.empty()) {
    EXPECT_EQ(text.find(pem.substr(40, 40)), std::string::npos) << text;
  }
  EXPECT_EQ(text.find("eyJ"), std::string::npos) << "a JWT in: " << text;  // base64url of '{"'
}

// Captures what recorder::log writes (stderr) at debug level while alive.
class LogCapture {
 public:
  LogCapture() : m_old(std::cerr.rdbuf(m_buffer.rdbuf())), m_level(recorder::log::level()) {
    recorder::log::set_level(recorder::log::Level::debug);
  }
  ~LogCapture() {
    std::cerr.rdbuf(m_old);
    recorder::log::set_level(m_level);
  }
  std::string text() const { return m_buffer.str(); }

 private:
  std::stringstream m_buffer;
  std::streambuf* m_old;
  recorder::log::Level m_level;
};

}  // namespace day2_test::gcp
