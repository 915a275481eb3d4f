#include "recorder/server/event_server.hpp"

#include <fmt/format.h>

// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Asio's scheduler
// (thread_info after a check it does not see); the location is the Boost header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <algorithm>
#include <array>
#include <atomic>
#include <iterator>
#include <thread>
#include <vector>

#include "recorder/base/log.hpp"
#include "recorder/base/text.hpp"
#include "wire.hpp"

namespace recorder {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// Each connection lives on one io_context: its concrete executor type spares the type-erased
// any_io_executor copies of every operation (5% of the server's CPU under load).
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Stream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;
using Timer = net::basic_waitable_timer<std::chrono::steady_clock, net::wait_traits<std::chrono::steady_clock>,
                                        Executor>;

// After an error response or "Connection: close", what the client still sends is read and dropped
// for at most this long before the close, so that the close is not an RST that destroys the response.
constexpr auto k_linger_timeout = 1s;
constexpr auto k_accept_retry = 50ms;

struct Shared {
  EventServerSettings settings;
  EventHandlers handlers;
  std::unique_ptr<net::thread_pool> workers;  // for Offloaded answers; created by start()
  std::atomic<bool> stopping{false};          // stop() began: no new Offloaded work
  std::atomic<std::size_t> connections{0};    // sessions alive
};

std::string_view view(beast::string_view text) { return {text.data(), text.size()}; }

bool is_http_error(const beast::error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_method).category();
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket socket, Shared& shared)
      : m_stream(std::move(socket)), m_timer(m_stream.get_executor()), m_shared(shared) {
    // Over the cap, this connection gets one request within the crowded deadline, then is closed.
    m_crowded = m_shared.connections.fetch_add(1) >= m_shared.settings.max_connections;
  }
  ~Session() { m_shared.connections.fetch_sub(1); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void run() { read_header(); }

 private:
  void read_header() {
    m_parser.emplace();
    m_parser->body_limit(m_shared.settings.max_body_bytes);
    m_parser->header_limit(static_cast<std::uint32_t>(m_shared.settings.max_header_bytes));
    // A crowded connection reads one request, headers and body, within its deadline.
    if (m_crowded) {
      m_stream.expires_after(m_shared.settings.crowded_deadline);
    } else {
      m_stream.expires_after(m_shared.settings.idle_timeout);
    }
    http::async_read_header(m_stream, m_buffer, *m_parser,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    const auto& message = m_parser->get();
    m_request = request_line(message);
    if (!detail::is_supported_method(m_request.method)) {
      return refuse(405, fmt::format("the method {} is not supported", m_request.method));
    }
    auto encoding = view(message[http::field::content_encoding]);
    bool has_body = m_parser->chunked() || m_parser->content_length().value_or(0) > 0;
    if (has_body && !encoding.empty() && !recorder::iequals(encoding, "identity")) {
      return refuse(415, fmt::format("a request body with Content-Encoding {} is not supported; send it uncompressed",
                                     encoding));
    }
    if (recorder::iequals(view(message[http::field::expect]), "100-continue")) {
      static const std::string k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
      if (!m_crowded) m_stream.expires_after(m_shared.settings.transfer_timeout);
      net::async_write(m_stream, net::buffer(k_continue),
                       [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                         if (write_ec) return self->m_stream.close();
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    if (m_parser->is_done()) return on_request();
    if (!m_crowded) m_stream.expires_after(m_shared.settings.transfer_timeout);
    http::async_read(m_stream, m_buffer, *m_parser, beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    on_request();
  }

  static IncomingRequest request_line(const http::request<http::string_body>& message) {
    IncomingRequest request;
    request.method = std::string(view(message.method_string()));
    request.target = std::string(view(message.target()));
    return request;
  }

  void on_request() {
    auto& message = m_parser->get();
    m_keep_alive = message.keep_alive() && !m_crowded;
    m_http10 = message.version() == 10;
    m_head_only = message.method() == http::verb::head;
    m_request.headers.clear();
    for (const auto& field : message) m_request.headers.emplace_back(view(field.name_string()), view(field.value()));
    m_request.body = std::move(message.body());
    Outcome outcome;
    try {
      outcome = m_shared.handlers.handle(m_request);
    } catch (...) {  // a bug: answered with a 500 by internal_error
      return send(m_shared.handlers.internal_error(m_request, std::current_exception()));
    }
    if (auto* answer = std::get_if<Answer>(&outcome)) return send(std::move(*answer));
    if (auto* offloaded = std::get_if<Offloaded>(&outcome)) return offload(std::move(offloaded->answer));
    auto deferred = std::get<Deferred>(std::move(outcome));
    m_stream.expires_never();
    m_timer.expires_after(deferred.delay);
    m_timer.async_wait([self = shared_from_this(), answer = std::move(deferred.answer)](beast::error_code ec) {
      if (ec) return;  // the server stops
      Answer late;
      try {
        late = answer();
      } catch (...) {  // a bug: answered with a 500 by internal_error
        late = self->m_shared.handlers.internal_error(self->m_request, std::current_exception());
      }
      self->send(std::move(late));
    });
  }

  // Computes the answer on the worker pool, then sends it from this connection's event loop. Once
  // the server is stopping, the connection is reset instead (stop() waits for the pool).
  void offload(std::function<Answer()> answer) {
    if (m_shared.stopping.load() || !m_shared.workers) return reset();
    m_stream.expires_never();
    net::post(*m_shared.workers, [self = shared_from_this(), answer = std::move(answer)] {
      Answer computed;
      try {
        computed = answer();
      } catch (...) {  // a bug: answered with a 500 by internal_error
        computed = self->m_shared.handlers.internal_error(self->m_request, std::current_exception());
      }
      net::post(self->m_stream.get_executor(),
                [self, computed = std::move(computed)]() mutable { self->send(std::move(computed)); });
    });
  }

  void on_read_error(beast::error_code ec) {
    if (!is_http_error(ec) || ec == http::error::end_of_stream || ec == http::error::partial_message) {
      return m_stream.close();  // the client left, timed out or the connection broke: nobody to answer
    }
    m_request = request_line(m_parser->get());  // as far as it was parsed: maybe nothing
    if (ec == http::error::body_limit) {
      return refuse(413, fmt::format("the body is over {} bytes", m_shared.settings.max_body_bytes));
    }
    if (ec == http::error::header_limit) {
      return refuse(431, fmt::format("the headers are over {} bytes", m_shared.settings.max_header_bytes));
    }
    refuse(400, "malformed HTTP: " + ec.message());
  }

  // Answers the request (m_request, as far as it was parsed) with an error and closes the connection.
  void refuse(int status, const std::string& why) {
    m_keep_alive = false;
    m_head_only = false;
    Answer answer;
    try {
      answer = m_shared.handlers.refuse(status, m_request, why);
    } catch (...) {  // a bug: answered with a 500 by internal_error
      answer = m_shared.handlers.internal_error(m_request, std::current_exception());
    }
    send(std::move(answer));
  }

  void send(Answer answer) {
    if (!answer) return reset();
    m_response = std::move(*answer);
    m_head = detail::serialize_head(m_response, m_keep_alive, m_http10);
    std::array<net::const_buffer, 2> buffers{net::buffer(m_head),
                                             net::buffer(m_head_only ? std::string_view() : m_response.body)};
    if (m_crowded) {
      m_stream.expires_after(m_shared.settings.crowded_deadline);
    } else {
      m_stream.expires_after(m_shared.settings.transfer_timeout);
    }
    net::async_write(m_stream, buffers, beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return m_stream.close();
    if (m_keep_alive) return read_header();
    beast::error_code ignored;
    m_stream.socket().shutdown(Socket::shutdown_send, ignored);
    m_buffer.clear();
    m_stream.expires_after(k_linger_timeout);
    drain();
  }

  // Reads and drops what the client still sends until it closes (or k_linger_timeout passes).
  void drain() {
    m_stream.async_read_some(m_buffer.prepare(16 * 1024),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) return self->m_stream.close();
                               self->drain();
                             });
  }

  // A connection reset: no response; SO_LINGER 0 makes the close an RST.
  void reset() {
    beast::error_code ignored;
    m_stream.socket().set_option(net::socket_base::linger(true, 0), ignored);
    m_stream.close();
  }

  Stream m_stream;
  Timer m_timer;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  IncomingRequest m_request;
  bool m_keep_alive = false;
  bool m_http10 = false;
  bool m_head_only = false;
  recorder::HttpResponse m_response;
  std::string m_head;
  Shared& m_shared;
  bool m_crowded = false;
};

// Accepts connections on the first context and hands each to the next context in turn.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(tcp::acceptor acceptor, std::vector<net::io_context*> contexts, Shared& shared)
      : m_acceptor(std::move(acceptor)),
        m_retry(m_acceptor.get_executor()),
        m_contexts(std::move(contexts)),
        m_shared(shared) {}

  void accept() {
    auto& context = *m_contexts[m_next++ % m_contexts.size()];
    m_acceptor.async_accept(context, beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  // Only once the threads are joined.
  void close() {
    beast::error_code ignored;
    m_acceptor.close(ignored);
    m_retry.cancel();
  }

 private:
  void on_accept(beast::error_code ec, Socket socket) {
    if (ec == net::error::operation_aborted || !m_acceptor.is_open()) return;
    if (ec) {  // out of descriptors, a connection aborted before it was accepted: try again shortly
      recorder::log::debug("server: accept failed: {}", ec.message());
      m_retry.expires_after(k_accept_retry);
      m_retry.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // headers and body are two buffers
    auto executor = socket.get_executor();  // the context the session runs on
    auto session = std::make_shared<Session>(std::move(socket), m_shared);
    net::dispatch(executor, [session] { session->run(); });
    accept();
  }

  tcp::acceptor m_acceptor;
  net::steady_timer m_retry;
  std::vector<net::io_context*> m_contexts;
  std::size_t m_next = 0;
  Shared& m_shared;
};

recorder::Result<tcp::endpoint> endpoint_of(net::io_context& context, const std::string& host, int port) {
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, static_cast<unsigned short>(port));
  tcp::resolver resolver(context);
  auto found = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || found.empty()) {
    return recorder::make_error(fmt::format("cannot listen on {}:{}: {}", recorder::url_host(host), port,
                                            ec ? ec.message() : "no address"));
  }
  return found.begin()->endpoint();
}

}  // namespace

struct EventServer::Impl {
  Shared shared;
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  std::atomic<int> port{0};
  bool started = false;
  bool stopped = false;

  recorder::Result<tcp::acceptor> bind(const std::string& host, int port_wanted);
  void release();
};

recorder::Result<tcp::acceptor> EventServer::Impl::bind(const std::string& host, int port_wanted) {
  auto endpoint = endpoint_of(*contexts.front(), host, port_wanted);
  if (!endpoint) return endpoint.error();
  tcp::acceptor acceptor(*contexts.front());
  beast::error_code ec;
  acceptor.open(endpoint->protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(*endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return recorder::make_error(fmt::format("cannot listen on {}:{}: {}", recorder::url_host(host), port_wanted,
                                                  ec.message()));
  return acceptor;
}

// Destroys every connection, then the contexts, the listener's first: its pending accept holds a
// socket of another context.
void EventServer::Impl::release() {
  if (listener) listener->close();
  listener.reset();
  guards.clear();
  for (auto& context : contexts) context.reset();
  contexts.clear();
}

EventServer::EventServer(const EventServerSettings& settings, EventHandlers handlers)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->shared.settings = settings;
  m_impl->shared.settings.threads = std::max<std::size_t>(settings.threads, 1);
  m_impl->shared.handlers = std::move(handlers);
}

EventServer::~EventServer() { stop(); }

recorder::Result<int> EventServer::start(const std::string& host, int port) {
  auto& impl = *m_impl;
  if (impl.stopped) {
    return recorder::make_error(
        fmt::format("cannot serve on {}:{}: the server was stopped", recorder::url_host(host), port));
  }
  if (impl.started) return impl.port.load();
  if (impl.shared.settings.workers > 0) impl.shared.workers = std::make_unique<net::thread_pool>(impl.shared.settings.workers);
  if (port < 0 || port > 65535) return recorder::make_error(fmt::format("{}: {} is not a port (0-65535)", host, port));
  std::vector<net::io_context*> loops;
  for (std::size_t i = 0; i < impl.shared.settings.threads; ++i) {
    impl.contexts.push_back(std::make_unique<net::io_context>(1));
    loops.push_back(impl.contexts.back().get());
  }
  auto acceptor = impl.bind(host, port);
  if (!acceptor) {
    impl.release();
    return acceptor.error();
  }
  impl.port = acceptor->local_endpoint().port();
  impl.listener = std::make_shared<Listener>(std::move(*acceptor), loops, impl.shared);
  impl.listener->accept();
  for (auto* loop : loops) {
    impl.guards.push_back(net::make_work_guard(*loop));
    impl.threads.emplace_back([loop] {
      for (;;) {
        try {
          loop->run();
          return;
        } catch (const std::exception& e) {  // a handler threw past the session's own handling: keep serving
          recorder::log::info("server: internal error in the server loop: {}", e.what());
        }
      }
    });
  }
  impl.started = true;
  return impl.port.load();
}

void EventServer::stop() {
  if (!m_impl) return;
  auto& impl = *m_impl;
  impl.shared.stopping = true;
  if (impl.shared.workers) impl.shared.workers->join();  // Offloaded answers finish (their sends may not)
  for (auto& context : impl.contexts) context->stop();
  for (auto& thread : impl.threads) thread.join();
  impl.threads.clear();
  impl.release();
  impl.stopped = impl.started || impl.stopped;
}

bool EventServer::started() const { return m_impl->started; }

bool EventServer::stopped() const { return m_impl->stopped; }

int EventServer::port() const { return m_impl->port.load(); }

std::size_t EventServer::connections() const { return m_impl->shared.connections.load(); }

}  // namespace recorder
