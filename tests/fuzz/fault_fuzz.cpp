// The fault parsers (replay::parse_fault_file, replay::parse_fault_spec): any text gives faults or an
// Error naming the source, never a crash.
#include "fuzz_support.hpp"
#include "replay/fault.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = day2_fuzz::text_of(data, size);
  auto file = replay::parse_fault_file(text, "faults.json");
  if (!file) day2_fuzz::require(file.error().message.rfind("faults.json", 0) == 0, "the error names the file");
  (void)replay::parse_fault_spec(text);
  return 0;
}
