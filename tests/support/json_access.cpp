#include "support/json_access.hpp"

#include <rapidjson/pointer.h>

#include <limits>

namespace day2test {

const rapidjson::Value* find_at(const rapidjson::Value& root, std::string_view pointer) {
  rapidjson::Pointer parsed(pointer.data(), pointer.size());
  if (!parsed.IsValid()) return nullptr;
  return parsed.Get(root);
}

std::string json_at(const rapidjson::Value& root, std::string_view pointer) {
  const auto* value = find_at(root, pointer);
  return value ? recorder::write_json(*value) : "<missing " + std::string(pointer) + ">";
}

std::string text_at(const rapidjson::Value& root, std::string_view pointer) {
  const auto* value = find_at(root, pointer);
  if (!value || !value->IsString()) return "<not a string: " + std::string(pointer) + ">";
  return {value->GetString(), value->GetStringLength()};
}

double number_at(const rapidjson::Value& root, std::string_view pointer) {
  const auto* value = find_at(root, pointer);
  if (!value || !value->IsNumber()) return std::numeric_limits<double>::quiet_NaN();
  return value->GetDouble();
}

std::vector<std::string> strings_at(const rapidjson::Value& root, std::string_view pointer) {
  const auto* value = find_at(root, pointer);
  if (!value || !value->IsArray()) return {"<not an array: " + std::string(pointer) + ">"};
  std::vector<std::string> out;
  for (const auto& item : value->GetArray()) {
    out.push_back(item.IsString() ? std::string(item.GetString(), item.GetStringLength()) : "<not a string>");
  }
  return out;
}

std::size_t size_at(const rapidjson::Value& root, std::string_view pointer) {
  const auto* value = find_at(root, pointer);
  if (value && value->IsArray()) return value->Size();
  if (value && value->IsObject()) return value->MemberCount();
  return 0;
}

}  // namespace day2test
