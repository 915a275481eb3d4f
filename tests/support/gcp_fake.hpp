// GcpFake: a recorder::Transport for unit tests standing in for the Google Cloud REST APIs. It
// answers by URL path, page token (the `pageToken` query parameter or body member) and an optional
// substring of the filter (the `filter` query parameter or body member), and records every request.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/transport.hpp"

namespace day2test {

// The text of tests/data/gcp/<name>.json; throws std::runtime_error naming the file if unreadable.
std::string gcp_data(std::string_view name);

class GcpFake : public recorder::Transport {
 public:
  // Answers requests to `path` whose page token is `token` ("" for the first page) and whose
  // filter or URL contains `filter_part` ("" for any) with `body` and `status`. Later rules win.
  GcpFake& on(std::string path, std::string token, std::string body, int status = 200, std::string filter_part = "");

  // Unanswered requests get a 404 google.rpc.Status naming path, token and filter. Thread-safe.
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override;

  std::vector<recorder::HttpRequest> requests() const;
  // The requests whose URL path is `path`.
  std::vector<recorder::HttpRequest> requests(std::string_view path) const;
  std::vector<std::string> unanswered() const;

 private:
  struct Rule {
    std::string path;
    std::string token;
    std::string body;
    int status;
    std::string filter_part;
  };
  mutable std::mutex m_mutex;
  std::vector<Rule> m_rules;
  std::vector<recorder::HttpRequest> m_requests;
  std::vector<std::string> m_unanswered;
};

// The Google of the step tests: tests/data/gcp/ answering the requests of steps 08 and 10-13 for
// project my-proj in the captured Dagster window, paged across several pages (empty pages with a
// token included).
std::shared_ptr<GcpFake> gcp_fixture();

// The value of query parameter `name` in `url` (percent-decoded), "" when absent.
std::string query_param(const std::string& url, std::string_view name);

}  // namespace day2test
