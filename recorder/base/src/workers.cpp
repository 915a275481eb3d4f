// The process's worker threads (workers.hpp): a queue of tasks, the workers waiting for one, and a
// new worker whenever the queued tasks outnumber the waiting workers.
#include "recorder/base/workers.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace recorder {

namespace {

constexpr auto k_idle_lifetime = std::chrono::seconds(30);

class Workers {
 public:
  void run(std::function<void()> task) {
    std::unique_lock lock(m_mutex);
    m_tasks.push_back(std::move(task));
    if (m_tasks.size() > m_waiting) {
      try {
        std::thread worker([this] { work(); });
        worker.detach();
      } catch (...) {  // std::system_error: no thread could start; the caller hears of it, the task is not run
        m_tasks.pop_back();
        throw;
      }
      ++m_count;
    } else {
      m_ready.notify_one();
    }
  }

  std::size_t count() {
    std::lock_guard lock(m_mutex);
    return m_count;
  }

 private:
  void work() {
    std::unique_lock lock(m_mutex);
    for (;;) {
      ++m_waiting;
      bool has_task = m_ready.wait_for(lock, k_idle_lifetime, [this] { return !m_tasks.empty(); });
      --m_waiting;
      if (!has_task) break;
      auto task = std::move(m_tasks.front());
      m_tasks.pop_front();
      lock.unlock();
      task();  // a packaged_task: what it throws goes to its future
      lock.lock();
    }
    --m_count;
  }

  std::mutex m_mutex;
  std::condition_variable m_ready;
  std::deque<std::function<void()>> m_tasks;
  std::size_t m_waiting = 0;  // workers waiting for a task
  std::size_t m_count = 0;    // workers alive
};

// Never destroyed: detached workers may still wait on it while the process exits.
Workers& workers() {
  static Workers* instance = new Workers;
  return *instance;
}

}  // namespace

namespace detail {
void run_on_worker(std::function<void()> task) { workers().run(std::move(task)); }
}  // namespace detail

std::size_t worker_count() { return workers().count(); }

namespace detail {
std::size_t part_count(std::size_t count, std::size_t min_part) {
  constexpr std::size_t k_max_parts = 8;
  std::size_t cpus = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, k_max_parts);
  return std::clamp<std::size_t>(count / std::max<std::size_t>(min_part, 1), 1, cpus);
}
}  // namespace detail

}  // namespace recorder
