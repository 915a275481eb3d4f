#include "recorder/record.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "recorder/base/text.hpp"

namespace recorder {

namespace {

// Headers that change what a request means or how a client reads a response. The rest (dates,
// request ids, server versions) would only make bundles differ between identical runs.
bool request_header_matters(std::string_view name) {
  auto n = lower(name);
  if (n == "x-goog-api-client") return false;  // names library versions
  return n == "content-type" || n == "metadata-flavor" || n.starts_with("x-goog-") || n.starts_with("dagster-cloud-");
}

bool response_header_matters(std::string_view name) {
  auto n = lower(name);
  return n == "content-type" || n == "retry-after" || n == "www-authenticate" || n == "location" || n == "link" ||
         n == "metadata-flavor" || n.starts_with("x-goog-");
}

Headers kept(const Headers& headers, bool (*matters)(std::string_view)) {
  Headers out;
  std::copy_if(headers.begin(), headers.end(), std::back_inserter(out), [&](const auto& h) { return matters(h.first); });
  return out;
}

}  // namespace

RecordingTransport::RecordingTransport(std::shared_ptr<Transport> inner, Redactor redactor)
    : m_inner(std::move(inner)), m_redactor(std::move(redactor)) {}

Result<HttpResponse> RecordingTransport::send(const HttpRequest& request) {
  auto response = m_inner->send(request);
  if (!response) return response;
  Exchange exchange;
  exchange.service = request.service;
  exchange.method = request.method;
  std::string origin;
  if (auto url = parse_url(request.url)) {
    exchange.path = url->path;
    exchange.query = url->query;
    origin = url->origin();
  } else {
    exchange.path = "/";  // a URL the transport accepted but we cannot parse: keep it findable
    exchange.query = "url=" + url_encode(request.url);
  }
  exchange.request_headers = kept(request.headers, request_header_matters);
  exchange.request_body = request.body;
  exchange.status = response->status;
  exchange.response_headers = kept(response->headers, response_header_matters);
  exchange.response_body = response->body;
  // Under the lock, so placeholders are numbered in exchange order.
  std::lock_guard lock(m_mutex);
  m_redactor.redact(exchange);
  exchange.seq = static_cast<int>(m_exchanges.size()) + 1;
  m_exchanges.push_back(std::move(exchange));
  if (!origin.empty()) m_origins[request.service].insert(m_redactor.redact_text(origin));
  return response;
}

Bundle RecordingTransport::bundle(Manifest manifest) const {
  Bundle bundle;
  std::lock_guard lock(m_mutex);
  bundle.exchanges = m_exchanges;
  for (auto& exchange : bundle.exchanges) m_redactor.redact(exchange);
  manifest.format_version = k_format_version;
  manifest.endpoints.clear();
  for (const auto& [service, origins] : m_origins) {
    int n = 0;
    for (const auto& origin : origins) {
      auto alias = std::string(to_string(service));
      if (++n > 1) alias += fmt::format("-{}", n);
      manifest.endpoints.push_back({alias, service, m_redactor.redact_text(origin)});
    }
  }
  std::sort(manifest.endpoints.begin(), manifest.endpoints.end(),
            [](const Endpoint& a, const Endpoint& b) { return a.alias < b.alias; });
#ifdef DAY2_VERSION
  if (manifest.day2_version.empty()) manifest.day2_version = DAY2_VERSION;
#endif
  manifest.redactions = m_redactor.names();
  manifest.exchange_count = static_cast<int>(bundle.exchanges.size());
  bundle.manifest = std::move(manifest);
  return bundle;
}

}  // namespace recorder

namespace recorder {
std::size_t RecordingTransport::size() const {
  std::lock_guard lock(m_mutex);
  return m_exchanges.size();
}
}  // namespace recorder
