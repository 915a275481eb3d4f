// What regress reads from the JSON report and from expected.json alike, and its investigations'
// claims (regress_investigations.cpp). Private to analyzer/regress/src.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analyzer/regress/regress.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/result.hpp"

namespace analyzer::regress {

using Texts = std::vector<std::pair<std::string, std::string>>;  // (JSON pointer, string)

// `object[key]` when it is a non-empty string, else `fallback`.
inline std::string text_or(const rapidjson::Value& object, const char* key, std::string fallback) {
  auto text = recorder::get_string(object, key);
  return text && !text->empty() ? *text : fallback;
}

// Every string value under `value`, with its JSON pointer, in document order.
void collect_texts(const rapidjson::Value& value, const std::string& pointer, Texts& out);
// The first (pointer, string) of `texts` whose string contains `text`, or nullopt.
std::optional<std::pair<std::string, std::string>> find_text(const Texts& texts, const std::string& text);

// "compare A B": an investigation's command as expected.json names it and the outcome keys it.
std::string command_text(const std::vector<std::string>& command);
// expected.json's "investigations" (absent: none); an Error names `file` and the claim.
recorder::Result<std::vector<InvestigationClaim>> read_investigations(const rapidjson::Value& doc, const std::string& file);
// Runs `day2 <command> --json <replay_args>` in process (the investigation commands only).
InvestigationOutput run_investigation(const std::vector<std::string>& command, const std::vector<std::string>& replay_args);
// The claims that do not hold, one line each.
void compare_investigations(const std::vector<InvestigationClaim>& claims, const Outcome& actual,
                            std::vector<std::string>& out);
// The claims of `previous` that still hold, as "investigations" of `doc` (for --update); an
// investigation none of whose claims holds is left out.
void add_investigations(const std::vector<InvestigationClaim>& previous, const Outcome& outcome, rapidjson::Document& doc);

}  // namespace analyzer::regress
