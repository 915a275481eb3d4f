// The secrets this process holds: the Dagster+ API token from the environment, the Google access
// tokens it obtains. Whatever day2 writes to a file (write_file_atomic) or prints (std::cout and
// std::cerr through SecretScrubbingBuffer, logs included) has them replaced by
// "<redacted:credential>", so that an upstream echoing one into an error message, a step error of
// the artifact or a report line cannot leak it. Bundles redact them earlier, numbered (Redactor).
#pragma once

#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

namespace recorder {

// Remembers `value` for the rest of the process; values under 6 characters are ignored (they would
// be replaced wherever they happen to occur). Thread-safe.
void hold_secret(std::string_view value);
// The secrets held so far.
std::vector<std::string> held_secrets();
// `text` with every held secret replaced by "<redacted:credential>". Thread-safe.
std::string scrub_held_secrets(std::string_view text);

// A stream buffer that passes whole lines to `inner` with the held secrets scrubbed (a secret never
// spans a line). Install it over std::cout / std::cerr for the life of the program.
class SecretScrubbingBuffer : public std::streambuf {
 public:
  explicit SecretScrubbingBuffer(std::streambuf* inner) : m_inner(inner) {}
  ~SecretScrubbingBuffer() override;

 protected:
  int_type overflow(int_type ch) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int sync() override;

 private:
  void flush_line();
  std::streambuf* m_inner;
  std::string m_line;
};

}  // namespace recorder
