#include <fmt/format.h>

#include <charconv>
#include <ctime>
#include <thread>

#include "recorder/base/json.hpp"
#include "recorder/base/log.hpp"
#include "recorder/transport.hpp"

namespace recorder {

namespace {
thread_local std::optional<Deadline> t_deadline;
}  // namespace

std::optional<Deadline> current_deadline() { return t_deadline; }

DeadlineScope::DeadlineScope(std::optional<Deadline> deadline) : m_previous(t_deadline) { t_deadline = deadline; }

DeadlineScope::~DeadlineScope() { t_deadline = m_previous; }

std::string deadline_text(const Deadline& deadline) {
  auto ms = deadline.cap.count();
  return ms % 1000 == 0 ? fmt::format("the step's time cap of {} s was reached", ms / 1000)
                        : fmt::format("the step's time cap of {:.3g} s was reached", ms / 1000.0);
}

bool is_retryable_status(int status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

std::optional<std::chrono::milliseconds> parse_duration_seconds(std::string_view text) {
  // google.protobuf.Duration in JSON: decimal seconds with up to 9 fractional digits, then 's'.
  if (text.size() < 2 || text.back() != 's') return std::nullopt;
  text.remove_suffix(1);
  auto dot = text.find('.');
  auto whole = text.substr(0, dot);
  auto fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || fraction.size() > 9 || (dot != std::string_view::npos && fraction.empty())) return std::nullopt;
  long long seconds = 0;
  auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
  if (ec != std::errc{} || end != whole.data() + whole.size() || seconds < 0) return std::nullopt;
  long long millis = 0;
  for (std::size_t i = 0; i < fraction.size(); ++i) {
    if (fraction[i] < '0' || fraction[i] > '9') return std::nullopt;
    if (i < 3) millis = millis * 10 + (fraction[i] - '0');
  }
  for (std::size_t i = fraction.size(); i < 3; ++i) millis *= 10;
  if (seconds > std::chrono::milliseconds::max().count() / 1000 - 1) return std::chrono::milliseconds::max();
  return std::chrono::milliseconds(seconds * 1000 + millis);
}

namespace {

constexpr std::size_t k_max_error_body = 64 * 1024;  // a google.rpc.Status is small; larger bodies are not read

// The retryDelay of a google.rpc.RetryInfo among the body's error details
// ({"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"}]}}).
std::optional<std::chrono::milliseconds> retry_info_delay(std::string_view body) {
  if (body.empty() || body.size() > k_max_error_body || body.find("RetryInfo") == std::string_view::npos) {
    return std::nullopt;
  }
  auto parsed = parse_json(body, "response");
  if (!parsed || !parsed->IsObject()) return std::nullopt;
  const auto* error = get_object(*parsed, "error");
  const auto* details = error ? get_array(*error, "details") : nullptr;
  if (!details) return std::nullopt;
  for (const auto& detail : details->GetArray()) {
    auto type = get_string(detail, "@type").value_or("");
    if (type != "type.googleapis.com/google.rpc.RetryInfo") continue;
    if (auto delay = get_string(detail, "retryDelay")) return parse_duration_seconds(*delay);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::chrono::milliseconds> server_retry_delay(const HttpResponse& response,
                                                            std::chrono::system_clock::time_point now) {
  if (auto header = find_header(response.headers, "Retry-After")) {
    if (auto after = parse_retry_after(*header, now)) return after;
  }
  return retry_info_delay(response.body);
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long long seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc{} && ptr == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    // A huge value must not overflow the multiplication; the caller caps it anyway.
    if (seconds > std::chrono::milliseconds::max().count() / 1000) return std::chrono::milliseconds::max();
    return std::chrono::milliseconds(seconds * 1000);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (strptime: day2 never leaves the C locale; date's
  // parse trips GCC's -Wmaybe-uninitialized once inlined in the portable build).
  const std::string text(value);
  std::tm fields{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &fields);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const auto when = std::chrono::system_clock::from_time_t(timegm(&fields));
  auto delta = std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
  return delta.count() > 0 ? delta : std::chrono::milliseconds(0);
}

RetryingTransport::RetryingTransport(std::shared_ptr<Transport> inner, RetryPolicy policy, unsigned seed,
                                     Sleep sleep)
    : m_inner(std::move(inner)), m_policy(policy), m_sleep(std::move(sleep)), m_rng(seed) {
  if (!m_sleep) m_sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

std::chrono::milliseconds RetryingTransport::backoff(int attempt) {
  // Equal jitter: uniform in [cap / 2, cap], cap = min(max, initial * 2^attempt), so that waits
  // grow from one attempt to the next and stay within max_backoff.
  auto cap = m_policy.initial_backoff * (1LL << std::min(attempt, 20));
  cap = std::min<std::chrono::milliseconds>(cap, m_policy.max_backoff);
  std::lock_guard lock(m_mutex);
  std::uniform_int_distribution<long long> pick(cap.count() / 2, std::max<long long>(cap.count(), 1));
  return std::chrono::milliseconds(pick(m_rng));
}

Result<HttpResponse> RetryingTransport::send(const HttpRequest& request) {
  int attempts = std::max(1, m_policy.max_attempts);
  auto deadline = current_deadline();
  auto where = [&request] { return fmt::format("{} {}", request.method, request.url.substr(0, request.url.find('?'))); };
  for (int attempt = 1;; ++attempt) {
    std::optional<HttpRequest> bounded;  // the request with its timeout cut to the time left
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline->at - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return make_error(fmt::format("{}: {}{}", where(), deadline_text(*deadline),
                                      attempt == 1 ? "" : fmt::format(" (after {} attempts)", attempt - 1)));
      }
      if (left < request.timeout) {
        bounded = request;
        bounded->timeout = left;
      }
    }
    auto result = m_inner->send(bounded ? *bounded : request);
    bool last = attempt >= attempts;
    std::chrono::milliseconds wait{0};
    if (!result) {
      if (last) {
        return make_error(fmt::format("{} (after {} attempt{})", result.error().message, attempt,
                                      attempt == 1 ? "" : "s"));
      }
      wait = backoff(attempt - 1);
      log::debug("{}; retrying in {} ms", result.error().message, wait.count());
    } else if (is_retryable_status(result->status) && !last &&
               !(m_policy.permanent && m_policy.permanent(request, *result))) {
      // The server's own delay (Retry-After, or Google's RetryInfo) is what it asks for: wait that,
      // not more (capped); without one, back off.
      auto hint = server_retry_delay(*result, std::chrono::system_clock::now());
      wait = hint ? std::min(*hint, m_policy.max_retry_after) : backoff(attempt - 1);
      log::debug("{} -> {}; retrying in {} ms", where(), result->status, wait.count());
    } else {
      return result;
    }
    if (deadline && std::chrono::steady_clock::now() + wait >= deadline->at) {
      // A retry could only start after the deadline: the last answer is the answer.
      log::debug("{}: no retry, {}", where(), deadline_text(*deadline));
      if (result) return result;
      return make_error(fmt::format("{} (after {} attempt{}; {})", result.error().message, attempt,
                                    attempt == 1 ? "" : "s", deadline_text(*deadline)));
    }
    m_sleep(wait);
  }
}

}  // namespace recorder
