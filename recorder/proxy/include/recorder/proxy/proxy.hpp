// The recording reverse proxy behind `day2 record`: forwards every request to an upstream API and
// tees the exchange into a bundle through RecordingTransport (redaction included), so any client
// (the Dagster UI, scripts, Google's client libraries) can be recorded. Used by the CLI and tests.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/bundle.hpp"
#include "recorder/http.hpp"
#include "recorder/journal.hpp"
#include "recorder/redact.hpp"
#include "recorder/base/result.hpp"
#include "recorder/transport.hpp"

namespace recorder {

struct Upstream {
  std::string alias;  // "dagster", "logging", "dagster-2": names it in messages and routing
  Service service = Service::other;
  Url url;            // where requests go; a path in it ("/prod") is put in front of every request path
};

// Parses an `--upstream` value, "[NAME=]URL". NAME is a service name (dagster, logging, monitoring,
// error_reporting, container, oauth, metadata, other), optionally followed by "-N" for a further
// origin of that service ("dagster-2"). Without NAME the service is guessed from the host: Google's
// API hosts (logging.googleapis.com, ...) and the metadata server by name, anything else dagster.
// Error (never throws) for an unknown name, a URL parse_url refuses, or a URL with a query.
Result<Upstream> parse_upstream(std::string_view text);

// Where a request for `path` goes: a path under "/<alias>/" of any upstream but the first goes to
// that upstream without the prefix; every other path goes to the first upstream. `forwarded_path`
// is the upstream URL's path followed by the request path. `upstreams` must not be empty.
struct ProxyRoute {
  std::size_t upstream = 0;  // index into `upstreams`
  std::string forwarded_path;
};
ProxyRoute route_request(const std::vector<Upstream>& upstreams, std::string_view path);

struct ProxyOptions {
  std::string host = "127.0.0.1";
  int port = 0;                      // 0: any free port
  std::vector<Upstream> upstreams;   // at least one; the first is the default route
  std::chrono::milliseconds timeout{120000};  // per upstream request
  int max_exchanges = 0;             // 0: no limit; otherwise requests past it get a 503, never forwarded
};

class Proxy {
 public:
  // `transport` sends the forwarded requests (make_http_transport() in production); `redactor`
  // redacts every exchange before it is kept, and the proxy's error messages.
  Proxy(std::shared_ptr<Transport> transport, Redactor redactor, ProxyOptions options);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds and starts serving on a background thread; returns the bound port, or an Error naming
  // host:port and the cause. Each request is forwarded with its method, path, query, body and
  // end-to-end headers (credentials included: Authorization, Dagster-Cloud-Api-Token); the
  // response goes back with its status, headers and body. A request that gets no upstream response
  // is answered 502 with a JSON error naming the upstream and is not recorded; the proxy keeps serving.
  Result<int> start();
  // Stops accepting requests and waits for those in flight (so their exchanges are recorded).
  // Idempotent; blocks for at most the upstream timeout plus a keep-alive interval.
  void stop();
  int port() const;
  // The number of exchanges recorded so far.
  int recorded() const;
  // Whether max_exchanges exchanges have been recorded (never when there is no limit).
  bool done() const;
  // The recording as a bundle (see RecordingTransport::bundle); call after stop() for a final one.
  Bundle bundle(Manifest manifest) const;
  // Journals every exchange as it is recorded (RecordingTransport::journal_to); call before start().
  void journal_to(std::shared_ptr<Journal> journal, Manifest manifest);
  // The first journal write that failed; "" when none did.
  std::string journal_error() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

}  // namespace recorder
