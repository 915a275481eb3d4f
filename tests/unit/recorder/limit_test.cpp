#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "recorder/transport.hpp"

namespace recorder {
namespace {

// Holds every request for a while and counts how many are inside at once.
class SlowTransport : public Transport {
 public:
  Result<HttpResponse> send(const HttpRequest&) override {
    int now = ++m_inside;
    int seen = m_max.load();
    while (now > seen && !m_max.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    --m_inside;
    return HttpResponse{200, {}, "{}"};
  }
  int max_inside() const { return m_max; }

 private:
  std::atomic<int> m_inside{0};
  std::atomic<int> m_max{0};
};

class ThrowingTransport : public Transport {
 public:
  Result<HttpResponse> send(const HttpRequest&) override { throw std::runtime_error("bug"); }
};

TEST(LimitingTransport, NeverLetsMoreThanTheLimitIn) {
  auto slow = std::make_shared<SlowTransport>();
  LimitingTransport limited(slow, 3);
  std::vector<std::thread> senders;
  for (int i = 0; i < 12; ++i) senders.emplace_back([&] { EXPECT_TRUE(limited.send(HttpRequest{})); });
  for (auto& sender : senders) sender.join();
  EXPECT_EQ(slow->max_inside(), 3);
  EXPECT_EQ(limited.peak(), 3);
}

TEST(LimitingTransport, LimitBelowOneMeansOneAtATime) {
  auto slow = std::make_shared<SlowTransport>();
  LimitingTransport limited(slow, 0);
  std::vector<std::thread> senders;
  for (int i = 0; i < 4; ++i) senders.emplace_back([&] { EXPECT_TRUE(limited.send(HttpRequest{})); });
  for (auto& sender : senders) sender.join();
  EXPECT_EQ(slow->max_inside(), 1);
}

TEST(LimitingTransport, ReleasesItsSlotWhenTheInnerTransportThrows) {
  LimitingTransport limited(std::make_shared<ThrowingTransport>(), 1);
  EXPECT_THROW(limited.send(HttpRequest{}), std::runtime_error);
  EXPECT_THROW(limited.send(HttpRequest{}), std::runtime_error);  // would block forever if the slot leaked
}

}  // namespace
}  // namespace recorder
