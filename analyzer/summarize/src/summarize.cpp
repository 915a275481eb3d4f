#include "analyzer/summarize/summarize.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <ostream>
#include <vector>

#include "analyzer/artifact/artifact.hpp"
#include "analyzer/artifact/artifact_file.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/result.hpp"
#include "recorder/base/time.hpp"
#include "summarize_steps.hpp"

namespace analyzer {

namespace {

using summary::Json;
using summary::Step;
using summary::StepState;

constexpr std::string_view k_tool = "day2 summarize";
// "step_" two digits "_" and a name, as the collector writes them: step_01_failed_runs.
bool is_step_key(std::string_view key) {
  auto digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(key[i])) != 0; };
  return key.size() > 8 && key.substr(0, 5) == "step_" && digit(5) && digit(6) && key[7] == '_';
}

Step classify(std::string key, const Json& value) {
  Step step{std::move(key), &value, StepState::ok, {}, {}};
  if (!value.IsObject()) {
    step.state = StepState::malformed;
    step.note = fmt::format("{}, expected an object", summary::type_name(value));
  } else if (const Json* error = summary::member(value, "error")) {
    step.state = StepState::error;
    step.note = error->IsString() ? summary::clean({error->GetString(), error->GetStringLength()})
                                  : summary::json_text(*error);
  } else if (const Json* skipped = summary::member(value, "skipped"); skipped && skipped->IsTrue()) {
    step.state = StepState::skipped;
    step.note = summary::text_of(value, "reason");
  } else if (const Json* items = summary::member(value, "itemErrors"); items && items->IsArray()) {
    for (const auto& item : items->GetArray()) {
      if (!item.IsObject()) continue;
      step.item_errors.push_back(summary::clean(summary::text_of(item, "item") + ": " + summary::text_of(item, "error")));
    }
  }
  return step;
}

// The step_NN_* members of `artifact`, sorted by key; a key repeated in the file keeps its last value.
std::vector<Step> find_steps(const Json& artifact) {
  std::map<std::string, const Json*> by_key;
  for (const auto& entry : artifact.GetObject()) {
    std::string key(entry.name.GetString(), entry.name.GetStringLength());
    if (is_step_key(key)) { by_key.insert_or_assign(std::move(key), &entry.value); }
  }
  std::vector<Step> steps;
  for (const auto& [key, value] : by_key) { steps.push_back(classify(key, *value)); }
  return steps;
}

std::string_view state_name(StepState state) {
  switch (state) {
    case StepState::ok: return "ok";
    case StepState::error: return "ERROR";
    case StepState::skipped: return "skipped";
    case StepState::malformed: return "malformed";
  }
  return "?";
}

std::string step_line(const Step& step, std::size_t key_width) {
  std::string detail;
  switch (step.state) {
    case StepState::ok:
      detail = summary::headline(step.key, *step.value);
      if (!step.item_errors.empty()) {
        detail += fmt::format("; {} unreadable (see error gate)", step.item_errors.size());
      }
      break;
    case StepState::error: detail = "(see error gate)"; break;
    case StepState::skipped: detail = step.note == "-" ? "" : "reason: " + step.note; break;
    case StepState::malformed: detail = step.note; break;
  }
  std::string line = fmt::format("  {:<{}}  {:<9}  {}", summary::clean(step.key), key_width,
                                 state_name(step.state), detail);
  line.erase(line.find_last_not_of(' ') + 1);
  return line;
}

void print_steps(const Json& artifact, const std::vector<Step>& steps, std::ostream& out) {
  const Json& window = *summary::member(artifact, "window");
  out << "day2 summary: window " << summary::time_of(window, "utc_start") << " → "
      << summary::time_of(window, "utc_end") << "\n\n";
  if (steps.empty()) {
    out << "  (no step_NN_* keys in the artifact)\n";
    return;
  }
  std::size_t key_width = 0;
  for (const auto& step : steps) { key_width = std::max(key_width, summary::clean(step.key).size()); }
  for (const auto& step : steps) { out << step_line(step, key_width) << '\n'; }
}

// Prints the gate and returns the exit status: 0 pass, 1 when any step holds an error or could
// not read one of its items.
int print_gate(const std::vector<Step>& steps, std::ostream& out) {
  std::vector<const Step*> errors;
  std::vector<const Step*> partial;
  std::vector<const Step*> malformed;
  for (const auto& step : steps) {
    if (step.state == StepState::error) { errors.push_back(&step); }
    if (!step.item_errors.empty()) { partial.push_back(&step); }
    if (step.state == StepState::malformed) { malformed.push_back(&step); }
  }
  if (errors.empty() && partial.empty()) {
    out << "Error gate: PASS (no step errors)\n";
  } else {
    out << "Error gate: FAIL — ";
    if (!errors.empty()) { out << errors.size() << " step(s) hold errors"; }
    if (!errors.empty() && !partial.empty()) { out << ", "; }
    if (!partial.empty()) { out << partial.size() << " step(s) could not read some items"; }
    out << ":\n";
    for (const Step* step : errors) { out << "  " << summary::clean(step->key) << ": " << step->note << '\n'; }
    for (const Step* step : partial) {
      for (const auto& item : step->item_errors) { out << "  " << summary::clean(step->key) << ": " << item << '\n'; }
    }
    out << "These signals are missing from the timeline: re-run `day2 collect` before drawing "
           "conclusions that depend on them.\n";
  }
  for (const Step* step : malformed) {
    out << "Warning: " << summary::clean(step->key) << " is malformed (" << step->note
        << "); its signals are unreadable.\n";
  }
  return errors.empty() && partial.empty() ? 0 : 1;
}

std::optional<double> window_start(const Json& artifact) {
  auto start = recorder::get_string(*summary::member(artifact, "window"), "utc_start");
  if (!start) { return std::nullopt; }
  auto instant = recorder::parse_rfc3339(*start);
  if (!instant) { return std::nullopt; }
  return recorder::to_epoch_seconds(*instant);
}

// A count of step 01 as a number: a non-negative integer member, else the length of the list
// member, else null (as the text's count_text, which prints "?").
rapidjson::Value count_json(const Json* step, const char* key, const char* list) {
  if (step == nullptr) { return rapidjson::Value(); }
  if (auto n = recorder::get_number(*step, key); n && *n >= 0 && *n == std::floor(*n)) { return rapidjson::Value(*n); }
  if (list != nullptr) {
    if (const Json* array = recorder::get_array(*step, list)) { return rapidjson::Value(static_cast<double>(array->Size())); }
  }
  return rapidjson::Value();
}

int print_json(const Json& artifact, const std::vector<Step>& steps, std::ostream& out) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  const Json& window = *summary::member(artifact, "window");
  rapidjson::Value w(rapidjson::kObjectType);
  w.AddMember("start", recorder::json_string(summary::time_of(window, "utc_start"), a), a);
  w.AddMember("end", recorder::json_string(summary::time_of(window, "utc_end"), a), a);
  doc.AddMember("window", w, a);
  rapidjson::Value list(rapidjson::kArrayType);
  rapidjson::Value errors(rapidjson::kArrayType);
  rapidjson::Value unreadable(rapidjson::kArrayType);
  const Json* step01 = nullptr;
  for (const auto& step : steps) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("key", recorder::json_string(step.key, a), a);
    row.AddMember("state", recorder::json_string(step.state == StepState::error ? "error" : state_name(step.state), a), a);
    row.AddMember("headline", step.state == StepState::ok ? recorder::json_string(summary::headline(step.key, *step.value), a)
                                                          : rapidjson::Value(), a);
    row.AddMember("note", step.state == StepState::ok ? rapidjson::Value() : recorder::json_string(step.note, a), a);
    rapidjson::Value items(rapidjson::kArrayType);
    for (const auto& item : step.item_errors) {
      items.PushBack(recorder::json_string(item, a), a);
      unreadable.PushBack(recorder::json_string(step.key + ": " + item, a), a);
    }
    row.AddMember("itemErrors", items, a);
    if (step.state == StepState::error) errors.PushBack(recorder::json_string(step.key + ": " + step.note, a), a);
    if (step.key == step_key(StepId::failed_runs) && step.state == StepState::ok) step01 = step.value;
    list.PushBack(row, a);
  }
  doc.AddMember("steps", list, a);
  rapidjson::Value runs(rapidjson::kObjectType);
  runs.AddMember("failed", count_json(step01, "failureCount", "failures"), a);
  runs.AddMember("succeeded", count_json(step01, "successCount", "successRunIds"), a);
  runs.AddMember("canceled", count_json(step01, "canceledCount", nullptr), a);
  doc.AddMember("runs", runs, a);
  bool pass = errors.Empty() && unreadable.Empty();
  rapidjson::Value gate(rapidjson::kObjectType);
  gate.AddMember("pass", pass, a);
  gate.AddMember("errors", errors, a);
  gate.AddMember("unreadable", unreadable, a);
  doc.AddMember("gate", gate, a);
  out << recorder::write_json(doc, recorder::Pretty::yes);
  return pass ? 0 : 1;
}

}  // namespace

int summarize(const std::string& path, Details details, std::ostream& out, std::ostream& err) {
  return summarize(path, SummarizeOptions{details, SummaryFormat::text, ""}, out, err);
}

int summarize(const std::string& path, const SummarizeOptions& options, std::ostream& out, std::ostream& err) {
  std::optional<recorder::Zone> zone;
  if (!options.timezone.empty()) {
    auto found = recorder::Zone::find(options.timezone);
    if (!found) {
      err << k_tool << ": error: --tz: " << found.error().message << '\n';
      return 2;
    }
    zone = *found;
  }
  summary::DisplayZone display(zone ? &*zone : nullptr);
  Details details = options.details;
  auto document = read_artifact_file(path);
  if (!document) {
    err << k_tool << ": error: " << document.error().message << '\n';
    return 2;
  }
  const Json& artifact = *document;
  auto steps = find_steps(artifact);
  if (options.format == SummaryFormat::json) return print_json(artifact, steps, out);
  print_steps(artifact, steps, out);
  if (details == Details::yes) {
    out << '\n';
    summary::print_details(steps, window_start(artifact), out);
  }
  out << '\n';
  return print_gate(steps, out);
}

}  // namespace analyzer
