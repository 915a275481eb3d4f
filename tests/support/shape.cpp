#include "support/shape.hpp"

#include <fmt/format.h>

#include <map>
#include <set>
#include <sstream>

namespace day2test {

namespace {

using Value = rapidjson::Value;
using Refs = std::vector<const Value*>;

std::string type_name(const Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "boolean";
  if (v.IsNumber()) return "number";
  if (v.IsString()) return "string";
  if (v.IsArray()) return "array";
  return "object";
}

std::string typename_of(const Value& v) {
  auto it = v.FindMember("__typename");
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

void compare(const Value& actual, const Refs& refs, const std::string& at, std::vector<std::string>& out);

void compare_object(const Value& actual, const Refs& objects, const std::string& at, std::vector<std::string>& out) {
  Refs same = objects;
  if (std::string name = typename_of(actual); !name.empty()) {
    Refs typed;
    for (const Value* r : objects) {
      if (typename_of(*r) == name) typed.push_back(r);
    }
    if (!typed.empty()) same = typed;
  }
  for (const auto& m : actual.GetObject()) {
    Refs values;
    for (const Value* r : same) {
      auto it = r->FindMember(m.name.GetString());
      if (it != r->MemberEnd()) values.push_back(&it->value);
    }
    std::string path = at + "/" + m.name.GetString();
    if (values.empty()) out.push_back(path + ": not in the recorded responses");
    else compare(m.value, values, path, out);
  }
  std::set<std::string> common;
  for (std::size_t i = 0; i < same.size(); ++i) {
    std::set<std::string> keys;
    for (const auto& m : same[i]->GetObject()) {
      if (i == 0 || common.contains(m.name.GetString())) keys.insert(m.name.GetString());
    }
    common = keys;
  }
  for (const auto& key : common) {
    if (!actual.HasMember(key.c_str())) out.push_back(at + "/" + key + ": missing (every recorded response has it)");
  }
}

void compare(const Value& actual, const Refs& refs, const std::string& at, std::vector<std::string>& out) {
  if (actual.IsNull()) return;
  Refs typed;
  bool only_null = true;
  for (const Value* r : refs) {
    if (!r->IsNull()) only_null = false;
    if (!r->IsNull() && type_name(*r) == type_name(actual)) typed.push_back(r);
  }
  if (only_null) return;
  if (typed.empty()) {
    out.push_back(fmt::format("{}: {} where the recorded responses hold {}", at.empty() ? "/" : at, type_name(actual),
                              type_name(refs.front()->IsNull() ? *refs.back() : *refs.front())));
    return;
  }
  if (actual.IsObject()) return compare_object(actual, typed, at, out);
  if (!actual.IsArray()) return;
  Refs elements;
  for (const Value* r : typed) {
    for (const auto& e : r->GetArray()) elements.push_back(&e);
  }
  if (elements.empty()) return;  // only empty lists recorded: nothing to compare with
  for (rapidjson::SizeType i = 0; i < actual.Size(); ++i) compare(actual[i], elements, fmt::format("{}/{}", at, i), out);
}

const Value* find_schema(const Value& discovery, const std::string& id) {
  auto schemas = discovery.FindMember("schemas");
  if (schemas == discovery.MemberEnd()) return nullptr;
  auto it = schemas->value.FindMember(id.c_str());
  return it == schemas->value.MemberEnd() ? nullptr : &it->value;
}

std::string str(const Value& schema, const char* key) {
  auto it = schema.FindMember(key);
  return it != schema.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

void validate(const Value& v, const Value& schema, const Value& discovery, const std::string& at,
              std::vector<std::string>& out, int depth) {
  if (depth > 64) return;
  if (std::string ref = str(schema, "$ref"); !ref.empty()) {
    const Value* target = find_schema(discovery, ref);
    if (!target) return out.push_back(at + ": unknown schema " + ref);
    return validate(v, *target, discovery, at, out, depth + 1);
  }
  std::string type = str(schema, "type"), format = str(schema, "format");
  std::string where = at.empty() ? "/" : at;
  if (type == "any" || type.empty()) return;
  if (type == "string") {
    if (!v.IsString()) return out.push_back(where + ": must be a string, got " + type_name(v));
    if (format == "int64" || format == "uint64") {
      std::string s = v.GetString();
      bool digits = !s.empty() && s.find_first_not_of("-0123456789") == std::string::npos;
      if (!digits) out.push_back(where + ": must be a decimal int64 string, got \"" + s + "\"");
    }
    auto values = schema.FindMember("enum");
    if (values != schema.MemberEnd() && values->value.IsArray()) {
      bool known = false;
      for (const auto& e : values->value.GetArray()) known = known || (e.IsString() && v.GetString() == std::string(e.GetString()));
      if (!known) out.push_back(where + ": \"" + v.GetString() + "\" is not in the enum");
    }
    return;
  }
  if (type == "integer") {
    if (!v.IsInt64() && !v.IsUint64()) out.push_back(where + ": must be an integer, got " + type_name(v));
    return;
  }
  if (type == "number") {
    if (!v.IsNumber()) out.push_back(where + ": must be a number, got " + type_name(v));
    return;
  }
  if (type == "boolean") {
    if (!v.IsBool()) out.push_back(where + ": must be a boolean, got " + type_name(v));
    return;
  }
  if (type == "array") {
    if (!v.IsArray()) return out.push_back(where + ": must be an array, got " + type_name(v));
    auto items = schema.FindMember("items");
    if (items == schema.MemberEnd()) return;
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      validate(v[i], items->value, discovery, fmt::format("{}/{}", at, i), out, depth + 1);
    }
    return;
  }
  if (type != "object") return out.push_back(where + ": unknown schema type " + type);
  if (!v.IsObject()) return out.push_back(where + ": must be an object, got " + type_name(v));
  auto properties = schema.FindMember("properties");
  auto additional = schema.FindMember("additionalProperties");
  for (const auto& m : v.GetObject()) {
    std::string path = at + "/" + m.name.GetString();
    if (properties != schema.MemberEnd()) {
      auto p = properties->value.FindMember(m.name.GetString());
      if (p != properties->value.MemberEnd()) {
        validate(m.value, p->value, discovery, path, out, depth + 1);
        continue;
      }
    }
    if (additional != schema.MemberEnd()) validate(m.value, additional->value, discovery, path, out, depth + 1);
    else out.push_back(path + ": not a property of the schema");
  }
}

std::string find_method(const Value& node, const std::string& method_id) {
  if (!node.IsObject()) return "";
  if (auto methods = node.FindMember("methods"); methods != node.MemberEnd() && methods->value.IsObject()) {
    for (const auto& m : methods->value.GetObject()) {
      if (str(m.value, "id") != method_id) continue;
      auto response = m.value.FindMember("response");
      return response == m.value.MemberEnd() ? "" : str(response->value, "$ref");
    }
  }
  if (auto resources = node.FindMember("resources"); resources != node.MemberEnd() && resources->value.IsObject()) {
    for (const auto& r : resources->value.GetObject()) {
      if (auto found = find_method(r.value, method_id); !found.empty()) return found;
    }
  }
  return "";
}

}  // namespace

std::vector<std::string> shape_differences(const Value& actual, const std::vector<const Value*>& references) {
  std::vector<std::string> out;
  if (references.empty()) return {"/: no recorded response to compare with"};
  compare(actual, references, "", out);
  return out;
}

std::vector<std::string> schema_differences(const Value& value, const Value& discovery, const std::string& schema_id) {
  std::vector<std::string> out;
  const Value* schema = find_schema(discovery, schema_id);
  if (!schema) return {"unknown schema " + schema_id};
  validate(value, *schema, discovery, "", out, 0);
  return out;
}

std::string response_schema(const Value& discovery, const std::string& method_id) {
  return find_method(discovery, method_id);
}

namespace {

// The SDL's object types (field -> type text such as "[TimestampedError!]!") and enums (values).
struct Sdl {
  std::map<std::string, std::map<std::string, std::string>> types;
  std::map<std::string, std::set<std::string>> enums;
  std::map<std::string, std::set<std::string>> unions;  // union -> its member types
};

// "union X = A | B" (members on that line, or on following lines starting with "|").
void read_union_members(std::string_view text, std::set<std::string>& members) {
  std::istringstream words{std::string(text)};
  std::string word;
  while (words >> word) {
    if (word != "|" && word != "=") members.insert(word);
  }
}

Sdl read_sdl(const std::string& text) {
  Sdl sdl;
  std::istringstream lines(text);
  std::string line, kind, name;
  bool in_block = false, in_doc = false;
  while (std::getline(lines, line)) {
    auto first = line.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    std::string trimmed = line.substr(first);
    if (trimmed.rfind("\"\"\"", 0) == 0) {  // a doc string: skip to its end
      bool closes = trimmed.size() > 3 && trimmed.find("\"\"\"", 3) != std::string::npos;
      if (!closes) in_doc = !in_doc;
      continue;
    }
    if (in_doc) continue;
    if (!in_block && trimmed.rfind("union ", 0) == 0) {
      std::istringstream words(trimmed);
      words >> kind >> name;
      auto equals = trimmed.find('=');
      read_union_members(equals == std::string::npos ? "" : trimmed.substr(equals + 1), sdl.unions[name]);
      continue;
    }
    if (!in_block && kind == "union" && trimmed.front() == '|') {
      read_union_members(trimmed, sdl.unions[name]);
      continue;
    }
    if (!in_block) {
      std::istringstream words(trimmed);
      words >> kind >> name;
      in_block = (kind == "type" || kind == "enum" || kind == "interface" || kind == "input") && trimmed.back() == '{';
      continue;
    }
    if (trimmed == "}") {
      in_block = false;
      continue;
    }
    if (kind == "enum") {
      sdl.enums[name].insert(trimmed);
      continue;
    }
    if (auto directive = trimmed.find(" @"); directive != std::string::npos) trimmed.erase(directive);
    auto paren = trimmed.find('(');
    auto colon = trimmed.rfind(':');
    if (colon == std::string::npos) continue;
    std::string field = trimmed.substr(0, std::min(paren, trimmed.find(':')));
    sdl.types[name][field] = trimmed.substr(colon + 2);
  }
  return sdl;
}

void check_graphql(const Value& v, std::string type, const Sdl& sdl, const std::string& at, std::vector<std::string>& out) {
  bool required = !type.empty() && type.back() == '!';
  if (required) type.pop_back();
  if (v.IsNull()) {
    if (required) out.push_back(at + ": null for the non-null type " + type + "!");
    return;
  }
  if (type.front() == '[') {
    if (!v.IsArray()) return out.push_back(at + ": " + type_name(v) + " where the schema has the list " + type);
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      check_graphql(v[i], type.substr(1, type.size() - 2), sdl, fmt::format("{}/{}", at, i), out);
    }
    return;
  }
  static const std::map<std::string, std::string> scalars = {
      {"String", "string"}, {"ID", "string"}, {"Float", "number"}, {"Int", "number"}, {"Boolean", "boolean"}};
  if (auto scalar = scalars.find(type); scalar != scalars.end()) {
    if (type_name(v) != scalar->second || (type == "Int" && !v.IsInt64())) {
      out.push_back(at + ": " + type_name(v) + " where the schema has " + type);
    }
    return;
  }
  if (auto e = sdl.enums.find(type); e != sdl.enums.end()) {
    if (!v.IsString() || !e->second.contains(v.GetString())) out.push_back(at + ": not a value of the enum " + type);
    return;
  }
  if (auto u = sdl.unions.find(type); u != sdl.unions.end()) {  // the member __typename names
    auto member = v.IsObject() && v.HasMember("__typename") && v["__typename"].IsString() ? v["__typename"].GetString() : "";
    if (!u->second.contains(member)) return out.push_back(at + ": no member of the union " + type + " in __typename");
    type = member;
  }
  auto t = sdl.types.find(type);
  if (t == sdl.types.end()) return out.push_back(at + ": the schema has no type " + type);
  if (!v.IsObject()) return out.push_back(at + ": " + type_name(v) + " where the schema has the object " + type);
  for (const auto& m : v.GetObject()) {
    std::string field = m.name.GetString();
    if (field == "__typename") continue;
    auto f = t->second.find(field);
    if (f == t->second.end()) {
      out.push_back(at + "/" + field + ": not a field of " + type);
    } else {
      check_graphql(m.value, f->second, sdl, at + "/" + field, out);
    }
  }
}

}  // namespace

std::vector<std::string> graphql_differences(const rapidjson::Value& value, const std::string& sdl_text,
                                             const std::string& type_name_in) {
  std::vector<std::string> out;
  check_graphql(value, type_name_in, read_sdl(sdl_text), "", out);
  return out;
}

}  // namespace day2test
