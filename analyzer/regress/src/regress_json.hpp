// What regress reads from the JSON report and from expected.json alike.
#pragma once

#include <string>

#include "recorder/base/json.hpp"

namespace analyzer::regress {

// `object[key]` when it is a non-empty string, else `fallback`.
inline std::string text_or(const rapidjson::Value& object, const char* key, std::string fallback) {
  auto text = recorder::get_string(object, key);
  return text && !text->empty() ? *text : fallback;
}

}  // namespace analyzer::regress
