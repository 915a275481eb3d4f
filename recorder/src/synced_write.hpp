// Writing a file so that it survives a crash: every byte written, fsync'd, closed. Shared by the
// bundle writer (a directory of files, renamed into place as a whole) and write_file_atomic (one
// file, renamed into place).
#pragma once

#include <optional>
#include <string_view>

namespace recorder::detail {

struct WriteFailure {
  const char* what;  // "write failed", "fsync failed", "close failed"
  int error;         // the errno of the failed call
};

// Writes all of `content` to `fd` (retrying interrupted writes), fsyncs and closes it. `fd` is
// closed whatever happens; the first failure is returned.
std::optional<WriteFailure> write_sync_close(int fd, std::string_view content);

}  // namespace recorder::detail
