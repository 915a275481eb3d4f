#include "analyzer/artifact/artifact_file.hpp"

#include <fmt/format.h>

#include <string_view>

#include "analyzer/artifact/artifact.hpp"
#include "recorder/base/json.hpp"
#include "analyzer/artifact/fields.hpp"

namespace analyzer {

namespace {

using summary::Json;

// Real artifacts nest about ten levels. The limit keeps rapidjson's recursive parser, and our
// recursive writer, far from the end of the stack on hostile input such as a megabyte of "[".
constexpr std::size_t k_max_depth = 256;

// Error naming `source:line:column` of the first bracket nested deeper than k_max_depth.
// The end of the string whose opening quote is at `open`: its closing quote (one not escaped by an
// odd run of backslashes), found with memchr, since most of an artifact's bytes are inside strings.
std::size_t string_end(std::string_view text, std::size_t open) {
  for (std::size_t from = open + 1;;) {
    std::size_t quote = text.find('"', from);
    if (quote == std::string_view::npos) return text.size();
    std::size_t backslashes = 0;
    while (quote - backslashes > open + 1 && text[quote - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return quote;
    from = quote + 1;
  }
}

recorder::Result<void> check_nesting(std::string_view text, std::string_view source) {
  std::size_t depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      i = string_end(text, i);
    } else if ((c == '[' || c == '{') && ++depth > k_max_depth) {
      auto at = recorder::position_of(text, i);
      return recorder::make_error(
          fmt::format("{}:{}:{}: nested deeper than {} levels", source, at.line, at.column, k_max_depth));
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return {};
}

// The artifact's outer shape; the error text follows "<file>: ".
recorder::Result<void> check_shape(const Json& artifact) {
  if (!artifact.IsObject()) {
    return recorder::make_error(fmt::format(
        "not a day2 artifact: the top-level value is {}, expected an object with \"window\" and "
        "step_NN_* keys",
        summary::type_name(artifact)));
  }
  const Json* window = summary::member(artifact, "window");
  if (window == nullptr) { return recorder::make_error("not a day2 artifact: no \"window\" key"); }
  if (!window->IsObject()) {
    return recorder::make_error(fmt::format("not a day2 artifact: \"window\" is {}, expected an object",
                                            summary::type_name(*window)));
  }
  // "artifactVersion": absent in the seed's own shape (version 1), else a version day2 knows.
  if (const Json* version = summary::member(artifact, "artifactVersion")) {
    if (!version->IsInt() || version->GetInt() < 1 || version->GetInt() > k_artifact_version) {
      return recorder::make_error(fmt::format("artifactVersion {} is not one this day2 reads (it reads 1 to {}{}); "
                                              "use the day2 that wrote it, or a newer one",
                                              recorder::write_json(*version), k_artifact_version,
                                              k_artifact_version == 1 ? ", and artifacts without a version" : ""));
    }
  }
  return {};
}

}  // namespace

recorder::Result<rapidjson::Document> read_artifact_file(const std::string& path) {
  auto text = recorder::read_file(path);
  if (!text) { return text.error(); }
  if (auto nesting = check_nesting(*text, path); !nesting) { return nesting.error(); }
  auto document = recorder::parse_json(*text, path);
  if (!document) { return document.error(); }
  if (auto shape = check_shape(*document); !shape) { return recorder::make_error(path + ": " + shape.error().message); }
  return document;
}

}  // namespace analyzer
