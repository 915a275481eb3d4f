// A raw HTTP/1.x connection for the replay server tests that an HTTP client library will not send:
// pipelined requests, HTTP/1.0, chunked bodies, Expect: 100-continue, malformed requests. Loopback
// only; every read gives up after a timeout instead of hanging the test.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "recorder/base/text.hpp"

namespace day2test {

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;

  // The value of header `name` (case-insensitive), empty when absent.
  std::string header(std::string_view name) const {
    std::size_t line = head.find("\r\n");
    while (line != std::string::npos && line + 2 < head.size()) {
      std::size_t end = head.find("\r\n", line + 2);
      std::string_view field(head.data() + line + 2, (end == std::string::npos ? head.size() : end) - line - 2);
      auto colon = field.find(':');
      if (colon != std::string_view::npos && recorder::iequals(field.substr(0, colon), name)) {
        auto value = field.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        return std::string(value);
      }
      line = end;
    }
    return {};
  }
};

class RawConnection {
 public:
  explicit RawConnection(int port, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m_connected = ::connect(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() { ::close(m_fd); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return m_connected; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      auto sent = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  // The next response (framed by Content-Length; a 1xx has no body); nullopt on EOF, reset or timeout.
  std::optional<RawResponse> read_response() {
    std::size_t end;
    while ((end = m_buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    RawResponse response;
    response.head = m_buffer.substr(0, end);
    auto space = response.head.find(' ');
    if (space == std::string::npos) return std::nullopt;
    std::from_chars(response.head.data() + space + 1, response.head.data() + response.head.size(), response.status);
    std::size_t length = 0;
    auto text = response.header("Content-Length");
    std::from_chars(text.data(), text.data() + text.size(), length);
    if (m_head_only || response.status < 200) length = 0;
    while (m_buffer.size() < end + 4 + length) {
      if (!fill()) return std::nullopt;
    }
    response.body = m_buffer.substr(end + 4, length);
    m_buffer.erase(0, end + 4 + length);
    return response;
  }

  // For a response to HEAD: the Content-Length is not followed by a body.
  void expect_head_only(bool head_only) { m_head_only = head_only; }

  // Whether the server closed the connection (EOF or reset) with nothing more sent, within the timeout.
  bool closed_by_peer() {
    char byte = 0;
    auto got = ::recv(m_fd, &byte, 1, 0);
    return got == 0 || (got < 0 && errno == ECONNRESET);
  }

 private:
  bool fill() {
    char chunk[16384];
    auto got = ::recv(m_fd, chunk, sizeof chunk, 0);
    if (got <= 0) return false;
    m_buffer.append(chunk, static_cast<std::size_t>(got));
    return true;
  }

  int m_fd = -1;
  bool m_connected = false;
  bool m_head_only = false;
  std::string m_buffer;
};

}  // namespace day2test
