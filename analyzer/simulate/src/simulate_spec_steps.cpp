// A scenario spec's steps besides a run's failing one ("upstream", "downstream") and its claims about
// the investigation commands ("investigations"), docs/scenarios.md.
#include <fmt/format.h>
#include <rapidjson/pointer.h>

#include <algorithm>
#include <set>

#include "analyzer/investigate/investigate.hpp"
#include "recorder/base/json.hpp"
#include "simulate_spec_util.hpp"

namespace analyzer::sim::spec {

namespace {

constexpr std::size_t k_most_steps = 10;

// An array of distinct non-empty texts at `key` (at most `most`).
std::vector<std::string> texts(const Value& v, const std::string& at, const char* key, std::size_t most) {
  const auto& list = array(v, at, key);
  if (list.Size() > most) throw SpecError{fmt::format("{}/{}", at, key), fmt::format("at most {} entries", most)};
  std::vector<std::string> out;
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
    std::string p = fmt::format("{}/{}/{}", at, key, i);
    if (!list[i].IsString() || list[i].GetStringLength() == 0) throw SpecError{p, "must be a non-empty text"};
    std::string text(list[i].GetString(), list[i].GetStringLength());
    if (std::find(out.begin(), out.end(), text) != out.end()) throw SpecError{p, fmt::format("\"{}\" is given twice", text)};
    out.push_back(std::move(text));
  }
  return out;
}

bool step_failed(FailureMode mode) {
  return mode == FailureMode::user_code_error || mode == FailureMode::connection_error ||
         mode == FailureMode::k8s_api_error || mode == FailureMode::prestart_kill || mode == FailureMode::backoff_limit;
}

// One claim of "investigations": {"command" (required), "values", "mentions", "omits"}.
std::vector<std::string> investigation(const Value& v, const std::string& at, const World& world) {
  check_keys(v, at, {"command", "values", "mentions", "omits"});
  auto command = texts(v, at, "command", 3);
  if (command.empty()) throw SpecError{at, "\"command\" is required"};
  if (auto ok = check_investigation(command); !ok) throw SpecError{at + "/command", ok.error().message};
  for (std::size_t i = 1; i < command.size(); ++i) {
    bool known = std::any_of(world.runs.begin(), world.runs.end(), [&](const Run& r) { return r.id == command[i]; });
    if (!known) throw SpecError{fmt::format("{}/command/{}", at, i), "names a run id that no run of the spec has"};
  }
  std::size_t claims = texts(v, at, "mentions", 100).size() + texts(v, at, "omits", 100).size();
  if (const Value* values = member(v, "values")) {
    if (!values->IsObject()) throw SpecError{at + "/values", "must be an object of JSON pointers to values"};
    for (const auto& claim : values->GetObject()) {
      rapidjson::Pointer pointer(claim.name.GetString(), claim.name.GetStringLength());
      if (!pointer.IsValid() || claim.name.GetStringLength() == 0) {
        throw SpecError{at + "/values", fmt::format("\"{}\" is not a JSON pointer (\"/a/0/b\")", claim.name.GetString())};
      }
      ++claims;
    }
  }
  if (claims == 0) throw SpecError{at, "claims nothing: give \"values\", \"mentions\" or \"omits\""};
  return command;
}

}  // namespace

void read_run_steps(const Value& v, const std::string& at, Run& r) {
  r.upstream = texts(v, at, "upstream", k_most_steps);
  r.downstream = texts(v, at, "downstream", k_most_steps);
  for (const auto* list : {&r.upstream, &r.downstream}) {
    if (std::find(list->begin(), list->end(), r.step) != list->end()) {
      throw SpecError{at, fmt::format("step \"{}\" is the run's own step", r.step)};
    }
  }
  for (const auto& key : r.upstream) {
    if (std::find(r.downstream.begin(), r.downstream.end(), key) != r.downstream.end()) {
      throw SpecError{at + "/downstream", fmt::format("step \"{}\" is upstream too", key)};
    }
  }
  bool ran = r.status == "SUCCESS" || (r.status == "FAILURE" && step_failed(r.mode));
  if ((!r.upstream.empty() || !r.downstream.empty()) && !ran) {
    throw SpecError{at, "steps besides \"step\" need a run that succeeded or whose step failed (user_code_error, "
                        "connection_error, k8s_api_error, prestart_kill, backoff_limit)"};
  }
}

void read_investigations(const Value& doc, World& world) {
  const auto& list = array(doc, "", "investigations");
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
    world.investigation_commands.push_back(investigation(list[i], fmt::format("/investigations/{}", i), world));
  }
  if (list.Size() > 0) world.investigations = recorder::write_json(list);
}

}  // namespace analyzer::sim::spec
