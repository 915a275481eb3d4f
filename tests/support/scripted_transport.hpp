// ScriptedTransport: a Transport that answers from a script, one entry per call, and records every
// request it receives. For testing decorators such as RetryingTransport without a network.
#pragma once

#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "recorder/transport.hpp"

namespace day2_test {

class ScriptedTransport : public recorder::Transport {
 public:
  // Queues a response with `status` (and optional headers and body).
  ScriptedTransport& respond(int status, recorder::Headers headers = {}, std::string body = "") {
    std::lock_guard lock(m_mutex);
    m_script.emplace_back(recorder::HttpResponse{status, std::move(headers), std::move(body)});
    return *this;
  }
  // Queues a transport failure (no HTTP response) with `message`.
  ScriptedTransport& fail(std::string message) {
    std::lock_guard lock(m_mutex);
    m_script.emplace_back(recorder::Error{std::move(message)});
    return *this;
  }

  // Answers with the next scripted entry. Running off the end of the script is a test bug: it
  // throws so that the test fails loudly rather than hanging or retrying forever.
  recorder::Result<recorder::HttpResponse> send(const recorder::HttpRequest& request) override {
    std::lock_guard lock(m_mutex);
    m_requests.push_back(request);
    if (m_script.empty()) throw std::logic_error("ScriptedTransport: no scripted answer for " + request.url);
    auto next = std::move(m_script.front());
    m_script.pop_front();
    return next;
  }

  std::vector<recorder::HttpRequest> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }
  std::size_t calls() const {
    std::lock_guard lock(m_mutex);
    return m_requests.size();
  }

 private:
  mutable std::mutex m_mutex;
  std::deque<recorder::Result<recorder::HttpResponse>> m_script;
  std::vector<recorder::HttpRequest> m_requests;
};

}  // namespace day2_test
