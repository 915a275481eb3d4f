// The last-resort source: `gcloud auth print-access-token` run as a subprocess with a timeout.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include "gcp_auth_sources.hpp"

extern char** environ;

namespace analyzer::gcp_auth {

using recorder::Error;
using recorder::Result;
using Clock = std::chrono::system_clock;

namespace {

std::string trim(std::string text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// The last non-empty line of `text` (gcloud's error message), at most 300 characters.
std::string last_line(const std::string& text) {
  std::string trimmed = trim(text);
  auto newline = trimmed.find_last_of('\n');
  std::string line = newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
  return line.size() > 300 ? line.substr(0, 300) + "..." : line;
}

struct Output {
  std::string out, err;
  bool timed_out = false;
};

// Reads `out_fd` and `err_fd` to their ends or until `deadline`.
Output read_both(int out_fd, int err_fd, std::chrono::steady_clock::time_point deadline) {
  Output output;
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&output.out, &output.err};
  int open_count = 2;
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      output.timed_out = true;
      break;
    }
    int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  return output;
}

Result<std::optional<std::string>> run_gcloud(std::chrono::milliseconds timeout) {
  const std::string command = "gcloud auth print-access-token";
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Error{fmt::format("{}: pipe failed: {}", command, std::strerror(errno))};
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return Error{fmt::format("{}: pipe failed: {}", command, std::strerror(errno))};
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);  // own group: a timeout kills its children too
  posix_spawnattr_setpgroup(&attributes, 0);
  char arg0[] = "gcloud", arg1[] = "auth", arg2[] = "print-access-token";
  char* argv[] = {arg0, arg1, arg2, nullptr};
  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, "gcloud", &actions, &attributes, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(out[1]);
  ::close(err[1]);
  if (spawned != 0) {
    ::close(out[0]);
    ::close(err[0]);
    if (spawned == ENOENT) return std::optional<std::string>();  // not installed: the source is absent
    return Error{fmt::format("{}: cannot run: {}", command, std::strerror(spawned))};
  }
  Output output = read_both(out[0], err[0], std::chrono::steady_clock::now() + timeout);
  ::close(out[0]);
  ::close(err[0]);
  if (output.timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string token = trim(output.out);
  std::string message = scrub(last_line(output.err), {token});
  if (output.timed_out) return Error{fmt::format("{}: timed out after {} ms", command, timeout.count())};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return Error{message.empty() ? fmt::format("{} exited with status {}", command, code)
                                 : fmt::format("{} exited with status {}: {}", command, code, message)};
  }
  if (token.empty() || token.find_first_of(" \t\r\n") != std::string::npos) {
    return Error{fmt::format("{} printed no token (one line expected)", command)};
  }
  return std::optional<std::string>(std::move(token));
}

class GcloudFetcher : public GcpTokenFetcher {
 public:
  GcloudFetcher(GcloudTokenCommand command, std::string first) : m_command(std::move(command)), m_first(std::move(first)) {}

  Result<GcpToken> fetch(Clock::time_point now) override {
    // gcloud prints no expiry; its tokens last about an hour, so fetch again after 45 minutes.
    auto expiry = now + std::chrono::minutes(45);
    if (m_first) {
      GcpToken token{std::move(*m_first), expiry};
      m_first.reset();
      return token;
    }
    auto token = m_command();
    if (!token) return Error{"Google Cloud credentials from gcloud: " + token.error().message};
    if (!*token) return Error{"Google Cloud credentials from gcloud: gcloud is no longer on the PATH"};
    return GcpToken{std::move(**token), expiry};
  }
  GcpAuthSource source() const override { return GcpAuthSource::gcloud; }
  std::string description() const override { return "gcloud auth print-access-token"; }

 private:
  GcloudTokenCommand m_command;
  std::optional<std::string> m_first;
};

}  // namespace

GcloudTokenCommand default_gcloud_command(std::chrono::milliseconds timeout) {
  return [timeout] { return run_gcloud(timeout); };
}

std::unique_ptr<GcpTokenFetcher> make_gcloud_fetcher(GcloudTokenCommand command, std::string first) {
  return std::make_unique<GcloudFetcher>(std::move(command), std::move(first));
}

}  // namespace analyzer::gcp_auth
