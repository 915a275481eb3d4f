// The HTTP exchange model shared by every client (analyzer), the recorder and replay:
// what a request and a response are, independent of any HTTP library.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace recorder {

// Service names: which API an exchange belongs to. Stable strings, they are written to bundles.
enum class Service { dagster, logging, monitoring, error_reporting, container, oauth, metadata, other };
std::string_view to_string(Service service);

using Headers = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header lookup; nullopt when absent.
std::optional<std::string> find_header(const Headers& headers, std::string_view name);

struct HttpRequest {
  Service service = Service::other;
  std::string method = "GET";
  std::string url;  // absolute: scheme://host[:port]/path[?query]
  Headers headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

// A parsed absolute URL. Only http and https are accepted.
struct Url {
  std::string scheme;
  std::string host;
  int port = 0;
  std::string path;   // always starts with '/'
  std::string query;  // without '?', may be empty

  std::string origin() const;  // scheme://host:port
};

// Parses `text`. Never throws: a missing scheme, an unknown scheme, a bad port or an empty
// host comes back as an Error naming the URL.
template <class T> class Result;
Result<Url> parse_url(std::string_view text);

// Percent-encodes `text` for use in a query string.
std::string url_encode(std::string_view text);

}  // namespace recorder
