// Step 05: the code locations that failed to load, with their Python errors.
#include "collect_helpers.hpp"

namespace analyzer {

using recorder::make_error;

StepResult step_load_failures(StepContext& context) {
  auto data = context.client.query("CodeLocations");
  if (!data) return data.error();
  const auto* workspace = recorder::get_object(*data, "workspaceOrError");
  if (!workspace) return make_error("CodeLocations: workspaceOrError is missing");
  if (auto ok = check_union(*workspace, "CodeLocations", "Workspace"); !ok) return ok.error();
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value failures(rapidjson::kArrayType);
  int total = 0;
  if (const auto* entries = recorder::get_array(*workspace, "locationEntries")) {
    for (const auto& entry : entries->GetArray()) {
      ++total;
      const auto* location = recorder::get_object(entry, "locationOrLoadError");
      if (!location || recorder::get_string(*location, "__typename") != "PythonError") continue;
      rapidjson::Value failure(rapidjson::kObjectType);
      failure.AddMember("location", string_value(recorder::get_string(entry, "name").value_or(""), a), a);
      failure.AddMember("loadStatus", string_value(recorder::get_string(entry, "loadStatus").value_or(""), a), a);
      failure.AddMember("updatedTimestamp", nullable_number(entry, "updatedTimestamp"), a);
      failure.AddMember("errorClass", string_value(recorder::get_string(*location, "className").value_or(""), a), a);
      failure.AddMember("error", string_value(python_error_text(*location), a), a);
      failure.AddMember("errorChainTop", string_value(error_chain_top(*location), a), a);
      failures.PushBack(failure, a);
    }
  }
  out.AddMember("locationCount", total, a);
  out.AddMember("loadFailures", failures, a);
  return out;
}

}  // namespace analyzer
