// The two forms of faults, `--fault` specs and fault files (both described in replay/fault.hpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "recorder/bundle.hpp"
#include "replay/fault.hpp"
#include "recorder/base/checked_json.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/text.hpp"

namespace replay {

using namespace recorder;  // the exchange model, JSON, time: the base this library builds on

namespace {

constexpr std::array<std::string_view, 6> k_type_names{"latency", "status", "reset", "truncate", "invalid_json",
                                                       "graphql_errors"};
constexpr std::array<std::string_view, 9> k_service_names{"dagster", "logging", "monitoring", "error_reporting",
                                                          "container", "oauth", "metadata", "other", "*"};
// The members of a fault in a file: its target, its type and every type's options.
constexpr std::array<std::string_view, 13> k_member_names{"service", "operation", "contains", "type", "p", "seed",
                                                          "ms", "sigma", "status", "retry_after", "retry_info_ms",
                                                          "keep", "message"};
constexpr std::array<std::string_view, 2> k_file_members{"seed", "faults"};

std::optional<FaultType> fault_type_from_string(std::string_view name) {
  for (auto type : {FaultType::latency, FaultType::status, FaultType::reset, FaultType::truncate,
                    FaultType::invalid_json, FaultType::graphql_errors}) {
    if (to_string(type) == name) return type;
  }
  return std::nullopt;
}

// The options a fault of `type` takes besides p and seed (flag names; the file uses the same).
std::vector<std::string_view> type_options(FaultType type) {
  switch (type) {
    case FaultType::latency: return {"sigma"};
    case FaultType::status: return {"retry_after", "retry_info_ms"};
    case FaultType::truncate: return {"keep"};
    case FaultType::graphql_errors: return {"message"};
    default: return {};
  }
}

bool takes_option(FaultType type, std::string_view name) {
  if (name == "p" || name == "seed" || name == "contains") return true;
  for (auto option : type_options(type)) {
    if (option == name) return true;
  }
  return false;
}

std::string known_options(FaultType type) {
  std::string out = "p, seed, contains";
  for (auto option : type_options(type)) out += fmt::format(", {}", option);
  return out;
}

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Range checks shared by both forms; "" when the fault is valid.
std::string check_fault(const Fault& fault) {
  if (!(fault.probability >= 0 && fault.probability <= 1)) {
    return fmt::format("p must be in [0, 1], got {}", fault.probability);
  }
  if (fault.type == FaultType::latency) {
    if (fault.latency < std::chrono::milliseconds(0) || fault.latency > k_max_fault_latency) {
      return fmt::format("latency must be 0-{} ms, got {}", k_max_fault_latency.count(), fault.latency.count());
    }
    if (!(fault.sigma >= 0 && fault.sigma <= 10)) return fmt::format("sigma must be in [0, 10], got {}", fault.sigma);
  }
  if (fault.type == FaultType::status && (fault.status < 400 || fault.status > 599)) {
    return fmt::format("status must be an HTTP error status (400-599), got {}", fault.status);
  }
  if (fault.retry_after && (*fault.retry_after < 0 || *fault.retry_after > 86400)) {
    return fmt::format("retry_after must be 0-86400 seconds, got {}", *fault.retry_after);
  }
  if (fault.retry_info_ms && (*fault.retry_info_ms < 0 || *fault.retry_info_ms > 86400000)) {
    return fmt::format("retry_info_ms must be 0-86400000 milliseconds, got {}", *fault.retry_info_ms);
  }
  return "";
}

// A 429 says when to come back: a Retry-After of 1 s unless the fault gives its own delay (either way).
void default_retry_after(Fault& fault) {
  if (fault.type == FaultType::status && fault.status == 429 && !fault.retry_after && !fault.retry_info_ms) {
    fault.retry_after = 1;
  }
}

// ---- the flag form -------------------------------------------------------------------------------

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

// Sets the option `name` of a flag-form fault from `value`; "" or what is wrong.
std::string set_flag_option(Fault& fault, std::string_view name, std::string_view value) {
  if (!takes_option(fault.type, name)) {
    return fmt::format("a {} fault takes no option \"{}\" (it takes: {})", to_string(fault.type), name,
                       known_options(fault.type));
  }
  auto bad = [&](std::string_view what) { return fmt::format("{}={}: {} expected", name, value, what); };
  if (name == "p") {
    auto p = parse_number<double>(value);
    if (!p) return bad("a probability in [0, 1]");
    fault.probability = *p;
  } else if (name == "seed") {
    auto seed = parse_number<std::uint64_t>(value);
    if (!seed) return bad("an integer >= 0");
    fault.seed = *seed;
  } else if (name == "sigma") {
    auto sigma = parse_number<double>(value);
    if (!sigma) return bad("a number >= 0");
    fault.sigma = *sigma;
  } else if (name == "retry_after") {
    auto seconds = parse_number<int>(value);
    if (!seconds) return bad("whole seconds");
    fault.retry_after = *seconds;
  } else if (name == "retry_info_ms") {
    auto ms = parse_number<long long>(value);
    if (!ms) return bad("whole milliseconds");
    fault.retry_info_ms = *ms;
  } else if (name == "keep") {
    auto bytes = parse_number<std::size_t>(value);
    if (!bytes) return bad("a byte count");
    fault.keep = *bytes;
  } else if (name == "message") {
    fault.message = std::string(value);
  } else if (name == "contains") {
    if (value.empty()) return bad("a non-empty text");
    fault.contains = std::string(value);
  }
  return "";
}

// Parses "TYPE[:ARG]"; "" or what is wrong.
std::string set_flag_type(Fault& fault, std::string_view item) {
  auto colon = item.find(':');
  auto name = item.substr(0, colon);
  auto type = fault_type_from_string(name);
  if (!type) return unknown_name("fault type", name, k_type_names);
  fault.type = *type;
  bool has_arg = colon != std::string_view::npos;
  auto arg = has_arg ? item.substr(colon + 1) : std::string_view{};
  if (fault.type == FaultType::latency) {
    auto ms = has_arg ? parse_number<long long>(arg) : std::nullopt;
    if (!ms) return fmt::format("latency needs its median in milliseconds, e.g. latency:200, got \"{}\"", item);
    fault.latency = std::chrono::milliseconds(*ms);
  } else if (fault.type == FaultType::status) {
    auto code = has_arg ? parse_number<int>(arg) : std::nullopt;
    if (!code) return fmt::format("status needs an HTTP status, e.g. status:503, got \"{}\"", item);
    fault.status = *code;
  } else if (has_arg) {
    return fmt::format("a {} fault takes no \":{}\"", name, arg);
  }
  return "";
}

// Parses "SERVICE[:OPERATION]"; "" or what is wrong.
std::string set_target(Fault& fault, std::string_view target) {
  auto colon = target.find(':');
  auto service = target.substr(0, colon);
  if (colon != std::string_view::npos) fault.operation = std::string(target.substr(colon + 1));
  if (service.empty() || service == "*") return "";
  auto known = service_from_string(service);
  if (!known) return unknown_name("service", service, k_service_names);
  fault.service = *known;
  return "";
}

// ---- the file form -------------------------------------------------------------------------------

class FileReader {
 public:
  explicit FileReader(const CheckedJson& file) : m_file(file) {}

  Error error(const std::string& pointer, std::string_view what) const { return m_file.error_at({pointer, ""}, what); }

  Result<Fault> fault(const rapidjson::Value& value, const std::string& pointer, std::uint64_t seed) const;

 private:
  Result<void> member(Fault& fault, std::string_view name, const rapidjson::Value& value,
                      const std::string& pointer) const;
  // "service", "operation" and "contains": which requests the fault applies to (any fault has them).
  Result<void> target_member(Fault& fault, std::string_view name, const rapidjson::Value& value,
                             const std::string& pointer) const;
  // An option of the fault's type ("ms", "status", type_options) or of every fault ("p", "seed").
  Result<void> option_member(Fault& fault, std::string_view name, const rapidjson::Value& value,
                             const std::string& pointer) const;
  // Why `name` is refused when the fault's type does not take it: no fault does, or another type does.
  Error foreign_member(const Fault& fault, std::string_view name, const std::string& pointer) const;
  // The error for a member whose value is not of the kind it takes.
  Error wrong_value(std::string_view name, const rapidjson::Value& value, const std::string& pointer,
                    std::string_view expected) const;

  const CheckedJson& m_file;
};

std::string json_type_name(const rapidjson::Value& value) {
  if (value.IsString()) return fmt::format("\"{}\"", value.GetString());
  if (value.IsNumber()) return write_json(value);
  if (value.IsBool()) return value.GetBool() ? "true" : "false";
  if (value.IsNull()) return "null";
  return value.IsArray() ? "an array" : "an object";
}

Error FileReader::wrong_value(std::string_view name, const rapidjson::Value& value, const std::string& pointer,
                              std::string_view expected) const {
  return error(pointer, fmt::format("\"{}\" must be {}, got {}", name, expected, json_type_name(value)));
}

Result<Fault> FileReader::fault(const rapidjson::Value& value, const std::string& pointer, std::uint64_t seed) const {
  if (!value.IsObject()) return error(pointer, fmt::format("a fault must be an object, got {}", json_type_name(value)));
  auto type_name = get_string(value, "type");
  if (!type_name) {
    return error(pointer, fmt::format("a fault needs a \"type\" string ({})", fmt::join(k_type_names, ", ")));
  }
  auto type = fault_type_from_string(*type_name);
  if (!type) return error(pointer + "/type", unknown_name("fault type", *type_name, k_type_names));
  Fault fault;
  fault.type = *type;
  fault.seed = seed;
  fault.source = m_file.where(pointer);
  if (fault.type == FaultType::status) fault.status = 0;  // required below
  for (const auto& entry : value.GetObject()) {
    std::string_view name(entry.name.GetString(), entry.name.GetStringLength());
    if (auto ok = member(fault, name, entry.value, pointer + "/" + pointer_token(name)); !ok) return ok.error();
  }
  if (fault.type == FaultType::latency && !value.HasMember("ms")) return error(pointer, "a latency fault needs \"ms\"");
  if (fault.type == FaultType::status && !value.HasMember("status")) {
    return error(pointer, "a status fault needs \"status\" (400-599)");
  }
  default_retry_after(fault);
  if (auto problem = check_fault(fault); !problem.empty()) return error(pointer, problem);
  return fault;
}

Result<void> FileReader::member(Fault& fault, std::string_view name, const rapidjson::Value& value,
                                const std::string& pointer) const {
  if (name == "type") return {};
  if (name == "service" || name == "operation" || name == "contains") return target_member(fault, name, value, pointer);
  bool own = name == "ms"       ? fault.type == FaultType::latency
             : name == "status" ? fault.type == FaultType::status
                                : takes_option(fault.type, name);
  if (!own) return foreign_member(fault, name, pointer);
  return option_member(fault, name, value, pointer);
}

Result<void> FileReader::target_member(Fault& fault, std::string_view name, const rapidjson::Value& value,
                                       const std::string& pointer) const {
  if (name == "service") {
    if (!value.IsString()) return wrong_value(name, value, pointer, "a service name");
    std::string_view text(value.GetString(), value.GetStringLength());
    if (text == "*") return {};
    auto service = service_from_string(text);
    if (!service) return error(pointer, unknown_name("service", text, k_service_names));
    fault.service = *service;
    return {};
  }
  if (name == "operation") {
    if (!value.IsString()) return wrong_value(name, value, pointer, "a string");
    fault.operation = value.GetString();
    return {};
  }
  if (!value.IsString() || value.GetStringLength() == 0) return wrong_value(name, value, pointer, "a non-empty string");
  fault.contains = value.GetString();
  return {};
}

Error FileReader::foreign_member(const Fault& fault, std::string_view name, const std::string& pointer) const {
  if (std::find(k_member_names.begin(), k_member_names.end(), name) == k_member_names.end()) {
    return error(pointer, unknown_name("member", name, k_member_names));
  }
  return error(pointer, fmt::format("a {} fault takes no \"{}\"", to_string(fault.type), name));
}

Result<void> FileReader::option_member(Fault& fault, std::string_view name, const rapidjson::Value& value,
                                       const std::string& pointer) const {
  auto wrong = [&](std::string_view expected) { return wrong_value(name, value, pointer, expected); };
  if (name == "p" || name == "sigma") {
    if (!value.IsNumber()) return wrong("a number");
    (name == "p" ? fault.probability : fault.sigma) = value.GetDouble();
  } else if (name == "seed") {
    if (!value.IsUint64()) return wrong("an integer >= 0");
    fault.seed = value.GetUint64();
  } else if (name == "ms") {
    if (!value.IsInt64()) return wrong("whole milliseconds");
    fault.latency = std::chrono::milliseconds(value.GetInt64());
  } else if (name == "status" || name == "retry_after") {
    if (!value.IsInt()) return wrong("an integer");
    if (name == "status") fault.status = value.GetInt();
    else fault.retry_after = value.GetInt();
  } else if (name == "retry_info_ms") {
    if (!value.IsInt64()) return wrong("whole milliseconds");
    fault.retry_info_ms = value.GetInt64();
  } else if (name == "keep") {
    if (!value.IsUint64()) return wrong("a byte count");
    fault.keep = static_cast<std::size_t>(value.GetUint64());
  } else if (name == "message") {
    if (!value.IsString()) return wrong("a string");
    fault.message = value.GetString();
  }
  return {};
}

}  // namespace

Result<Fault> parse_fault_spec(std::string_view spec) {
  auto fail = [&](std::string_view what) { return make_error(fmt::format("'{}': {}", spec, what)); };
  auto equals = spec.find('=');
  if (equals == std::string_view::npos) {
    return fail("expected SERVICE[:OPERATION]=TYPE[:ARG][,NAME=VALUE...], e.g. dagster:RunsInWindow=status:503,p=0.5");
  }
  Fault fault;
  fault.source = fmt::format("--fault '{}'", spec);
  if (auto problem = set_target(fault, spec.substr(0, equals)); !problem.empty()) return fail(problem);
  auto items = split(spec.substr(equals + 1), ',');
  if (auto problem = set_flag_type(fault, items.front()); !problem.empty()) return fail(problem);
  for (std::size_t i = 1; i < items.size(); ++i) {
    auto at = items[i].find('=');
    if (at == std::string_view::npos) return fail(fmt::format("\"{}\" is not NAME=VALUE", items[i]));
    if (auto problem = set_flag_option(fault, items[i].substr(0, at), items[i].substr(at + 1)); !problem.empty()) {
      return fail(problem);
    }
  }
  default_retry_after(fault);
  if (auto problem = check_fault(fault); !problem.empty()) return fail(problem);
  return fault;
}

Result<std::vector<Fault>> parse_fault_file(std::string_view text, std::string_view source) {
  auto file = CheckedJson::parse(std::string(text), std::string(source), Comments::allowed);
  if (!file) return file.error();
  const auto* doc = &file->root();
  FileReader reader(*file);
  if (!doc->IsObject()) return reader.error("", "a fault file is a JSON object: {\"faults\": [...]}");
  if (auto closed = file->closed_keys(*doc, {}, k_file_members); !closed) return closed.error();
  std::uint64_t seed = 0;
  if (doc->HasMember("seed")) {
    if (!(*doc)["seed"].IsUint64()) return reader.error("/seed", "\"seed\" must be an integer >= 0");
    seed = (*doc)["seed"].GetUint64();
  }
  const auto* list = get_array(*doc, "faults");
  if (!list) return reader.error(doc->HasMember("faults") ? "/faults" : "", "\"faults\" must be an array of faults");
  std::vector<Fault> faults;
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    auto fault = reader.fault((*list)[i], fmt::format("/faults/{}", i), seed);
    if (!fault) return fault.error();
    faults.push_back(std::move(*fault));
  }
  return faults;
}

Result<std::vector<Fault>> read_fault_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_fault_file(*text, path);
}

Result<std::vector<Fault>> load_faults(const std::optional<std::string>& file, const std::vector<std::string>& specs) {
  std::vector<Fault> faults;
  if (file) {
    auto loaded = read_fault_file(*file);
    if (!loaded) return make_error("--faults: " + loaded.error().message);
    faults = std::move(*loaded);
  }
  for (const auto& spec : specs) {
    auto fault = parse_fault_spec(spec);
    if (!fault) return make_error("--fault: " + fault.error().message);
    faults.push_back(std::move(*fault));
  }
  return faults;
}

}  // namespace replay
