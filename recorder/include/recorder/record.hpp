// Recording: a Transport decorator that tees every exchange of a live run into a Bundle, redacting
// secrets before anything is kept. `day2 collect --record DIR` uses it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "recorder/bundle.hpp"
#include "recorder/journal.hpp"
#include "recorder/redact.hpp"
#include "recorder/transport.hpp"

namespace recorder {

class RecordingTransport : public Transport {
 public:
  RecordingTransport(std::shared_ptr<Transport> inner, Redactor redactor);
  // Forwards `request` to the inner transport and records the redacted exchange (also when the
  // response is an error status); the caller gets the response unredacted. Only the headers that
  // matter are kept (request: content-type, metadata-flavor, x-goog-* but x-goog-api-client,
  // dagster-cloud-*; response: content-type, retry-after, www-authenticate, location, link,
  // metadata-flavor, x-goog-*), then the redactor drops the secret ones. A transport Error is not
  // recorded: there is no response to replay. Thread-safe; the exchange is numbered when its
  // response arrives.
  Result<HttpResponse> send(const HttpRequest& request) override;

  // The bundle so far: exchanges in the order their responses arrived, numbered from 1, redacted
  // once more so that a secret learnt late (a token seen after it was first echoed) is replaced
  // everywhere. `manifest` supplies now/window/timezone/source (and day2_version, else this
  // build's); endpoints (one alias per origin: the service name, "-2", "-3" for further origins of a
  // service, origins redacted), redactions and exchange_count are filled in.
  Bundle bundle(Manifest manifest) const;
  // How many exchanges are recorded so far.
  std::size_t size() const;

  // Keeps every exchange in `journal` too, durably before send() returns, and the manifest so far
  // (`manifest` completed as bundle() completes it) whenever an origin appears. When a secret learnt
  // with an exchange appears in one journaled before, that one is redacted again and rewritten, so
  // the journal holds no secret the bundle would not. A journal write that fails is logged once and
  // recording goes on in memory (journal_error() says so).
  void journal_to(std::shared_ptr<Journal> journal, Manifest manifest);
  // The first journal write that failed; "" when none did.
  std::string journal_error() const;

 private:
  Manifest completed(Manifest manifest) const;  // under m_mutex
  void journal_last(bool new_origin);          // under m_mutex
  void keep(Result<void> written);             // under m_mutex

  std::shared_ptr<Transport> m_inner;
  Redactor m_redactor;
  mutable std::mutex m_mutex;
  std::vector<Exchange> m_exchanges;
  std::map<Service, std::set<std::string>> m_origins;  // redacted
  std::shared_ptr<Journal> m_journal;
  Manifest m_journal_manifest;
  std::size_t m_learnt = 0;  // Redactor::learnt_since's cursor
  std::string m_journal_error;
};

}  // namespace recorder
