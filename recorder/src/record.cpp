#include "recorder/record.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "recorder/base/log.hpp"
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
  // Under the lock, so placeholders are numbered in exchange order. The credentials the client sent
  // are learnt before their headers are dropped, so an echo of them anywhere is redacted.
  std::lock_guard lock(m_mutex);
  m_redactor.learn_credentials(request.headers);
  m_redactor.redact(exchange);
  exchange.seq = static_cast<int>(m_exchanges.size()) + 1;
  m_exchanges.push_back(std::move(exchange));
  bool new_origin = !origin.empty() && m_origins[request.service].insert(m_redactor.redact_text(origin)).second;
  if (m_journal) journal_last(new_origin);
  return response;
}

Bundle RecordingTransport::bundle(Manifest manifest) const {
  Bundle bundle;
  std::lock_guard lock(m_mutex);
  bundle.exchanges = m_exchanges;
  for (auto& exchange : bundle.exchanges) m_redactor.redact(exchange);
  bundle.manifest = completed(std::move(manifest));
  bundle.manifest.exchange_count = static_cast<int>(bundle.exchanges.size());
  return bundle;
}

Manifest RecordingTransport::completed(Manifest manifest) const {
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
  return manifest;
}

std::size_t RecordingTransport::size() const {
  std::lock_guard lock(m_mutex);
  return m_exchanges.size();
}

void RecordingTransport::journal_to(std::shared_ptr<Journal> journal, Manifest manifest) {
  std::lock_guard lock(m_mutex);
  m_journal = std::move(journal);
  m_journal_manifest = std::move(manifest);
  m_redactor.learnt_since(m_learnt);  // what it knows now was applied to everything kept so far
}

std::string RecordingTransport::journal_error() const {
  std::lock_guard lock(m_mutex);
  return m_journal_error;
}

void RecordingTransport::keep(Result<void> written) {
  if (written || !m_journal_error.empty()) return;
  m_journal_error = written.error().message;
  log::info("record: the journal could not be written ({}); recording goes on in memory only, so a crash now "
            "would lose it",
            m_journal_error);
}

namespace {

bool mentions(const Exchange& exchange, const std::vector<std::string>& values) {
  auto in = [&](const std::string& text) {
    return std::any_of(values.begin(), values.end(), [&](const std::string& v) { return text.find(v) != text.npos; });
  };
  auto in_headers = [&](const Headers& headers) {
    return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return in(h.second); });
  };
  return in(exchange.path) || in(exchange.query) || in(exchange.request_body) || in(exchange.response_body) ||
         in_headers(exchange.request_headers) || in_headers(exchange.response_headers);
}

}  // namespace

void RecordingTransport::journal_last(bool new_origin) {
  // A secret learnt with this exchange may sit, unredacted, in one journaled before it.
  auto learnt = m_redactor.learnt_since(m_learnt);
  if (!learnt.empty()) {
    for (std::size_t i = 0; i + 1 < m_exchanges.size(); ++i) {
      if (!mentions(m_exchanges[i], learnt)) continue;
      m_redactor.redact(m_exchanges[i]);
      keep(m_journal->write_exchange(static_cast<int>(i) + 1, m_exchanges[i]));
    }
  }
  keep(m_journal->write_exchange(static_cast<int>(m_exchanges.size()), m_exchanges.back()));
  if (new_origin || m_exchanges.size() == 1) keep(m_journal->write_manifest(completed(m_journal_manifest)));
}

}  // namespace recorder
