// The bundle reader (recorder::read_bundle): the input is one file of an otherwise valid bundle, its
// manifest.json or its one exchange file (the first byte chooses). A document or an Error naming the
// file, never a crash; what loads writes back and loads again equal.
#include <fmt/format.h>

#include "fuzz_support.hpp"
#include "recorder/bundle.hpp"

namespace {

constexpr std::string_view k_manifest = R"({"day2_version": "0.1.0", "endpoints": {"dagster": {"origin": "http://127.0.0.1:3000", "service": "dagster"}},
 "exchange_count": 1, "format_version": 1, "now": "2026-11-24T08:00:00Z", "redactions": [], "source": "live",
 "timezone": "America/New_York", "window": {"end": "2026-11-24T08:00:00Z", "start": "2026-11-23T20:00:00Z"}})";
constexpr std::string_view k_exchange = R"({"request": {"graphql": {"operationName": "Runs", "query": "query Runs { runs }", "variables": {}},
 "method": "POST", "path": "/graphql"}, "response": {"body": {"data": {"runs": []}}, "status": 200}, "seq": 1, "service": "dagster"})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool manifest = data[0] & 1;
  auto text = day2_fuzz::text_of(data + 1, size - 1);
  auto dir = day2_fuzz::scratch() / "bundle";
  std::filesystem::create_directories(dir / "exchanges");
  day2_fuzz::write_file(dir / "manifest.json", manifest ? text : k_manifest);
  day2_fuzz::write_file(dir / "exchanges" / "0001.json", manifest ? k_exchange : text);
  auto bundle = recorder::read_bundle(dir);
  if (!bundle) return 0;
  auto copy = day2_fuzz::scratch() / "copy";
  std::error_code ec;
  std::filesystem::remove_all(copy, ec);
  auto written = recorder::write_bundle(copy, *bundle);
  if (!written) return 0;  // the writer may refuse what it cannot write back (an instant past RFC 3339)
  auto again = recorder::read_bundle(copy);
  day2_fuzz::require(again.ok(), "a bundle read and written back reads again");
  day2_fuzz::require(again->exchanges.size() == bundle->exchanges.size(), "the same exchanges");
  return 0;
}
