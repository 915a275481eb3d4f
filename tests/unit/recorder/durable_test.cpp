// recorder::detail::write_sync_close: the write loop under write_file_atomic; how often day2 syncs
// (atomic writes, scratch writes, bundles).
#include "recorder/base/durable.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "recorder/base/json.hpp"
#include "recorder/bundle.hpp"
#include "support/temp_dir.hpp"

namespace recorder::detail {
namespace {

TEST(SyncedWrite, WritesEveryByteAndClosesTheDescriptor) {
  day2_test::TempDir dir("day2-synced");
  auto path = dir.file("out");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0);
  std::string content(1 << 20, 'x');
  content.back() = 'y';
  EXPECT_FALSE(write_sync_close(fd, content).has_value());
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // closed
  EXPECT_EQ(*read_file(path), content);
}

TEST(SyncedWrite, AFailedWriteNamesTheCallAndItsErrorAndClosesTheDescriptor) {
  day2_test::TempDir dir("day2-synced");
  auto path = dir.write("in", "old");
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  auto failed = write_sync_close(fd, "new");
  ASSERT_TRUE(failed.has_value());
  EXPECT_STREQ(failed->what, "write failed");
  EXPECT_EQ(failed->error, EBADF);
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(*read_file(path), "old");
}

TEST(SyncedWrite, AFullDeviceIsAWriteFailure) {
  int fd = ::open("/dev/full", O_WRONLY);  // Linux: every write fails with ENOSPC
  ASSERT_GE(fd, 0);
  auto failed = write_sync_close(fd, "x");
  ASSERT_TRUE(failed.has_value());
  EXPECT_STREQ(failed->what, "write failed");
  EXPECT_EQ(failed->error, ENOSPC);
}

}  // namespace
}  // namespace recorder::detail

namespace recorder {
namespace {

// A file written atomically is fsynced with its directory; under ScratchWrites (regress's replays)
// it is still renamed into place whole, without a sync, and only on that thread.
TEST(ScratchWrites, AtomicWritesSkipTheSyncOnlyWhileInScopeAndOnlyOnItsThread) {
  day2_test::TempDir dir("day2-scratch");
  auto before = detail::sync_calls();
  ASSERT_TRUE(write_file_atomic(dir.file("synced"), "one"));
  EXPECT_EQ(detail::sync_calls() - before, 2u);  // the file, then its directory
  {
    ScratchWrites scratch;
    before = detail::sync_calls();
    ASSERT_TRUE(write_file_atomic(dir.file("scratch"), "two"));
    EXPECT_EQ(detail::sync_calls(), before);
    EXPECT_EQ(*read_file(dir.file("scratch")), "two");
    std::size_t other_thread = 0;
    std::thread([&] {
      auto start = detail::sync_calls();
      (void)write_file_atomic(dir.file("other"), "three");
      other_thread = detail::sync_calls() - start;
    }).join();
    EXPECT_EQ(other_thread, 2u);
  }
  before = detail::sync_calls();
  ASSERT_TRUE(write_file_atomic(dir.file("synced-again"), "four"));
  EXPECT_EQ(detail::sync_calls() - before, 2u);
}

// A bundle of many exchanges is made durable by one flush of its file system before the rename and
// one sync of the parent directory after it, not one fsync per file.
TEST(BundleDurability, ABundleOfManyExchangesTakesTwoSyncs) {
  day2_test::TempDir dir("day2-bundle-sync");
  Bundle bundle;
  bundle.manifest.endpoints = {{"dagster", Service::dagster, "http://127.0.0.1:3000"}};
  for (int i = 1; i <= 50; ++i) {
    Exchange exchange;
    exchange.seq = i;
    exchange.service = Service::dagster;
    exchange.method = "POST";
    exchange.path = "/graphql";
    exchange.request_body = R"({"query":"{ version }","variables":{"i":)" + std::to_string(i) + "}}";
    exchange.status = 200;
    exchange.response_body = R"({"data":{"version":"1.13.27"}})";
    bundle.exchanges.push_back(exchange);
  }
  bundle.manifest.exchange_count = 50;
  auto before = detail::sync_calls();
  ASSERT_TRUE(write_bundle(dir.file("bundle"), bundle, Overwrite::no));
  EXPECT_EQ(detail::sync_calls() - before, 2u);
  auto read = read_bundle(dir.file("bundle"));
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->exchanges.size(), 50u);
  EXPECT_EQ(read->exchanges[49].request_body, bundle.exchanges[49].request_body);
}

}  // namespace
}  // namespace recorder
