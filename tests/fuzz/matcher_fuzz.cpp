// The replay matcher with GraphQL normalisation (replay::Matcher::answer): any request (method, path,
// query, body; the first byte chooses the method) gets a recorded answer or the API's own error for a
// miss, never a crash; the report stays JSON.
#include "fuzz_support.hpp"
#include "recorder/base/text.hpp"
#include "replay/matcher.hpp"

namespace {

recorder::Bundle bundle() {
  recorder::Bundle b;
  b.manifest.endpoints = {{"dagster", recorder::Service::dagster, "http://127.0.0.1:3000"},
                          {"logging", recorder::Service::logging, "https://logging.googleapis.com"}};
  recorder::Exchange runs;
  runs.seq = 1;
  runs.service = recorder::Service::dagster;
  runs.method = "POST";
  runs.path = "/graphql";
  runs.request_body = R"({"operationName":"Runs","query":"query Runs($limit: Int) { runs(limit: $limit) { id } }","variables":{"limit":5,"email":"<redacted:email:1>"}})";
  runs.status = 200;
  runs.response_body = R"({"data":{"runs":[{"id":"a"}]}})";
  recorder::Exchange entries;
  entries.seq = 2;
  entries.service = recorder::Service::logging;
  entries.method = "GET";
  entries.path = "/v2/entries";
  entries.query = "filter=resource.type%3D%22k8s_pod%22&pageSize=5";
  entries.status = 200;
  entries.response_body = R"({"entries":[]})";
  b.exchanges = {runs, entries};
  b.manifest.exchange_count = 2;
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const recorder::Bundle recorded = bundle();
  if (size == 0) return 0;
  replay::Matcher matcher(recorded, (data[0] & 8) ? replay::Repeat::last : replay::Repeat::no);
  static const char* const k_methods[] = {"POST", "GET", "HEAD", "PUT"};
  auto text = day2_fuzz::text_of(data + 1, size - 1);
  recorder::HttpRequest request;
  request.method = k_methods[data[0] % 4];
  if (data[0] & 4) {  // a GraphQL body
    request.service = recorder::Service::dagster;
    request.url = "http://127.0.0.1:3000/graphql";
    request.body = std::string(text);
  } else {  // a path and query
    request.service = recorder::Service::logging;
    request.url = "https://logging.googleapis.com/" + std::string(text);
  }
  auto response = matcher.answer(request);
  day2_fuzz::require(response.status >= 100 && response.status <= 599, "an HTTP status");
  // The report (served as JSON by /__day2/report) quotes requests: valid UTF-8 only.
  for (const auto& line : matcher.report().misses) {
    for (std::size_t i = 0; i < line.size();) {
      auto n = recorder::utf8_length(std::string_view(line).substr(i));
      day2_fuzz::require(n > 0, "a miss line of the replay report is valid UTF-8");
      i += n;
    }
  }
  return 0;
}
