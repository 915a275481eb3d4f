#include "recorder/base/durable.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>

namespace recorder {

namespace {
thread_local bool t_scratch = false;  // ScratchWrites alive on this thread: no fsync
std::atomic<std::size_t> g_sync_calls{0};

int counted_fsync(int fd) {
  ++g_sync_calls;
  return ::fsync(fd);
}
}  // namespace

ScratchWrites::ScratchWrites() : m_previous(t_scratch) { t_scratch = true; }
ScratchWrites::~ScratchWrites() { t_scratch = m_previous; }

namespace detail {

std::size_t sync_calls() { return g_sync_calls.load(); }

namespace {

enum class Sync { yes, no };

// Writes all of `content` to `fd` (retrying interrupted writes), fsyncs it when asked (and not in
// scratch) and closes it; `fd` is closed whatever happens; the first failure is returned.
std::optional<WriteFailure> write_close(int fd, std::string_view content, Sync sync) {
  std::size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int saved = n < 0 ? errno : EIO;
      ::close(fd);
      return WriteFailure{"write failed", saved};
    }
    written += static_cast<std::size_t>(n);
  }
  int synced = sync == Sync::yes && !t_scratch ? counted_fsync(fd) : 0;
  int saved = errno;
  if (::close(fd) != 0 && synced == 0) return WriteFailure{"close failed", errno};
  if (synced != 0) return WriteFailure{"fsync failed", saved};
  return std::nullopt;
}

}  // namespace

std::optional<WriteFailure> write_sync_close(int fd, std::string_view content) { return write_close(fd, content, Sync::yes); }

}  // namespace detail

namespace {

Error os_error(const std::string& path, std::string_view what, int error) {
  return make_error(fmt::format("{}: {}: {}", path, what, std::strerror(error)));
}

}  // namespace

Result<void> write_new_file_synced(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return os_error(path, "cannot create", errno);
  if (auto failed = detail::write_sync_close(fd, content)) return os_error(path, failed->what, failed->error);
  return {};
}

Result<void> write_new_file(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return os_error(path, "cannot create", errno);
  if (auto failed = detail::write_close(fd, content, detail::Sync::no)) return os_error(path, failed->what, failed->error);
  return {};
}

Result<void> sync_filesystem(const std::string& path) {
  if (t_scratch) return {};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return os_error(path, "cannot open it to sync its file system", errno);
  ++g_sync_calls;
  int synced = ::syncfs(fd);
  int saved = errno;
  ::close(fd);
  if (synced != 0) return os_error(path, "syncfs failed", saved);
  return {};
}

Result<void> fsync_directory(const std::string& path) {
  if (t_scratch) return {};
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_error(path, "cannot open the directory to sync it", errno);
  int synced = counted_fsync(fd);
  int saved = errno;
  ::close(fd);
  if (synced != 0) return os_error(path, "fsync failed", saved);
  return {};
}

}  // namespace recorder
