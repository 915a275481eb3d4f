#include "recorder/bundle.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "recorder/base/text.hpp"
#include "recorder/base/durable.hpp"

namespace recorder {

namespace fs = std::filesystem;
using rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

// ---- shared helpers ----------------------------------------------------------------------------

std::string_view to_string(BundleSource source) {
  switch (source) {
    case BundleSource::live: return "live";
    case BundleSource::generated: return "generated";
  }
  return "live";
}

std::optional<Service> service_from_string(std::string_view name) {
  // Service::other is the last enumerator.
  for (int i = 0; i <= static_cast<int>(Service::other); ++i) {
    auto service = static_cast<Service>(i);
    if (to_string(service) == name) return service;
  }
  return std::nullopt;
}

namespace {

bool is_container(const Value& value) { return value.IsObject() || value.IsArray(); }

// Iterative, so that a hostile document cannot overflow the stack here.
bool within_depth(const Value& root, std::size_t limit) {
  std::vector<std::pair<const Value*, std::size_t>> stack{{&root, 1}};
  while (!stack.empty()) {
    auto [value, depth] = stack.back();
    stack.pop_back();
    if (depth > limit) return false;
    if (value->IsObject()) {
      for (const auto& member : value->GetObject()) {
        if (is_container(member.value)) stack.emplace_back(&member.value, depth + 1);
      }
    } else if (value->IsArray()) {
      for (const auto& element : value->GetArray()) {
        if (is_container(element)) stack.emplace_back(&element, depth + 1);
      }
    }
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode_component(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string encode_query(QueryParams params) {
  std::stable_sort(params.begin(), params.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += url_encode(name) + "=" + url_encode(value);
  }
  return out;
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The operation name in GraphQL text ("query RunEvents($runId: ID!) {...}"); "" for an anonymous one.
std::string operation_name_in(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ',') {
      ++i;
    } else if (text[i] == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else {
      break;
    }
  }
  for (std::string_view keyword : {"query", "mutation", "subscription"}) {
    if (text.substr(i, keyword.size()) != keyword) continue;
    std::size_t j = i + keyword.size();
    if (j < text.size() && is_name_char(text[j])) continue;
    while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    std::size_t start = j;
    while (j < text.size() && is_name_char(text[j])) ++j;
    return std::string(text.substr(start, j - start));
  }
  return "";
}

}  // namespace

std::optional<rapidjson::Document> parse_body_json(std::string_view body) {
  auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (body[first] != '{' && body[first] != '[')) return std::nullopt;
  auto parsed = parse_json(body, "body");
  if (!parsed || !is_container(*parsed) || !within_depth(*parsed, k_max_json_depth)) return std::nullopt;
  return std::move(parsed).value();
}

QueryParams parse_query(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    params.emplace_back(decode_component(part.substr(0, eq)),
                        eq == std::string_view::npos ? std::string{} : decode_component(part.substr(eq + 1)));
  }
  return params;
}

std::string canonical_query(std::string_view query) { return encode_query(parse_query(query)); }

std::optional<GraphqlRequest> parse_graphql_request(Service service, std::string_view method, std::string_view path,
                                                    std::string_view body) {
  bool graphql_path = path.size() >= 7 && path.substr(path.size() - 7) == "graphql";
  if (!iequals(method, "POST") || (service != Service::dagster && !graphql_path)) return std::nullopt;
  auto json = parse_body_json(body);
  if (!json || !json->IsObject()) return std::nullopt;
  auto query = get_string(*json, "query");
  if (!query) return std::nullopt;
  GraphqlRequest request;
  request.query = *query;
  request.operation_name = get_string(*json, "operationName").value_or(operation_name_in(*query));
  auto variables = json->FindMember("variables");
  bool none = variables == json->MemberEnd() || variables->value.IsNull();
  request.variables = none ? "{}" : write_json(variables->value);
  return request;
}

// ---- writing -----------------------------------------------------------------------------------

namespace {

std::string exchange_file_name(int seq) { return fmt::format("{:04}.json", seq); }

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

Result<std::string> render_exchange(const Exchange& exchange, int seq) {
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

Result<Value> instant_value(Instant instant, std::string_view field, Allocator& a) {
  auto text = format_rfc3339_utc(instant);
  auto back = parse_rfc3339(text);
  if (!back || *back != instant) {
    return make_error(fmt::format("manifest: \"{}\" ({}) cannot be written as an RFC 3339 timestamp", field, text));
  }
  return json_string(text, a);
}

Result<std::string> render_manifest(const Bundle& bundle) {
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
  return write_json(doc, Pretty::yes);
}

Error os_error(const fs::path& path, std::string_view what, int error) {
  return make_error(fmt::format("{}: {}: {}", path.string(), what, std::strerror(error)));
}

// The files of the bundle in writing order: exchanges first, the manifest last.
Result<std::vector<std::pair<std::string, std::string>>> render_files(const Bundle& bundle) {
  std::vector<std::pair<std::string, std::string>> files;
  for (std::size_t i = 0; i < bundle.exchanges.size(); ++i) {
    int seq = static_cast<int>(i) + 1;
    auto text = render_exchange(bundle.exchanges[i], seq);
    if (!text) return text.error();
    files.emplace_back("exchanges/" + exchange_file_name(seq), std::move(*text));
  }
  auto manifest = render_manifest(bundle);
  if (!manifest) return manifest.error();
  files.emplace_back("manifest.json", std::move(*manifest));
  return files;
}

Result<void> fill_directory(const fs::path& dir, const std::vector<std::pair<std::string, std::string>>& files) {
  if (::mkdir((dir / "exchanges").c_str(), 0755) != 0) return os_error(dir / "exchanges", "cannot create", errno);
  for (const auto& [name, content] : files) {
    if (auto written = write_new_file_synced(dir / name, content); !written) return written;
  }
  if (auto synced = fsync_directory((dir / "exchanges").string()); !synced) return synced;
  return fsync_directory(dir.string());
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

// ---- reading -----------------------------------------------------------------------------------

namespace {

std::string escape_pointer(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

// Where a value sits: its JSON pointer (for the line number) and its dotted name (for messages).
struct At {
  std::string pointer;
  std::string name;
  At operator/(std::string_view key) const {
    return {pointer + "/" + escape_pointer(key), name.empty() ? std::string(key) : name + "." + std::string(key)};
  }
};

std::string shown(const Value& value) {
  auto text = write_json(value);
  return text.size() > 40 ? text.substr(0, 37) + "..." : text;
}

enum class Kind { string, integer, object, array };

bool has_kind(const Value& value, Kind kind) {
  switch (kind) {
    case Kind::string: return value.IsString();
    case Kind::integer: return value.IsInt();
    case Kind::object: return value.IsObject();
    case Kind::array: return value.IsArray();
  }
  return false;
}

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::string: return "a string";
    case Kind::integer: return "an integer";
    case Kind::object: return "an object";
    case Kind::array: return "an array";
  }
  return "a value";
}

const Value k_empty_object(rapidjson::kObjectType);

// One parsed bundle file, read field by field. The first problem is kept and later reads return
// defaults, so reading code stays a straight list of fields with one check at the end.
class JsonFile {
 public:
  static Result<JsonFile> load(const fs::path& path) {
    auto text = read_file(path.string());
    if (!text) return text.error();
    auto doc = parse_json(*text, path.string());
    if (!doc) return doc.error();
    constexpr std::size_t k_limit = k_max_json_depth + 8;  // bodies sit a few levels down
    if (!within_depth(*doc, k_limit)) {
      return make_error(fmt::format("{}: JSON nested deeper than {} levels", path.string(), k_limit));
    }
    return JsonFile(path.string(), std::move(*text), std::move(*doc));
  }

  const Value& root() const { return m_doc; }
  bool failed() const { return m_error.has_value(); }
  const Error& error() const { return *m_error; }

  // Records "<file>:<line>: <what>" unless a problem was recorded already.
  void fail(const At& at, const std::string& what) {
    if (!m_error) m_error = make_error(fmt::format("{}: {}", where(at), what));
  }

  // The member `key` of `object`; nullptr when absent or null. Present with another kind: fails.
  const Value* optional(const Value& object, const At& parent, std::string_view key, Kind kind) {
    if (failed() || !object.IsObject()) return nullptr;
    auto it = object.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
    if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
    if (!has_kind(it->value, kind)) {
      fail(parent / key, fmt::format("\"{}\" must be {}, got {}", (parent / key).name, kind_name(kind), shown(it->value)));
      return nullptr;
    }
    return &it->value;
  }
  const Value* required(const Value& object, const At& parent, std::string_view key, Kind kind) {
    if (failed() || !object.IsObject()) return nullptr;
    auto it = object.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
    if (it == object.MemberEnd()) {
      fail(parent, fmt::format("\"{}\" is missing", (parent / key).name));
      return nullptr;
    }
    if (!has_kind(it->value, kind)) {
      fail(parent / key, fmt::format("\"{}\" must be {}, got {}", (parent / key).name, kind_name(kind), shown(it->value)));
      return nullptr;
    }
    return &it->value;
  }
  std::string string(const Value& object, const At& parent, std::string_view key) {
    const auto* value = required(object, parent, key, Kind::string);
    return value ? std::string(value->GetString(), value->GetStringLength()) : std::string();
  }
  int integer(const Value& object, const At& parent, std::string_view key) {
    const auto* value = required(object, parent, key, Kind::integer);
    return value ? value->GetInt() : 0;
  }
  const Value& object(const Value& object, const At& parent, std::string_view key) {
    const auto* value = required(object, parent, key, Kind::object);
    return value ? *value : k_empty_object;
  }
  Instant instant(const Value& object, const At& parent, std::string_view key) {
    auto text = string(object, parent, key);
    if (failed()) return Instant{};
    auto parsed = parse_rfc3339(text);
    if (!parsed) fail(parent / key, fmt::format("\"{}\": {}", (parent / key).name, parsed.error().message));
    return parsed ? *parsed : Instant{};
  }

 private:
  JsonFile(std::string name, std::string text, rapidjson::Document doc)
      : m_name(std::move(name)), m_text(std::move(text)), m_doc(std::move(doc)) {}

  std::string where(const At& at) {
    if (!m_lines) m_lines = json_value_lines(m_text, Comments::forbidden);
    auto it = m_lines->find(at.pointer);
    return it == m_lines->end() ? m_name : fmt::format("{}:{}", m_name, it->second);
  }

  std::string m_name;
  std::string m_text;
  rapidjson::Document m_doc;
  std::optional<Error> m_error;
  std::optional<std::map<std::string, std::size_t>> m_lines;
};

std::string text_of(const Value& value) { return std::string(value.GetString(), value.GetStringLength()); }

Service read_service(JsonFile& f, const Value& object, const At& parent) {
  auto name = f.string(object, parent, "service");
  auto service = service_from_string(name);
  if (!f.failed() && !service) f.fail(parent / "service", fmt::format("unknown service \"{}\"", name));
  return service.value_or(Service::other);
}

Headers read_headers(JsonFile& f, const Value& object, const At& parent) {
  Headers headers;
  const auto* value = f.optional(object, parent, "headers", Kind::object);
  if (value == nullptr) return headers;
  for (const auto& member : value->GetObject()) {
    auto name = text_of(member.name);
    const auto* header = f.required(*value, parent / "headers", name, Kind::string);
    if (header) headers.emplace_back(lower(name), text_of(*header));
  }
  return headers;
}

std::string read_query(JsonFile& f, const Value& object, const At& parent) {
  QueryParams params;
  const auto* value = f.optional(object, parent, "query", Kind::object);
  if (value == nullptr) return "";
  for (const auto& member : value->GetObject()) {
    auto name = text_of(member.name);
    At at = parent / "query" / name;
    const auto* values = f.required(*value, parent / "query", name, Kind::array);
    if (values == nullptr) return "";
    for (const auto& element : values->GetArray()) {
      if (!element.IsString()) {
        f.fail(at, fmt::format("\"{}\" must be an array of strings, got {}", at.name, shown(*values)));
        return "";
      }
      params.emplace_back(name, text_of(element));
    }
  }
  return encode_query(std::move(params));
}

// "body": absent or null is an empty body, a string the body text, anything else JSON.
std::string read_body(JsonFile& f, const Value& object) {
  if (f.failed()) return "";
  auto it = object.FindMember("body");
  if (it == object.MemberEnd() || it->value.IsNull()) return "";
  return it->value.IsString() ? text_of(it->value) : write_json(it->value);
}

std::string read_request_body(JsonFile& f, const Value& request, const At& at) {
  const auto* graphql = f.optional(request, at, "graphql", Kind::object);
  if (graphql == nullptr) return read_body(f, request);
  At g = at / "graphql";
  (void)f.required(*graphql, g, "query", Kind::string);
  (void)f.optional(*graphql, g, "operationName", Kind::string);
  (void)f.optional(*graphql, g, "variables", Kind::object);
  if (!read_body(f, request).empty()) f.fail(at, "\"request\" has both \"body\" and \"graphql\"");
  return f.failed() ? "" : write_json(*graphql);
}

Result<Exchange> read_exchange(const fs::path& path, int expected_seq) {
  auto loaded = JsonFile::load(path);
  if (!loaded) return loaded.error();
  auto& f = *loaded;
  const At root;
  const auto& doc = f.root();
  if (!doc.IsObject()) f.fail(root, fmt::format("an exchange must be a JSON object, got {}", shown(doc)));
  Exchange exchange;
  exchange.seq = f.integer(doc, root, "seq");
  if (!f.failed() && exchange.seq != expected_seq) {
    f.fail(root / "seq", fmt::format("\"seq\" is {} but the file name says {}", exchange.seq, expected_seq));
  }
  exchange.service = read_service(f, doc, root);
  const At rq = root / "request";
  const auto& request = f.object(doc, root, "request");
  exchange.method = f.string(request, rq, "method");
  if (!f.failed() && exchange.method.empty()) f.fail(rq / "method", "\"request.method\" is empty");
  exchange.path = f.string(request, rq, "path");
  if (!f.failed() && (exchange.path.empty() || exchange.path.front() != '/')) {
    f.fail(rq / "path", fmt::format("\"request.path\" must start with '/', got \"{}\"", exchange.path));
  }
  exchange.query = read_query(f, request, rq);
  exchange.request_headers = read_headers(f, request, rq);
  exchange.request_body = read_request_body(f, request, rq);
  const At rs = root / "response";
  const auto& response = f.object(doc, root, "response");
  exchange.status = f.integer(response, rs, "status");
  exchange.response_headers = read_headers(f, response, rs);
  exchange.response_body = read_body(f, response);
  if (f.failed()) return f.error();
  return exchange;
}

std::vector<Endpoint> read_endpoints(JsonFile& f, const Value& doc, const At& root) {
  std::vector<Endpoint> endpoints;
  const auto& object = f.object(doc, root, "endpoints");
  for (const auto& member : object.GetObject()) {
    Endpoint endpoint;
    endpoint.alias = text_of(member.name);
    At at = root / "endpoints" / endpoint.alias;
    const auto* value = f.required(object, root / "endpoints", endpoint.alias, Kind::object);
    if (value == nullptr) break;
    endpoint.service = read_service(f, *value, at);
    endpoint.origin = f.string(*value, at, "origin");
    endpoints.push_back(std::move(endpoint));
  }
  std::stable_sort(endpoints.begin(), endpoints.end(), [](const auto& a, const auto& b) { return a.alias < b.alias; });
  return endpoints;
}

std::vector<std::string> read_redactions(JsonFile& f, const Value& doc, const At& root) {
  std::vector<std::string> names;
  const auto* array = f.required(doc, root, "redactions", Kind::array);
  if (array == nullptr) return names;
  for (const auto& element : array->GetArray()) {
    if (!element.IsString()) {
      f.fail(root / "redactions", fmt::format("\"redactions\" must be an array of strings, got {}", shown(*array)));
      break;
    }
    names.push_back(text_of(element));
  }
  return names;
}

Result<Manifest> read_manifest(const fs::path& dir) {
  auto path = dir / "manifest.json";
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return make_error(fmt::format("{}: missing; a bundle directory holds manifest.json and exchanges/", path.string()));
  }
  auto loaded = JsonFile::load(path);
  if (!loaded) return loaded.error();
  auto& f = *loaded;
  const At root;
  const auto& doc = f.root();
  if (!doc.IsObject()) f.fail(root, fmt::format("the manifest must be a JSON object, got {}", shown(doc)));
  Manifest manifest;
  manifest.format_version = f.integer(doc, root, "format_version");
  if (!f.failed() && manifest.format_version != k_format_version) {
    f.fail(root / "format_version", fmt::format("format_version {} is not supported (known versions: {})",
                                                manifest.format_version, k_format_version));
  }
  if (f.failed()) return f.error();  // nothing else means anything in an unknown version
  manifest.now = f.instant(doc, root, "now");
  const auto& window = f.object(doc, root, "window");
  manifest.window.start = f.instant(window, root / "window", "start");
  manifest.window.end = f.instant(window, root / "window", "end");
  if (!f.failed() && manifest.window.end < manifest.window.start) f.fail(root / "window", "\"window\": start is after end");
  manifest.timezone = f.string(doc, root, "timezone");
  auto source = f.string(doc, root, "source");
  if (source == "generated") manifest.source = BundleSource::generated;
  else if (!f.failed() && source != "live") {
    f.fail(root / "source", fmt::format("\"source\" must be \"live\" or \"generated\", got \"{}\"", source));
  }
  manifest.endpoints = read_endpoints(f, doc, root);
  manifest.day2_version = f.string(doc, root, "day2_version");
  manifest.redactions = read_redactions(f, doc, root);
  manifest.exchange_count = f.integer(doc, root, "exchange_count");
  if (!f.failed() && manifest.exchange_count < 0) {
    f.fail(root / "exchange_count", fmt::format("\"exchange_count\" must not be negative, got {}", manifest.exchange_count));
  }
  if (!f.failed() && doc.HasMember("investigations_from")) {
    manifest.investigations_from = f.integer(doc, root, "investigations_from");
    if (!f.failed() && (manifest.investigations_from < 1 || manifest.investigations_from > manifest.exchange_count)) {
      f.fail(root / "investigations_from",
             fmt::format("\"investigations_from\" must be an exchange's seq (1 to exchange_count {}), got {}",
                         manifest.exchange_count, manifest.investigations_from));
    }
  }
  if (f.failed()) return f.error();
  return manifest;
}

bool is_exchange_file_name(std::string_view name) {
  if (name.size() <= 5 || name.substr(name.size() - 5) != ".json") return false;
  auto stem = name.substr(0, name.size() - 5);
  return std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The names of the NNNN.json files in `dir`; none when `dir` does not exist.
Result<std::set<std::string>> exchange_files(const fs::path& dir) {
  std::set<std::string> names;
  std::error_code ec;
  auto status = fs::status(dir, ec);
  if (!fs::exists(status)) return names;
  if (!fs::is_directory(status)) return make_error(fmt::format("{}: not a directory", dir.string()));
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (is_exchange_file_name(name)) names.insert(name);
  }
  if (ec) return make_error(fmt::format("{}: cannot list: {}", dir.string(), ec.message()));
  return names;
}

}  // namespace

namespace {

// A bundle file whose real path leaves the bundle's directory (a symbolic link to /dev/zero, to
// another bundle, to a secret) is refused: a bundle is one self-contained directory.
Result<void> inside_bundle(const fs::path& root, const fs::path& file) {
  std::error_code ec;
  auto target = fs::weakly_canonical(file, ec);
  if (ec) return {};  // unreadable: read_file says why
  auto relative = target.lexically_relative(root);
  if (relative.empty() || *relative.begin() == "..") {
    return make_error(fmt::format("{}: a symbolic link out of the bundle (to {})", file.string(), target.string()));
  }
  return {};
}

}  // namespace

Result<Bundle> read_bundle(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return make_error(fmt::format("{}: {}", dir.string(), fs::exists(dir, ec) ? "not a directory" : "no such directory"));
  }
  const auto root = fs::weakly_canonical(dir, ec);
  if (auto inside = inside_bundle(root, dir / "manifest.json"); !inside) return inside.error();
  auto manifest = read_manifest(dir);
  if (!manifest) return manifest.error();
  const int count = manifest->exchange_count;
  auto files = exchange_files(dir / "exchanges");
  if (!files) return files.error();
  // Names first (cheap): a bundle whose writer died half-way fails here, before any file is read.
  for (int seq = 1; seq <= count; ++seq) {
    auto name = exchange_file_name(seq);
    if (files->erase(name) == 0) {
      return make_error(fmt::format("{}: missing; manifest.json says exchange_count {}",
                                    (dir / "exchanges" / name).string(), count));
    }
  }
  if (!files->empty()) {
    return make_error(fmt::format("{}: {} exchange files but manifest.json says exchange_count {}",
                                  (dir / "exchanges").string(), static_cast<std::size_t>(count) + files->size(), count));
  }
  Bundle bundle;
  bundle.manifest = std::move(*manifest);
  for (int seq = 1; seq <= count; ++seq) {
    if (auto inside = inside_bundle(root, dir / "exchanges" / exchange_file_name(seq)); !inside) return inside.error();
    auto exchange = read_exchange(dir / "exchanges" / exchange_file_name(seq), seq);
    if (!exchange) return exchange.error();
    bundle.exchanges.push_back(std::move(*exchange));
  }
  return bundle;
}

}  // namespace recorder
