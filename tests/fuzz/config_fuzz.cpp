// The config loader (analyzer::parse_config): any text gives settings or an Error naming the source,
// never a crash.
#include "analyzer/config/config.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto config = analyzer::parse_config(day2_fuzz::text_of(data, size), "day2.config.json");
  if (!config) day2_fuzz::require(config.error().message.rfind("day2.config.json", 0) == 0, "the error names the file");
  return 0;
}
