// day2 regress: expected.json's "investigations", claims about what `day2 steps` and `day2 compare`
// print (--json) for the runs of a scenario, checked against the scenario's own bundle
// (docs/scenarios.md).
#include <fmt/format.h>
#include <rapidjson/pointer.h>

#include <array>
#include <sstream>

#include "analyzer/investigate/investigate.hpp"
#include "recorder/base/command.hpp"
#include "recorder/base/text.hpp"
#include "regress_json.hpp"

namespace analyzer::regress {

using recorder::make_error;
using recorder::Result;

void collect_texts(const rapidjson::Value& value, const std::string& pointer, Texts& out) {
  if (value.IsString()) {
    out.emplace_back(pointer, std::string(value.GetString(), value.GetStringLength()));
  } else if (value.IsArray()) {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) collect_texts(value[i], fmt::format("{}/{}", pointer, i), out);
  } else if (value.IsObject()) {
    for (const auto& member : value.GetObject()) {
      std::string token;  // RFC 6901: "~" is "~0", "/" is "~1"
      for (char c : std::string_view(member.name.GetString(), member.name.GetStringLength())) {
        token += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
      }
      collect_texts(member.value, pointer + "/" + token, out);
    }
  }
}

std::optional<std::pair<std::string, std::string>> find_text(const Texts& texts, const std::string& text) {
  for (const auto& [pointer, value] : texts) {
    if (value.find(text) != std::string::npos) return std::pair{pointer, value};
  }
  return std::nullopt;
}

std::string command_text(const std::vector<std::string>& command) { return fmt::format("{}", fmt::join(command, " ")); }

namespace {

// A non-empty array of strings, or an Error naming `where`.
Result<std::vector<std::string>> strings(const rapidjson::Value& value, const std::string& where) {
  std::vector<std::string> out;
  if (!value.IsArray()) return make_error(fmt::format("{} is not an array of texts", where));
  for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
    if (!value[i].IsString() || value[i].GetStringLength() == 0) {
      return make_error(fmt::format("{}[{}]: expected a non-empty text", where, i));
    }
    out.emplace_back(value[i].GetString(), value[i].GetStringLength());
  }
  return out;
}

Result<InvestigationClaim> read_claim(const rapidjson::Value& item, const std::string& where) {
  if (!item.IsObject()) return make_error(fmt::format("{}: expected an object (\"command\", \"values\", \"mentions\", \"omits\")", where));
  InvestigationClaim claim;
  for (const auto& member : item.GetObject()) {
    std::string key(member.name.GetString(), member.name.GetStringLength());
    std::string at = where + "." + key;
    if (key == "command" || key == "mentions" || key == "omits") {
      auto list = strings(member.value, at);
      if (!list) return list.error();
      if (key == "command") claim.command = std::move(*list);
      else (key == "mentions" ? claim.mentions : claim.omits).insert(list->begin(), list->end());
    } else if (key == "values") {
      if (!member.value.IsObject()) return make_error(fmt::format("{} is not an object (JSON pointer -> value)", at));
      for (const auto& value : member.value.GetObject()) {
        std::string pointer(value.name.GetString(), value.name.GetStringLength());
        if (pointer.empty() || !rapidjson::Pointer(pointer.c_str(), pointer.size()).IsValid()) {
          return make_error(fmt::format("{}: \"{}\" is not a JSON pointer (\"/a/0/b\")", at, pointer));
        }
        claim.values[pointer] = recorder::write_json(value.value);
      }
    } else {
      constexpr std::array<std::string_view, 4> k_keys{"command", "values", "mentions", "omits"};
      return make_error(fmt::format("{}: {}", where, recorder::unknown_name("key", key, k_keys)));
    }
  }
  if (auto ok = check_investigation(claim.command); !ok) return make_error(fmt::format("{}.command: {}", where, ok.error().message));
  if (claim.values.empty() && claim.mentions.empty() && claim.omits.empty()) {
    return make_error(fmt::format("{}: claims nothing (\"values\", \"mentions\", \"omits\")", where));
  }
  return claim;
}

// The canonical JSON text at `pointer` of `doc`, or nullopt when nothing is there.
std::optional<std::string> value_at(const rapidjson::Document& doc, const std::string& pointer) {
  const auto* found = rapidjson::Pointer(pointer.c_str(), pointer.size()).Get(doc);
  return found ? std::optional(recorder::write_json(*found)) : std::nullopt;
}

// The claims of `claim` that `output` fails (all of them, stated once, when it has no output), or,
// with `holding`, the part of the claim that holds.
std::vector<std::string> failed_claims(const InvestigationClaim& claim, const InvestigationOutput* output,
                                       InvestigationClaim* holding) {
  std::string name = "investigation `" + command_text(claim.command) + "`";
  if (output == nullptr) return {name + ": not run"};
  if (!output->error.empty()) return {name + ": " + output->error};
  rapidjson::Document doc;
  doc.Parse(output->json.c_str());
  std::vector<std::string> out;
  for (const auto& [pointer, expected] : claim.values) {
    auto actual = doc.HasParseError() ? std::nullopt : value_at(doc, pointer);
    if (actual == expected) {
      if (holding) holding->values[pointer] = expected;
      continue;
    }
    out.push_back(fmt::format("{}: {}: expected {}, got {}", name, pointer, expected, actual.value_or("nothing")));
  }
  for (const auto& text : claim.mentions) {
    if (!find_text(output->texts, text)) out.push_back(fmt::format("{}: mentions \"{}\": no text of it does", name, text));
    else if (holding) holding->mentions.insert(text);
  }
  for (const auto& text : claim.omits) {
    if (auto found = find_text(output->texts, text)) out.push_back(fmt::format("{}: omits \"{}\": it is in {}", name, text, found->first));
    else if (holding) holding->omits.insert(text);
  }
  return out;
}

rapidjson::Value texts_json(const std::set<std::string>& texts, rapidjson::Document::AllocatorType& a) {
  rapidjson::Value out(rapidjson::kArrayType);
  for (const auto& text : texts) out.PushBack(recorder::json_string(text, a), a);
  return out;
}

}  // namespace

Result<std::vector<InvestigationClaim>> read_investigations(const rapidjson::Value& doc, const std::string& file) {
  std::vector<InvestigationClaim> out;
  if (!doc.HasMember("investigations")) return out;
  const auto* list = recorder::get_array(doc, "investigations");
  if (list == nullptr) return make_error(fmt::format("{}: \"investigations\" is not an array", file));
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    auto claim = read_claim((*list)[i], fmt::format("{}: investigations[{}]", file, i));
    if (!claim) return claim.error();
    out.push_back(std::move(*claim));
  }
  return out;
}

InvestigationOutput run_investigation(const std::vector<std::string>& command, const std::vector<std::string>& replay_args) {
  std::vector<std::string> args = command;
  args.push_back("--json");
  args.insert(args.end(), replay_args.begin(), replay_args.end());
  std::ostringstream out, err;
  InvestigationOutput output;
  if (int code = recorder::run_commands(investigate_commands(), args, out, err); code != 0) {
    std::string message = err.str();
    message = message.substr(0, message.find('\n'));
    output.error = fmt::format("exited {}: {}", code, message.empty() ? "(no message)" : message);
    return output;
  }
  output.json = out.str();
  auto doc = recorder::parse_json(output.json, command_text(command));
  if (!doc) {
    output.error = doc.error().message;
    return output;
  }
  collect_texts(*doc, "", output.texts);
  return output;
}

void compare_investigations(const std::vector<InvestigationClaim>& claims, const Outcome& actual,
                            std::vector<std::string>& out) {
  for (const auto& claim : claims) {
    auto found = actual.investigations.find(command_text(claim.command));
    auto failed = failed_claims(claim, found == actual.investigations.end() ? nullptr : &found->second, nullptr);
    out.insert(out.end(), failed.begin(), failed.end());
  }
}

void add_investigations(const std::vector<InvestigationClaim>& previous, const Outcome& outcome, rapidjson::Document& doc) {
  auto& a = doc.GetAllocator();
  rapidjson::Value list(rapidjson::kArrayType);
  for (const auto& claim : previous) {
    InvestigationClaim holding;
    auto found = outcome.investigations.find(command_text(claim.command));
    (void)failed_claims(claim, found == outcome.investigations.end() ? nullptr : &found->second, &holding);
    if (holding.values.empty() && holding.mentions.empty() && holding.omits.empty()) continue;
    rapidjson::Value item(rapidjson::kObjectType);
    rapidjson::Value command(rapidjson::kArrayType);
    for (const auto& word : claim.command) command.PushBack(recorder::json_string(word, a), a);
    item.AddMember("command", command, a);
    if (!holding.mentions.empty()) item.AddMember("mentions", texts_json(holding.mentions, a), a);
    if (!holding.omits.empty()) item.AddMember("omits", texts_json(holding.omits, a), a);
    if (!holding.values.empty()) {
      rapidjson::Value values(rapidjson::kObjectType);
      for (const auto& [pointer, text] : holding.values) {
        rapidjson::Document value;
        value.Parse(text.c_str());  // written by write_json
        values.AddMember(recorder::json_string(pointer, a), rapidjson::Value(value, a), a);
      }
      item.AddMember("values", values, a);
    }
    list.PushBack(item, a);
  }
  if (!list.Empty()) doc.AddMember("investigations", list, a);
}

}  // namespace analyzer::regress
