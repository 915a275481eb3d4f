#include <algorithm>

#include "recorder/transport.hpp"

namespace recorder {

LimitingTransport::LimitingTransport(std::shared_ptr<Transport> inner, int limit)
    : m_inner(std::move(inner)), m_limit(std::max(limit, 1)) {}

Result<HttpResponse> LimitingTransport::send(const HttpRequest& request) {
  {
    std::unique_lock lock(m_mutex);
    m_free.wait(lock, [this] { return m_in_flight < m_limit; });
    m_peak = std::max(m_peak, ++m_in_flight);
  }
  struct Release {
    LimitingTransport& self;
    ~Release() {
      {
        std::lock_guard lock(self.m_mutex);
        --self.m_in_flight;
      }
      self.m_free.notify_one();
    }
  } release{*this};
  return m_inner->send(request);
}

int LimitingTransport::peak() const {
  std::lock_guard lock(m_mutex);
  return m_peak;
}

}  // namespace recorder
