#include "wire.hpp"

#include <fmt/format.h>

#include <boost/beast/http/status.hpp>
#include <iterator>

#include "recorder/base/result.hpp"
#include "recorder/base/text.hpp"

namespace recorder::detail {

namespace {

namespace http = boost::beast::http;

// Response headers the server computes itself (the recorded body is already decoded).
bool is_framing_header(std::string_view name) {
  for (std::string_view framing : {"Content-Type", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
                                   "Content-Encoding"}) {
    if (recorder::iequals(name, framing)) return true;
  }
  return false;
}

// A recorded header that would break the framing of the response (a line break) is not sent.
bool is_sendable(std::string_view text) { return text.find_first_of("\r\n") == std::string_view::npos; }

}  // namespace

bool is_supported_method(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == known) return true;
  }
  return false;
}

// The framing headers are computed here: the recorded body is already decoded (no chunks, no gzip).
std::string serialize_head(const recorder::HttpResponse& response, bool keep_alive, bool http10) {
  std::string head;
  head.reserve(256);
  auto out = std::back_inserter(head);
  auto status = http::int_to_status(static_cast<unsigned>(response.status));
  auto reason = http::obsolete_reason(status);
  fmt::format_to(out, "HTTP/1.1 {} {}\r\n", response.status,
                 status == http::status::unknown ? std::string_view() : std::string_view(reason.data(), reason.size()));
  for (const auto& [name, value] : response.headers) {
    if (is_framing_header(name) || !is_sendable(name) || !is_sendable(value)) continue;
    fmt::format_to(out, "{}: {}\r\n", name, value);
  }
  auto type = recorder::find_header(response.headers, "Content-Type");
  fmt::format_to(out, "Content-Type: {}\r\nContent-Length: {}\r\n",
                 type && is_sendable(*type) ? *type : "application/json", response.body.size());
  if (!keep_alive) head += "Connection: close\r\n";
  if (keep_alive && http10) head += "Connection: keep-alive\r\n";
  head += "\r\n";
  return head;
}

std::pair<std::string, std::string> split_target_of(std::string_view target) {
  if (!target.empty() && target.front() != '/') {
    if (auto url = recorder::parse_url(target)) return {url->path, url->query};
  }
  auto question = target.find('?');
  if (question == std::string_view::npos) return {std::string(target), {}};
  return {std::string(target.substr(0, question)), std::string(target.substr(question + 1))};
}

}  // namespace recorder::detail

namespace recorder {

std::pair<std::string, std::string> split_target(std::string_view target) { return detail::split_target_of(target); }

}  // namespace recorder
