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

 private:
  std::shared_ptr<Transport> m_inner;
  Redactor m_redactor;
  mutable std::mutex m_mutex;
  std::vector<Exchange> m_exchanges;
  std::map<Service, std::set<std::string>> m_origins;  // redacted
};

}  // namespace recorder
