// Step 04: the assets with a freshness policy that are late or whose freshness is unknown, from the
// legacy policies and, where the server has them, the new-style ones.
#include <algorithm>
#include <future>
#include <set>

#include "collect_helpers.hpp"
#include "recorder/base/workers.hpp"

namespace analyzer {

using recorder::Result;

namespace {

// Field names of a schema type, from the TypeFields introspection probe.
Result<std::set<std::string>> type_fields(const DagsterClient& client, const char* type) {
  rapidjson::Document vars(rapidjson::kObjectType);
  vars.AddMember("name", rapidjson::StringRef(type), vars.GetAllocator());
  auto data = client.query("TypeFields", vars);
  if (!data) return data.error();
  std::set<std::string> names;
  const auto* info = recorder::get_object(*data, "__type");
  if (!info) return names;
  for (const char* list : {"fields", "inputFields"}) {
    if (const auto* fields = recorder::get_array(*info, list)) {
      for (const auto& field : fields->GetArray()) {
        if (auto name = recorder::get_string(field, "name")) names.insert(*name);
      }
    }
  }
  return names;
}

// Flags the late (or unknown) assets with a legacy freshness policy; returns how many have one.
int flag_legacy_policies(const rapidjson::Value& data, rapidjson::Value& flagged, Allocator& a) {
  int policies = 0;
  if (const auto* nodes = recorder::get_array(data, "assetNodes")) {
    for (const auto& node : nodes->GetArray()) {
      const auto* policy = recorder::get_object(node, "freshnessPolicy");
      if (!policy) continue;
      ++policies;
      const auto* info = recorder::get_object(node, "freshnessInfo");
      // Null lateness is "unknown" (never materialized, not evaluated), not "fresh".
      bool known = info && recorder::get_number(*info, "currentMinutesLate").has_value();
      double late = known ? number_or(*info, "currentMinutesLate", 0) : 0;
      if (known && late <= 0) continue;  // on time
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("asset", string_value(join_path(recorder::get_object(node, "assetKey")), a), a);
      item.AddMember("policy", "legacy", a);
      item.AddMember("state", rapidjson::StringRef(known ? "LATE" : "UNKNOWN"), a);
      item.AddMember("currentMinutesLate", known ? rapidjson::Value(late) : rapidjson::Value(), a);
      item.AddMember("maximumLagMinutes", nullable_number(*policy, "maximumLagMinutes"), a);
      flagged.PushBack(item, a);
    }
  }
  return policies;
}

// Flags the assets whose new-style policy is not HEALTHY (or not applicable); returns how many have one.
int flag_new_style_policies(const rapidjson::Value& data, rapidjson::Value& flagged, Allocator& a) {
  int policies = 0;
  if (const auto* nodes = recorder::get_array(data, "assetNodes")) {
    for (const auto& node : nodes->GetArray()) {
      const auto* policy = recorder::get_object(node, "internalFreshnessPolicy");
      if (!policy) continue;
      ++policies;
      const auto* status = recorder::get_object(node, "freshnessStatusInfo");
      auto state = status ? recorder::get_string(*status, "freshnessStatus").value_or("UNKNOWN") : "UNKNOWN";
      if (state == "HEALTHY" || state == "NOT_APPLICABLE") continue;
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("asset", string_value(join_path(recorder::get_object(node, "assetKey")), a), a);
      item.AddMember("policy", string_value(recorder::get_string(*policy, "__typename").value_or(""), a), a);
      item.AddMember("state", string_value(state, a), a);
      const auto* meta = status ? recorder::get_object(*status, "freshnessStatusMetadata") : nullptr;
      item.AddMember("lastMaterializedTimestamp",
                     meta ? nullable_number(*meta, "lastMaterializedTimestamp") : rapidjson::Value(), a);
      flagged.PushBack(item, a);
    }
  }
  return policies;
}

}  // namespace

StepResult step_freshness(StepContext& context) {
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value flagged(rapidjson::kArrayType);
  int policies = 0;

  // The legacy query and the probe for new-style policies are independent: send both at once.
  auto legacy_pending = recorder::run_async([&context, deadline = recorder::current_deadline()] {
    recorder::DeadlineScope scope(deadline);
    return context.client.query("FreshnessLegacy");
  });
  auto fields = type_fields(context.client, "AssetNode");
  auto legacy = legacy_pending.get();
  if (!legacy) return legacy.error();
  policies += flag_legacy_policies(*legacy, flagged, a);

  // New-style freshness policies exist only on newer servers: probe before asking.
  if (!fields) return fields.error();
  bool new_style = fields->contains("internalFreshnessPolicy") && fields->contains("freshnessStatusInfo");
  if (new_style) {
    auto current = context.client.query("FreshnessNew");
    if (!current) return current.error();
    policies += flag_new_style_policies(*current, flagged, a);
  }
  std::sort(flagged.Begin(), flagged.End(), [](const rapidjson::Value& x, const rapidjson::Value& y) {
    return std::string_view(x["asset"].GetString()) < std::string_view(y["asset"].GetString());
  });
  out.AddMember("flaggedAssets", flagged, a);
  out.AddMember("policyCount", policies, a);
  out.AddMember("newStylePoliciesSupported", new_style, a);
  return out;
}

}  // namespace analyzer
