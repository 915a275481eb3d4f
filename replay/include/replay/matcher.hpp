// Matching requests to recorded exchanges: the core of replay, shared by the replay server and the
// in-process replay (`day2 collect --replay DIR`). Loud on any miss: an unmatched request is an
// error answered the way the real API answers errors, naming the nearest recorded request, and is
// never forwarded anywhere.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/bundle.hpp"
#include "recorder/transport.hpp"

namespace replay {

// The canonical key of a request. GraphQL (parse_graphql_request): "POST <path> graphql:<operationName>
// <canonical variables>", so variable order and query whitespace do not matter. REST:
// "<METHOD> <path>[?<query>][ <body>]" with the query parameters stably sorted by name, decoded and
// re-escaped only where needed ('%', '&', '=', '+', '#', space, control characters), secret
// parameters (is_secret_query_param) left out, and a JSON body in canonical form (write_json).
// The body of a token endpoint (is_token_endpoint) is left out: bundles hold it redacted. Hosts are
// ignored (aliases). Pure function.
std::string match_key(recorder::Service service, std::string_view method, std::string_view path, std::string_view query,
                      std::string_view body);

// A miss is remembered as an excerpt of its key and of the nearest recorded key (k_miss_excerpt
// bytes each, valid UTF-8, with the whole length and a digest), and at most k_max_misses of them are
// kept (`miss_count` counts them all): a client sending large or many unmatched requests cannot grow
// the replay server's memory or its report without bound.
inline constexpr std::size_t k_miss_excerpt = 512;
inline constexpr std::size_t k_max_misses = 1000;

struct ReplayReport {
  std::vector<std::string> misses;    // one line per unmatched request: key + nearest recorded (the first k_max_misses)
  int miss_count = 0;                 // every miss, kept or not
  std::vector<std::string> warnings;  // e.g. GraphQL query text drift for a matched operation (once each)
  std::vector<int> unused;            // seq of recorded exchanges never served, ascending
  int served = 0;
};

// The report for people, for stderr at the end of a replay: a summary line ("replay: 12 served,
// 1 miss, 2 unused") then one indented line per miss, warning and unused exchange (with its key).
std::string format_replay_report(const ReplayReport& report, const recorder::Bundle& bundle);
// The report as JSON for programs (`replay serve`'s GET /__day2/report, `collect --replay-report`):
// {"served", "misses", "missCount", "warnings", "unused"}, pretty, sorted keys.
std::string replay_report_json(const ReplayReport& report);

// What a request beyond the number of times it was recorded gets: a miss (the default: replay is
// loud), or the last recorded response again (`replay serve --repeat`: for clients that poll, such as
// the Dagster UI, and for load tests). Repeats count as served.
enum class Repeat { no, last };

class Matcher {
 public:
  explicit Matcher(recorder::Bundle bundle, Repeat repeat = Repeat::no);
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // The recorded response for `request` (its url absolute, or just "/path?query"), matched by
  // match_key. Repeated identical requests get the recorded responses in recorded order, and a
  // request beyond the recorded count is a miss. A recorded key holding placeholders
  // ("<redacted:email:1>") also matches a request carrying any value in their place, as long as
  // each placeholder stands for one value throughout the replay. A miss returns an HTTP response
  // in the API's own error shape (GraphQL {"data": null, "errors": [{"message"}]} with status 200
  // for Dagster; google.rpc.Status {"error": {"code": 404, "message", "status": "NOT_FOUND"}} for
  // the rest) naming the nearest recorded request, and is added to the report. A matched GraphQL
  // request whose query text differs (beyond whitespace and commas) adds a warning. Thread-safe.
  recorder::HttpResponse answer(const recorder::HttpRequest& request);
  ReplayReport report() const;
  // Ends the replay and returns its report: the exchanges and the matching state are freed (a
  // replayed night of thousands of runs holds their requests, keys and unserved bodies until
  // now), report() keeps returning this report, and a later request is a miss. Call it when no
  // request is being answered.
  ReplayReport finish();
  // The bundle replayed. Without repeats (Repeat::no) the response body of an exchange already
  // served is empty: answer() handed it over.
  const recorder::Bundle& bundle() const { return m_bundle; }

  struct Impl;

 private:
  ReplayReport report_locked() const;

  recorder::Bundle m_bundle;
  std::unique_ptr<Impl> m_impl;
};

// A Transport that answers from a Matcher without any network (in-process replay). Never returns
// an Error: a miss is the API's error response. Thread-safe.
class ReplayTransport : public recorder::Transport {
 public:
  explicit ReplayTransport(std::shared_ptr<Matcher> matcher);
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override;

 private:
  std::shared_ptr<Matcher> m_matcher;
};

}  // namespace replay
