// Acceptance (issue 4): the recorder is SIGKILLed at 20 random moments of its life, and a bundle that
// looks complete is never partial. `day2 record` runs as a child process in front of an upstream in
// this process; the test drives requests through it, kills it, and checks what is on disk.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "recorder/bundle.hpp"
#include "recorder/base/json.hpp"
#include "recorder/journal.hpp"
#include "recorder/base/time.hpp"
#include "support/temp_dir.hpp"

extern char** environ;

namespace recorder {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using day2_test::TempDir;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// Enough exchanges that writing the bundle (one fsynced file each) takes a measurable while, so kills
// land inside it; ~2 KB of JSON each, about 300 KB in all.
constexpr int k_exchanges = 150;
constexpr int k_kills = 20;
constexpr unsigned k_seed = 20261124;

std::string item_body(int i) {
  std::string rows;
  for (int r = 0; r < 24; ++r) {
    rows += (r ? "," : "") + std::string(R"({"run":")") + std::to_string(i) + "-" + std::to_string(r) +
            R"(","status":"FAILURE","message":"step failed: exit code 1 after 30 s of work"})";
  }
  return R"({"item":)" + std::to_string(i) + R"(,"rows":[)" + rows + "]}";
}

// As a bundle keeps it: JSON with sorted keys.
std::string canonical_item_body(int i) {
  auto doc = parse_json(item_body(i), "item");
  return doc ? write_json(*doc) : "<not JSON>";
}

// The upstream: GET /items/<i> answers item_body(i).
class ItemsUpstream {
 public:
  ItemsUpstream() {
    m_server.Get(R"(/items/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(item_body(std::stoi(req.matches[1])), "application/json");
    });
    m_server.set_tcp_nodelay(true);  // headers and body go out in two writes: no Nagle/delayed-ACK stalls
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    while (!m_server.is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  ~ItemsUpstream() {
    m_server.stop();
    m_thread.join();
  }
  ItemsUpstream(const ItemsUpstream&) = delete;
  ItemsUpstream& operator=(const ItemsUpstream&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

 private:
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
};

// `day2 record` as a child process; its stdout is a pipe (the port is printed there).
class Recorder {
 public:
  Recorder(const std::string& upstream, const fs::path& out, const fs::path& log) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> args = {DAY2_BINARY, "record", "--listen", "127.0.0.1:0", "--upstream", upstream,
                                     "--out", out.string(), "--max-exchanges", std::to_string(k_exchanges),
                                     "--duration", "30", "--now", "2026-11-24T08:00:00Z"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int spawned = ::posix_spawn(&m_pid, DAY2_BINARY, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    m_stdout = fds[0];
    if (spawned != 0) {
      ::close(m_stdout);
      throw std::runtime_error(std::string("cannot start ") + DAY2_BINARY);
    }
  }
  ~Recorder() {
    kill();
    wait();
    ::close(m_stdout);
  }
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // The port from "record: listening on http://127.0.0.1:PORT ...", or nullopt when the child exits
  // (or says nothing) within `timeout`.
  std::optional<int> port(milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    static const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
    while (Clock::now() < deadline) {
      std::smatch match;
      if (std::regex_search(m_output, match, listening)) return std::stoi(match[1]);
      pollfd p{m_stdout, POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) continue;
      char buffer[512];
      auto n = ::read(m_stdout, buffer, sizeof buffer);
      if (n <= 0) return std::nullopt;
      m_output.append(buffer, static_cast<std::size_t>(n));
    }
    return std::nullopt;
  }
  void kill() const {
    if (!m_reaped) ::kill(m_pid, SIGKILL);
  }
  // The exit status (waitpid's); blocks.
  int wait() {
    if (!m_reaped) {
      ::waitpid(m_pid, &m_status, 0);
      m_reaped = true;
    }
    return m_status;
  }

 private:
  pid_t m_pid = -1;
  int m_stdout = -1;
  std::string m_output;
  int m_status = 0;
  bool m_reaped = false;
};

// Sends GET /items/0.. through the proxy until `count` are sent or one fails (the proxy was killed).
// `answered` counts the responses received.
void drive(int port, std::atomic<int>& answered, int count = k_exchanges) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  client.set_tcp_nodelay(true);
  for (int i = 0; i < count; ++i) {
    auto res = client.Get("/items/" + std::to_string(i));
    if (!res || res->status != 200) return;
    answered.fetch_add(1);
  }
}

// The hidden directory write_bundle fills before renaming it to `out`.
std::optional<fs::path> temporary_of(const fs::path& out) {
  std::error_code ec;
  auto prefix = "." + out.filename().string() + ".tmp-";
  for (fs::directory_iterator it(out.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().rfind(prefix, 0) == 0) return it->path();
  }
  return std::nullopt;
}

// Checks a bundle that loads: complete and consistent, every exchange what the upstream answered.
void expect_complete(const Bundle& bundle, const std::string& where, const std::string& upstream) {
  EXPECT_EQ(bundle.manifest.source, BundleSource::live) << where;
  EXPECT_EQ(format_rfc3339_utc(bundle.manifest.now), "2026-11-24T08:00:00Z") << where;
  ASSERT_EQ(bundle.manifest.endpoints.size(), 1u) << where;
  EXPECT_EQ(bundle.manifest.endpoints[0].alias, "dagster") << where;
  EXPECT_EQ(bundle.manifest.endpoints[0].origin, upstream) << where;
  EXPECT_EQ(bundle.manifest.exchange_count, k_exchanges) << where;
  ASSERT_EQ(bundle.exchanges.size(), static_cast<std::size_t>(k_exchanges)) << where;
  for (int i = 0; i < k_exchanges; ++i) {
    const auto& x = bundle.exchanges[static_cast<std::size_t>(i)];
    EXPECT_EQ(x.seq, i + 1) << where;
    EXPECT_EQ(x.path, "/items/" + std::to_string(i)) << where;
    EXPECT_EQ(x.status, 200) << where;
    EXPECT_EQ(x.response_body, canonical_item_body(i)) << where << " seq " << x.seq;
  }
}

// When to kill. Moments are random within a phase; during serving and writing they are set by
// progress (responses received, files written), not by time, so every phase is hit on any machine.
enum class Phase {
  starting,   // `fraction` of the calibrated start-up time after spawning
  serving,    // once the client has had `progress` responses
  writing,    // once the hidden directory holds `progress` exchange files (of k_exchanges)
  finishing,  // as soon as DIR appears: the writer is syncing and exiting
};
enum class Outcome { absent, hidden_only, complete };

struct Kill {
  Phase phase = Phase::starting;
  double fraction = 0;
  int progress = 0;
};

struct Timings {
  milliseconds start{};        // spawn to the port printed
  microseconds per_request{};  // one exchange through the proxy
  microseconds write{};        // the hidden directory appearing to the process exiting
};

std::size_t files_in(const fs::path& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n;
}

// Polls `ready` every 50 us for at most 15 s.
template <class Ready>
void wait_until(Ready ready) {
  auto deadline = Clock::now() + std::chrono::seconds(15);
  while (!ready() && Clock::now() < deadline) std::this_thread::sleep_for(microseconds(50));
}

class RecorderKill : public ::testing::Test {
 protected:
  ItemsUpstream upstream;
  TempDir dir{"day2-record-kill"};

  // One life of the recorder, killed as `kill` says (or left to finish). Returns what is on disk.
  Outcome live(const std::string& name, std::optional<Kill> kill, Timings* measured = nullptr) {
    auto out = dir.path() / name;
    auto started = Clock::now();
    Recorder recorder(upstream.url(), out, dir.path() / (name + ".stderr"));
    auto phase = kill ? std::optional<Phase>(kill->phase) : std::nullopt;
    if (phase == Phase::starting) {
      std::this_thread::sleep_for(duration_cast<microseconds>(m_timings.start * kill->fraction));
      recorder.kill();
    }
    auto port = recorder.port(milliseconds(10000));
    if (!port) {
      EXPECT_EQ(phase, Phase::starting) << name << ": the recorder did not start";
      recorder.wait();
      return inspect(out, name);
    }
    if (measured) measured->start = duration_cast<milliseconds>(Clock::now() - started);
    std::atomic<int> answered{0};
    auto serving = Clock::now();
    std::atomic<bool> driven{false};
    std::thread client([&] {
      drive(*port, answered);
      driven = true;
    });
    if (phase == Phase::serving) {
      wait_until([&] { return answered.load() >= kill->progress || driven.load(); });
      recorder.kill();
    }
    client.join();
    if (measured) measured->per_request = duration_cast<microseconds>(Clock::now() - serving) / k_exchanges;
    if (phase == Phase::starting || phase == Phase::serving) {
      recorder.wait();
      return inspect(out, name);
    }
    wait_until([&] { return temporary_of(out) || fs::exists(out); });
    auto writing = Clock::now();
    if (phase == Phase::writing) {
      wait_until([&] {
        auto hidden = temporary_of(out);
        if (!hidden) return true;  // renamed already (or gone)
        return files_in(*hidden / "exchanges") >= static_cast<std::size_t>(kill->progress) ||
               fs::exists(*hidden / "manifest.json");
      });
      recorder.kill();
    }
    if (phase == Phase::finishing) {
      wait_until([&] { return fs::exists(out); });
      recorder.kill();
    }
    int status = recorder.wait();
    if (measured) measured->write = duration_cast<microseconds>(Clock::now() - writing);
    if (!kill) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << name << ": status " << status;
    }
    return inspect(out, name);
  }

  // Whatever is on disk must be no bundle at all, or a complete one.
  Outcome inspect(const fs::path& out, const std::string& name) {
    if (auto hidden = temporary_of(out)) {
      EXPECT_FALSE(fs::exists(out)) << name;
      // The writer fills it and writes manifest.json last: it loads only when complete.
      if (auto loaded = read_bundle(*hidden)) expect_complete(*loaded, name + " (hidden)", upstream.url());
      return Outcome::hidden_only;
    }
    if (!fs::exists(out)) return Outcome::absent;
    auto loaded = read_bundle(out);
    EXPECT_TRUE(loaded.ok()) << name << ": " << (loaded ? "" : loaded.error().message);
    if (loaded) expect_complete(*loaded, name, upstream.url());
    return Outcome::complete;
  }

  Timings m_timings;
};

TEST_F(RecorderKill, NoCompleteLookingBundleIsEverPartial) {
  auto test_started = Clock::now();
  // A full life first: it must write a complete bundle, and it calibrates the start-up time.
  ASSERT_EQ(live("calibration", std::nullopt, &m_timings), Outcome::complete);

  // 20 kills over the whole life, seeded: 4 while starting, 4 while serving, 8 while writing (the
  // phase that matters), 4 as the writer finishes.
  std::mt19937 rng(k_seed);
  std::uniform_real_distribution<double> fraction(0.0, 1.5);
  std::uniform_int_distribution<int> progress(0, k_exchanges);
  int by_outcome[3] = {0, 0, 0};
  int killed_while_writing = 0;
  for (int k = 0; k < k_kills; ++k) {
    Kill kill;
    constexpr Phase k_phases[] = {Phase::starting, Phase::serving, Phase::writing, Phase::writing, Phase::finishing};
    kill.phase = k_phases[k % 5];
    kill.fraction = fraction(rng);
    kill.progress = progress(rng);
    auto outcome = live("kill-" + std::to_string(k), kill);
    if (kill.phase == Phase::writing && outcome == Outcome::hidden_only) ++killed_while_writing;
    ++by_outcome[static_cast<int>(outcome)];
    if (HasFatalFailure()) return;
  }
  std::cout << "[          ] record kill: start " << m_timings.start.count() << " ms, " << m_timings.per_request.count()
            << " us/request, write " << m_timings.write.count() / 1000 << " ms; outcomes of " << k_kills
            << " kills: " << by_outcome[0] << " no bundle (a journal at most), " << by_outcome[1] << " hidden directory only ("
            << killed_while_writing << " killed while writing), " << by_outcome[2] << " complete bundle\n";
  EXPECT_GE(killed_while_writing, 1) << "no kill landed while the bundle was being written";
  EXPECT_GE(by_outcome[static_cast<int>(Outcome::complete)], 1) << "no kill left a complete bundle";
  EXPECT_GE(by_outcome[static_cast<int>(Outcome::absent)], 1) << "no kill landed before writing";
  EXPECT_LT(Clock::now() - test_started, std::chrono::seconds(60));
}

// `day2 ARGS...` run to its end: the exit status (waitpid's); its stderr goes to `log`.
int run_day2(std::vector<std::string> args, const fs::path& log) {
  args.insert(args.begin(), DAY2_BINARY);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int spawned = ::posix_spawn(&pid, DAY2_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

// Acceptance (issue 21): a recorder SIGKILLed after N exchanges leaves those N recoverable, at 20
// random N; and killed while requests flow, every exchange it answered. Before the recovery nothing
// looks like a bundle; after it the bundle holds exactly those exchanges and says it is incomplete.
TEST_F(RecorderKill, AKilledRecorderLeavesEveryAnsweredExchangeRecoverable) {
  std::mt19937 rng(k_seed + 1);
  std::uniform_int_distribution<int> progress(0, 40);
  for (int k = 0; k < k_kills; ++k) {
    const auto name = "recover-" + std::to_string(k);
    const auto out = dir.path() / name;
    const int n = progress(rng);
    const bool mid_flow = k % 4 == 3;  // killed while the client keeps sending
    std::atomic<int> answered{0};
    {
      Recorder recorder(upstream.url(), out, dir.path() / (name + ".stderr"));
      auto port = recorder.port(milliseconds(10000));
      ASSERT_TRUE(port) << name << ": the recorder did not start";
      if (mid_flow) {
        std::thread client([&] { drive(*port, answered); });
        wait_until([&] { return answered.load() >= n; });
        recorder.kill();
        client.join();
      } else {
        drive(*port, answered, n);
        ASSERT_EQ(answered.load(), n) << name;
        recorder.kill();
      }
      recorder.wait();
    }
    EXPECT_FALSE(fs::exists(out)) << name;
    EXPECT_FALSE(temporary_of(out)) << name;
    auto found = find_journal(out);
    ASSERT_TRUE(found) << name << ": no journal";
    EXPECT_FALSE(found->live) << name;
    ASSERT_EQ(run_day2({"record", "--recover", out.string()}, dir.path() / (name + ".recover")), 0) << name;
    auto bundle = read_bundle(out);
    ASSERT_TRUE(bundle.ok()) << name << ": " << bundle.error().message;
    // Mid-flow, the one exchange in flight may have been journaled before its answer was sent.
    const auto got = static_cast<int>(bundle->exchanges.size());
    EXPECT_GE(got, answered.load()) << name;
    EXPECT_LE(got, mid_flow ? answered.load() + 1 : answered.load()) << name;
    EXPECT_NE(bundle->manifest.recovered.find("incomplete"), std::string::npos) << name;
    ASSERT_EQ(bundle->manifest.endpoints.size(), got ? 1u : 0u) << name;
    for (int i = 0; i < got; ++i) {
      const auto& x = bundle->exchanges[static_cast<std::size_t>(i)];
      EXPECT_EQ(x.path, "/items/" + std::to_string(i)) << name;
      EXPECT_EQ(x.response_body, canonical_item_body(i)) << name << " seq " << x.seq;
    }
    EXPECT_FALSE(find_journal(out)) << name;
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace recorder
