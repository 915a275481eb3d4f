// The real HTTP(S) transport, on cpp-httplib with OpenSSL. httplib::Client is not safe for
// concurrent requests, so each origin keeps a small pool of idle keep-alive clients.
#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <map>
#include <mutex>
#include <vector>

#include "recorder/base/log.hpp"
#include "recorder/transport.hpp"

namespace recorder {
namespace {

class HttplibTransport : public Transport {
 public:
  Result<HttpResponse> send(const HttpRequest& request) override {
    auto url = parse_url(request.url);
    if (!url) return url.error();
    auto client = acquire(*url);
    configure(*client, request);

    httplib::Request req;
    req.method = request.method;
    req.path = url->query.empty() ? url->path : url->path + "?" + url->query;
    for (const auto& [name, value] : request.headers) req.headers.emplace(name, value);
    req.body = request.body;

    auto started = std::chrono::steady_clock::now();
    auto result = client->send(req);
    if (!result) {
      // The connection is in an unknown state: drop this client rather than pool it.
      bool timed_out = timed_out_error(result.error(), std::chrono::steady_clock::now() - started, request.timeout);
      return make_error(fmt::format("{} {} failed: {}", request.method, strip_query(request.url),
                                    timed_out ? fmt::format("timed out after {} ms", request.timeout.count())
                                              : describe(result.error())));
    }
    HttpResponse response;
    response.status = result->status;
    for (const auto& [name, value] : result->headers) response.headers.emplace_back(name, value);
    response.body = std::move(result->body);
    release(*url, std::move(client));
    log::debug("{} {} -> {}", request.method, strip_query(request.url), response.status);
    return response;
  }

 private:
  static std::string strip_query(const std::string& url) { return url.substr(0, url.find('?')); }

  // cpp-httplib 0.11 reports a read or write timeout as Error::Read / Error::Write, the same as a
  // closed connection; only the time spent tells them apart.
  static bool timed_out_error(httplib::Error error, std::chrono::steady_clock::duration elapsed,
                              std::chrono::milliseconds timeout) {
    if (error == httplib::Error::ConnectionTimeout) return true;
    bool may_be_timeout = error == httplib::Error::Read || error == httplib::Error::Write ||
                          error == httplib::Error::Connection;
    return may_be_timeout && elapsed >= timeout;
  }

  static std::string describe(httplib::Error error) {
    switch (error) {
      case httplib::Error::Connection: return "connection refused or unreachable";
      case httplib::Error::Read: return "connection closed while reading the response";
      case httplib::Error::Write: return "connection closed while sending the request";
      case httplib::Error::ConnectionTimeout: return "timed out";
      case httplib::Error::SSLConnection: return "TLS handshake failed";
      case httplib::Error::SSLServerVerification: return "TLS certificate verification failed";
      default: return httplib::to_string(error);
    }
  }

  static void configure(httplib::Client& client, const HttpRequest& request) {
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(request.timeout);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(request.timeout - seconds);
    client.set_connection_timeout(seconds.count(), micros.count());
    client.set_read_timeout(seconds.count(), micros.count());
    client.set_write_timeout(seconds.count(), micros.count());
  }

  std::unique_ptr<httplib::Client> acquire(const Url& url) {
    std::string origin = url.origin();
    {
      std::lock_guard lock(m_mutex);
      auto& idle = m_idle[origin];
      if (!idle.empty()) {
        auto client = std::move(idle.back());
        idle.pop_back();
        return client;
      }
    }
    auto client = std::make_unique<httplib::Client>(origin);
    client->set_keep_alive(true);
    // cpp-httplib writes a request's headers and its body in two writes; without TCP_NODELAY the body
    // of a POST on a kept-alive connection can wait for the server's delayed ACK (tens of ms).
    client->set_tcp_nodelay(true);
    client->set_follow_location(false);
    if (url.scheme == "https") client->enable_server_certificate_verification(true);
    return client;
  }

  void release(const Url& url, std::unique_ptr<httplib::Client> client) {
    std::lock_guard lock(m_mutex);
    auto& idle = m_idle[url.origin()];
    if (idle.size() < 16) idle.push_back(std::move(client));
  }

  std::mutex m_mutex;
  std::map<std::string, std::vector<std::unique_ptr<httplib::Client>>> m_idle;
};

}  // namespace

std::unique_ptr<Transport> make_http_transport() { return std::make_unique<HttplibTransport>(); }

}  // namespace recorder
