// The artifact's readers: read_artifact_file and the summarizer over it (text, details and JSON):
// any file gives a summary or exit 2 with a message naming the file, never a crash.
#include <sstream>

#include "analyzer/artifact/artifact_file.hpp"
#include "analyzer/summarize/summarize.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto path = day2_fuzz::scratch() / "day2.json";
  day2_fuzz::write_file(path, day2_fuzz::text_of(data, size));
  auto artifact = analyzer::read_artifact_file(path.string());
  std::ostringstream out, err;
  analyzer::SummarizeOptions options;
  options.details = analyzer::Details::yes;
  int code = analyzer::summarize(path.string(), options, out, err);
  day2_fuzz::require(code >= 0 && code <= 2, "summarize exits 0, 1 or 2");
  day2_fuzz::require(artifact.ok() || code == 2, "an artifact read_artifact_file refuses is exit 2");
  options.format = analyzer::SummaryFormat::json;
  out.str("");
  code = analyzer::summarize(path.string(), options, out, err);
  day2_fuzz::require(code >= 0 && code <= 2, "summarize --json exits 0, 1 or 2");
  return 0;
}
