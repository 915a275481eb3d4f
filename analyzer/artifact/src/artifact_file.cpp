#include "analyzer/artifact/artifact_file.hpp"

#include <fmt/format.h>

#include <string_view>

#include "analyzer/artifact/artifact.hpp"
#include "recorder/base/json.hpp"
#include "analyzer/artifact/fields.hpp"

namespace analyzer {

namespace {

using summary::Json;

// Real artifacts nest about ten levels. The limit keeps the recursive readers and writers of the
// commands that read an artifact far from the end of the stack on hostile input such as a megabyte
// of "[": the parse refuses the first bracket deeper than this.
constexpr std::size_t k_max_depth = 256;

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
  auto document = recorder::parse_json(*text, path, recorder::Comments::forbidden, k_max_depth);
  if (!document) { return document.error(); }
  if (auto shape = check_shape(*document); !shape) { return recorder::make_error(path + ": " + shape.error().message); }
  return document;
}

}  // namespace analyzer
