#include "recorder/http_server.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <system_error>
#include <thread>

#include "recorder/http.hpp"

namespace recorder {

namespace {

// cpp-httplib listens with a backlog of 5, so a burst of clients connecting at once (a browser
// opening many connections) overflows the accept queue; the listening socket is reachable here.
class BacklogServer : public httplib::Server {
 public:
  void raise_backlog() const { ::listen(svr_sock_, SOMAXCONN); }
};

}  // namespace

struct HttpServer::Impl {
  BacklogServer http;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  std::atomic<int> port{0};
  bool started = false;
  bool stopped = false;
};

HttpServer::HttpServer(const HttpServerSettings& settings) : m_impl(std::make_unique<Impl>()) {
  auto& http = m_impl->http;
  http.new_task_queue = [threads = settings.worker_threads] { return new httplib::ThreadPool(threads); };
  http.set_keep_alive_max_count(settings.keep_alive_max_requests);
  http.set_keep_alive_timeout(static_cast<time_t>(settings.keep_alive_timeout.count()));
  http.set_payload_max_length(settings.max_request_bytes);
  http.set_tcp_nodelay(true);  // headers and body go out in two writes: no Nagle/delayed-ACK stalls
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
}

HttpServer::~HttpServer() { stop(); }

httplib::Server& HttpServer::http() { return m_impl->http; }

void HttpServer::handle_every_request(std::function<void(const httplib::Request&, httplib::Response&)> handler) {
  auto& http = m_impl->http;
  http.Get(".*", handler);
  http.Post(".*", handler);
  http.Put(".*", handler);
  http.Patch(".*", handler);
  http.Delete(".*", handler);
  http.Options(".*", handler);
}

Result<int> HttpServer::start(const std::string& host, int port) {
  auto& impl = *m_impl;
  if (impl.stopped) {
    return make_error(fmt::format("cannot serve on {}:{}: the server was stopped", url_host(host), port));
  }
  if (impl.started) return impl.port.load();
  if (port < 0 || port > 65535) return make_error(fmt::format("{}: {} is not a port (0-65535)", host, port));
  errno = 0;
  int bound = port == 0 ? impl.http.bind_to_any_port(host) : (impl.http.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    int code = errno;
    return make_error(fmt::format("cannot listen on {}:{}: {}", url_host(host), port,
                                  code ? std::error_code(code, std::generic_category()).message() : "bind failed"));
  }
  impl.http.raise_backlog();
  impl.port = bound;
  impl.thread = std::thread([&impl] {
    impl.http.listen_after_bind();
    impl.listen_returned = true;
  });
  // listen_after_bind sets is_running() first thing, or returns false at once.
  while (!impl.http.is_running() && !impl.listen_returned) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!impl.http.is_running()) {
    impl.thread.join();
    impl.stopped = true;
    return make_error(fmt::format("cannot serve on {}:{}: the listener did not start", url_host(host), bound));
  }
  impl.started = true;
  return bound;
}

void HttpServer::stop() {
  if (!m_impl) return;
  if (m_impl->thread.joinable()) {
    m_impl->http.stop();
    m_impl->thread.join();  // the worker pool finishes the requests in flight first
  }
  m_impl->stopped = m_impl->started || m_impl->stopped;
}

bool HttpServer::started() const { return m_impl->started; }

bool HttpServer::stopped() const { return m_impl->stopped; }

int HttpServer::port() const { return m_impl->port.load(); }

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::pair<std::string, std::string> split_target(const httplib::Request& req) {
  std::string_view target = req.target.empty() ? std::string_view(req.path) : std::string_view(req.target);
  if (!target.empty() && target.front() != '/') {
    if (auto url = parse_url(target)) return {url->path, url->query};
  }
  auto question = target.find('?');
  if (question == std::string_view::npos) return {std::string(target), {}};
  return {std::string(target.substr(0, question)), std::string(target.substr(question + 1))};
}

std::string exception_text(std::exception_ptr thrown) {
  std::string what = "an exception that is not a std::exception";
  try {
    if (thrown) std::rethrow_exception(thrown);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {  // the caller reports it (a 500), it is not swallowed
  }
  return what;
}

}  // namespace recorder
