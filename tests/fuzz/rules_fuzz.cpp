// The rules loader (analyzer::parse_rules): any text gives a rule set or an Error naming the source,
// never a crash; a rule set it accepts classifies a record.
#include "analyzer/classify/rules.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto rules = analyzer::parse_rules(day2_fuzz::text_of(data, size), "rules.json");
  if (!rules) {
    day2_fuzz::require(rules.error().message.rfind("rules.json", 0) == 0, "the error names the file");
    return 0;
  }
  analyzer::FailureRecord record;
  record.run_failure_message = "Step failed: OOMKilled exit code 137";
  (void)analyzer::classify(*rules, record);
  return 0;
}
