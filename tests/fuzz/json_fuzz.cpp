// The one JSON reader (recorder::parse_json), both dialects: any bytes give a document or an Error,
// never a crash; what it accepts writes back canonically and reads back to the same text.
#include "fuzz_support.hpp"
#include "recorder/base/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = day2_fuzz::text_of(data, size);
  for (auto comments : {recorder::Comments::forbidden, recorder::Comments::allowed}) {
    auto doc = recorder::parse_json(text, "fuzz.json", comments);
    if (!doc) continue;
    auto written = recorder::write_json(*doc);
    auto again = recorder::parse_json(written, "written.json");
    day2_fuzz::require(again.ok(), "what parse_json accepts, write_json writes as JSON parse_json reads");
    day2_fuzz::require(recorder::write_json(*again) == written, "write_json is canonical: a round trip changes nothing");
  }
  return 0;
}
