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

// for_each_part covers [0, count) exactly once in consecutive parts, whatever the count, the CPUs
// and the minimum part; below two minimum parts it is one call on this thread.
TEST(Workers, EachPartCoversItsItemsOnceAndTheWholeRangeIsCovered) {
  for (std::size_t count : {0, 1, 7, 255, 256, 511, 512, 1000, 4099}) {
    std::vector<std::atomic<int>> seen(count);
    std::atomic<int> calls{0};
    for_each_part(count, 256, [&](std::size_t from, std::size_t to) {
      ++calls;
      ASSERT_LE(from, to);
      ASSERT_LE(to, count);
      for (std::size_t i = from; i < to; ++i) ++seen[i];
    });
    for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(seen[i].load(), 1) << "item " << i << " of " << count;
    if (count < 512) { EXPECT_EQ(calls.load(), 1) << count; }
    EXPECT_LE(calls.load(), 8) << count;
  }
}

TEST(Workers, ThePartsRunAtOnceWhenThereAreCpusForThem) {
  if (std::thread::hardware_concurrency() < 2) {  // one CPU: one part, on this thread
    int calls = 0;
    for_each_part(2, 1, [&](std::size_t from, std::size_t to) { calls += (from == 0 && to == 2) ? 1 : 100; });
    EXPECT_EQ(calls, 1);
    return;
  }
  // Two parts each waiting for the other: finishes only when they run at the same time.
  std::promise<void> first_started;
  std::promise<void> second_started;
  auto first = first_started.get_future().share();
  auto second = second_started.get_future().share();
  for_each_part(2, 1, [&](std::size_t from, std::size_t) {
    (from == 0 ? first_started : second_started).set_value();
    EXPECT_EQ((from == 0 ? second : first).wait_for(std::chrono::seconds(10)), std::future_status::ready);
  });
}

TEST(Workers, WhatAPartThrowsComesBackAfterEveryPartEnded) {
  std::atomic<int> ended{0};
  EXPECT_THROW(for_each_part(4, 1,
                             [&](std::size_t from, std::size_t to) {
                               std::this_thread::sleep_for(std::chrono::milliseconds(from == 0 ? 0 : 30));
                               ended += static_cast<int>(to - from);
                               if (from == 0) throw std::runtime_error("first part failed");
                             }),
               std::runtime_error);
  EXPECT_EQ(ended.load(), 4);
}

}  // namespace
}  // namespace recorder
