// recorder::run_async (workers.hpp): tasks run on reused worker threads, never queued behind a busy
// one, with std::async's result, exception and wait-on-destruction semantics.
#include "recorder/base/workers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

namespace recorder {
namespace {

// A worker that finished its task and is waiting again takes the next one: no new thread. (Right
// after get() the worker may not be waiting yet, and then a second one starts: the pause lets it.)
TEST(Workers, SequentialTasksReuseAnIdleWorker) {
  run_async([] {}).get();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto workers = worker_count();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(run_async([i] { return i * 2; }).get(), i * 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_LE(worker_count(), workers);  // none started (an idle one may have ended)
}

TEST(Workers, ATaskWaitingForALaterOneIsNotQueuedBehindIt) {
  std::promise<int> later;
  auto first = run_async([value = later.get_future()]() mutable { return value.get() + 1; });
  auto second = run_async([&later] { later.set_value(41); });
  second.get();
  EXPECT_EQ(first.get(), 42);
}

TEST(Workers, ManyBlockedTasksEachGetAWorker) {
  constexpr int k_tasks = 12;  // as many as collect's steps
  std::atomic<int> started{0};
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::vector<Pending<void>> tasks;
  for (int i = 0; i < k_tasks; ++i) tasks.push_back(run_async([&started, gate] { ++started; gate.wait(); }));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (started < k_tasks && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(started.load(), k_tasks);
  EXPECT_GE(worker_count(), static_cast<std::size_t>(k_tasks));
  release.set_value();
  for (auto& task : tasks) task.get();
}

TEST(Workers, WhatATaskThrowsComesBackThroughGet) {
  auto task = run_async([]() -> int { throw std::runtime_error("step failed"); });
  EXPECT_THROW(
      {
        try {
          task.get();
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "step failed");
          throw;
        }
      },
      std::runtime_error);
}

TEST(Workers, APendingResultLeftUnreadWaitsForItsTaskWhenDestroyed) {
  std::atomic<bool> done{false};
  {
    auto task = run_async([&done] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      done = true;
    });
  }
  EXPECT_TRUE(done.load());
}

}  // namespace
}  // namespace recorder
