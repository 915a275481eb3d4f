// Redaction (recorder::Redactor): any exchange (path, query, bodies, header values from the input,
// split at NUL bytes) and any free text are redacted without a crash, by a redactor with the
// built-in rules and one with a pattern and a JSON path; a known secret never survives.
#include <vector>

#include "fuzz_support.hpp"
#include "recorder/redact.hpp"

namespace {

std::vector<std::string> parts(std::string_view text, std::size_t count) {
  std::vector<std::string> out(count);
  for (std::size_t i = 0; i < count && !text.empty(); ++i) {
    auto end = text.find('\0');
    out[i] = std::string(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
  }
  return out;
}

recorder::Redactor configured() {
  recorder::RedactionSettings settings;
  settings.patterns = {{"email", R"([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})"}};
  settings.json_paths = {"/data/*/metadata"};
  auto made = recorder::Redactor::make(settings);
  if (!made) ::abort();
  return *made;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::string_view k_secret = "fuzz-held-secret-0123456789";
  auto p = parts(day2_fuzz::text_of(data, size), 6);
  {
    const recorder::Redactor with_rules = configured();  // fresh per input: numbering and learnt secrets
    recorder::Redactor plain;
    plain.add_secret(k_secret);
    for (const recorder::Redactor* r : {&with_rules, static_cast<const recorder::Redactor*>(&plain)}) {
      recorder::Exchange exchange;
      exchange.service = (size & 1) ? recorder::Service::oauth : recorder::Service::dagster;
      exchange.method = "POST";
      exchange.path = "/" + p[0];
      exchange.query = p[1];
      exchange.request_headers = {{"authorization", p[4]}, {"content-type", p[5]}, {"x-goog-request-params", p[5]}};
      exchange.request_body = p[2] + std::string(k_secret);
      exchange.response_headers = {{"content-type", p[5]}};
      exchange.response_body = p[3];
      r->redact(exchange);
      auto text = r->redact_text(p[3] + std::string(k_secret));
      if (r == &plain) {
        day2_fuzz::require(text.find(k_secret) == std::string::npos, "a held secret is redacted in text");
      }
    }
  }
  return 0;
}
