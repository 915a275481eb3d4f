#include "replay/matcher.hpp"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "recorder/base/json.hpp"
#include "recorder/redact.hpp"
#include "recorder/base/text.hpp"
#include "recorder/base/workers.hpp"

namespace replay {

using namespace recorder;  // the exchange model, JSON, time: the base this library builds on

namespace {

constexpr std::string_view k_placeholder_open = "<redacted:";

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Escapes only what would make a key ambiguous, so keys stay readable (and placeholders intact).
std::string key_escape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f || c == '%' || c == '&' || c == '=' || c == '+' || c == '#' || c == ' ') {
      out += fmt::format("%{:02X}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string key_query(std::string_view query) {
  auto params = parse_query(query);
  std::stable_sort(params.begin(), params.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [name, value] : params) {
    if (is_secret_query_param(name)) continue;
    if (!out.empty()) out.push_back('&');
    out += key_escape(name) + "=" + key_escape(value);
  }
  return out;
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// GraphQL text without insignificant whitespace, commas and comments, for the drift warning.
std::string normalize_graphql(std::string_view text) {
  std::string out;
  bool gap = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
      gap = true;
    } else if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
      gap = true;
    } else if (c == '"') {
      bool block = text.substr(i, 3) == "\"\"\"";
      auto end = block ? text.find("\"\"\"", i + 3) : std::string_view::npos;
      if (!block) {
        end = i + 1;
        while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2 : 1;
      }
      end = std::min(text.size(), end == std::string_view::npos ? text.size() : end + (block ? 3 : 1));
      out += text.substr(i, end - i);
      i = end - 1;
      gap = false;
    } else {
      if (gap && !out.empty() && is_name_char(out.back()) && is_name_char(c)) out.push_back(' ');
      out.push_back(c);
      gap = false;
    }
  }
  return out;
}

// The part of a key that names the operation or endpoint: "POST /graphql graphql:RunEvents" or
// "GET /v2/entries:list".
std::string key_group(std::string_view key) {
  auto graphql = key.find(" graphql:");
  if (graphql != std::string_view::npos) return std::string(key.substr(0, key.find(' ', graphql + 1)));
  auto path_start = key.find(' ');
  if (path_start == std::string_view::npos) return std::string(key);
  return std::string(key.substr(0, key.find_first_of("? ", path_start + 1)));
}

// Edit distance of the first 256 bytes: enough to rank candidates, cheap for long bodies.
std::size_t prefix_distance(std::string_view a, std::string_view b) {
  return edit_distance(a.substr(0, 256), b.substr(0, 256));
}

std::string json_body(const rapidjson::Document& doc) { return write_json(doc); }

HttpResponse graphql_error(std::string_view message) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value error(rapidjson::kObjectType);
  error.AddMember("message", json_string(message, a), a);
  rapidjson::Value errors(rapidjson::kArrayType);
  errors.PushBack(error, a);
  doc.AddMember("data", rapidjson::Value(rapidjson::kNullType), a);
  doc.AddMember("errors", errors, a);
  return HttpResponse{200, {{"Content-Type", "application/json"}}, json_body(doc)};
}

HttpResponse google_not_found(std::string_view message) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value error(rapidjson::kObjectType);
  error.AddMember("code", 404, a);
  error.AddMember("message", json_string(message, a), a);
  error.AddMember("status", "NOT_FOUND", a);
  doc.AddMember("error", error, a);
  return HttpResponse{404, {{"Content-Type", "application/json; charset=UTF-8"}}, json_body(doc)};
}

// `url` as path and query: an absolute URL, or "/path?query" as a server sees it.
std::pair<std::string, std::string> path_and_query(std::string_view url) {
  if (url.empty() || url.front() != '/') {
    if (auto parsed = parse_url(url)) return {parsed->path, parsed->query};
    return {std::string(url), ""};
  }
  auto question = url.find('?');
  if (question == std::string_view::npos) return {std::string(url), ""};
  return {std::string(url.substr(0, question)), std::string(url.substr(question + 1))};
}

// A request's match key and, for GraphQL, the request as parsed: one parse of the body for both.
struct Keyed {
  std::string key;
  std::optional<GraphqlRequest> graphql;
};

Keyed key_of(Service service, std::string_view method, std::string_view path, std::string_view query,
             std::string_view body) {
  auto verb = upper(method);
  if (auto graphql = parse_graphql_request(service, verb, path, body)) {
    auto key = fmt::format("POST {} graphql:{} {}", path, graphql->operation_name, graphql->variables);
    return {std::move(key), std::move(graphql)};
  }
  auto key = verb + " " + std::string(path);
  if (auto q = key_query(query); !q.empty()) key += "?" + q;
  if (body.empty() || is_token_endpoint(service, path)) return {std::move(key), std::nullopt};
  if (auto json = parse_body_json(body)) return {key + " " + write_json(*json), std::nullopt};
  return {key + " " + std::string(body), std::nullopt};
}

}  // namespace

std::string match_key(Service service, std::string_view method, std::string_view path, std::string_view query,
                      std::string_view body) {
  return key_of(service, method, path, query, body).key;
}

// A recorded key holding placeholders, as a pattern: each placeholder matches any text.
struct Wildcard {
  std::string key;
  std::unique_ptr<RE2> re;
  std::vector<std::string> placeholders;  // in order of their groups
};

// A request reduced to what matching needs (see Matcher::answer).
struct Prepared {
  std::string key;                        // match_key
  std::string operation_name;             // GraphQL only
  std::optional<std::string> query_text;  // GraphQL only: the normalized query
  bool dagster = false;                   // a miss is answered in GraphQL's error shape
};
constexpr std::size_t k_max_prepared = 4096;  // distinct raw requests remembered
constexpr std::size_t k_max_prepared_bytes = 64 * 1024;  // of one remembered raw request

struct Matcher::Impl {
  mutable std::mutex mutex;
  std::vector<std::string> keys;                       // per exchange
  std::map<std::string, std::vector<std::size_t>> queues;  // key -> exchange indexes, in order
  std::map<std::string, std::size_t> next;             // key -> served so far
  std::vector<Wildcard> wildcards;
  std::map<std::string, std::string> bindings;         // placeholder -> value seen in its place
  std::map<std::string, std::string> bound_values;     // value -> placeholder
  std::vector<bool> used;
  // Per exchange: its normalized GraphQL text, or null; one string per distinct text (a night's
  // thousands of RunEvents exchanges share one).
  std::vector<std::shared_ptr<const std::string>> recorded_queries;
  std::set<std::string> warned;
  ReplayReport report;  // after finish(): the final one
  Repeat repeat = Repeat::no;
  bool finished = false;
  std::unordered_map<std::string, std::shared_ptr<const Prepared>> prepared;  // raw request -> prepared
  std::unordered_map<std::string, std::string> normalized;  // GraphQL query text -> normalize_graphql of it

  static std::optional<Wildcard> wildcard(const std::string& key) {
    Wildcard w{key, nullptr, {}};
    std::string pattern;
    std::string_view rest = key;
    while (true) {
      auto open = rest.find(k_placeholder_open);
      auto close = open == std::string_view::npos ? open : rest.find('>', open);
      if (close == std::string_view::npos) break;
      pattern += RE2::QuoteMeta(re2::StringPiece(rest.data(), open)) + "(.+?)";
      w.placeholders.emplace_back(rest.substr(open, close + 1 - open));
      rest = rest.substr(close + 1);
    }
    if (w.placeholders.empty()) return std::nullopt;
    pattern += RE2::QuoteMeta(re2::StringPiece(rest.data(), rest.size()));
    RE2::Options options;
    options.set_log_errors(false);
    options.set_dot_nl(true);
    options.set_encoding(RE2::Options::EncodingLatin1);  // keys are bytes; '.' must match any of them
    options.set_max_mem(8 << 20);
    w.re = std::make_unique<RE2>(pattern, options);
    if (!w.re->ok()) return std::nullopt;
    return w;
  }

  bool has_more(const std::string& key) const { return next.at(key) < queues.at(key).size(); }

  // The placeholders `key` would newly bind if it matched `w`, each standing for one value
  // throughout the replay; nullopt when it does not match.
  std::optional<std::map<std::string, std::string>> try_bind(const Wildcard& w, const std::string& key) const {
    std::vector<std::string> values(w.placeholders.size());
    std::vector<RE2::Arg> args(values.size());
    std::vector<const RE2::Arg*> arg_pointers(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      args[i] = RE2::Arg(&values[i]);
      arg_pointers[i] = &args[i];
    }
    if (!RE2::FullMatchN(key, *w.re, arg_pointers.data(), static_cast<int>(arg_pointers.size()))) return std::nullopt;
    std::map<std::string, std::string> fresh;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto& p = w.placeholders[i];
      if (values[i] == p) continue;  // the client sent the placeholder itself
      auto bound = bindings.find(p);
      auto known = bound_values.find(values[i]);
      auto pending = fresh.find(p);
      if ((bound != bindings.end() && bound->second != values[i]) || (known != bound_values.end() && known->second != p) ||
          (pending != fresh.end() && pending->second != values[i])) {
        return std::nullopt;
      }
      fresh[p] = values[i];
    }
    return fresh;
  }

  // The exchange to serve for `key`, if any.
  std::optional<std::size_t> take(const std::string& key) {
    auto queue = queues.find(key);
    const std::string* chosen = queue != queues.end() && has_more(key) ? &queue->first : nullptr;
    if (chosen == nullptr) {
      // The earliest recorded wildcard that matches and has responses left.
      std::optional<std::size_t> best;
      std::map<std::string, std::string> best_bindings;
      for (const auto& w : wildcards) {
        if (!has_more(w.key)) continue;
        auto index = queues.at(w.key)[next.at(w.key)];
        if (best && index > *best) continue;
        if (auto fresh = try_bind(w, key)) {
          best = index;
          chosen = &w.key;
          best_bindings = std::move(*fresh);
        }
      }
      for (const auto& [p, value] : best_bindings) {
        bindings[p] = value;
        bound_values[value] = p;
      }
    }
    if (chosen == nullptr) {
      if (repeat == Repeat::last && queue != queues.end()) return queue->second.back();
      return std::nullopt;
    }
    return queues.at(*chosen)[next.at(*chosen)++];
  }

  // Frees every key, queue, binding and remembered request (finish()); the mutex is held.
  void release() {
    std::vector<std::string>().swap(keys);
    queues.clear();
    next.clear();
    std::vector<Wildcard>().swap(wildcards);
    bindings.clear();
    bound_values.clear();
    std::vector<bool>().swap(used);
    std::vector<std::shared_ptr<const std::string>>().swap(recorded_queries);
    prepared.clear();
    normalized.clear();
  }

  // The normalized text of `query`: clients send one GraphQL document with many variables (a
  // RunEvents per failed run), so each distinct text is normalized once.
  std::string normalized_query(const std::string& query) {
    {
      std::lock_guard lock(mutex);
      if (auto found = normalized.find(query); found != normalized.end()) return found->second;
    }
    std::string text = normalize_graphql(query);
    std::lock_guard lock(mutex);
    if (normalized.size() < k_max_prepared && query.size() <= k_max_prepared_bytes) normalized.emplace(query, text);
    return text;
  }

  // Canonicalising a request (parsing its JSON body, normalising a GraphQL query) costs more than
  // answering it; clients repeat requests (polling, load), so remember the result per raw request.
  std::shared_ptr<const Prepared> prepare(const HttpRequest& request) {
    std::string raw = request.method + ' ' + request.url + '\n' + request.body;
    {
      std::lock_guard lock(mutex);
      if (auto found = prepared.find(raw); found != prepared.end()) return found->second;
    }
    auto [path, query] = path_and_query(request.url);
    auto fresh = std::make_shared<Prepared>();
    auto keyed = key_of(request.service, request.method, path, query, request.body);
    fresh->key = std::move(keyed.key);
    if (keyed.graphql) {
      fresh->operation_name = keyed.graphql->operation_name;
      fresh->query_text = normalized_query(keyed.graphql->query);
    }
    fresh->dagster = fresh->query_text.has_value() || request.service == Service::dagster;
    std::lock_guard lock(mutex);
    // Large requests are not remembered: the cache would hold their bodies.
    if (prepared.size() < k_max_prepared && raw.size() <= k_max_prepared_bytes) prepared.emplace(std::move(raw), fresh);
    return fresh;
  }

  // The exchange that answers `request`, now used; a GraphQL query whose text differs from the
  // recorded one is still answered, with a warning (once per distinct warning).
  std::optional<std::size_t> serve(const Prepared& request, const Bundle& bundle) {
    std::lock_guard lock(mutex);
    auto index = take(request.key);
    if (!index) return std::nullopt;
    used[*index] = true;
    ++report.served;
    const auto& recorded_query = recorded_queries[*index];  // null: not GraphQL
    if (request.query_text && recorded_query && *request.query_text != *recorded_query) {
      auto warning = fmt::format("graphql:{}: the query text differs from the recorded one (seq {}); replayed anyway",
                                 request.operation_name, bundle.exchanges[*index].seq);
      if (warned.insert(warning).second) report.warnings.push_back(warning);
    }
    return index;
  }

  // Counts a request no recorded response answers and says why: every response to its key was
  // already served, or its key was never recorded (then the nearest recorded one).
  std::string record_miss(const std::string& key) {
    std::lock_guard lock(mutex);
    std::string miss;
    if (finished) {
      miss = fmt::format("{}: the replay was finished", excerpt(key, k_miss_excerpt));
    } else if (auto queue = queues.find(key); queue != queues.end()) {
      miss = fmt::format("{}: recorded {} time(s) and every recorded response was already served",
                         excerpt(key, k_miss_excerpt), queue->second.size());
    } else {
      miss = fmt::format("{}: not recorded; nearest recorded request: {}", excerpt(key, k_miss_excerpt),
                         excerpt(nearest(key), k_miss_excerpt));
    }
    ++report.miss_count;
    if (report.misses.size() < k_max_misses) report.misses.push_back(miss);
    return miss;
  }

  // "<key> (seq N)" of the recorded request nearest to `key`: among those of the same operation or
  // endpoint if any, else among all, the smallest edit distance; ties go to the earliest recorded.
  std::string nearest(const std::string& key) const {
    auto group = key_group(key);
    bool same_group = std::any_of(keys.begin(), keys.end(), [&](const auto& k) { return key_group(k) == group; });
    std::optional<std::size_t> best;
    std::size_t best_distance = 0;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!seen.insert(keys[i]).second || (same_group && key_group(keys[i]) != group)) continue;
      auto distance = prefix_distance(key, keys[i]);
      if (!best || distance < best_distance) {
        best = i;
        best_distance = distance;
      }
    }
    if (!best) return "none (the bundle holds no exchanges)";
    return fmt::format("{} (seq {})", keys[*best], *best + 1);
  }
};

Matcher::Matcher(Bundle bundle, Repeat repeat) : m_bundle(std::move(bundle)), m_impl(std::make_unique<Impl>()) {
  auto& impl = *m_impl;
  impl.repeat = repeat;
  const std::size_t count = m_bundle.exchanges.size();
  // Each exchange's key and recorded GraphQL text, made in parts at once (canonicalising a
  // request costs more than the rest); then indexed in recorded order.
  std::vector<std::string> keys(count);
  std::vector<std::optional<std::string>> queries(count);
  constexpr std::size_t k_min_part = 256;  // fewer are made faster than a thread starts
  recorder::for_each_part(count, k_min_part, [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      const auto& x = m_bundle.exchanges[i];
      auto keyed = key_of(x.service, x.method, x.path, x.query, x.request_body);
      keys[i] = std::move(keyed.key);
      if (keyed.graphql) queries[i] = std::move(keyed.graphql->query);
    }
  });
  std::unordered_map<std::string, std::shared_ptr<const std::string>> distinct_queries;  // recorded text -> normalized
  for (std::size_t i = 0; i < count; ++i) {
    auto& queue = impl.queues[keys[i]];
    if (queue.empty()) {
      impl.next[keys[i]] = 0;
      if (auto w = Impl::wildcard(keys[i])) impl.wildcards.push_back(std::move(*w));
    }
    queue.push_back(i);
    impl.keys.push_back(std::move(keys[i]));
    std::shared_ptr<const std::string> query;
    if (queries[i]) {
      auto& shared = distinct_queries[*queries[i]];
      if (!shared) shared = std::make_shared<const std::string>(normalize_graphql(*queries[i]));
      query = shared;
    }
    impl.recorded_queries.push_back(std::move(query));
  }
  impl.used.assign(count, false);
}

Matcher::~Matcher() = default;

HttpResponse Matcher::answer(const HttpRequest& request) {
  auto& impl = *m_impl;
  std::shared_ptr<const Prepared> prepared = impl.prepare(request);
  if (auto index = impl.serve(*prepared, m_bundle)) {
    // Outside the lock: an exchange's response changes only here. Without repeats an exchange is
    // served once, so its body is handed over rather than copied (and its memory freed with the
    // answer: a replayed night does not hold every body to the end); with repeats it is copied.
    auto& x = m_bundle.exchanges[*index];
    if (impl.repeat == Repeat::no) return HttpResponse{x.status, x.response_headers, std::move(x.response_body)};
    return HttpResponse{x.status, x.response_headers, x.response_body};
  }
  auto message = "day2 replay: no recorded response for " + impl.record_miss(prepared->key);
  return prepared->dagster ? graphql_error(message) : google_not_found(message);
}

ReplayReport Matcher::report() const {
  std::lock_guard lock(m_impl->mutex);
  return report_locked();
}

// report(), the mutex held.
ReplayReport Matcher::report_locked() const {
  if (m_impl->finished) return m_impl->report;
  auto report = m_impl->report;
  // Exchanges recorded for later investigations are there to be used by some, not by every replay.
  const int investigations_from = m_bundle.manifest.investigations_from;
  for (std::size_t i = 0; i < m_impl->used.size(); ++i) {
    int seq = static_cast<int>(i) + 1;
    if (!m_impl->used[i] && (investigations_from == 0 || seq < investigations_from)) report.unused.push_back(seq);
  }
  return report;
}

ReplayReport Matcher::finish() {
  std::lock_guard lock(m_impl->mutex);
  auto final_report = report_locked();  // under the same lock as the release: no request falls between
  if (m_impl->finished) return final_report;
  m_impl->release();
  m_impl->finished = true;
  m_impl->report = final_report;
  std::vector<recorder::Exchange>().swap(m_bundle.exchanges);
  return final_report;
}

ReplayTransport::ReplayTransport(std::shared_ptr<Matcher> matcher) : m_matcher(std::move(matcher)) {}

Result<HttpResponse> ReplayTransport::send(const HttpRequest& request) { return m_matcher->answer(request); }

}  // namespace replay
