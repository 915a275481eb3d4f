// Durable writes: a file or a directory entry that survives a crash once the call returns. The one
// place day2 calls fsync; every failure is reported (with the path, the call and errno's text).
// Used by write_file_atomic (one file renamed into place), the bundle writer (a directory of files
// renamed into place as a whole) and the recorded nights.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "recorder/base/result.hpp"

namespace recorder {

namespace detail {

struct WriteFailure {
  const char* what;  // "write failed", "fsync failed", "close failed"
  int error;         // the errno of the failed call
};

// Writes all of `content` to `fd` (retrying interrupted writes), fsyncs and closes it. `fd` is
// closed whatever happens; the first failure is returned.
std::optional<WriteFailure> write_sync_close(int fd, std::string_view content);

// How many fsync and syncfs calls this process has made (for the tests of how often day2 syncs).
std::size_t sync_calls();

}  // namespace detail

// Creates `path` (refused when it exists) holding `content`, fsync'd and closed.
// Errors: "<path>: cannot create: <errno text>", "<path>: fsync failed: ...".
Result<void> write_new_file_synced(const std::string& path, std::string_view content);

// Creates `path` (refused when it exists) holding `content`, closed but not yet synced: many files
// written this way are made durable at once by sync_filesystem.
Result<void> write_new_file(const std::string& path, std::string_view content);

// Makes everything written so far on the file system holding `path` durable (syncfs: one flush
// instead of one fsync per file), reporting a failed writeback.
// Errors: "<path>: cannot open it to sync its file system: ...", "<path>: syncfs failed: ...".
Result<void> sync_filesystem(const std::string& path);

// Scratch output (regress's replays in a temporary directory that is removed after the run): while
// one is alive, writes on this thread are still atomic (a temporary file renamed into place) but not
// fsynced, files nor directories. Nothing that must survive a crash is written under it.
class ScratchWrites {
 public:
  ScratchWrites();
  ~ScratchWrites();
  ScratchWrites(const ScratchWrites&) = delete;
  ScratchWrites& operator=(const ScratchWrites&) = delete;

 private:
  bool m_previous;
};

// Persists the entries of directory `path` (a file created or renamed into it).
// Errors: "<path>: cannot open the directory to sync it: ...", "<path>: fsync failed: ...".
Result<void> fsync_directory(const std::string& path);

}  // namespace recorder
