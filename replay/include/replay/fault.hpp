// Injectable faults for replay: added latency, error statuses, connection resets, broken bodies and
// GraphQL errors, selected per service and operation, each with a probability and a seed. Used by
// `day2 collect --replay DIR` (FaultTransport around the ReplayTransport) and by `day2 replay serve`.
// docs/bundle.md ("Faults") describes both forms for users.
//
// A fault file is JSON (comments and trailing commas allowed):
//   {
//     "seed": 7,                                  // optional: the seed of faults that name none (0)
//     "faults": [
//       {"service": "dagster", "operation": "RunsInWindow", "type": "status", "status": 503, "p": 0.5},
//       {"service": "dagster", "type": "latency", "ms": 200, "sigma": 0.5},
//       {"operation": "/v2/entries:list", "type": "status", "status": 429, "retry_after": 2},
//       {"type": "reset", "p": 0.01, "seed": 42},
//       {"operation": "RunEvents", "type": "truncate", "keep": 100},
//       {"operation": "Run*", "type": "invalid_json"},
//       {"type": "graphql_errors", "message": "Internal server error"}
//     ]
//   }
// Members of a fault (all optional but "type"):
//   service      a Service name (dagster, logging, monitoring, error_reporting, container, oauth,
//                metadata, other) or "*"; default any
//   operation    a pattern matched against the GraphQL operationName, or for other requests the path
//                (without query); "*" matches any run of characters; default any
//   contains     a text the request's match key must contain (e.g. one run's id, to fault the
//                RunEvents of that run only: the key holds the canonical GraphQL variables)
//   type         latency | status | reset | truncate | invalid_json | graphql_errors
//   p            probability in [0, 1]; default 1
//   seed         integer >= 0; default the file's "seed"
//   ms, sigma    latency: the median in milliseconds and the log-normal sigma (0, the default: fixed)
//   status       status: the HTTP status, 400-599
//   retry_after  status: seconds for a Retry-After header (default 1 for a 429 without retry_info_ms,
//                none otherwise)
//   retry_info_ms  status: milliseconds for a google.rpc.RetryInfo retryDelay in the Google error body
//                (how Google asks for a delay more often than with Retry-After)
//   keep         truncate: bytes of the body kept (default half)
//   message      graphql_errors: the error message
// The flag form, `--fault SPEC` (repeatable), holds one fault:
//   SPEC   = TARGET "=" TYPE [":" ARG] ("," NAME "=" VALUE)*
//   TARGET = SERVICE [":" OPERATION]          SERVICE is a name or "*"; OPERATION may itself hold ':'
//   TYPE   = latency:MS | status:CODE | reset | truncate | invalid_json | graphql_errors
//   NAME   = p | seed | contains | sigma | retry_after | retry_info_ms | keep | message (values hold no ',')
//   e.g. --fault 'dagster:RunsInWindow=status:503,p=0.5,seed=7'  --fault '*=latency:200,sigma=0.5'
//        --fault 'logging:/v2/entries:list=status:429,retry_after=2'
//        --fault 'logging:/v2/entries:list=status:429,retry_info_ms=2500'
//        --fault 'dagster:RunEvents=status:500,contains=2a16ae35-2640-4e3c-9463-1a8f82d62ca2'
//
// Decisions are reproducible: whether fault i fires for a request depends only on (its seed, i, the
// request's match_key, how many requests with that key came before), never on timing or thread
// interleaving, so a concurrent collection sees the same faults on every run. Faults are checked in
// order (file faults first, then flags): the delays of every firing latency fault add up, and the first
// firing fault of another type decides the outcome. status, graphql_errors and reset answer instead of
// the recording (the recorded exchange stays available for a retry); truncate and invalid_json spoil
// the recorded response (it is used up).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/http.hpp"
#include "recorder/base/result.hpp"
#include "recorder/transport.hpp"

namespace replay {

enum class FaultType { latency, status, reset, truncate, invalid_json, graphql_errors };
std::string_view to_string(FaultType type);

// A log-normal latency is capped here, so a large sigma cannot stall a run.
inline constexpr std::chrono::milliseconds k_max_fault_latency{120000};

struct Fault {
  std::optional<recorder::Service> service;  // nullopt: any
  std::string operation;           // pattern; empty: any
  std::string contains;            // text the request's match key must contain; empty: any
  FaultType type = FaultType::status;
  double probability = 1.0;
  std::uint64_t seed = 0;
  std::chrono::milliseconds latency{0};  // latency: the median
  double sigma = 0;                      // latency: log-normal sigma; 0 is a fixed delay
  int status = 503;                      // status
  std::optional<int> retry_after;        // status: Retry-After seconds
  std::optional<long long> retry_info_ms;  // status: RetryInfo retryDelay in the Google error body
  std::optional<std::size_t> keep;       // truncate: bytes kept; default half the body
  std::string message;                   // graphql_errors; empty: a default naming the fault
  std::string source;                    // where it was defined, for messages: "faults.json:4", "--fault '...'"
};

// Parses one `--fault` SPEC (grammar above). Never throws: an Error quotes the spec and says what is
// wrong (unknown service or type, a bad number, an option the type does not take).
recorder::Result<Fault> parse_fault_spec(std::string_view spec);

// Parses a fault file's text; `source` names it in errors. Never throws: invalid JSON gives
// "source:line:column: ...", a bad member "source:line: ..." (unknown members are errors too).
recorder::Result<std::vector<Fault>> parse_fault_file(std::string_view text, std::string_view source);
// Reads and parses the fault file at `path`; a missing file is an Error naming it.
recorder::Result<std::vector<Fault>> read_fault_file(const std::string& path);

// The faults of the fault file `file` (when given) followed by those of `specs` (--fault), in order.
// Never throws: an Error starts with the option it comes from ("--faults: f.json:3: ...", "--fault: ...").
recorder::Result<std::vector<Fault>> load_faults(const std::optional<std::string>& file, const std::vector<std::string>& specs);

// Whether `pattern` ("*" matches any run of characters, including none) matches all of `text`.
bool glob_match(std::string_view pattern, std::string_view text);

// What the faults do to one request.
struct FaultPlan {
  std::chrono::milliseconds delay{0};  // the sum of the firing latency faults
  const Fault* failure = nullptr;      // the first firing fault of another type, or none
  int index = -1;                      // its index in FaultInjector::faults()
};

class FaultInjector {
 public:
  explicit FaultInjector(std::vector<Fault> faults);

  // Decides the faults for `request` (its url absolute, or "/path?query") and counts it as the next
  // occurrence of its match_key. Deterministic as described above. Thread-safe.
  FaultPlan plan(const recorder::HttpRequest& request);

  // Carries out `plan` for `request`: no failure returns answer(); reset returns an Error naming the
  // method, URL and fault; status and graphql_errors return their response without calling `answer`;
  // truncate and invalid_json spoil the response of `answer`. Does not sleep (the caller applies
  // plan.delay). Counts the failures injected. Thread-safe.
  recorder::Result<recorder::HttpResponse> apply(const FaultPlan& plan, const recorder::HttpRequest& request,
                             const std::function<recorder::Result<recorder::HttpResponse>()>& answer);

  const std::vector<Fault>& faults() const { return m_faults; }
  // The number of failures injected, and the delays added, so far.
  int injected() const;
  // One line for people: "faults: 3 injected (reset x1, status 503 x2), 12 delays (2.40 s)".
  std::string summary() const;

 private:
  std::vector<Fault> m_faults;
  mutable std::mutex m_mutex;
  std::map<std::string, std::uint64_t> m_occurrences;  // match_key -> requests seen
  std::map<std::string, int> m_injected;               // "status 503" -> count
  int m_delays = 0;
  std::chrono::milliseconds m_delay_total{0};
};

// Decorator: injects `injector`'s faults into the requests sent through `inner` (in-process replay).
// A reset becomes an Error; latency calls `sleep` (injectable for tests; default: really sleeps).
class FaultTransport : public recorder::Transport {
 public:
  using Sleep = std::function<void(std::chrono::milliseconds)>;
  FaultTransport(std::shared_ptr<recorder::Transport> inner, std::shared_ptr<FaultInjector> injector, Sleep sleep = {});
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override;

 private:
  std::shared_ptr<recorder::Transport> m_inner;
  std::shared_ptr<FaultInjector> m_injector;
  Sleep m_sleep;
};

}  // namespace replay
