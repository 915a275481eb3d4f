#include "synced_write.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace recorder::detail {

std::optional<WriteFailure> write_sync_close(int fd, std::string_view content) {
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
  int synced = ::fsync(fd);
  int saved = errno;
  if (::close(fd) != 0 && synced == 0) return WriteFailure{"close failed", errno};
  if (synced != 0) return WriteFailure{"fsync failed", saved};
  return std::nullopt;
}

}  // namespace recorder::detail
