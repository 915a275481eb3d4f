// Reading a bundle (recorder/bundle.hpp, read_bundle): the manifest first, then every exchange file it
// counts, each field checked; a problem names the file and the line of the offending value.
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>
#include <vector>

#include "bundle_detail.hpp"
#include "recorder/base/text.hpp"
#include "recorder/base/workers.hpp"
#include "recorder/bundle.hpp"

namespace recorder {

namespace fs = std::filesystem;
using rapidjson::Value;
using bundle_detail::At;
using bundle_detail::encode_query;
using bundle_detail::exchange_file_name;
using bundle_detail::JsonFile;
using bundle_detail::Kind;
using bundle_detail::read_exchange;
using bundle_detail::within_depth;

namespace {

// One bundle file, parsed, with containers at most a few levels deeper than a body may be.
Result<JsonFile> load_file(const fs::path& path) {
  auto loaded = JsonFile::load(path.string());
  if (!loaded) return loaded.error();
  constexpr std::size_t k_limit = k_max_json_depth + 8;  // bodies sit a few levels down
  if (!within_depth(loaded->root(), k_limit)) {
    return make_error(fmt::format("{}: JSON nested deeper than {} levels", path.string(), k_limit));
  }
  return loaded;
}

std::string text_of(const Value& value) { return std::string(value.GetString(), value.GetStringLength()); }

Service read_service(JsonFile& f, const Value& object, const At& parent) {
  auto name = f.string(object, parent, "service");
  auto service = service_from_string(name);
  if (!f.failed() && !service) {
    std::vector<std::string_view> names;
    for (int i = 0; i <= static_cast<int>(Service::other); ++i) names.push_back(to_string(static_cast<Service>(i)));
    f.fail(parent / "service", unknown_name("service", name, names));
  }
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

}  // namespace

Result<Exchange> bundle_detail::read_exchange(const fs::path& path, int expected_seq) {
  auto loaded = load_file(path);
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

namespace {

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

// The manifest's optional members: investigations_from, recovered.
void read_optional_members(JsonFile& f, const Value& doc, const At& root, Manifest& manifest) {
  if (!f.failed() && doc.HasMember("investigations_from")) {
    manifest.investigations_from = f.integer(doc, root, "investigations_from");
    if (!f.failed() && (manifest.investigations_from < 1 || manifest.investigations_from > manifest.exchange_count)) {
      f.fail(root / "investigations_from",
             fmt::format("\"investigations_from\" must be an exchange's seq (1 to exchange_count {}), got {}",
                         manifest.exchange_count, manifest.investigations_from));
    }
  }
  if (!f.failed() && doc.HasMember("recovered") && !doc["recovered"].IsNull()) {
    manifest.recovered = f.string(doc, root, "recovered");
  }
}

}  // namespace

Result<Manifest> bundle_detail::read_manifest_file(const fs::path& path) {
  auto loaded = load_file(path);
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
  read_optional_members(f, doc, root, manifest);
  if (f.failed()) return f.error();
  return manifest;
}

namespace {

Result<Manifest> read_manifest(const fs::path& dir) {
  auto path = dir / "manifest.json";
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return make_error(fmt::format("{}: missing; a bundle directory holds manifest.json and exchanges/", path.string()));
  }
  return bundle_detail::read_manifest_file(path);
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
  // The exchanges directory resolved once; then a file that is not itself a link is inside it (one
  // lstat each, not a readlink per path component).
  if (auto inside = inside_bundle(root, dir / "exchanges"); !inside) return inside.error();
  // Each file is read alone, so the files are read in parts at once; a part stops at its first
  // problem, and the problem of the lowest seq is the bundle's, as when read one by one.
  std::vector<std::optional<Exchange>> exchanges(static_cast<std::size_t>(count));
  std::vector<std::optional<Error>> problems(static_cast<std::size_t>(count));
  constexpr std::size_t k_min_part = 64;  // files read on one thread: fewer are read faster than a thread starts
  for_each_part(exchanges.size(), k_min_part, [&](std::size_t from, std::size_t to) {
    std::error_code link_ec;
    for (std::size_t i = from; i < to; ++i) {
      int seq = static_cast<int>(i) + 1;
      auto file = dir / "exchanges" / exchange_file_name(seq);
      if (fs::is_symlink(fs::symlink_status(file, link_ec))) {
        if (auto inside = inside_bundle(root, file); !inside) {
          problems[i] = inside.error();
          return;
        }
      }
      auto exchange = read_exchange(file, seq);
      if (!exchange) {
        problems[i] = exchange.error();
        return;
      }
      exchanges[i] = std::move(*exchange);
    }
  });
  for (auto& problem : problems) {
    if (problem) return *problem;
  }
  bundle.exchanges.reserve(exchanges.size());
  for (auto& exchange : exchanges) bundle.exchanges.push_back(std::move(*exchange));
  return bundle;
}

}  // namespace recorder
