// Transport: the one seam under every API client. The real one speaks HTTP(S); tests use a fake;
// the recorder tees exchanges into a bundle; replay answers from a bundle without a network.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <random>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "recorder/http.hpp"
#include "recorder/base/result.hpp"

namespace recorder {

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends `request` and returns the response, whatever its status. An Error means no HTTP
  // response arrived (connection refused or reset, timeout, TLS failure); it names the method and URL.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

// The real transport: cpp-httplib with OpenSSL, one client per origin, keep-alive, thread-safe.
std::unique_ptr<Transport> make_http_transport();

struct RetryPolicy {
  int max_attempts = 4;                                   // first try included
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{8000};
  std::chrono::milliseconds max_retry_after{30000};       // a longer Retry-After is capped
  // Says that a retryable status (429, 5xx) is nonetheless a permanent answer that a retry would
  // only repeat (e.g. a GraphQL error about the query itself, which Dagster sends with HTTP 500).
  std::function<bool(const HttpRequest&, const HttpResponse&)> permanent;
};

// Whether a response with this status is worth retrying (408, 429 and 5xx).
bool is_retryable_status(int status);

// A cap on the total time of one unit of work (a collection step): the moment it ends and the cap as
// configured (for messages). Installed on the thread doing the work with DeadlineScope and carried
// by that work to the threads it starts; the retry layer and the pacers read it, so that nothing
// waits on retries, backoffs or quotas past it.
struct Deadline {
  std::chrono::steady_clock::time_point at;
  std::chrono::milliseconds cap{0};
};

// The deadline of the calling thread's work; nullopt when none is set.
std::optional<Deadline> current_deadline();

// Sets the calling thread's deadline for its lifetime (nullopt: none) and restores the previous one.
class DeadlineScope {
 public:
  explicit DeadlineScope(std::optional<Deadline> deadline);
  ~DeadlineScope();
  DeadlineScope(const DeadlineScope&) = delete;
  DeadlineScope& operator=(const DeadlineScope&) = delete;

 private:
  std::optional<Deadline> m_previous;
};

// "the step's time cap of 600 s was reached": how an Error says that a deadline stopped the work.
std::string deadline_text(const Deadline& deadline);

// Decorator: retries `inner` on connection errors, 408, 429 and 5xx with exponential backoff and
// jitter, except answers the policy calls permanent. Under a current_deadline() it sends nothing
// once the deadline has passed (an Error saying so), gives each attempt at most the time left as its
// timeout, and returns the last answer rather than wait for a retry that would end past it. A delay the server asks for (Retry-After in
// seconds or as an HTTP date, else a google.rpc.RetryInfo `retryDelay` in a Google error body) is
// waited instead of the backoff, capped at max_retry_after. The one retry layer of a stack: clients
// above it do not retry again.
// `sleep` is injectable for tests.
class RetryingTransport : public Transport {
 public:
  using Sleep = std::function<void(std::chrono::milliseconds)>;
  RetryingTransport(std::shared_ptr<Transport> inner, RetryPolicy policy, unsigned seed = 0x5eed,
                    Sleep sleep = {});
  Result<HttpResponse> send(const HttpRequest& request) override;

 private:
  std::chrono::milliseconds backoff(int attempt);
  std::shared_ptr<Transport> m_inner;
  RetryPolicy m_policy;
  Sleep m_sleep;
  std::mutex m_mutex;
  std::mt19937 m_rng;
};

// Decorator: at most `limit` requests of `inner` in flight at once; further senders wait their
// turn (first come, first served is not guaranteed). Put it under RetryingTransport so that a
// request waiting out a backoff does not hold a slot. `limit` below 1 counts as 1.
class LimitingTransport : public Transport {
 public:
  LimitingTransport(std::shared_ptr<Transport> inner, int limit);
  Result<HttpResponse> send(const HttpRequest& request) override;
  int peak() const;  // the most requests ever in flight at once (tests, benchmarks)

 private:
  std::shared_ptr<Transport> m_inner;
  int m_limit;
  int m_in_flight = 0;
  int m_peak = 0;
  mutable std::mutex m_mutex;
  std::condition_variable m_free;
};

// Parses a Retry-After header value (delta seconds or an IMF-fixdate); nullopt when invalid.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

// Parses a google.protobuf.Duration as JSON writes it ("30s", "2.5s", "0.100000000s"); nullopt when invalid.
std::optional<std::chrono::milliseconds> parse_duration_seconds(std::string_view text);

// The delay a response asks for before a retry: its Retry-After header, else the retryDelay of a
// google.rpc.RetryInfo in its JSON error body; nullopt when it names none (or names it wrongly).
std::optional<std::chrono::milliseconds> server_retry_delay(const HttpResponse& response,
                                                            std::chrono::system_clock::time_point now);

}  // namespace recorder
