// recorder::detail::write_sync_close: the write loop under write_file_atomic and the bundle writer.
#include "recorder/base/durable.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "recorder/base/json.hpp"
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
