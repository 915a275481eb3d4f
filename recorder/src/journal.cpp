// The journal of a recording in progress (recorder/journal.hpp): exchange files made durable one by
// one beside the bundle directory, and their recovery into a bundle.
#include "recorder/journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "bundle_detail.hpp"
#include "recorder/base/durable.hpp"
#include "recorder/base/json.hpp"

namespace recorder {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_manifest = "recording.json";
constexpr const char* k_lock = "lock";

Error os_error(const fs::path& path, std::string_view what, int error) {
  return make_error(fmt::format("{}: {}: {}", path.string(), what, std::strerror(error)));
}

fs::path normal(const fs::path& out) {
  auto target = out.lexically_normal();
  if (!target.has_filename() && target.has_parent_path()) target = target.parent_path();
  return target;
}

// Writes `content` to `path` durably, replacing it: a temporary sibling, fsync, rename, and the
// directory fsynced.
Result<void> replace_file(const fs::path& path, std::string_view content) {
  auto tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());
  if (auto written = write_new_file_synced(tmp.string(), content); !written) return written;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return os_error(path, "rename failed", errno);
  return fsync_directory(path.parent_path().string());
}

// The lock of journal `dir`, taken without waiting: the fd, or -1 when a recorder holds it (or it
// cannot be opened: `error` says which).
int try_lock(const fs::path& dir, int* error) {
  int fd = ::open((dir / k_lock).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = errno;
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    *error = errno;
    ::close(fd);
    return -1;
  }
  return fd;
}

// How many exchange files 1, 2, ... the journal holds before the first missing number.
int contiguous_exchanges(const fs::path& dir) {
  int n = 0;
  std::error_code ec;
  while (fs::is_regular_file(dir / "exchanges" / bundle_detail::exchange_file_name(n + 1), ec)) ++n;
  return n;
}

}  // namespace

fs::path journal_dir(const fs::path& out) {
  auto target = normal(out);
  auto parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  return parent / ("." + target.filename().string() + ".recording");
}

Result<std::unique_ptr<Journal>> Journal::create(const fs::path& out, const Manifest& manifest) {
  auto dir = journal_dir(out);
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return make_error(fmt::format("{}: a recording's journal is already there (day2 record --recover {} keeps it)",
                                    dir.string(), out.string()));
    }
    return os_error(dir, "cannot create the recording's journal", errno);
  }
  int error = 0;
  int fd = try_lock(dir, &error);
  if (fd < 0) return os_error(dir / k_lock, "cannot lock", error);
  std::unique_ptr<Journal> journal(new Journal(dir, fd));
  if (::mkdir((dir / "exchanges").c_str(), 0700) != 0) return os_error(dir / "exchanges", "cannot create", errno);
  if (auto written = journal->write_manifest(manifest); !written) return written.error();
  if (auto synced = fsync_directory(dir.parent_path().string()); !synced) return synced.error();
  return journal;
}

Journal::~Journal() {
  if (m_lock_fd >= 0) ::close(m_lock_fd);
}

Result<void> Journal::write_exchange(int seq, const Exchange& exchange) {
  auto text = bundle_detail::render_exchange(exchange, seq);
  if (!text) return text.error();
  return replace_file(m_dir / "exchanges" / bundle_detail::exchange_file_name(seq), *text);
}

Result<void> Journal::write_manifest(const Manifest& manifest) {
  Bundle header;
  header.manifest = manifest;
  auto text = bundle_detail::render_manifest(header);
  if (!text) return text.error();
  return replace_file(m_dir / k_manifest, *text);
}

void Journal::remove() {
  std::error_code ec;
  fs::remove_all(m_dir, ec);
  if (m_lock_fd >= 0) ::close(m_lock_fd);
  m_lock_fd = -1;
}

std::optional<JournalFound> find_journal(const fs::path& out) {
  auto dir = journal_dir(out);
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return std::nullopt;
  JournalFound found{.dir = dir, .exchanges = contiguous_exchanges(dir)};
  int error = 0;
  int fd = try_lock(dir, &error);
  found.live = fd < 0 && error == EWOULDBLOCK;
  if (fd >= 0) ::close(fd);
  return found;
}

Result<Bundle> recover_journal(const fs::path& out) {
  auto found = find_journal(out);
  if (!found) {
    return make_error(fmt::format("{}: no recording's journal beside {}; nothing to recover",
                                  journal_dir(out).string(), out.string()));
  }
  std::error_code ec;
  if (fs::exists(out, ec)) return make_error(fmt::format("{}: already exists; the journal is left as it is", out.string()));
  int error = 0;
  int fd = try_lock(found->dir, &error);
  if (fd < 0) {
    return error == EWOULDBLOCK
               ? make_error(fmt::format("{}: a day2 record is still recording into it; stop it (Ctrl-C) instead",
                                        found->dir.string()))
               : os_error(found->dir / k_lock, "cannot lock", error);
  }
  Journal journal(found->dir, fd);  // holds the lock until the bundle is written
  auto manifest = bundle_detail::read_manifest_file(found->dir / k_manifest);
  if (!manifest) return manifest.error();
  Bundle bundle;
  bundle.manifest = std::move(*manifest);
  const int count = contiguous_exchanges(found->dir);
  for (int seq = 1; seq <= count; ++seq) {
    auto exchange = bundle_detail::read_exchange(found->dir / "exchanges" / bundle_detail::exchange_file_name(seq), seq);
    if (!exchange) return exchange.error();
    bundle.exchanges.push_back(std::move(*exchange));
  }
  bundle.manifest.exchange_count = count;
  bundle.manifest.recovered = fmt::format(
      "incomplete: the recorder stopped without writing this bundle; day2 record --recover kept the {} exchange(s) "
      "it had journaled",
      count);
  if (auto written = write_bundle(out, bundle); !written) return written.error();
  journal.remove();
  return bundle;
}

}  // namespace recorder
