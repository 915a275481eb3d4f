// `day2 replay serve`: option errors, help, and a full serve that stops on SIGTERM.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <csignal>
#include <mutex>
#include <sstream>
#include <streambuf>
#include <thread>

#include "recorder/bundle.hpp"
#include "replay/server.hpp"
#include "support/temp_dir.hpp"

namespace replay {
namespace {

using namespace std::chrono_literals;

const recorder::Command& replay_command() {
  static const auto table = commands();
  return table.at(0);
}

// Runs `day2 replay ARGS` expecting a usage error; returns its message.
std::string usage_error(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  try {
    int code = replay_command().run(args, out, err);
    ADD_FAILURE() << "no usage error, exit " << code << "\nstderr: " << err.str();
  } catch (const recorder::UsageError& e) {
    return e.message;
  }
  return {};
}

// A stream buffer that two threads may use at once: the command writes, the test reads.
class SharedBuffer : public std::streambuf {
 public:
  std::string text() const {
    std::lock_guard lock(m_mutex);
    return m_text;
  }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) {
      std::lock_guard lock(m_mutex);
      m_text.push_back(static_cast<char>(c));
    }
    return c;
  }
  std::streamsize xsputn(const char* data, std::streamsize size) override {
    std::lock_guard lock(m_mutex);
    m_text.append(data, static_cast<std::size_t>(size));
    return size;
  }

 private:
  mutable std::mutex m_mutex;
  std::string m_text;
};

TEST(ReplayCommand, TableEntryNamesReplay) {
  EXPECT_EQ(replay_command().name, "replay");
  EXPECT_EQ(replay_command().summary, "serve a scenario bundle as the Dagster and Google Cloud APIs");
}

TEST(ReplayCommand, PortOutOfRangeIsAUsageError) {
  EXPECT_EQ(usage_error({"serve", "dir", "--port", "70000"}), "--port: 70000 is not a port (1-65535)");
}

TEST(ReplayCommand, PortThatIsNotANumberIsAUsageError) {
  EXPECT_EQ(usage_error({"serve", "dir", "--port", "80a"}), "--port: 80a is not a port (1-65535)");
}

TEST(ReplayCommand, ThreadsOutOfRangeOrNotANumberIsAUsageError) {
  EXPECT_EQ(usage_error({"serve", "dir", "--threads", "0"}), "--threads: 0 is not a number of event loops (1-256)");
  EXPECT_EQ(usage_error({"serve", "dir", "--threads", "257"}), "--threads: 257 is not a number of event loops (1-256)");
  EXPECT_EQ(usage_error({"serve", "dir", "--threads", "2x"}), "--threads: 2x is not a number of event loops (1-256)");
}

TEST(ReplayCommand, NonLoopbackHostNeedsAllowRemote) {
  auto message = usage_error({"serve", "dir", "--host", "0.0.0.0"});
  EXPECT_NE(message.find("--host: 0.0.0.0 is not a loopback address"), std::string::npos) << message;
  EXPECT_NE(message.find("--allow-remote"), std::string::npos) << message;
}

TEST(ReplayCommand, MissingDirIsAUsageError) {
  EXPECT_NE(usage_error({"serve"}).find("serve needs the bundle directory DIR"), std::string::npos);
}

TEST(ReplayCommand, UnknownSubcommandIsAUsageError) {
  EXPECT_NE(usage_error({"play"}).find("unknown subcommand \"play\""), std::string::npos);
}

TEST(ReplayCommand, UnknownOptionIsAUsageError) {
  EXPECT_NE(usage_error({"serve", "dir", "--prot", "1"}).find("see day2 replay serve --help"), std::string::npos);
}

TEST(ReplayCommand, UnreadableBundleIsAUsageErrorWithTheReadersMessage) {
  day2_test::TempDir dir("day2-replay-cli");
  auto missing = (dir.path() / "nope").string();
  auto expected = recorder::read_bundle(missing);
  ASSERT_FALSE(expected.ok());
  EXPECT_EQ(usage_error({"serve", missing}), expected.error().message);
}

TEST(ReplayCommand, HelpShowsUsageDefaultsExampleAndExitCodes) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(replay_command().run({"serve", "--help"}, out, err), 0);
  auto help = out.str();
  EXPECT_NE(help.find("usage: day2 replay serve DIR"), std::string::npos) << help;
  EXPECT_NE(help.find("(=127.0.0.1)"), std::string::npos) << help;
  EXPECT_NE(help.find("Example:"), std::string::npos) << help;
  EXPECT_NE(help.find("Exit codes: 0"), std::string::npos) << help;
}

// Serves a written bundle, sends one request, then SIGTERM; returns the exit code.
int serve_until_sigterm(const std::string& request_path, std::string& out_text, std::string& err_text) {
  day2_test::TempDir dir("day2-replay-serve");
  recorder::Bundle bundle;
  recorder::Exchange exchange;
  exchange.seq = 1;
  exchange.service = recorder::Service::monitoring;
  exchange.method = "GET";
  exchange.path = "/v3/projects/p/alertPolicies";
  exchange.status = 200;
  exchange.response_headers = {{"content-type", "application/json"}};
  exchange.response_body = R"({"alertPolicies":[]})";
  bundle.exchanges.push_back(exchange);
  bundle.manifest.exchange_count = 1;
  auto bundle_dir = (dir.path() / "bundle").string();
  auto written = recorder::write_bundle(bundle_dir, bundle);
  EXPECT_TRUE(written.ok()) << written.error().message;

  SharedBuffer out_buffer;
  SharedBuffer err_buffer;
  std::ostream out(&out_buffer);
  std::ostream err(&err_buffer);
  int code = -1;
  std::thread command([&] { code = replay_command().run({"serve", bundle_dir, "--port", "0"}, out, err); });
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (out_buffer.text().find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  auto line = out_buffer.text();
  auto port_at = line.find("http://127.0.0.1:");
  EXPECT_NE(port_at, std::string::npos) << line << err_buffer.text();
  if (port_at != std::string::npos) {
    int port = std::stoi(line.substr(port_at + 17));
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10s);
    EXPECT_TRUE(client.Get(request_path.c_str()));
    std::raise(SIGTERM);  // the command's handler is installed before the line is printed
  }
  command.join();
  out_text = out_buffer.text();
  err_text = err_buffer.text();
  return code;
}

TEST(ReplayCommand, ServesUntilSigtermAndExitsZeroWithoutMisses) {
  std::string out;
  std::string err;
  EXPECT_EQ(serve_until_sigterm("/v3/projects/p/alertPolicies", out, err), 0) << err;
  EXPECT_NE(out.find("replay: serving "), std::string::npos) << out;
  EXPECT_NE(out.find("(1 exchanges)"), std::string::npos) << out;
  EXPECT_EQ(err, "replay: 1 served, 0 misses, 0 unused, 0 warnings\n");
}

TEST(ReplayCommand, ServesUntilSigtermAndExitsOneAfterAMiss) {
  std::string out;
  std::string err;
  EXPECT_EQ(serve_until_sigterm("/v3/projects/p/alerts", out, err), 1) << err;
  EXPECT_NE(err.find("replay: 0 served, 1 miss, 1 unused"), std::string::npos) << err;
  EXPECT_NE(err.find("  miss: GET /v3/projects/p/alerts"), std::string::npos) << err;
  EXPECT_NE(err.find("  unused: seq 1: GET /v3/projects/p/alertPolicies"), std::string::npos) << err;
}

}  // namespace
}  // namespace replay
