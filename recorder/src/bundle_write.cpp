// Writing a bundle (recorder/bundle.hpp, write_bundle): each exchange and the manifest rendered as
// pretty JSON, written into a temporary directory that then takes the target's place.
#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "bundle_detail.hpp"
#include "recorder/base/durable.hpp"
#include "recorder/base/text.hpp"
#include "recorder/bundle.hpp"

namespace recorder {

namespace fs = std::filesystem;
using rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;
using bundle_detail::exchange_file_name;

namespace {

void add(Value& object, std::string_view key, Value value, Allocator& a) {
  object.AddMember(json_string(key, a), value, a);
}

Value headers_value(const Headers& headers, Allocator& a) {
  std::map<std::string, std::string> merged;
  for (const auto& [name, value] : headers) {
    auto& slot = merged[lower(name)];
    slot += slot.empty() ? value : ", " + value;
  }
  Value object(rapidjson::kObjectType);
  for (const auto& [name, value] : merged) add(object, name, json_string(value, a), a);
  return object;
}

// A JSON body parsed (it diffs well), any other body as its text.
Value body_value(std::string_view body, Allocator& a) {
  if (auto json = parse_body_json(body)) {
    Value copy;
    copy.CopyFrom(*json, a);
    return copy;
  }
  return json_string(body, a);
}

// The GraphQL body when it has only operationName/query/variables (so nothing is lost).
std::optional<rapidjson::Document> graphql_body(const Exchange& exchange) {
  if (!parse_graphql_request(exchange.service, exchange.method, exchange.path, exchange.request_body)) {
    return std::nullopt;
  }
  auto json = parse_body_json(exchange.request_body);
  for (const auto& member : json->GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (name != "operationName" && name != "query" && name != "variables") return std::nullopt;
  }
  return json;
}

Value request_value(const Exchange& exchange, Allocator& a) {
  Value request(rapidjson::kObjectType);
  add(request, "method", json_string(exchange.method, a), a);
  add(request, "path", json_string(exchange.path, a), a);
  std::map<std::string, Value> query;
  for (auto& [name, value] : parse_query(exchange.query)) {
    auto [it, fresh] = query.try_emplace(name, rapidjson::kArrayType);
    it->second.PushBack(json_string(value, a), a);
  }
  if (!query.empty()) {
    Value object(rapidjson::kObjectType);
    for (auto& [name, values] : query) add(object, name, std::move(values), a);
    add(request, "query", std::move(object), a);
  }
  if (!exchange.request_headers.empty()) add(request, "headers", headers_value(exchange.request_headers, a), a);
  if (auto graphql = graphql_body(exchange)) {
    Value copy;
    copy.CopyFrom(*graphql, a);
    add(request, "graphql", std::move(copy), a);
  } else if (!exchange.request_body.empty()) {
    add(request, "body", body_value(exchange.request_body, a), a);
  }
  return request;
}

}  // namespace

Result<std::string> bundle_detail::render_exchange(const Exchange& exchange, int seq) {
  if (exchange.method.empty()) return make_error(fmt::format("exchange {}: the method is empty", seq));
  if (exchange.path.empty() || exchange.path.front() != '/') {
    return make_error(fmt::format("exchange {}: path \"{}\" does not start with '/'", seq, exchange.path));
  }
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  add(doc, "seq", Value(seq), a);
  add(doc, "service", json_string(to_string(exchange.service), a), a);
  add(doc, "request", request_value(exchange, a), a);
  Value response(rapidjson::kObjectType);
  add(response, "status", Value(exchange.status), a);
  if (!exchange.response_headers.empty()) add(response, "headers", headers_value(exchange.response_headers, a), a);
  if (!exchange.response_body.empty()) add(response, "body", body_value(exchange.response_body, a), a);
  add(doc, "response", std::move(response), a);
  return write_json(doc, Pretty::yes);
}

namespace {

Result<Value> instant_value(Instant instant, std::string_view field, Allocator& a) {
  auto text = format_rfc3339_utc(instant);
  auto back = parse_rfc3339(text);
  if (!back || *back != instant) {
    return make_error(fmt::format("manifest: \"{}\" ({}) cannot be written as an RFC 3339 timestamp", field, text));
  }
  return json_string(text, a);
}

}  // namespace

Result<std::string> bundle_detail::render_manifest(const Bundle& bundle) {
  const auto& m = bundle.manifest;
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  auto now = instant_value(m.now, "now", a);
  auto start = instant_value(m.window.start, "window.start", a);
  auto end = instant_value(m.window.end, "window.end", a);
  for (const auto* instant : {&now, &start, &end}) {
    if (!*instant) return instant->error();
  }
  if (m.window.end < m.window.start) return make_error("manifest: \"window\": start is after end");
  Value endpoints(rapidjson::kObjectType);
  std::set<std::string> aliases;
  for (const auto& endpoint : m.endpoints) {
    if (endpoint.alias.empty()) return make_error("manifest: an endpoint has an empty alias");
    if (!aliases.insert(endpoint.alias).second) {
      return make_error(fmt::format("manifest: endpoint alias \"{}\" appears twice", endpoint.alias));
    }
    Value value(rapidjson::kObjectType);
    add(value, "service", json_string(to_string(endpoint.service), a), a);
    add(value, "origin", json_string(endpoint.origin, a), a);
    add(endpoints, endpoint.alias, std::move(value), a);
  }
  Value window(rapidjson::kObjectType);
  add(window, "start", std::move(*start), a);
  add(window, "end", std::move(*end), a);
  Value redactions(rapidjson::kArrayType);
  for (const auto& name : m.redactions) redactions.PushBack(json_string(name, a), a);
  add(doc, "format_version", Value(k_format_version), a);
  add(doc, "now", std::move(*now), a);
  add(doc, "window", std::move(window), a);
  add(doc, "timezone", json_string(m.timezone, a), a);
  add(doc, "source", json_string(to_string(m.source), a), a);
  add(doc, "endpoints", std::move(endpoints), a);
  add(doc, "day2_version", json_string(m.day2_version, a), a);
  add(doc, "redactions", std::move(redactions), a);
  add(doc, "exchange_count", Value(static_cast<int>(bundle.exchanges.size())), a);
  if (m.investigations_from > 0) add(doc, "investigations_from", Value(m.investigations_from), a);
  if (!m.recovered.empty()) add(doc, "recovered", json_string(m.recovered, a), a);
  return write_json(doc, Pretty::yes);
}

namespace {

Error os_error(const fs::path& path, std::string_view what, int error) {
  return make_error(fmt::format("{}: {}: {}", path.string(), what, std::strerror(error)));
}

// The files of the bundle in writing order: exchanges first, the manifest last.
Result<std::vector<std::pair<std::string, std::string>>> render_files(const Bundle& bundle) {
  std::vector<std::pair<std::string, std::string>> files;
  for (std::size_t i = 0; i < bundle.exchanges.size(); ++i) {
    int seq = static_cast<int>(i) + 1;
    auto text = bundle_detail::render_exchange(bundle.exchanges[i], seq);
    if (!text) return text.error();
    files.emplace_back("exchanges/" + exchange_file_name(seq), std::move(*text));
  }
  auto manifest = bundle_detail::render_manifest(bundle);
  if (!manifest) return manifest.error();
  files.emplace_back("manifest.json", std::move(*manifest));
  return files;
}

Result<void> fill_directory(const fs::path& dir, const std::vector<std::pair<std::string, std::string>>& files) {
  if (::mkdir((dir / "exchanges").c_str(), 0755) != 0) return os_error(dir / "exchanges", "cannot create", errno);
  for (const auto& [name, content] : files) {
    if (auto written = write_new_file(dir / name, content); !written) return written;
  }
  // One flush for every file and directory entry of the bundle, before it is renamed into place.
  return sync_filesystem(dir.string());
}

// Whether `dir` may be replaced: an empty directory or one that holds a bundle manifest.
Result<void> check_replaceable(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return make_error(fmt::format("{}: exists and is not a directory", dir.string()));
  if (fs::is_empty(dir, ec) || fs::exists(dir / "manifest.json", ec)) return {};
  return make_error(fmt::format("{}: not replaced: it is not a bundle (no manifest.json)", dir.string()));
}

// Moves the complete `tmp` to `target`; with Overwrite::yes an existing bundle is swapped out.
Result<void> place(const fs::path& tmp, const fs::path& target, Overwrite overwrite) {
  std::error_code ec;
  if (overwrite == Overwrite::no || !fs::exists(target, ec)) {
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0) return {};
    if (errno == EEXIST || errno == ENOTEMPTY) return make_error(fmt::format("{}: already exists", target.string()));
    if (errno != EINVAL && errno != ENOSYS) return os_error(target, "rename failed", errno);
    if (fs::exists(target, ec)) return make_error(fmt::format("{}: already exists", target.string()));
    if (::rename(tmp.c_str(), target.c_str()) != 0) return os_error(target, "rename failed", errno);
    return {};
  }
  if (auto replaceable = check_replaceable(target); !replaceable) return replaceable;
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
    if (errno != EINVAL && errno != ENOSYS) return os_error(target, "rename failed", errno);
    // No atomic exchange on this file system: the old bundle goes, then the new one comes.
    fs::path old = tmp.string() + ".old";
    if (::rename(target.c_str(), old.c_str()) != 0) return os_error(target, "rename failed", errno);
    if (::rename(tmp.c_str(), target.c_str()) != 0) return os_error(target, "rename failed", errno);
    fs::remove_all(old, ec);
    return {};
  }
  fs::remove_all(tmp, ec);  // now the old bundle
  return {};
}

fs::path normal_target(const fs::path& dir) {
  auto target = dir.lexically_normal();
  if (!target.has_filename() && target.has_parent_path()) target = target.parent_path();
  return target;
}

}  // namespace

Result<void> write_bundle(const fs::path& dir, const Bundle& bundle, Overwrite overwrite) {
  auto files = render_files(bundle);
  if (!files) return files.error();
  auto target = normal_target(dir);
  if (target.empty() || target.filename() == "." || target.filename() == "..") {
    return make_error(fmt::format("{}: not a usable bundle directory name", dir.string()));
  }
  std::error_code ec;
  if (fs::exists(target, ec)) {
    if (overwrite == Overwrite::no) return make_error(fmt::format("{}: already exists", target.string()));
    if (auto replaceable = check_replaceable(target); !replaceable) return replaceable;
  }
  fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) return make_error(fmt::format("{}: cannot create: {}", parent.string(), ec.message()));
  std::string pattern = (parent / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) return os_error(parent, "cannot create a temporary directory", errno);
  fs::path tmp = pattern;
  ::chmod(tmp.c_str(), 0755);
  auto done = fill_directory(tmp, *files);
  if (done) done = place(tmp, target, overwrite);
  if (done) (void)fsync_directory(parent.string());  // persists the rename; the bundle is complete either way
  fs::remove_all(tmp, ec);                  // gone already unless something failed
  return done;
}

}  // namespace recorder
