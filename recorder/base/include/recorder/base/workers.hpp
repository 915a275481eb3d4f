// Worker threads shared by the whole process: a task runs on an idle worker, or on a new one when
// every worker is busy, so a task is never queued behind another (tasks may wait on one another, and
// collect starts every step at once). Workers are kept for reuse: `day2 regress` collects a thousand
// scenarios in one process without creating a thread per step each time. A worker idle for 30 s ends.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace recorder {

namespace detail {
// Hands `task` to an idle worker or starts one (throws std::system_error when no thread can start).
void run_on_worker(std::function<void()> task);
}  // namespace detail

// The result of run_async: like the future std::async returns, its destructor waits for the task,
// so a task never outlives what it refers to, even when the caller leaves early (an exception).
template <typename T>
class Pending {
 public:
  explicit Pending(std::future<T> future) : m_future(std::move(future)) {}
  Pending(Pending&&) noexcept = default;
  Pending& operator=(Pending&& other) noexcept {
    if (this != &other) {
      wait();
      m_future = std::move(other.m_future);
    }
    return *this;
  }
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;
  ~Pending() { wait(); }

  // The task's result, or what it threw.
  T get() { return m_future.get(); }
  void wait() const {
    if (m_future.valid()) m_future.wait();
  }

 private:
  std::future<T> m_future;
};

// Runs `fn` on a worker thread; its result (or exception) comes back through get(), as with
// std::async(std::launch::async, fn).
template <typename Fn>
Pending<std::invoke_result_t<std::decay_t<Fn>>> run_async(Fn&& fn) {
  using Result = std::invoke_result_t<std::decay_t<Fn>>;
  auto task = std::make_shared<std::packaged_task<Result()>>(std::forward<Fn>(fn));
  auto future = task->get_future();
  detail::run_on_worker([task] { (*task)(); });
  return Pending<Result>(std::move(future));
}

// Calls `fn(from, to)` over consecutive parts of [0, count) at once, one part per CPU (at most 8),
// each of at least `min_part` items; the first part runs on this thread. The parts must be
// independent (each writes only its own items). A count under 2 * min_part is one part: for a few
// items a thread costs more than it saves. Parts no thread can start for run on this thread. What a
// part throws is rethrown after every part ended.
template <typename Fn>
void for_each_part(std::size_t count, std::size_t min_part, Fn&& fn);

// How many worker threads exist now (busy or idle): for tests.
std::size_t worker_count();

namespace detail {
// How many parts for_each_part makes of `count` items of at least `min_part` each (>= 1).
std::size_t part_count(std::size_t count, std::size_t min_part);
}  // namespace detail

template <typename Fn>
void for_each_part(std::size_t count, std::size_t min_part, Fn&& fn) {
  std::size_t parts = detail::part_count(count, min_part);
  std::vector<Pending<void>> others;
  others.reserve(parts - 1);
  std::size_t started = 1;  // parts [1, started) run on workers
  for (; started < parts; ++started) {
    try {
      others.push_back(run_async([&fn, from = count * started / parts, to = count * (started + 1) / parts] { fn(from, to); }));
    } catch (const std::system_error&) {  // no thread could start: this thread runs the rest
      break;
    }
  }
  fn(std::size_t{0}, count / parts);
  for (std::size_t part = started; part < parts; ++part) fn(count * part / parts, count * (part + 1) / parts);
  for (auto& other : others) other.get();
}

}  // namespace recorder
