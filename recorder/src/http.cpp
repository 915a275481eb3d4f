#include "recorder/http.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "recorder/base/result.hpp"
#include "recorder/base/text.hpp"
#include "recorder/redact.hpp"

namespace recorder {

std::string_view to_string(Service service) {
  switch (service) {
    case Service::dagster: return "dagster";
    case Service::logging: return "logging";
    case Service::monitoring: return "monitoring";
    case Service::error_reporting: return "error_reporting";
    case Service::container: return "container";
    case Service::oauth: return "oauth";
    case Service::metadata: return "metadata";
    case Service::other: return "other";
  }
  return "other";
}

std::optional<std::string> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::string Url::origin() const {
  // An IPv6 literal keeps its brackets, or its colons would read as a port separator.
  bool ipv6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", scheme, ipv6 ? "[" : "", host, ipv6 ? "]" : "", port);
}

namespace {

// A URL's authority split into its host (an IPv6 literal without its brackets) and what follows
// the host: "" or ":port".
struct HostAndPort {
  std::string_view host;
  std::string_view port;
};

// The errors name no URL: parse_url prefixes them with the URL as it may be shown.
Result<HostAndPort> split_authority(std::string_view authority) {
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error("unterminated IPv6 host");
    host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() != ':') return make_error("bad host");
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
  }
  return HostAndPort{host, authority};
}

Result<int> parse_port(std::string_view port_text) {
  int port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return make_error(fmt::format("\"{}\" is not a port (1-65535)", port_text));
  }
  return port;
}

}  // namespace

Result<Url> parse_url(std::string_view text) {
  auto shown = [text] { return safe_url(text); };  // errors never print credentials
  Url url;
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return make_error(fmt::format("\"{}\" is not a URL (expected http://host[:port]/path)", shown()));
  }
  url.scheme = lower(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https") {
    return make_error(fmt::format("\"{}\": scheme \"{}\" is not http or https", shown(), url.scheme));
  }
  auto rest = text.substr(scheme_end + 3);
  auto path_start = rest.find_first_of("/?");
  auto authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos) {
    return make_error(fmt::format("\"{}\": credentials in URLs are not accepted; use the environment", shown()));
  }
  url.port = url.scheme == "https" ? 443 : 80;
  auto parts = split_authority(authority);
  if (!parts) return make_error(fmt::format("\"{}\": {}", shown(), parts.error().message));
  if (!parts->port.empty()) {
    auto port = parse_port(parts->port.substr(1));
    if (!port) return make_error(fmt::format("\"{}\": {}", shown(), port.error().message));
    url.port = *port;
  }
  if (parts->host.empty()) return make_error(fmt::format("\"{}\": empty host", shown()));
  url.host = std::string(parts->host);
  std::string_view path_and_query = path_start == std::string_view::npos ? "/" : rest.substr(path_start);
  auto question = path_and_query.find('?');
  url.path.assign(path_and_query.substr(0, question));
  if (url.path.empty()) url.path.push_back('/');
  if (question != std::string_view::npos) url.query = std::string(path_and_query.substr(question + 1));
  return url;
}

std::string url_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace recorder
